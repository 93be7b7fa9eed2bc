"""Is this file text or binary? The one answer every reader of a user's file asks for.

Nets, solvers and logs are text; caffemodels, mean files and solver states are binary protobuf;
HDF5 weights have a signature of their own. A text file may hold a few control bytes (tabs, DOS
end-of-file, terminal escapes; a Caffe log even a stray NUL a data layer printed), so readers say
how much else they tolerate.
"""

from __future__ import annotations

#: Control bytes any text may contain: whitespace, DOS end-of-file, terminal escapes.
TEXT_CONTROLS = frozenset(b"\t\n\v\f\r\x1a\x1b")
#: How much of a file's start is looked at.
HEAD_BYTES = 4096
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Compressed files (gzip, bzip2, xz): text inside, but not readable as it is.
COMPRESSED = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))


def compression(head: bytes) -> str | None:
    """The compression a file's first bytes show, if any."""
    for magic, name in COMPRESSED:
        if head.startswith(magic) and (name != "bzip2" or head[3:4].isdigit()):
            return name
    return None


def looks_binary(head: bytes, tolerance: float = 0.0) -> bool:
    """Whether ``head`` (a file's first bytes) is binary: HDF5's signature, or more control bytes
    text never has than ``tolerance`` (a share of the bytes; 0: any one is too many)."""
    if head.startswith(HDF5_SIGNATURE):
        return True
    foreign = sum(1 for b in head if b < 0x20 and b not in TEXT_CONTROLS)
    return foreign > tolerance * len(head) if tolerance else foreign > 0

"""Which files an audit covers, and which ``.caffemodel`` belongs to which net.

Folders are walked for the suffixes Caffe users give their files; anything else in a folder is
skipped (READMEs, images, logs), but a file named on the command line is always audited, whatever
its name, because the user asked for it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from caffemem.errors import CaffememError

TEXT_SUFFIXES = (".prototxt", ".pt", ".solver")
WEIGHTS_SUFFIX = ".caffemodel"
BLOB_SUFFIX = ".binaryproto"
AUDITED_SUFFIXES = (*TEXT_SUFFIXES, WEIGHTS_SUFFIX, BLOB_SUFFIX)


@dataclass(frozen=True)
class Candidate:
    path: str
    explicit: bool  # named on the command line (not found by walking a folder)


def is_binary_name(path: str) -> bool:
    return path.lower().endswith((WEIGHTS_SUFFIX, BLOB_SUFFIX))


def discover(paths: Sequence[str]) -> list[Candidate]:
    """Files to audit, in command-line order, folders walked in sorted order; each file once.

    Raises :class:`CaffememError` for a path that does not exist: that is a usage error, not a
    finding about a file.
    """
    out: list[Candidate] = []
    seen: set[str] = set()

    def add(path: str, explicit: bool) -> None:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            out.append(Candidate(path, explicit))

    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.lower().endswith(AUDITED_SUFFIXES) and not name.startswith("."):
                        add(os.path.join(root, name), False)
        elif os.path.exists(path):
            add(path, True)
        else:
            raise CaffememError("no such file or folder", path)
    return out


def beside(path: str) -> str | None:
    """``foo.caffemodel`` next to ``foo.prototxt`` (same folder, same stem), when it exists."""
    stem, _ = os.path.splitext(path)
    candidate = stem + WEIGHTS_SUFFIX
    return candidate if os.path.isfile(candidate) else None


def pair_weights(candidates: Sequence[Candidate]) -> dict[str, list[str]]:
    """Text file path -> the ``.caffemodel`` files to check against it.

    A caffemodel with the same stem beside a net always pairs with it. A caffemodel named on the
    command line also pairs with the net or solver named just before it (or, when it comes first,
    just after it), so ``caffemem audit deploy.prototxt weights.caffemodel`` checks the two together.
    """
    pairs: dict[str, list[str]] = {}
    texts = [c for c in candidates if not is_binary_name(c.path)]
    for c in texts:
        found = beside(c.path)
        if found is not None:
            pairs.setdefault(c.path, []).append(found)
    explicit = [c for c in candidates if c.explicit]
    for i, c in enumerate(explicit):
        if not c.path.lower().endswith(WEIGHTS_SUFFIX):
            continue
        before = [e for e in explicit[:i] if not is_binary_name(e.path)]
        after = [e for e in explicit[i + 1:] if not is_binary_name(e.path)]
        partner = before[-1] if before else (after[0] if after else None)
        if partner is None:
            continue
        listed = pairs.setdefault(partner.path, [])
        if not any(os.path.realpath(w) == os.path.realpath(c.path) for w in listed):
            listed.append(c.path)
    return pairs

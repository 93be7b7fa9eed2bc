"""Load nets and solvers from files the way Caffe reads them (text, legacy upgrades, solver paths).

Caffe upgrades legacy formats only on the paths that read files (``UpgradeNetAsNeeded``), not for
nets embedded in a solver's ``net_param``; caffemem follows the same rule so that what it analyses
is what Caffe would build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from caffemem.errors import CaffememError, ParseError
from caffemem.net.prototxt import Diagnostic, parse_text, top_level_fields
from caffemem.proto import caffe_pb2
from caffemem.sniff import HEAD_BYTES, looks_binary

#: Fields that mark a net when the schema alone cannot tell (a file with fields of both kinds).
NET_FIELDS = {"layer", "layers", "input", "input_dim", "input_shape"}


@dataclass
class LoadedNet:
    """A net read from a file: the upgraded message plus what reading it revealed."""

    param: caffe_pb2.NetParameter
    source: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    upgrades: list[str] = field(default_factory=list)
    upgrade_warnings: list[str] = field(default_factory=list)
    caffe_notes: list[Diagnostic] = field(default_factory=list)  # fork fields, failed CHECKs (prototxt.note)
    #: The filtered, split net of each NetState it was built in (caffemem.net.build.build_net).
    prepared: dict[bytes, tuple[str, caffe_pb2.NetParameter]] = field(default_factory=dict, repr=False,
                                                                      compare=False)


@dataclass
class LoadedSolver:
    param: caffe_pb2.SolverParameter
    source: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    upgrades: list[str] = field(default_factory=list)
    caffe_notes: list[Diagnostic] = field(default_factory=list)


#: The largest text net or solver read. The biggest real nets are a few MB (a 100,000-layer net is
#: 7 MB); reading is bounded so that /dev/zero, a FIFO that never ends or a mistaken dataset file is
#: refused in one line instead of filling memory (each byte of prototxt costs ~100 in the parse).
MAX_TEXT_BYTES = 64 * 2**20


def read_text(path: str) -> str:
    """The file's text. Bytes that are not UTF-8 are kept as replacement characters, not fatal."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TEXT_BYTES + 1)
    except FileNotFoundError:
        raise CaffememError("no such file", path) from None
    except IsADirectoryError:
        raise CaffememError("is a directory, not a net or solver file", path) from None
    except OSError as err:
        raise CaffememError(err.strerror or str(err), path) from None
    if len(data) > MAX_TEXT_BYTES:
        raise CaffememError(f"is larger than {MAX_TEXT_BYTES // 2**20} MiB: not a net or solver prototxt (the "
                            f"largest real ones are a few MB)", path)
    if not looks_binary(data[:_HEAD_BYTES]):
        return data.decode("utf-8", errors="replace")
    raise ParseError("looks like a binary file; text prototxt expected (use --weights for .caffemodel)", path)


#: Names that say "binary NetParameter" whatever the bytes look like.
BINARY_NET_SUFFIXES = (".caffemodel",)
#: Names of single serialized BlobProtos (mean files from compute_image_mean) and solver snapshots.
BLOB_SUFFIXES = (".binaryproto",)
SOLVERSTATE_SUFFIXES = (".solverstate",)
#: Control bytes a text prototxt may contain (whitespace, DOS end-of-file, terminal escapes). Any other
#: byte below 0x20 marks binary protobuf: every binary net has some (tags 0x12, 0xA2 0x06, lengths).
_HEAD_BYTES = HEAD_BYTES


def is_binary_net_file(path: str) -> bool:
    """True when ``path`` should be read as a binary ``NetParameter`` (a caffemodel), not as text.

    Decided by the name (``.caffemodel``) or the first bytes (a NUL or another control byte text
    never has, or HDF5's signature so that the weights reader names it). A ``.binaryproto`` or
    ``.solverstate`` raises :class:`CaffememError`: it holds a blob or solver state, never a net.
    A file that cannot be opened gives False, so that :func:`read_text` reports it as usual.
    """
    lower = path.lower()
    if lower.endswith(BLOB_SUFFIXES):
        raise _blob_file_error(path)
    if lower.endswith(SOLVERSTATE_SUFFIXES):
        raise CaffememError("is a solver state snapshot (SolverState), not a net: give the net's prototxt or "
                            ".caffemodel", path)
    if lower.endswith(BINARY_NET_SUFFIXES):
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError:
        return False
    return looks_binary(head)


def _blob_file_error(path: str) -> CaffememError:
    """The error for a BlobProto given as a net, with its shape when the file is readable."""
    from caffemem.net.caffemodel import read_blobproto_shape

    try:
        shape = f" of shape {list(read_blobproto_shape(path).shape)}"
    except CaffememError:
        shape = ""
    return CaffememError(f"is a mean/blob file (one BlobProto{shape}, as compute_image_mean writes), not a net: "
                         f"give the net's prototxt or .caffemodel (a mean file belongs in "
                         f"transform_param.mean_file)", path)


def load_binary_net(path: str, upgrade: bool = True) -> LoadedNet:
    """A net from a binary caffemodel, as Caffe's ``ReadNetParamsFromBinaryFileOrDie`` gives it.

    The weights are left out (:func:`caffemem.net.caffemodel.read_net_skeleton`): only the
    definition matters for Net::Init, and memory stays bounded whatever the file size. Caffe applies
    ``UpgradeNetAsNeeded`` to binary nets as to text ones, and so does this.
    """
    from caffemem.net.caffemodel import read_blobproto_shape, read_net_skeleton

    try:
        param = read_net_skeleton(path)
    except CaffememError as err:
        # A mean file with a net's name (or no name) fails on its first field; say what it is.
        try:
            blob = read_blobproto_shape(path)
        except CaffememError:
            blob = None
        if blob is not None and blob.shape and blob.value_count:
            raise _blob_file_error(path) from None
        if not path.lower().endswith(BINARY_NET_SUFFIXES):  # the user may have meant a text prototxt
            err.message = f"neither a text prototxt (it has binary bytes) nor a binary net: {err.message}"
            err.args = (err.location_prefix() + err.message,)
        raise
    if os.path.getsize(path) == 0:
        raise CaffememError("is empty (0 bytes): an interrupted download or snapshot? A caffemodel holds the "
                            "whole net definition", path)
    loaded = LoadedNet(param, path)
    if upgrade:
        loaded.upgrades, loaded.upgrade_warnings = upgrade_net_param(param, path)
    return loaded


def file_kind(text: str, source: str) -> str:
    """``"net"`` or ``"solver"``, from the fields at the top level of the text."""
    from caffemem.net.upgrade import classify_fields

    names = top_level_fields(text, source)
    if names and set(names) == {"item"}:  # SSD's labelmap_voc.prototxt and the like
        raise CaffememError("is a label map (LabelMap: item { name label display_name }), not a net or a solver; "
                            "check the net whose data layer names it (label_map_file)", source)
    kind = classify_fields(names)
    if kind is not None:
        return kind
    return "net" if set(names) & NET_FIELDS or not names else "solver"


def upgrade_net_param(param: caffe_pb2.NetParameter, source: str) -> tuple[list[str], list[str]]:
    """Apply Caffe's ``UpgradeNetAsNeeded``; return (upgrades applied, warnings Caffe would log)."""
    from caffemem.net import upgrade

    result = upgrade.upgrade_net(param, source)
    applied = list(getattr(result, "applied", result))
    warnings = list(getattr(result, "warnings", []))
    return applied, warnings


def net_from_text(text: str, source: str, upgrade: bool = True) -> LoadedNet:
    param = caffe_pb2.NetParameter()
    notes: list[Diagnostic] = []
    diagnostics = parse_text(text, param, source, notes)
    loaded = LoadedNet(param, source, diagnostics, caffe_notes=notes)
    if upgrade:
        loaded.upgrades, loaded.upgrade_warnings = upgrade_net_param(param, source)
    return loaded


def load_net(path: str) -> LoadedNet:
    return net_from_text(read_text(path), path)


def solver_from_text(text: str, source: str) -> LoadedSolver:
    param = caffe_pb2.SolverParameter()
    notes: list[Diagnostic] = []
    diagnostics = parse_text(text, param, source, notes)
    from caffemem.net import upgrade

    result = upgrade.upgrade_solver(param, source)
    upgrades = list(getattr(result, "applied", result) or [])
    return LoadedSolver(param, source, diagnostics, upgrades, notes)


def load_solver(path: str) -> LoadedSolver:
    return solver_from_text(read_text(path), path)


def resolve_solver_path(solver_path: str, name: str) -> str:
    """Paths inside a solver: relative to the solver's folder first, then the working folder."""
    if os.path.isabs(name):
        if os.path.exists(name):
            return name
        raise CaffememError(f"net file '{name}' named in the solver does not exist", solver_path)
    beside = os.path.join(os.path.dirname(os.path.abspath(solver_path)), name)
    if os.path.exists(beside):
        return beside
    if os.path.exists(name):
        return name
    raise CaffememError(f"net file '{name}' named in the solver was found neither beside the solver nor in "
                        f"the working folder", solver_path)

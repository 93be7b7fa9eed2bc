"""Read the layer list and blob shapes of a binary ``.caffemodel`` without loading its weights.

Why a hand-written scanner: a caffemodel is one serialized ``NetParameter`` whose bulk is packed
float arrays. Parsing it with the protobuf library would hold every value in memory (hundreds of MB
for VGG-class nets, and Python protobuf refuses messages over 2 GB), while caffemem only needs the
names, types and shapes of the blobs and how many values each carries. The protobuf wire format
states every length-delimited field's byte length up front, so this module walks the top-level
fields, reads each ``layer`` / ``layers`` entry's name, type and blob headers, and *seeks over* the
data bytes. Memory stays bounded by one read buffer (:data:`CHUNK_BYTES`) plus the metadata it
returns, whatever the file size; files larger than Caffe's own 2 GB read limit are read too, and
flagged (:attr:`CaffeModelInfo.caffe_readable`).

The layer list returned is the one ``Net::CopyTrainedLayersFrom`` iterates over *after* Caffe's
``UpgradeNetAsNeeded``: V1 ``layers`` entries carry their enum type mapped to the V2 type string, V0
files have their nested ``layer`` unpacked and their ``padding`` layers dropped, and the
combinations Caffe refuses are recorded in :attr:`CaffeModelInfo.upgrade_error` (raised by
:func:`caffemem.net.weights.match_weights`, where Caffe would die).

Field numbers follow BVLC ``caffe.proto`` (``proto/caffe.proto`` in this repository).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from caffemem.errors import CaffememError
from caffemem.layers.registry import count
from caffemem.net.upgrade import V1_TYPE_TO_V2
from caffemem.net.upgrade_v0 import V0_TYPE_TO_V1
from caffemem.proto import caffe_pb2, is_repeated
from caffemem.sniff import HDF5_SIGNATURE

#: Size of the one read buffer; the scanner never holds more of the file than this at a time.
CHUNK_BYTES = 1 << 16
#: Names longer than this are cut (with a note); a real layer name is a few dozen bytes, and the cap
#: keeps a corrupt length from making the reader allocate gigabytes.
MAX_NAME_BYTES = 1 << 16
#: ``kMaxBlobAxes`` in ``blob.hpp``: Caffe refuses blobs with more axes.
MAX_BLOB_AXES = 32
#: ``kProtoReadBytesLimit`` in ``util/io.cpp``: Caffe's CodedInputStream refuses longer inputs.
CAFFE_READ_LIMIT = 2**31 - 1


# Wire types.
_VARINT, _I64, _LEN, _SGROUP, _EGROUP, _I32 = 0, 1, 2, 3, 4, 5

# NetParameter
_NET_NAME, _NET_LAYERS_V1, _NET_LAYER = 1, 2, 100
# LayerParameter
_L2_NAME, _L2_TYPE, _L2_BLOBS = 1, 2, 7
# V1LayerParameter
_L1_V0, _L1_NAME, _L1_TYPE, _L1_BLOBS = 1, 4, 5, 6
# V0LayerParameter
_L0_NAME, _L0_TYPE, _L0_BLOBS = 1, 2, 50
# BlobProto
_B_NUM, _B_CHANNELS, _B_HEIGHT, _B_WIDTH = 1, 2, 3, 4
_B_DATA, _B_DIFF, _B_SHAPE, _B_DOUBLE_DATA, _B_DOUBLE_DIFF = 5, 6, 7, 8, 9
# BlobShape
_S_DIM = 1

#: Caffe's fatal message when a file has both ``layer`` and V1 ``layers`` (``UpgradeV1Net``).
REFUSE_MIXED = ("Refusing to upgrade inconsistent NetParameter input; the definition includes both "
                "'layer' and 'layers' fields. The current format defines 'layer' fields with string "
                "type like layer { type: 'Layer' ... } and not layers { type: LAYER ... }. Manually "
                "switch the definition to 'layer' format to continue.")


@dataclass(frozen=True)
class BlobInfo:
    """One ``BlobProto`` as the file stores it, minus its values.

    ``shape`` is what ``Blob::FromProto(proto, reshape=true)`` makes of it: the 4-D
    ``(num, channels, height, width)`` when any legacy dimension field is present (absent ones are
    0, their proto default), else the ``BlobShape`` dims. ``legacy`` matters for
    ``Blob::ShapeEquals``, which compares legacy blobs against the target's ``LegacyShape``.
    """

    shape: tuple[int, ...]
    legacy: bool = False
    data_values: int = 0
    double_data_values: int = 0
    diff_values: int = 0
    double_diff_values: int = 0
    #: Each packed value array as the file stores it: (payload's byte offset, values, bytes per
    #: value), in file order. Protobuf grows each one step by step from where it lies in the file.
    arrays: tuple[tuple[int, int, int], ...] = ()

    @property
    def count(self) -> int:
        """Elements the shape describes (1 for a 0-axis blob, as in Caffe)."""
        return count(self.shape)

    @property
    def value_count(self) -> int:
        """Values ``FromProto`` copies: ``double_data`` when present, else ``data``."""
        return self.double_data_values if self.double_data_values > 0 else self.data_values

    @property
    def data_bytes(self) -> int:
        """Bytes of stored values (data and double_data) in the file."""
        return 4 * self.data_values + 8 * self.double_data_values

    @property
    def diff_bytes(self) -> int:
        """Bytes of stored gradients (diff and double_diff) in the file; snapshots normally have none."""
        return 4 * self.diff_values + 8 * self.double_diff_values


@dataclass
class WeightsLayer:
    """One layer entry of the file, as ``CopyTrainedLayersFrom`` sees it after Caffe's upgrades.

    ``blobs`` and ``value_counts`` are the plain view (shape per blob, data values per blob);
    ``details`` keeps the rest (legacy dims, doubles, diffs) for exact shape checks.
    """

    name: str
    type: str
    blobs: list[tuple[int, ...]]
    value_counts: list[int]
    details: list[BlobInfo] = field(default_factory=list)
    offset: int = 0  # byte offset of the entry's tag in the file
    nbytes: int = 0  # bytes of the entry including tag and length
    kind: str = "layer"  # "layer" (V2), "layers" (V1) or "layers/layer" (V0)

    @property
    def data_bytes(self) -> int:
        """Bytes of weight values this layer stores in the file."""
        if self.details:
            return sum(b.data_bytes for b in self.details)
        return 4 * sum(self.value_counts)


@dataclass
class CaffeModelInfo:
    """What a caffemodel holds, without its values.

    ``format`` is ``"V2"`` (``layer`` entries), ``"V1"`` (``layers`` with enum types), ``"V0"``
    (``layers`` with nested V0 ``layer``) or ``"mixed"`` (``layer`` and V1 ``layers`` together,
    which Caffe refuses to load: see ``upgrade_error``). A file without layers counts as V2.
    """

    path: str
    file_bytes: int
    format: str
    name: str
    layers: list[WeightsLayer]
    upgrade_error: str | None = None  # the fatal message Caffe's UpgradeNetAsNeeded would die with
    notes: list[str] = field(default_factory=list)
    metadata_bytes: int = 0  # bytes of the file that are not blob values (names, params, headers)

    @property
    def weights_values_bytes(self) -> int:
        """Bytes of blob values (data and double_data) in the file."""
        return sum(layer.data_bytes for layer in self.layers)

    @property
    def diff_values_bytes(self) -> int:
        """Bytes of stored gradients in the file (Caffe parses them too, and copies them into diffs)."""
        return sum(b.diff_bytes for layer in self.layers for b in layer.details)

    @property
    def value_count(self) -> int:
        """Total weight values (what Caffe copies into the net when every layer matches)."""
        return sum(sum(layer.value_counts) for layer in self.layers)

    @property
    def blob_count(self) -> int:
        return sum(len(layer.blobs) for layer in self.layers)

    @property
    def caffe_readable(self) -> bool:
        """False when the file is larger than Caffe's 2 GB protobuf read limit (Caffe cannot load it)."""
        return self.file_bytes <= CAFFE_READ_LIMIT

    def layer(self, name: str) -> WeightsLayer | None:
        """The first layer of that name, as Caffe's name lookup finds it."""
        return next((layer for layer in self.layers if layer.name == name), None)


class _Scanner:
    """A forward reader over a file with one small buffer; skipping seeks instead of reading.

    Every read is bounded by ``end`` (the end of the enclosing message) so that a corrupt length
    inside a layer is reported at the offset where it was read, not somewhere later.
    """

    def __init__(self, f: BinaryIO, path: str, size: int) -> None:
        self.f = f
        self.path = path
        self.size = size
        self.pos = 0
        self._buf = b""
        self._buf_start = 0

    def fail(self, offset: int, message: str) -> CaffememError:
        return CaffememError(f"truncated or corrupt caffemodel at byte {offset}: {message}", self.path)

    def _need(self, n: int, end: int, what: str) -> None:
        if self.pos + n <= end:
            return
        left = end - self.pos
        if end >= self.size:
            where = f"only {left} left in the file ({self.size} bytes)"
        else:
            where = f"only {left} left in its enclosing message (which ends at byte {end})"
        raise self.fail(self.pos, f"{what} needs {n} bytes, {where}")

    def _buffered(self) -> int:
        """Index of ``pos`` in the buffer, refilling it when ``pos`` lies outside."""
        i = self.pos - self._buf_start
        if 0 <= i < len(self._buf):
            return i
        self.f.seek(self.pos)
        self._buf = self.f.read(CHUNK_BYTES)
        self._buf_start = self.pos
        return 0

    def varint(self, end: int, what: str) -> int:
        start = self.pos
        result = 0
        shift = 0
        while True:
            if self.pos >= end:
                place = "the file" if end >= self.size else f"its enclosing message (ends at byte {end})"
                raise self.fail(start, f"{what}: varint runs past the end of {place}")
            i = self._buffered()
            if i >= len(self._buf):
                raise self.fail(start, f"{what}: file ended inside a varint")
            b = self._buf[i]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift >= 70:
                raise self.fail(start, f"{what}: varint longer than 10 bytes")

    def read(self, n: int, end: int, what: str) -> bytes:
        self._need(n, end, what)
        out = bytearray()
        while len(out) < n:
            i = self._buffered()
            chunk = self._buf[i:i + n - len(out)]
            if not chunk:
                raise self.fail(self.pos, f"{what}: file ended early")
            out += chunk
            self.pos += len(chunk)
        return bytes(out)

    def skip(self, n: int, end: int, what: str) -> None:
        self._need(n, end, what)
        self.pos += n

    def length(self, end: int, what: str) -> int:
        """A length prefix, checked against the bytes left in the enclosing message."""
        n = self.varint(end, f"{what} length")
        self._need(n, end, what)
        return n

    def tag(self, end: int, what: str) -> tuple[int, int, int]:
        at = self.pos
        key = self.varint(end, f"{what} field tag")
        number, wire = key >> 3, key & 7
        if number == 0 or wire > 5:
            raise self.fail(at, f"{what}: invalid field tag {key} (field {number}, wire type {wire}); "
                                f"not a binary NetParameter")
        return number, wire, at

    def skip_value(self, number: int, wire: int, end: int, what: str) -> None:
        """Skip one field's value (unknown fields, and known fields whose wire type is not expected)."""
        if wire == _VARINT:
            self.varint(end, what)
        elif wire == _I64:
            self.skip(8, end, what)
        elif wire == _I32:
            self.skip(4, end, what)
        elif wire == _LEN:
            self.skip(self.length(end, what), end, what)
        elif wire == _SGROUP:
            self._skip_group(number, end, what)
        else:
            raise self.fail(self.pos, f"{what}: unexpected end-group tag for field {number}")

    def _skip_group(self, number: int, end: int, what: str) -> None:
        open_groups = [number]
        while open_groups:
            inner, wire, at = self.tag(end, what)
            if wire == _EGROUP:
                if inner != open_groups[-1]:
                    raise self.fail(at, f"{what}: end-group for field {inner} inside group {open_groups[-1]}")
                open_groups.pop()
            elif wire == _SGROUP:
                open_groups.append(inner)
            else:
                self.skip_value(inner, wire, end, what)

    def text(self, end: int, what: str, notes: list[str]) -> str:
        n = self.length(end, what)
        keep = min(n, MAX_NAME_BYTES)
        raw = self.read(keep, end, what)
        if keep < n:
            notes.append(f"{what} at byte {self.pos - keep} is {n} bytes long; kept the first {keep}")
            self.skip(n - keep, end, what)
        return raw.decode("utf-8", errors="replace")


def _int32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _int64(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v >= 1 << 63 else v


@dataclass
class _Entry:
    """A ``layer``/``layers`` entry as scanned, before the format of the whole file is known."""

    kind: str
    offset: int
    nbytes: int
    name: str = ""
    type: str = ""
    v1_type: int | None = None
    blobs: list[BlobInfo] = field(default_factory=list)
    v0: _Entry | None = None  # nested V0LayerParameter of a V1 entry


class _CaffeModelReader:
    def __init__(self, scanner: _Scanner) -> None:
        self.s = scanner
        self.notes: list[str] = []
        self.payload = 0  # bytes of packed values, to tell metadata from data

    def net(self) -> tuple[str, list[_Entry]]:
        s = self.s
        name = ""
        entries: list[_Entry] = []
        end = s.size
        while s.pos < end:
            number, wire, at = s.tag(end, "NetParameter")
            if wire == _LEN and number in (_NET_LAYER, _NET_LAYERS_V1):
                parse = self.layer_v2 if number == _NET_LAYER else self.layer_v1
                what = f"{'layer' if number == _NET_LAYER else 'layers'} #{len(entries)}"
                n = s.varint(end, f"{what} length")
                start = s.pos
                if start + n <= end:
                    entries.append(parse(at, start + n, len(entries)))
                    continue
                # Cut short: scan what is there so that the error names the layer (and the blob
                # that runs off the end, if that is where it breaks).
                partial = parse(at, end, len(entries))
                raise s.fail(start, f"{what} '{partial.name}' needs {n} bytes, only {end - start} left in "
                                    f"the file ({s.size} bytes)")
            elif wire == _LEN and number == _NET_NAME:
                name = s.text(end, "net name", self.notes)
            else:
                s.skip_value(number, wire, end, f"NetParameter field {number}")
        return name, entries

    def layer_v2(self, at: int, end: int, index: int) -> _Entry:
        return self._named_layer(_Entry("layer", at, end - at), end, f"layer #{index}", _L2_NAME, _L2_TYPE,
                                 _L2_BLOBS)

    def layer_v1(self, at: int, end: int, index: int) -> _Entry:
        s = self.s
        entry = _Entry("layers", at, end - at)
        while s.pos < end:
            what = f"layers #{index}" + (f" '{entry.name}'" if entry.name else "")
            number, wire, nested_at = s.tag(end, what)
            if wire == _LEN and number == _L1_NAME:
                entry.name = s.text(end, f"{what} name", self.notes)
            elif wire == _VARINT and number == _L1_TYPE:
                entry.v1_type = _int32(s.varint(end, f"{what} type"))
            elif wire == _LEN and number == _L1_BLOBS:
                self._add_blob(entry, end, what)
            elif wire == _LEN and number == _L1_V0:
                n = s.length(end, f"{what} V0 layer")
                nested = self.layer_v0(nested_at, s.pos + n, what)
                if entry.v0 is None:
                    entry.v0 = nested
                else:  # a repeated singular message merges, as protobuf does
                    entry.v0.name = nested.name or entry.v0.name
                    entry.v0.type = nested.type or entry.v0.type
                    entry.v0.blobs.extend(nested.blobs)
            else:
                s.skip_value(number, wire, end, f"{what} field {number}")
        return entry

    def layer_v0(self, at: int, end: int, outer: str) -> _Entry:
        return self._named_layer(_Entry("layers/layer", at, end - at), end, f"{outer} V0 layer", _L0_NAME,
                                 _L0_TYPE, _L0_BLOBS)

    def _named_layer(self, entry: _Entry, end: int, label: str, name_field: int, type_field: int,
                     blobs_field: int) -> _Entry:
        """A layer whose name and type are strings (current and V0 layers): those and its blobs."""
        s = self.s
        while s.pos < end:
            what = label + (f" '{entry.name}'" if entry.name else "")
            number, wire, _ = s.tag(end, what)
            if wire == _LEN and number == name_field:
                entry.name = s.text(end, f"{what} name", self.notes)
            elif wire == _LEN and number == type_field:
                entry.type = s.text(end, f"{what} type", self.notes)
            elif wire == _LEN and number == blobs_field:
                self._add_blob(entry, end, what)
            else:
                s.skip_value(number, wire, end, f"{what} field {number}")
        return entry

    def _add_blob(self, entry: _Entry, end: int, what: str) -> None:
        blob_what = f"{what} blob {len(entry.blobs)}"
        n = self.s.length(end, blob_what)
        entry.blobs.append(self.blob(self.s.pos + n, blob_what))

    def blob(self, end: int, what: str) -> BlobInfo:
        s = self.s
        dims: list[int] = []
        legacy: dict[int, int] = {}
        counts = {_B_DATA: 0, _B_DIFF: 0, _B_DOUBLE_DATA: 0, _B_DOUBLE_DIFF: 0}
        arrays: list[tuple[int, int, int]] = []
        widths = {_B_DATA: 4, _B_DIFF: 4, _B_DOUBLE_DATA: 8, _B_DOUBLE_DIFF: 8}
        names = {_B_DATA: "data", _B_DIFF: "diff", _B_DOUBLE_DATA: "double_data",
                 _B_DOUBLE_DIFF: "double_diff"}
        while s.pos < end:
            number, wire, at = s.tag(end, what)
            if number in counts and wire == _LEN:  # packed values: count them from the length, skip them
                n = s.length(end, f"{what} {names[number]}")
                if n % widths[number]:
                    raise s.fail(at, f"{what} {names[number]} holds {n} bytes, not a whole number of "
                                     f"{widths[number]}-byte values")
                arrays.append((s.pos, n // widths[number], widths[number]))
                s.skip(n, end, f"{what} {names[number]}")
                counts[number] += n // widths[number]
                self.payload += n
            elif number in counts and wire == (_I32 if widths[number] == 4 else _I64):  # unpacked value
                s.skip(widths[number], end, f"{what} {names[number]}")
                counts[number] += 1
                self.payload += widths[number]
            elif number in (_B_NUM, _B_CHANNELS, _B_HEIGHT, _B_WIDTH) and wire == _VARINT:
                legacy[number] = _int32(s.varint(end, f"{what} legacy dimension"))
            elif number == _B_SHAPE and wire == _LEN:
                n = s.length(end, f"{what} shape")
                self.shape(s.pos + n, dims, f"{what} shape")
            else:
                s.skip_value(number, wire, end, f"{what} field {number}")
        if legacy:
            shape = tuple(legacy.get(k, 0) for k in (_B_NUM, _B_CHANNELS, _B_HEIGHT, _B_WIDTH))
        else:
            shape = tuple(dims)
        return BlobInfo(shape=shape, legacy=bool(legacy), data_values=counts[_B_DATA],
                        double_data_values=counts[_B_DOUBLE_DATA], diff_values=counts[_B_DIFF],
                        double_diff_values=counts[_B_DOUBLE_DIFF], arrays=tuple(arrays))

    def shape(self, end: int, dims: list[int], what: str) -> None:
        """Append a BlobShape's dims (packed or not; a repeated shape field merges, as protobuf does)."""
        s = self.s
        while s.pos < end:
            number, wire, at = s.tag(end, what)
            if number == _S_DIM and wire == _LEN:
                n = s.length(end, f"{what} dims")
                stop = s.pos + n
                while s.pos < stop:
                    self._dim(dims, s.varint(stop, f"{what} dim"), at, what)
            elif number == _S_DIM and wire == _VARINT:
                self._dim(dims, s.varint(end, f"{what} dim"), at, what)
            else:
                s.skip_value(number, wire, end, f"{what} field {number}")

    def _dim(self, dims: list[int], value: int, at: int, what: str) -> None:
        if len(dims) >= MAX_BLOB_AXES:
            raise self.s.fail(at, f"{what} has more than {MAX_BLOB_AXES} axes (Caffe's kMaxBlobAxes)")
        dims.append(_int64(value))


def _resolve(entries: list[_Entry], notes: list[str]) -> tuple[str, list[_Entry], str | None]:
    """Apply what ``UpgradeNetAsNeeded`` does to the layer list: format, entries, fatal error."""
    has_v2 = any(e.kind == "layer" for e in entries)
    v1 = [e for e in entries if e.kind == "layers"]
    error: str | None = None
    if any(e.v0 is not None for e in v1):
        fmt = "V0"
        out: list[_Entry] = []
        dropped_v2 = sum(1 for e in entries if e.kind == "layer")
        if dropped_v2:
            # UpgradeV0Net rebuilds the net from name, layers, input, input_dim, force_backward only.
            notes.append(f"{dropped_v2} 'layer' entries dropped by Caffe's V0 upgrade")
        padding = 0
        for e in v1:
            if e.v0 is None:  # Caffe keeps only the connections of such an entry
                out.append(_Entry("layers", e.offset, e.nbytes))
                continue
            v0 = e.v0
            if v0.type == "padding":
                padding += 1
                continue
            converted = _Entry("layers/layer", e.offset, e.nbytes, name=v0.name, blobs=v0.blobs)
            if v0.type:
                if v0.type in V0_TYPE_TO_V1:
                    converted.type = V1_TYPE_TO_V2.get(V0_TYPE_TO_V1[v0.type], "")
                else:
                    converted.type = v0.type
                    error = error or f"Unknown layer name: {v0.type}"
            out.append(converted)
        if padding:
            notes.append(f"{padding} V0 padding layers folded into their consumers by Caffe's upgrade")
        return fmt, out, error
    for e in v1:
        # A proto2 enum value Caffe does not know is kept as an unknown field: the type stays unset.
        e.type = V1_TYPE_TO_V2.get(e.v1_type, "") if e.v1_type is not None else ""
    if v1 and has_v2:
        return "mixed", entries, REFUSE_MIXED
    return ("V1" if v1 else "V2"), entries, error


def _open(path: str | os.PathLike[str]) -> tuple[BinaryIO, int]:
    source = os.fspath(path)
    try:
        f = open(source, "rb")  # noqa: SIM115  (closed by the caller)
    except FileNotFoundError:
        raise CaffememError("no such file", source) from None
    except IsADirectoryError:
        raise CaffememError("is a directory, not a weights file", source) from None
    except OSError as err:
        raise CaffememError(err.strerror or str(err), source) from None
    size = os.fstat(f.fileno()).st_size
    if f.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
        f.close()
        raise CaffememError("is an HDF5 weights file; caffemem reads binary .caffemodel files only", source)
    f.seek(0)
    return f, size


def read_caffemodel(path: str | os.PathLike[str]) -> CaffeModelInfo:
    """Scan a binary caffemodel: net name, format, and each layer's name, type and blob shapes.

    Memory use is one :data:`CHUNK_BYTES` buffer plus the returned metadata. Raises
    :class:`CaffememError` (one line: file, byte offset, what) on truncated or corrupt input.
    """
    source = os.fspath(path)
    f, size = _open(source)
    with f:
        reader = _CaffeModelReader(_Scanner(f, source, size))
        name, entries = reader.net()
    notes = reader.notes
    fmt, resolved, error = _resolve(entries, notes)
    if size > CAFFE_READ_LIMIT:
        notes.append(f"the file is {size} bytes; Caffe reads binary protos with a limit of "
                     f"{CAFFE_READ_LIMIT} bytes and cannot load it")
    layers = [WeightsLayer(name=e.name, type=e.type, blobs=[b.shape for b in e.blobs],
                           value_counts=[b.value_count for b in e.blobs], details=list(e.blobs),
                           offset=e.offset, nbytes=e.nbytes, kind=e.kind) for e in resolved]
    return CaffeModelInfo(path=source, file_bytes=size, format=fmt, name=name, layers=layers,
                          upgrade_error=error, notes=notes, metadata_bytes=size - reader.payload)


def read_blobproto_shape(path: str | os.PathLike[str]) -> BlobInfo:
    """Shape and value counts of a ``.binaryproto`` (one serialized BlobProto, e.g. a mean file).

    The shape is what ``Blob::FromProto`` gives it: legacy num/channels/height/width as 4-D, else
    the BlobShape dims. Values are skipped, never read.
    """
    source = os.fspath(path)
    f, size = _open(source)
    with f:
        reader = _CaffeModelReader(_Scanner(f, source, size))
        return reader.blob(size, "BlobProto")


# --- writing stand-ins ---------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    n &= 0xFFFFFFFFFFFFFFFF
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _len_header(number: int, length: int) -> bytes:
    return _varint(number << 3 | _LEN) + _varint(length)


LayerSpec = tuple[str, str, Sequence[Sequence[int]]]  # (name, type, blob shapes)


def write_standin_caffemodel(path: str | os.PathLike[str], layers: Iterable[LayerSpec],
                             chunk_bytes: int = 1 << 20, sparse: bool = False) -> int:
    """Write a V2 caffemodel whose blobs are zero-filled, streaming the values; return its size.

    A caffemodel's size and layer list do not depend on the values, so this stands in for real
    weights in tests and benchmarks. Values are written ``chunk_bytes`` at a time, so writing a
    multi-GB file needs only that much memory. ``sparse=True`` seeks over the values instead (the
    file system reads holes as zeros), which makes files of any size instant to create.
    """
    zeros = bytes(chunk_bytes)
    with open(path, "wb") as f:
        for name, type_, shapes in layers:
            blob_parts: list[tuple[bytes, int]] = []  # (header bytes, value bytes to stream)
            for dims in shapes:
                elements = count(dims)
                dim_bytes = b"".join(_varint(d) for d in dims)
                shape = _len_header(_S_DIM, len(dim_bytes)) + dim_bytes
                head = _len_header(_B_SHAPE, len(shape)) + shape + _len_header(_B_DATA, 4 * elements)
                blob_parts.append((_len_header(_L2_BLOBS, len(head) + 4 * elements) + head, 4 * elements))
            body_head = (_len_header(_L2_NAME, len(name.encode())) + name.encode()
                         + _len_header(_L2_TYPE, len(type_.encode())) + type_.encode())
            body_len = len(body_head) + sum(len(h) + n for h, n in blob_parts)
            f.write(_len_header(_NET_LAYER, body_len) + body_head)
            for head, n in blob_parts:
                f.write(head)
                if sparse:
                    f.seek(n, os.SEEK_CUR)
                    n = 0
                while n > 0:
                    step = min(n, chunk_bytes)
                    f.write(zeros[:step] if step < chunk_bytes else zeros)
                    n -= step
        size = f.tell()
        f.truncate(size)  # a sparse file may end in a hole
        return size


# --- the net definition without its weights ------------------------------------------------------

#: Cap on what a skeleton keeps (every byte of the file that is not a blob). The definition of a real
#: net is a few KB (VGG-16 deploy: about 2 KB); a corrupt file whose non-blob fields claim more is refused
#: rather than read into memory.
MAX_SKELETON_BYTES = 64 << 20

_Rules = dict[int, "_Rules | None"]

#: What :func:`read_net_skeleton` leaves out: for a length-delimited field, ``None`` drops it and a
#: dict rewrites the embedded message with its own rules. Only blobs go: every other field (phase
#: rules, layer parameters, unknown fields of forks) is kept byte for byte.
_SKELETON_RULES: _Rules = {
    _NET_LAYER: {_L2_BLOBS: None},
    _NET_LAYERS_V1: {_L1_BLOBS: None, _L1_V0: {_L0_BLOBS: None}},
}

#: Wire types protobuf uses for NetParameter's own fields. A file whose top level has another (a
#: BlobProto's ``num`` varint in field 1, its packed ``data`` in field 5, ...) is not a net, although
#: protobuf would silently keep such fields as unknown and give an empty net.
_NET_WIRE_TYPES = {1: {_LEN}, 2: {_LEN}, 3: {_LEN}, 4: {_VARINT, _LEN}, 5: {_VARINT}, 6: {_LEN},
                   7: {_VARINT}, 8: {_LEN}, 100: {_LEN}}
_NET_FIELD_NAMES = {1: "name", 2: "layers", 3: "input", 4: "input_dim", 5: "force_backward", 6: "state",
                    7: "debug_info", 8: "input_shape", 100: "layer"}


@dataclass
class NetSkeleton:
    """A caffemodel's net definition with the blobs left out, and what was left out."""

    param: caffe_pb2.NetParameter
    file_bytes: int
    kept_bytes: int  # size of the serialized skeleton
    dropped_blobs: int
    dropped_bytes: int  # bytes of the blob entries left out (values plus their headers)


class _SkeletonCopier:
    """Re-serializes a message from the file, copying fields as raw wire bytes except the dropped ones.

    Why raw bytes: the skeleton must parse to exactly what protobuf would make of the whole file minus
    the blobs, including fields this schema version does not know, so nothing is decoded on the way.
    """

    def __init__(self, scanner: _Scanner) -> None:
        self.s = scanner
        self.kept = 0
        self.dropped_blobs = 0
        self.dropped_bytes = 0

    def _keep(self, n: int, at: int) -> None:
        self.kept += n
        if self.kept > MAX_SKELETON_BYTES:
            raise self.s.fail(at, f"the net definition (everything but the blobs) exceeds {MAX_SKELETON_BYTES} "
                                  f"bytes; not a caffemodel caffemem can read")

    def message(self, end: int, rules: _Rules, what: str, top: bool = False) -> bytearray:
        s = self.s
        out = bytearray()
        counts: dict[int, int] = {}
        while s.pos < end:
            number, wire, at = s.tag(end, what)
            if top and number in _NET_WIRE_TYPES and wire not in _NET_WIRE_TYPES[number]:
                raise s.fail(at, f"field {number} ({_NET_FIELD_NAMES[number]}) has wire type {wire}, which a "
                                 f"NetParameter never uses: not a binary net")
            if wire == _LEN and number in rules:
                index = counts.get(number, 0)
                counts[number] = index + 1
                if top:
                    field_what = f"{_NET_FIELD_NAMES[number]} #{index}"
                else:
                    field_what = f"{what} field {number}"
                n = s.length(end, field_what)
                inner = rules[number]
                if inner is None:  # a blob: seek over it, values and all
                    s.skip(n, end, field_what)
                    self.dropped_blobs += 1
                    self.dropped_bytes += s.pos - at
                    continue
                body = self.message(s.pos + n, inner, field_what)
                head = _varint(number << 3 | _LEN) + _varint(len(body))
                self._keep(len(head), at)
                out += head
                out += body
                continue
            s.skip_value(number, wire, end, f"{what} field {number}")
            n = s.pos - at
            self._keep(n, at)
            s.pos = at
            out += s.read(n, end, f"{what} field {number}")
        return out


def text_strings(message: Message) -> int:
    """Make every ``string`` field of ``message`` (recursively) a ``str``; return how many were not UTF-8.

    Why: a proto2 ``string`` holding bytes that are not UTF-8 parses in C++ (Caffe logs nothing and
    keeps the bytes), but Python's protobuf hands such a field back as ``bytes``, which every name
    comparison and writer downstream would trip on. Caffe would load the net, so caffemem reads the
    names as Caffe's log would show them, with U+FFFD for each bad byte.
    """
    fixed = 0
    for fd, value in message.ListFields():
        if fd.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
            for sub in (value if is_repeated(fd) else [value]):
                fixed += text_strings(sub)
        elif fd.type == FieldDescriptor.TYPE_STRING:
            if is_repeated(fd):
                if any(isinstance(v, bytes) for v in value):
                    texts = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
                    fixed += sum(isinstance(v, bytes) for v in value)
                    del value[:]
                    value.extend(texts)
            elif isinstance(value, bytes):
                setattr(message, fd.name, value.decode("utf-8", "replace"))
                fixed += 1
    return fixed


def read_net_skeleton_info(path: str | os.PathLike[str]) -> NetSkeleton:
    """:func:`read_net_skeleton` plus the sizes of what it kept and left out."""
    source = os.fspath(path)
    f, size = _open(source)
    with f:
        copier = _SkeletonCopier(_Scanner(f, source, size))
        data = copier.message(size, _SKELETON_RULES, "NetParameter", top=True)
    try:
        param = caffe_pb2.NetParameter.FromString(bytes(data))
    except Exception as err:  # protobuf's DecodeError; the scanner has already checked the framing
        raise CaffememError(f"not a valid NetParameter once its blobs are left out: {err}", source) from None
    text_strings(param)
    return NetSkeleton(param=param, file_bytes=size, kept_bytes=len(data), dropped_blobs=copier.dropped_blobs,
                       dropped_bytes=copier.dropped_bytes)


def read_net_skeleton(path: str | os.PathLike[str]) -> caffe_pb2.NetParameter:
    """The caffemodel's ``NetParameter`` with every blob left out, parsed by protobuf.

    Why: a caffemodel holds the whole net definition (types, bottoms/tops, layer parameters, phase
    rules), so it can be analysed like a prototxt, but parsing it whole would hold every weight in
    memory. The file is streamed with one :data:`CHUNK_BYTES` buffer; the blob entries of ``layer``
    (V2), ``layers`` (V1) and their nested V0 ``layer`` are seeked over, everything else is copied as
    raw wire bytes and the small result is parsed. No upgrade is applied (see
    :func:`caffemem.net.load.load_binary_net`); blob shapes come from :func:`read_caffemodel`.
    Raises :class:`CaffememError` (one line: file, byte offset) on truncated or corrupt input.
    """
    return read_net_skeleton_info(path).param

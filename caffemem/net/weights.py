"""Check a caffemodel against a built net, and estimate what loading it costs, as Caffe does it.

``caffe test -weights`` / ``caffe train -weights`` call ``Net::CopyTrainedLayersFrom``
(``src/caffe/net.cpp``), which dies on the first layer whose blobs do not fit. Knowing that before
a job starts is as useful as knowing its memory, and the check needs only shapes, which
:func:`caffemem.net.caffemodel.read_caffemodel` gives without loading values. :func:`match_weights`
follows Caffe's loop exactly: file layers in file order, the *first* net layer with the same name,
blob count, ``Blob::ShapeEquals`` (including its legacy 4-D rule), then ``FromProto``'s value-count
CHECKs; its errors carry Caffe's own wording.

Loading is also a memory event: Caffe parses the whole file into one ``NetParameter`` before
copying, and upgrades legacy files in memory first. :func:`loading_estimate` models that transient
(see ``shared/docs/caffe-memory-model.md`` §9 "CopyTrainedLayersFrom").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from caffemem.errors import NetError
from caffemem.layers.registry import count
from caffemem.net.build import BuiltLayer, BuiltNet
from caffemem.net.caffemodel import CAFFE_READ_LIMIT, BlobInfo, CaffeModelInfo, WeightsLayer


@dataclass
class WeightsMatch:
    """How a caffemodel's layers land in a net, as ``CopyTrainedLayersFrom`` would copy them."""

    source: str
    copied: list[str]  # file layers copied into a net layer of the same name, in file order
    ignored_source_layers: list[str]  # file layers without a net layer of that name (Caffe logs them)
    unfilled_layers: list[str]  # net layers with params that no file layer fills (keep their fillers)
    unchecked_layers: list[str]  # net layers caffemem could not set up, so their params were not checked
    weights_values_bytes: int  # bytes of blob values in the file
    copied_values_bytes: int  # of those, bytes copied into the net
    file_bytes: int
    diff_layers: list[str] = field(default_factory=list)  # layers whose file blobs carry diffs
    log_lines: list[str] = field(default_factory=list)  # Caffe's INFO lines, without the glog prefix

    @property
    def ignored_values_bytes(self) -> int:
        """Bytes of values Caffe parses but never copies (e.g. auxiliary classifiers of a train net)."""
        return self.weights_values_bytes - self.copied_values_bytes


def shape_string(shape: tuple[int, ...]) -> str:
    """``Blob::shape_string``: each dim followed by a space, then the count in parentheses."""
    return "".join(f"{d} " for d in shape) + f"({count(shape)})"


def legacy_shape(shape: tuple[int, ...]) -> tuple[int, int, int, int] | None:
    """``(LegacyShape(-4), ..., LegacyShape(-1))``: missing leading axes count as 1; None above 4 axes."""
    if len(shape) > 4:
        return None
    padded = (1,) * (4 - len(shape)) + tuple(shape)
    return padded[0], padded[1], padded[2], padded[3]


def shape_equals(target: tuple[int, ...], blob: BlobInfo) -> bool:
    """``Blob::ShapeEquals(BlobProto)``: legacy protos compare against the target's legacy 4-D shape."""
    if blob.legacy:
        return legacy_shape(target) == blob.shape
    return tuple(target) == blob.shape


def _details(layer: WeightsLayer) -> list[BlobInfo]:
    """Full blob facts; a layer built by hand with only shapes and counts gets plain float blobs."""
    if layer.details:
        return layer.details
    return [BlobInfo(shape=tuple(s), data_values=n)
            for s, n in zip(layer.blobs, layer.value_counts, strict=True)]


def _check_values(target: tuple[int, ...], blob: BlobInfo, j: int, layer: str, source: str) -> None:
    """``Blob::FromProto``'s CHECK_EQs between the blob's count and the values the proto holds."""
    elements = count(target)
    checks = [("double_data_size", blob.double_data_values) if blob.double_data_values > 0
              else ("data_size", blob.data_values)]
    if blob.double_diff_values > 0:
        checks.append(("double_diff_size", blob.double_diff_values))
    elif blob.diff_values > 0:
        checks.append(("diff_size", blob.diff_values))
    for what, n in checks:
        if n != elements:
            raise NetError(f"Check failed: count_ == proto.{what}() ({elements} vs. {n}) "
                           f"(copying param {j} of layer '{layer}')", source)


def match_weights(net: BuiltNet, info: CaffeModelInfo) -> WeightsMatch:
    """Do what ``Net::CopyTrainedLayersFrom(NetParameter)`` does with ``info``, without the values.

    Raises :class:`NetError` where Caffe dies: a file Caffe cannot read or upgrade, a blob-count
    mismatch, a shape mismatch (Caffe's message verbatim), or values that do not fill the blob.

    Assumptions: net layers caffemem could not set up (``BuiltLayer.unknown``) have no reliable
    param shapes, so a file layer matching one is copied without checks and the layer is listed
    in ``unchecked_layers``. ``unfilled_layers`` lists every net layer with params that no file
    layer names, including layers that share their params with a filled owner.
    """
    source = info.path
    if not info.caffe_readable:
        raise NetError(f"Failed to parse NetParameter file: {source} (the file is {info.file_bytes} bytes; "
                       f"Caffe's protobuf reader stops at {CAFFE_READ_LIMIT})", source)
    if info.upgrade_error:
        raise NetError(info.upgrade_error, source)

    by_name: dict[str, BuiltLayer] = {}
    for layer in net.layers:
        by_name.setdefault(layer.name, layer)  # Caffe's linear search finds the first of a name

    copied: list[str] = []
    ignored: list[str] = []
    unchecked: list[str] = []
    diff_layers: list[str] = []
    log: list[str] = []
    filled: set[int] = set()
    copied_bytes = 0
    for file_layer in info.layers:
        target = by_name.get(file_layer.name)
        if target is None:
            ignored.append(file_layer.name)
            log.append(f"Ignoring source layer {file_layer.name}")
            continue
        blobs = _details(file_layer)
        if target.unknown is not None:
            if target.name not in unchecked:
                unchecked.append(target.name)
        else:
            if len(target.params) != len(blobs):
                raise NetError(f"Check failed: target_blobs.size() == source_layer.blobs_size() "
                               f"({len(target.params)} vs. {len(blobs)}) Incompatible number of blobs for "
                               f"layer {file_layer.name}", source)
            for j, (param, blob) in enumerate(zip(target.params, blobs, strict=True)):
                if not shape_equals(param.shape, blob):
                    raise NetError(f"Cannot copy param {j} weights from layer '{file_layer.name}'; shape "
                                   f"mismatch.  Source param shape is {shape_string(blob.shape)}; target "
                                   f"param shape is {shape_string(param.shape)}. To learn this layer's "
                                   f"parameters from scratch rather than copying from a saved net, rename "
                                   f"the layer.", source)
                _check_values(param.shape, blob, j, file_layer.name, source)
        if any(b.diff_values or b.double_diff_values for b in blobs) and file_layer.name not in diff_layers:
            diff_layers.append(file_layer.name)
        filled.add(target.index)
        copied.append(file_layer.name)
        copied_bytes += file_layer.data_bytes

    unfilled = [layer.name for layer in net.layers
                if layer.params and layer.index not in filled and layer.unknown is None]
    return WeightsMatch(source=source, copied=copied, ignored_source_layers=ignored, unfilled_layers=unfilled,
                        unchecked_layers=unchecked, weights_values_bytes=info.weights_values_bytes,
                        copied_values_bytes=copied_bytes, file_bytes=info.file_bytes, diff_layers=diff_layers,
                        log_lines=log)


# --- transient memory of loading --------------------------------------------------------------------

#: Peak size of the in-memory NetParameter(s) during ``ReadNetParamsFromBinaryFileOrDie``, in units
#: of one parsed copy, by file format. Derivation (``UpgradeNetAsNeeded``, upgrade_proto.cpp):
#:
#: - V2: parsed once, held while ``CopyTrainedLayersFrom`` runs: 1x.
#: - V1: ``NetParameter original_param(*param)`` copies everything (2x). ``UpgradeV1Net`` then
#:   ``CopyFrom``s into ``param`` (which reuses the cleared messages' capacity: still 2x),
#:   ``clear_layers()`` (protobuf keeps cleared elements and their array capacity for reuse) and
#:   copies every blob into new ``layer`` messages (3x). After ``original_param`` is freed, 2x stays
#:   held during the copy into the net.
#: - V0: the V0->V1 step holds ``param``, ``original_param`` and the padding-free copy, and copies
#:   the blobs once more into the outer ``layers.blobs`` of the reused messages (4x); the V1->V2 step
#:   that follows again peaks at about 4x (2x retained in ``param`` + its copy + the new layers).
UPGRADE_FACTOR: dict[str, float] = {"V2": 1.0, "V1": 3.0, "V0": 4.0, "mixed": 1.0}
#: What stays allocated while the values are copied into the net (same units).
HELD_FACTOR: dict[str, float] = {"V2": 1.0, "V1": 2.0, "V0": 3.0, "mixed": 1.0}
#: Approximate in-memory size of a LayerParameter / V1LayerParameter object with its sub-message
#: pointers, and of a BlobProto object, beyond their contents [estimate].
LAYER_OBJECT_BYTES = 1024
BLOB_OBJECT_BYTES = 128


@dataclass
class LoadingEstimate:
    """Host memory Caffe needs, transiently, to read a caffemodel (on top of the net's own params)."""

    format: str
    parsed_bytes: int  # one NetParameter as parsed from the file
    peak_bytes: int  # during the in-memory upgrade of legacy formats (= parsed_bytes for V2)
    held_bytes: int  # while CopyTrainedLayersFrom copies values into the net
    values_bytes: int  # of parsed_bytes: the repeated float/double arrays
    assumptions: list[str] = field(default_factory=list)


def loading_estimate(info: CaffeModelInfo) -> LoadingEstimate:
    """Estimate the transient host memory of ``CopyTrainedLayersFromBinaryProto`` for this file.

    Assumptions (all also returned in ``assumptions``): packed fixed-width fields are parsed into
    arrays reserved to their exact size (what C++ protobuf does), so values cost 4 bytes per float
    and 8 per double, diffs included; everything else in the file (names, layer parameters,
    headers) costs about its serialized size, plus a fixed object overhead per layer and per blob;
    legacy formats multiply that by :data:`UPGRADE_FACTOR`. malloc overhead and the net's own
    param storage (counted elsewhere) are excluded. Caffe repeats the load for the train net and
    each test net, one at a time, so this is a per-load peak, not a sum.
    """
    values = sum(4 * (b.data_values + b.diff_values) + 8 * (b.double_data_values + b.double_diff_values)
                 for layer in info.layers for b in layer.details)
    if not any(layer.details for layer in info.layers):
        values = info.weights_values_bytes
    parsed = (values + max(info.metadata_bytes, 0) + LAYER_OBJECT_BYTES * len(info.layers)
              + BLOB_OBJECT_BYTES * info.blob_count)
    fmt = info.format
    peak = int(parsed * UPGRADE_FACTOR.get(fmt, 1.0))
    held = int(parsed * HELD_FACTOR.get(fmt, 1.0))
    assumptions = [
        "the whole file is parsed into one NetParameter before any value is copied "
        "(ReadNetParamsFromBinaryFileOrDie)",
        "values take 4 bytes per float and 8 per double in memory, as packed in the file",
        f"other fields take about their serialized size plus ~{LAYER_OBJECT_BYTES} B per layer and "
        f"~{BLOB_OBJECT_BYTES} B per blob of object overhead [estimate]",
    ]
    if fmt in ("V1", "V0"):
        assumptions.append(f"a {fmt} file is upgraded in memory first, peaking at about "
                           f"{UPGRADE_FACTOR[fmt]:g}x the parsed size (copies made by UpgradeNetAsNeeded, "
                           f"cleared protobuf fields keeping their capacity) [estimate]")
    if fmt == "mixed":
        assumptions.append("Caffe refuses to upgrade a file with both 'layer' and 'layers'; it dies after "
                           "parsing, so the peak is one parsed copy")
    if not info.caffe_readable:
        assumptions.append("the file exceeds Caffe's 2 GB read limit; Caffe fails while parsing it")
    return LoadingEstimate(format=fmt, parsed_bytes=parsed, peak_bytes=peak, held_bytes=held,
                           values_bytes=values, assumptions=assumptions)


def loading_bytes(info: CaffeModelInfo) -> int:
    """Peak transient host bytes of loading this caffemodel (see :func:`loading_estimate`)."""
    return loading_estimate(info).peak_bytes

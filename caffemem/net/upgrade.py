"""Caffe's legacy-format upgrades, applied in memory exactly as Caffe applies them when it reads a file.

Why this exists: Caffe never analyses the text you wrote. ``ReadNetParamsFromTextFileOrDie`` first
runs ``UpgradeNetAsNeeded`` (``src/caffe/util/upgrade_proto.cpp``), and the upgraded net is what it
builds, sizes and logs. A V1 ``blobs_lr: 0`` becomes ``lr_mult: 0`` (which changes which layers need
backward), V0 padding layers vanish into their consumers, ``input_dim`` becomes an ``Input`` layer
named ``input`` at the front (which Caffe logs and counts in "Memory required for data"), and
BatchNorm layers with three ``param`` blocks get their multipliers zeroed. An estimator that skipped
these steps would disagree with Caffe on layer names, order, shapes and memory.

The steps, their conditions, their order, Caffe's fatal errors and its "continuing anyway" ERRORs are
reproduced here; see ``shared/docs/caffe-memory-model.md`` section 10. Fatal errors raise
:class:`~caffemem.errors.NetError` (nets) or :class:`~caffemem.errors.CaffememError` (solvers) with
one line; ERRORs after which Caffe goes on become :attr:`UpgradeResult.warnings`.

Solvers: only the ``solver_type`` enum upgrade is done. Caffe master's ``caffe train`` also rewrites
``snapshot_prefix`` (``UpgradeSnapshotPrefixProperty``: set from the solver's path when missing, or
extended when it names a directory). That depends on the solver's location and the file system at
run time, not on the text, so it is deliberately left out of this in-memory form; Caffe's own
``upgrade_solver_proto_text`` tool leaves it out too, which is why our output matches that tool.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from google.protobuf import text_encoding
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from caffemem.errors import CaffememError, NetError
from caffemem.net.solver_types import BY_ENUM
from caffemem.net.upgrade_v0 import needs_v0_upgrade, upgrade_v0_net
from caffemem.proto import caffe_pb2, is_repeated

V1 = caffe_pb2.V1LayerParameter

#: Names of the upgrade steps as they appear in :attr:`UpgradeResult.applied`, in Caffe's order.
V0_TO_V1 = "V0->V1"
V0_PADDING = "V0 padding layers"
DATA_TRANSFORMATION = "data transformation"
V1_TO_V2 = "V1->V2"
INPUT_FIELDS = "input fields"
BATCHNORM = "BatchNorm params"
SOLVER_TYPE = "solver_type enum"

#: ``UpgradeV1LayerType``: V1 enum name -> V2 type string. Every value of the V1 enum is listed, so
#: a KeyError can only come from a number outside the enum (possible in a binary file only).
V1_TYPE_TO_V2: dict[int, str] = {
    V1.NONE: "",
    V1.ABSVAL: "AbsVal",
    V1.ACCURACY: "Accuracy",
    V1.ARGMAX: "ArgMax",
    V1.BNLL: "BNLL",
    V1.CONCAT: "Concat",
    V1.CONTRASTIVE_LOSS: "ContrastiveLoss",
    V1.CONVOLUTION: "Convolution",
    V1.DECONVOLUTION: "Deconvolution",
    V1.DATA: "Data",
    V1.DROPOUT: "Dropout",
    V1.DUMMY_DATA: "DummyData",
    V1.EUCLIDEAN_LOSS: "EuclideanLoss",
    V1.ELTWISE: "Eltwise",
    V1.EXP: "Exp",
    V1.FLATTEN: "Flatten",
    V1.HDF5_DATA: "HDF5Data",
    V1.HDF5_OUTPUT: "HDF5Output",
    V1.HINGE_LOSS: "HingeLoss",
    V1.IM2COL: "Im2col",
    V1.IMAGE_DATA: "ImageData",
    V1.INFOGAIN_LOSS: "InfogainLoss",
    V1.INNER_PRODUCT: "InnerProduct",
    V1.LRN: "LRN",
    V1.MEMORY_DATA: "MemoryData",
    V1.MULTINOMIAL_LOGISTIC_LOSS: "MultinomialLogisticLoss",
    V1.MVN: "MVN",
    V1.POOLING: "Pooling",
    V1.POWER: "Power",
    V1.RELU: "ReLU",
    V1.SIGMOID: "Sigmoid",
    V1.SIGMOID_CROSS_ENTROPY_LOSS: "SigmoidCrossEntropyLoss",
    V1.SILENCE: "Silence",
    V1.SOFTMAX: "Softmax",
    V1.SOFTMAX_LOSS: "SoftmaxWithLoss",
    V1.SPLIT: "Split",
    V1.SLICE: "Slice",
    V1.TANH: "TanH",
    V1.WINDOW_DATA: "WindowData",
    V1.THRESHOLD: "Threshold",
    V1.CONVOLUTION3D: "Convolution3D",  # C3D v1.0's names (its numbers are BVLC's: see _c3d_type)
    V1.POOLING3D: "Pooling3D",
    V1.VIDEO_DATA: "VideoData",
}

#: The per-type parameter messages ``UpgradeV1LayerParameter`` copies verbatim (same field name in
#: V1LayerParameter and LayerParameter), in Caffe's order.
V1_COPIED_PARAMS: tuple[str, ...] = (
    "accuracy_param", "argmax_param", "concat_param", "contrastive_loss_param",
    "convolution_param", "data_param", "dropout_param", "dummy_data_param", "eltwise_param",
    "exp_param", "hdf5_data_param", "hdf5_output_param", "hinge_loss_param", "image_data_param",
    "infogain_loss_param", "inner_product_param", "lrn_param", "memory_data_param", "mvn_param",
    "pooling_param", "power_param", "relu_param", "sigmoid_param", "softmax_param", "slice_param",
    "tanh_param", "threshold_param", "window_data_param", "transform_param", "loss_param",
)

#: V1 data layers whose own parameter message still carried the transformation fields (2014).
_DATA_LAYER_PARAMS: dict[int, str] = {
    V1.DATA: "data_param",
    V1.IMAGE_DATA: "image_data_param",
    V1.WINDOW_DATA: "window_data_param",
}
_TRANSFORM_FIELDS = ("scale", "mean_file", "crop_size", "mirror")

_BOTH_LAYER_FIELDS = (
    "Refusing to upgrade inconsistent NetParameter input; the definition includes both 'layer' "
    "and 'layers' fields. The current format defines 'layer' fields with string type like "
    "layer { type: 'Layer' ... } and not layers { type: LAYER ... }. Manually switch the "
    "definition to 'layer' format to continue."
)
_BOTH_SOLVER_TYPES = (
    "Failed to upgrade solver: old solver_type field (enum) and new type field (string) cannot "
    "be both specified in solver proto text."
)


@dataclass
class UpgradeResult:
    """What an upgrade did.

    ``applied``: names of the steps that ran, in order (``V0->V1``, ``V0 padding layers``,
    ``data transformation``, ``V1->V2``, ``input fields``, ``BatchNorm params``,
    ``solver_type enum``); empty when the message was already current.
    ``warnings``: Caffe's ERROR lines after which it goes on (a V0 field that does not belong to
    its layer type is dropped, for instance), each prefixed with the source when one was given.
    ``log``: the lines Caffe's upgrade code would log, as (severity letter I/W/E, text), for
    anyone matching or predicting a real Caffe log.
    """

    applied: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        """True when anything was upgraded."""
        return bool(self.applied)


def _prefixed(source: str, messages: list[str]) -> list[str]:
    return [f"{source}: {m}" if source else m for m in messages]


# --------------------------------------------------------------------------------------------
# Conditions (Caffe's NetNeeds*Upgrade)


def needs_data_upgrade(net: caffe_pb2.NetParameter) -> bool:
    """``NetNeedsDataUpgrade``: a V1 data layer still keeps scale/mean_file/crop_size/mirror in its
    own parameter message. V2 ``layer`` blocks are not inspected: Caffe ignores such fields there."""
    for entry in net.layers:
        param_name = _DATA_LAYER_PARAMS.get(entry.type)
        if param_name is None:
            continue
        param = getattr(entry, param_name)
        if any(param.HasField(f) for f in _TRANSFORM_FIELDS):
            return True
    return False


def needs_v1_upgrade(net: caffe_pb2.NetParameter) -> bool:
    """``NetNeedsV1ToV2Upgrade``: any ``layers`` entry at all."""
    return len(net.layers) > 0


def needs_input_upgrade(net: caffe_pb2.NetParameter) -> bool:
    """``NetNeedsInputUpgrade``: any top-level ``input`` (``input_dim`` alone does not count)."""
    return len(net.input) > 0


def needs_batchnorm_upgrade(net: caffe_pb2.NetParameter) -> bool:
    """``NetNeedsBatchNormUpgrade``: a BatchNorm layer with exactly three ``param`` blocks."""
    return any(layer.type == "BatchNorm" and len(layer.param) == 3 for layer in net.layer)


def net_needs_upgrade(net: caffe_pb2.NetParameter) -> bool:
    """``NetNeedsUpgrade``: whether any step would run (Caffe's tool says "already in latest proto
    format" otherwise)."""
    return (needs_v0_upgrade(net) or needs_v1_upgrade(net) or needs_data_upgrade(net)
            or needs_input_upgrade(net) or needs_batchnorm_upgrade(net))


def solver_needs_upgrade(solver: caffe_pb2.SolverParameter) -> bool:
    """``SolverNeedsTypeUpgrade``: the legacy ``solver_type`` enum is present."""
    return solver.HasField("solver_type")


# --------------------------------------------------------------------------------------------
# Steps


def upgrade_data_transformation(net: caffe_pb2.NetParameter) -> None:
    """``UpgradeNetDataTransformation``: move the four fields into ``transform_param``.

    Caffe touches (and so creates, possibly empty) both ``transform_param`` and the layer's own
    parameter message on *every* V1 DATA / IMAGE_DATA / WINDOW_DATA layer, not just the ones that
    had something to move; this is mirrored so the upgraded message equals Caffe's.
    """
    for entry in net.layers:
        param_name = _DATA_LAYER_PARAMS.get(entry.type)
        if param_name is None:
            continue
        param = getattr(entry, param_name)
        param.SetInParent()
        transform = entry.transform_param
        transform.SetInParent()
        for f in _TRANSFORM_FIELDS:
            if param.HasField(f):
                setattr(transform, f, getattr(param, f))
                param.ClearField(f)


#: C3D v1.0 numbers its own V1 types 30, 31 and 33, which BVLC's enum gives to ARGMAX, THRESHOLD
#: and SLICE; a binary file written by C3D reads with BVLC's names. The parameter message each type
#: reads tells them apart (C3D v1.0 ``src/caffe/proto/caffe.proto``; text files name the type).
_C3D_BY_NUMBER: dict[int, tuple[str, str]] = {
    V1.ARGMAX: ("convolution_param", "Convolution3D"),
    V1.THRESHOLD: ("pooling_param", "Pooling3D"),
    V1.SLICE: ("image_data_param", "VideoData"),
}


def _c3d_type(v1: caffe_pb2.V1LayerParameter) -> str | None:
    """The C3D v1.0 type a V1 layer with BVLC's number 30, 31 or 33 really has, or None. Nothing is
    logged here (Caffe's upgrade logs nothing of the kind): the layer names its C3D v1.0 variant
    when it is set up, from the same message."""
    found = _C3D_BY_NUMBER.get(v1.type)
    if found is None or not v1.HasField(found[0]):
        return None
    return found[1]


def _upgrade_v1_layer(v1: caffe_pb2.V1LayerParameter, out: caffe_pb2.LayerParameter,
                      source: str, warnings: list[str]) -> bool:
    """``UpgradeV1LayerParameter`` for one layer; False when a nested V0 layer had to be ignored."""
    out.Clear()
    ok = True
    out.bottom.extend(v1.bottom)
    out.top.extend(v1.top)
    if v1.HasField("name"):
        out.name = v1.name
    for rule in v1.include:
        out.include.add().CopyFrom(rule)
    for rule in v1.exclude:
        out.exclude.add().CopyFrom(rule)
    if v1.HasField("type"):
        if v1.type not in V1_TYPE_TO_V2:
            raise NetError(f"Unknown V1LayerParameter layer type: {v1.type}", source=source)
        out.type = _c3d_type(v1) or V1_TYPE_TO_V2[v1.type]
    for blob in v1.blobs:
        out.blobs.add().CopyFrom(blob)

    def spec(i: int) -> caffe_pb2.ParamSpec:
        while len(out.param) <= i:
            out.param.add()
        return out.param[i]

    for i, name in enumerate(v1.param):
        spec(i).name = name
    for i, mode in enumerate(v1.blob_share_mode):
        # V1 STRICT/PERMISSIVE have the same numbers as ParamSpec's; the text parser already
        # rejected anything else.
        spec(i).share_mode = caffe_pb2.ParamSpec.DimCheckMode.Value(
            V1.DimCheckMode.Name(mode))
    for i, lr in enumerate(v1.blobs_lr):
        spec(i).lr_mult = lr
    for i, decay in enumerate(v1.weight_decay):
        spec(i).decay_mult = decay
    out.loss_weight.extend(v1.loss_weight)
    for name in V1_COPIED_PARAMS:
        if v1.HasField(name):
            getattr(out, name).CopyFrom(getattr(v1, name))
    if v1.HasField("layer"):
        warnings.append("Input NetParameter has V0 layer -- ignoring.")
        ok = False
    return ok


def upgrade_v1_net(net: caffe_pb2.NetParameter, source: str, warnings: list[str]) -> bool:
    """``UpgradeV1Net``: turn every ``layers`` entry into a ``layer``; False if any failed.

    Fatal when the net also has ``layer`` blocks: Caffe refuses to guess how the two lists
    interleave.
    """
    if len(net.layer) > 0:
        raise NetError(_BOTH_LAYER_FIELDS, source=source)
    kept = caffe_pb2.NetParameter()
    kept.CopyFrom(net)
    del net.layers[:]
    ok = True
    for i, entry in enumerate(kept.layers):
        if not _upgrade_v1_layer(entry, net.layer.add(), source, warnings):
            warnings.append(f"Upgrade of input layer {i} failed.")
            ok = False
    return ok


def upgrade_input_fields(net: caffe_pb2.NetParameter, source: str) -> None:
    """``UpgradeNetInput``: ``input`` + ``input_shape``/``input_dim`` -> a front ``Input`` layer.

    Shapes come from ``input_shape[i]`` when any ``input_shape`` is given, else from four
    ``input_dim`` values per input. Caffe reads past the end of a too-short list (undefined
    behaviour); here that is a :class:`NetError`. With neither list the inputs are just dropped,
    as Caffe does for old caffemodels.
    """
    inputs = list(net.input)
    has_shape = len(net.input_shape) > 0
    has_dim = len(net.input_dim) > 0
    if has_shape or has_dim:
        if has_shape and len(net.input_shape) < len(inputs):
            raise NetError(f"{len(inputs)} inputs but only {len(net.input_shape)} input_shape "
                           "blocks", source=source)
        if not has_shape and len(net.input_dim) < 4 * len(inputs):
            raise NetError(f"{len(inputs)} inputs need {4 * len(inputs)} input_dim values, "
                           f"found {len(net.input_dim)}", source=source)
        layer = caffe_pb2.LayerParameter(name="input", type="Input")
        layer.input_param.SetInParent()
        for i, top in enumerate(inputs):
            layer.top.append(top)
            shape = layer.input_param.shape.add()
            if has_shape:
                shape.CopyFrom(net.input_shape[i])
            else:
                shape.dim.extend(net.input_dim[4 * i:4 * i + 4])
        rest = list(net.layer)
        del net.layer[:]
        net.layer.add().CopyFrom(layer)
        for other in rest:
            net.layer.add().CopyFrom(other)
    net.ClearField("input")
    net.ClearField("input_shape")
    net.ClearField("input_dim")


def upgrade_batchnorm(net: caffe_pb2.NetParameter) -> None:
    """``UpgradeNetBatchNorm``: the old BatchNorm took three learnable-looking blobs (mean,
    variance, moving-average factor) that must never be updated, so Caffe zeroes both multipliers."""
    for layer in net.layer:
        if layer.type == "BatchNorm" and len(layer.param) == 3:
            for spec in layer.param:
                spec.lr_mult = 0.0
                spec.decay_mult = 0.0


# --------------------------------------------------------------------------------------------
# Entry points


def upgrade_net(param: caffe_pb2.NetParameter, source: str = "") -> UpgradeResult:
    """Upgrade ``param`` in place as Caffe's ``UpgradeNetAsNeeded`` does; return what happened.

    ``source`` names the file in errors, warnings and the reproduced log lines. Raises
    :class:`NetError` wherever Caffe would die (unknown V0 type, padding layer feeding a layer
    that is not conv/pool, ``layer`` and ``layers`` both present, ...).
    """
    result = UpgradeResult()
    log = result.log
    problems: list[str] = []
    if needs_v0_upgrade(param):
        log.append(("I", "Attempting to upgrade input file specified using deprecated "
                         f"V0LayerParameter: {source}"))
        step: list[str] = []
        ok, removed = upgrade_v0_net(param, source, step)
        log.extend(("E", m) for m in step)
        problems.extend(step)
        result.applied.append(V0_TO_V1)
        if removed:
            result.applied.append(V0_PADDING)
        if ok:
            log.append(("I", "Successfully upgraded file specified using deprecated V0LayerParameter"))
        else:
            log.append(("E", "Warning: had one or more problems upgrading V0NetParameter to "
                             "NetParameter (see above); continuing anyway."))
        log.append(("W", "Note that future Caffe releases will not support V0NetParameter; use "
                         "./build/tools/upgrade_net_proto_text for prototxt and "
                         "./build/tools/upgrade_net_proto_binary for model weights upgrade this and "
                         "any other net protos to the new format."))
    if needs_data_upgrade(param):
        log.append(("I", "Attempting to upgrade input file specified using deprecated "
                         f"transformation parameters: {source}"))
        upgrade_data_transformation(param)
        result.applied.append(DATA_TRANSFORMATION)
        log.append(("I", "Successfully upgraded file specified using deprecated data "
                         "transformation parameters."))
        log.append(("W", "Note that future Caffe releases will only support transform_param "
                         "messages for transformation fields."))
    if needs_v1_upgrade(param):
        log.append(("I", "Attempting to upgrade input file specified using deprecated "
                         f"V1LayerParameter: {source}"))
        step = []
        ok = upgrade_v1_net(param, source, step)
        log.extend(("E", m) for m in step)
        problems.extend(step)
        result.applied.append(V1_TO_V2)
        if ok:
            log.append(("I", "Successfully upgraded file specified using deprecated V1LayerParameter"))
        else:
            log.append(("E", "Warning: had one or more problems upgrading V1LayerParameter (see "
                             "above); continuing anyway."))
    if needs_input_upgrade(param):
        log.append(("I", "Attempting to upgrade input file specified using deprecated input "
                         f"fields: {source}"))
        upgrade_input_fields(param, source)
        result.applied.append(INPUT_FIELDS)
        log.append(("I", "Successfully upgraded file specified using deprecated input fields."))
        log.append(("W", "Note that future Caffe releases will only support input layers and not "
                         "input fields."))
    if needs_batchnorm_upgrade(param):
        log.append(("I", f"Attempting to upgrade batch norm layers using deprecated params: {source}"))
        upgrade_batchnorm(param)
        result.applied.append(BATCHNORM)
        log.append(("I", "Successfully upgraded batch norm layers using deprecated params."))
    result.warnings = _prefixed(source, problems)
    return result


def upgrade_solver(param: caffe_pb2.SolverParameter, source: str = "") -> UpgradeResult:
    """Upgrade ``param`` in place as Caffe's ``UpgradeSolverAsNeeded`` does: ``solver_type`` enum
    -> ``type`` string. Both present is fatal in Caffe and raises :class:`CaffememError` here.

    ``snapshot_prefix`` is left alone on purpose; see the module docstring.
    """
    result = UpgradeResult()
    if not solver_needs_upgrade(param):
        return result
    result.log.append(("I", "Attempting to upgrade input file specified using deprecated "
                            f"'solver_type' field (enum)': {source}"))
    if param.HasField("type"):
        raise CaffememError(_BOTH_SOLVER_TYPES, source=source)
    param.type = BY_ENUM[param.solver_type]
    param.ClearField("solver_type")
    result.applied.append(SOLVER_TYPE)
    result.log.append(("I", "Successfully upgraded file specified using deprecated 'solver_type' "
                            "field (enum) to 'type' field (string)."))
    result.log.append(("W", "Note that future Caffe releases will only support 'type' field "
                            "(string) for a solver's type."))
    return result


def _float_text(value: float, single: bool) -> str:
    """A float as C++ protobuf prints it (``SimpleFtoa`` / ``SimpleDtoa``): ``%g`` with 6 (float)
    or 15 (double) significant digits when that reads back to the same value, else 9 or 17.

    Python's own printer would write ``1.0`` where Caffe writes ``1``; this keeps ``caffemem
    upgrade`` output byte-identical to Caffe's ``upgrade_net_proto_text`` for the same message.
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    short, full = (6, 9) if single else (15, 17)
    text = f"{value:.{short}g}"
    back = float(text)
    if single:
        same = struct.pack("<f", back) == struct.pack("<f", value)
    else:
        same = back == value
    return text if same else f"{value:.{full}g}"


def _value_text(fd: FieldDescriptor, value: object) -> str:
    cpp = fd.cpp_type
    if cpp == FieldDescriptor.CPPTYPE_STRING:
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
        return '"' + text_encoding.CEscape(raw, False) + '"'
    if cpp == FieldDescriptor.CPPTYPE_BOOL:
        return "true" if value else "false"
    if cpp == FieldDescriptor.CPPTYPE_ENUM:
        enum_value = fd.enum_type.values_by_number.get(value)  # type: ignore[arg-type]
        return enum_value.name if enum_value is not None else str(value)
    if cpp == FieldDescriptor.CPPTYPE_FLOAT:
        return _float_text(float(value), single=True)  # type: ignore[arg-type]
    if cpp == FieldDescriptor.CPPTYPE_DOUBLE:
        return _float_text(float(value), single=False)  # type: ignore[arg-type]
    return str(value)


def _print_message(message: Message, indent: int, out: list[str]) -> None:
    pad = " " * indent
    for fd, value in message.ListFields():
        values = value if is_repeated(fd) else [value]
        for item in values:
            if fd.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE:
                out.append(f"{pad}{fd.name} {{\n")
                _print_message(item, indent + 2, out)
                out.append(f"{pad}}}\n")
            else:
                out.append(f"{pad}{fd.name}: {_value_text(fd, item)}\n")


def format_text(message: Message) -> str:
    """Protobuf text format exactly as Caffe's tools write it (``WriteProtoToTextFile``).

    Fields in field-number order, two-space indent, strings C-escaped, floats in C++ protobuf's
    shortest form. Byte-identical output (not just an equal message) lets a user diff our upgrade
    against Caffe's own ``upgrade_net_proto_text`` result.
    """
    out: list[str] = []
    _print_message(message, 0, out)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Telling a net file from a solver file

_NET_ONLY = frozenset(caffe_pb2.NetParameter.DESCRIPTOR.fields_by_name) - frozenset(
    caffe_pb2.SolverParameter.DESCRIPTOR.fields_by_name)
_SOLVER_ONLY = frozenset(caffe_pb2.SolverParameter.DESCRIPTOR.fields_by_name) - frozenset(
    caffe_pb2.NetParameter.DESCRIPTOR.fields_by_name)


def classify_fields(names: list[str]) -> str | None:
    """``"net"`` or ``"solver"`` from a file's top-level field names, or None when they do not say.

    A field that only NetParameter has (``layer``, ``layers``, ``input``, ``name``, ...) marks a
    net; one only SolverParameter has (``net``, ``train_net``, ``base_lr``, ``solver_type``,
    ``type``, ...) marks a solver. Both kinds, or neither, is ambiguous.
    """
    net = any(n in _NET_ONLY for n in names)
    solver = any(n in _SOLVER_ONLY for n in names)
    if net == solver:
        return None
    return "net" if net else "solver"


@dataclass
class UpgradedText:
    """One prototxt file read and upgraded: what kind it was, the upgraded message, what was done.

    ``parse_warnings`` are the parser's complaints (``file:line:col: ...``), unknown fields above
    all. Caffe itself refuses to read a file with an unknown field; ``caffe_would_refuse`` says so,
    so callers can tell the user the output is not what Caffe would have produced.
    """

    kind: str
    message: Message
    result: UpgradeResult
    parse_warnings: list[str]
    caffe_would_refuse: bool


def upgrade_text(text: str, source: str = "<text>") -> UpgradedText:
    """Read a net or solver prototxt (whichever it is) and upgrade it as Caffe would.

    Raises :class:`~caffemem.errors.ParseError` for unreadable text or a file that is neither
    clearly a net nor clearly a solver, and the upgrade errors described in :func:`upgrade_net`
    and :func:`upgrade_solver`.
    """
    from caffemem.errors import ParseError
    from caffemem.net.prototxt import parse_text, top_level_fields

    names = top_level_fields(text, source)
    kind = classify_fields(names)
    if kind is None:
        if not names:
            raise ParseError("empty file: neither a net nor a solver", source=source)
        raise ParseError("cannot tell whether this is a net or a solver (top-level fields: "
                         f"{', '.join(sorted(set(names)))})", source=source)
    message: Message = caffe_pb2.NetParameter() if kind == "net" else caffe_pb2.SolverParameter()
    diagnostics = parse_text(text, message, source)
    # Everything our lenient parser merely warns about (unknown field or enum value, extension,
    # a singular field given twice) is a hard parse error for Caffe's C++ text parser.
    refuse = bool(diagnostics)
    if kind == "net":
        result = upgrade_net(message, source)  # type: ignore[arg-type]
    else:
        result = upgrade_solver(message, source)  # type: ignore[arg-type]
    return UpgradedText(kind, message, result, [str(d) for d in diagnostics], refuse)

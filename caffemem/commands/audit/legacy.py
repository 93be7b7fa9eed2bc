"""What the *original* text of a net says about its age: format version, deprecated fields, raw types.

Why from the original: after Caffe's upgrade every net looks current, but a migration has to know
what the file on disk is (converters differ on V0/V1 support, and the deprecated fields are what a
person must rewrite). Everything here reads a ``NetParameter`` parsed *without* upgrading.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from caffemem.net.upgrade import V1_TYPE_TO_V2
from caffemem.net.upgrade_v0 import V0_TYPE_TO_V1
from caffemem.proto import caffe_pb2

V0 = "V0"
V1 = "V1"
CURRENT = "current"
MIXED = "mixed"

#: V1 data layer enum -> the name of its own parameter message, which once held transform fields.
_V1_DATA_PARAMS = {
    caffe_pb2.V1LayerParameter.DATA: "data_param",
    caffe_pb2.V1LayerParameter.IMAGE_DATA: "image_data_param",
    caffe_pb2.V1LayerParameter.WINDOW_DATA: "window_data_param",
}
_V2_DATA_PARAMS = {"Data": "data_param", "ImageData": "image_data_param", "WindowData": "window_data_param"}
_TRANSFORM_FIELDS = ("scale", "mean_file", "crop_size", "mirror")


@dataclass(frozen=True)
class DeprecatedField:
    """A deprecated field in use: where it is, how many times, and what Caffe does with it."""

    field: str
    count: int
    caffe: str  # what Caffe does on reading: the upgrade that rewrites it, or that it is ignored


def net_format(raw: caffe_pb2.NetParameter) -> str:
    """V0 (``layers { layer {} }``), V1 (``layers {}``), current (``layer {}``), or mixed (both kinds).

    A net with no layers at all is current: nothing in it is legacy.
    """
    has_v0 = any(entry.HasField("layer") for entry in raw.layers)
    has_v1 = any(not entry.HasField("layer") for entry in raw.layers)
    has_v2 = len(raw.layer) > 0
    if has_v2 and raw.layers:
        return MIXED
    if has_v0:
        return V0
    if has_v1:
        return V1
    return CURRENT


def v2_type_of_v1(entry: caffe_pb2.V1LayerParameter) -> str:
    """The V2 type string Caffe's upgrade gives a V1 (or V0, through V1) ``layers`` entry."""
    if entry.HasField("layer"):
        v0_type = entry.layer.type
        if v0_type == "padding":
            return ""  # folded into its consumer by the V0 upgrade
        enum = V0_TYPE_TO_V1.get(v0_type)
        if enum is None:
            return v0_type  # Caffe refuses it; keep the string so the audit can name it
        return V1_TYPE_TO_V2.get(enum, "")
    return V1_TYPE_TO_V2.get(entry.type, "")


def raw_layer_types(raw: caffe_pb2.NetParameter) -> Counter[str]:
    """Layer types of the net as Caffe would name them after upgrading, counted from the original.

    Used when the upgrade or the build fails, so that the audit still lists what the file uses.
    V0 padding layers disappear (Caffe folds them into convolutions) and legacy input fields become
    one Input layer, as in the upgraded net.
    """
    types: Counter[str] = Counter()
    for entry in raw.layers:
        name = v2_type_of_v1(entry)
        if name:
            types[name] += 1
    for layer in raw.layer:
        if layer.type:
            types[layer.type] += 1
    if raw.input and (raw.input_dim or raw.input_shape):
        types["Input"] += 1
    return types


def deprecated_fields(raw: caffe_pb2.NetParameter) -> list[DeprecatedField]:
    """Fields Caffe only accepts through an upgrade (or silently ignores), counted, in a stable order."""
    found: Counter[str] = Counter()
    effect: dict[str, str] = {}

    def note(name: str, what: str, n: int = 1) -> None:
        if n:
            found[name] += n
            effect[name] = what

    v0_entries = [e for e in raw.layers if e.HasField("layer")]
    v1_entries = [e for e in raw.layers if not e.HasField("layer")]
    note("layers { layer {...} } (V0 layer)", "V0->V1 then V1->V2 upgrade", len(v0_entries))
    note("layers {...} (V1 layer)", "V1->V2 upgrade", len(v1_entries))
    padding = sum(1 for e in v0_entries if e.layer.type == "padding")
    note("V0 padding layer", "removed; its pad moves into the next conv/pool", padding)
    for entry in raw.layers:
        blobs_lr = len(entry.blobs_lr) + len(entry.layer.blobs_lr)
        decay = len(entry.weight_decay) + len(entry.layer.weight_decay)
        note("blobs_lr", "becomes param { lr_mult }", 1 if blobs_lr else 0)
        note("weight_decay", "becomes param { decay_mult }", 1 if decay else 0)
        note("param (V1 blob name)", "becomes param { name }", 1 if entry.param else 0)
        note("blob_share_mode", "becomes param { share_mode }", 1 if entry.blob_share_mode else 0)
        param_name = _V1_DATA_PARAMS.get(entry.type)
        if param_name is not None and not entry.HasField("layer"):
            sub = getattr(entry, param_name)
            for f in _TRANSFORM_FIELDS:
                note(f"{param_name}.{f}", "moved to transform_param (data transformation upgrade)",
                     1 if sub.HasField(f) else 0)
    for layer in raw.layer:
        param_name = _V2_DATA_PARAMS.get(layer.type)
        if param_name is not None and layer.HasField(param_name):
            sub = getattr(layer, param_name)
            for f in _TRANSFORM_FIELDS:
                note(f"{param_name}.{f}", "IGNORED by Caffe in a layer {} block (move it to transform_param)",
                     1 if sub.HasField(f) else 0)
        if layer.type == "BatchNorm" and len(layer.param) == 3:
            note("BatchNorm with 3 param {} blocks", "lr_mult and decay_mult forced to 0 (BatchNorm upgrade)")
    note("input", "becomes an Input layer (input fields upgrade)", len(raw.input))
    note("input_dim", "becomes an Input layer's shape (input fields upgrade)", 1 if raw.input_dim else 0)
    note("input_shape", "becomes an Input layer's shape (input fields upgrade)", len(raw.input_shape))
    return [DeprecatedField(name, count, effect[name]) for name, count in found.items()]


def solver_deprecated_fields(raw: caffe_pb2.SolverParameter) -> list[DeprecatedField]:
    """The solver's legacy ``solver_type`` enum (Caffe rewrites it as the string ``type``)."""
    if raw.HasField("solver_type"):
        return [DeprecatedField("solver_type", 1, "becomes type: \"...\" (solver_type enum upgrade)")]
    return []

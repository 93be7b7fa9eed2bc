"""Audit binary files: ``.caffemodel`` weights, ``.binaryproto`` blobs, and how weights fit a net.

Why weights matter to a migration: converters take the prototxt and the caffemodel together and
fail late (or silently copy nothing) when the two disagree; Caffe itself dies on a shape mismatch.
The blob headers are read without the values (see :mod:`caffemem.net.caffemodel`), so even
multi-GB files are checked in milliseconds.
"""

from __future__ import annotations

from collections import Counter

from caffemem.commands.audit.model import KIND_UNKNOWN, KIND_WEIGHTS, FileAudit, WeightsCheck
from caffemem.errors import CaffememError
from caffemem.layers.registry import count
from caffemem.net.build import BuiltNet
from caffemem.net.caffemodel import CaffeModelInfo, read_blobproto_shape, read_caffemodel
from caffemem.net.state import TEST
from caffemem.net.upgrade import V0_TO_V1, V1_TO_V2

#: The scanner's format names -> the audit's (the same words as for prototxt files).
_FORMATS = {"V2": "current", "V1": "V1", "V0": "V0", "mixed": "mixed"}
#: Upgrades Caffe runs on a caffemodel of each format when it loads it (``UpgradeNetAsNeeded``).
_UPGRADES = {"V1": [V1_TO_V2], "V0": [V0_TO_V1, V1_TO_V2]}


def audit_binary_file(path: str) -> tuple[FileAudit, CaffeModelInfo | None]:
    """Audit a caffemodel or binaryproto; also return the scanned weights for matching against nets."""
    audit = FileAudit(path=path, kind=KIND_WEIGHTS)
    try:
        info = read_caffemodel(path)
    except CaffememError as err:
        info = None
        error = str(err)
    else:
        error = None
    if info is None or not info.layers:
        # A mean file is one BlobProto, not a NetParameter: say so instead of "no layers".
        try:
            blob = read_blobproto_shape(path)
        except CaffememError:
            blob = None
        if blob is not None and blob.shape and blob.value_count:
            audit.kind = KIND_UNKNOWN
            audit.detail = (f"a BlobProto (e.g. a mean file) of shape {list(blob.shape)}, "
                            f"not a net or weights")
            return audit, None
        if info is None:
            audit.error = error
            return audit, None
        audit.detail = "a NetParameter without layers"
    audit.format = _FORMATS.get(info.format, info.format)
    audit.upgrades = list(_UPGRADES.get(info.format, []))
    audit.error = info.upgrade_error
    if not info.caffe_readable:
        audit.error = (f"{info.file_bytes} bytes: larger than Caffe's 2 GB protobuf read limit; "
                       f"Caffe cannot load it")
    counts = Counter(layer.type for layer in info.layers if layer.type)
    audit.type_sources = [(None, counts)]
    audit.params = sum(count(shape) for layer in info.layers for shape in layer.blobs)
    return audit, info


def match_net(nets: list[BuiltNet], weights_path: str, info: CaffeModelInfo | None,
              read_error: str | None) -> WeightsCheck:
    """Check weights against the TEST net (the one a deployed model resembles), else the first net."""
    from caffemem.net.weights import match_weights

    if info is None:
        return WeightsCheck(weights_path, None, False, read_error or "the weights file could not be read")
    if not nets:
        return WeightsCheck(weights_path, None, False, "the net could not be built, so its blob shapes "
                            "are unknown (see the file's error)")
    net = next((n for n in nets if n.phase == TEST), nets[0])
    try:
        match = match_weights(net, info)
    except CaffememError as err:
        return WeightsCheck(weights_path, net.phase_name, False, str(err))
    return WeightsCheck(weights_path, net.phase_name, True, None, copied_layers=len(match.copied),
                        ignored_source_layers=list(match.ignored_source_layers),
                        unfilled_layers=list(match.unfilled_layers),
                        unchecked_layers=list(match.unchecked_layers))

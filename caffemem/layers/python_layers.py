"""Python layers whose code everybody runs: their ``setup()`` shapes, known without importing them.

A ``type: "Python"`` layer names a module and a class; caffemem never imports or runs it (a net is
data, not code). But a few modules are in every copy of a famous model: py-faster-rcnn's data,
anchor, proposal and proposal-target layers are in each Faster R-CNN training net. Their
``setup()`` reshapes the tops to fixed shapes, which are what Caffe logs as ``Top shape`` and
counts in ``Memory required for data``; they come from the layer's ``param_str`` (a YAML dict),
the bottoms, and py-faster-rcnn's configuration defaults (``lib/fast_rcnn/config.py`` with
``experiments/cfgs/faster_rcnn_end2end.yml`` for the RPN nets).

Each entry is one function of (layer, bottom shapes) -> top shapes, keyed by ``module.Class``.
The shapes are the set-up ones, as Caffe's own figures are: at run time these layers reshape per
image (the image's scaled size, up to 2,000 proposals, 128 sampled RoIs), which the entry says
in the note it reports. ``--input TOP=N,C,H,W!`` still overrides any top.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from caffemem.layers.registry import Layer, Shape

Rule = Callable[[Layer, list[Shape]], list[Shape | None]]

# py-faster-rcnn's cfg defaults (lib/fast_rcnn/config.py): SCALES (600,), MAX_SIZE 1000;
# IMS_PER_BATCH 2, which the end-to-end (RPN) configuration sets to 1 (the anchor layer allows only 1).
_SCALE, _MAX_SIZE = 600, 1000
_IMS_FAST_RCNN, _IMS_RPN = 2, 1
_RATIOS = 3  # generate_anchors' default ratios (0.5, 1, 2)
_DEFAULT_SCALES = 3  # its default scales (8, 16, 32)


def param_str_values(text: str) -> dict[str, str]:
    """The top-level ``key: value`` pairs of a ``param_str`` (YAML, usually a one-line dict such as
    ``'num_classes': 21`` or ``{'feat_stride': 16, 'scales': [4, 8, 16, 32]}``), values as text."""
    out: dict[str, str] = {}
    for found in re.finditer(r"""['"]?(\w+)['"]?\s*:\s*(!!python/tuple\s*)?(\[[^\]]*\]|\([^)]*\)|[^,}\n]+)""", text):
        out[found.group(1)] = found.group(3).strip()
    return out


def _number(values: dict[str, str], key: str, default: int | None = None) -> int | None:
    text = values.get(key)
    if text is None:
        return default
    try:
        return int(float(text))
    except ValueError:
        return default


def _anchors(values: dict[str, str]) -> int:
    """generate_anchors' count: 3 ratios times the scales given (8, 16, 32 by default)."""
    scales = values.get("scales")
    if scales is None:
        return _RATIOS * _DEFAULT_SCALES
    return _RATIOS * max(1, len(re.findall(r"\d+(?:\.\d*)?", scales)))


def _roi_data(layer: Layer, bottoms: list[Shape]) -> list[Shape | None]:
    """roi_data_layer.layer.RoIDataLayer.setup: the image blob at its largest, then either the RPN
    inputs (im_info 1x3, gt_boxes 1x4) or Fast R-CNN's RoIs (1x5), labels (1) and 3 x (1, 4K)."""
    values = param_str_values(layer.param.python_param.param_str)
    classes = _number(values, "num_classes", 21)
    names = list(layer.param.top)
    rpn = len(names) == 3 and names[1:] != ["rois", "labels"]
    ims = _IMS_RPN if rpn else _IMS_FAST_RCNN
    layer.ctx.assume(f"layer '{layer.name}' (Python {_name(layer)}): py-faster-rcnn's set-up shapes with its "
                     f"configuration defaults: {ims} image(s) of 3x{_SCALE}x{_MAX_SIZE} (cfg.TRAIN.SCALES, "
                     f"MAX_SIZE); each iteration reshapes to the image's scaled size (give --input "
                     f"{names[0] if names else 'data'}=N,C,H,W! for another)")
    tops: list[Shape | None] = [(ims, 3, _SCALE, _MAX_SIZE)]
    if rpn:
        tops += [(1, 3), (1, 4)]
    else:
        tops += [(1, 5), (1,)] + [(1, 4 * (classes or 21))] * 3
    return tops[:len(names)]


def _anchor_target(layer: Layer, bottoms: list[Shape]) -> list[Shape | None]:
    """rpn.anchor_target_layer.AnchorTargetLayer.setup: labels (1, 1, A*H, W), then bbox targets
    and inside/outside weights (1, 4A, H, W), H and W those of the score map (bottom 0)."""
    a = _anchors(param_str_values(layer.param.python_param.param_str))
    if not bottoms or len(bottoms[0]) < 2:
        return [None] * len(layer.param.top)
    h, w = bottoms[0][-2:]
    return [(1, 1, a * h, w), (1, 4 * a, h, w), (1, 4 * a, h, w), (1, 4 * a, h, w)][:len(layer.param.top)]


def _proposal(layer: Layer, bottoms: list[Shape]) -> list[Shape | None]:
    """rpn.proposal_layer.ProposalLayer.setup: rois (1, 5) and, with a second top, scores (1,1,1,1).
    Each forward holds up to RPN_POST_NMS_TOP_N of them (2,000 training, 300 testing)."""
    return [(1, 5), (1, 1, 1, 1)][:len(layer.param.top)]


def _proposal_target(layer: Layer, bottoms: list[Shape]) -> list[Shape | None]:
    """rpn.proposal_target_layer.ProposalTargetLayer.setup: rois (1, 5), labels (1, 1), then
    bbox targets and inside/outside weights (1, 4K). Each forward samples 128 RoIs (BATCH_SIZE)."""
    classes = _number(param_str_values(layer.param.python_param.param_str), "num_classes", 21) or 21
    tops: list[Shape | None] = [(1, 5), (1, 1)] + [(1, 4 * classes)] * 3
    return tops[:len(layer.param.top)]


def _name(layer: Layer) -> str:
    pp = layer.param.python_param
    return f"{pp.module}.{pp.layer}"


#: ``module.Class`` -> its set-up rule. A new well-known Python layer is one line here.
KNOWN: dict[str, Rule] = {
    "roi_data_layer.layer.RoIDataLayer": _roi_data,
    "rpn.anchor_target_layer.AnchorTargetLayer": _anchor_target,
    "rpn.proposal_layer.ProposalLayer": _proposal,
    "rpn.proposal_target_layer.ProposalTargetLayer": _proposal_target,
}


def known_rule(module: str, class_name: str) -> Rule | None:
    """The rule of a well-known Python layer; modules are matched by their last dotted parts, as
    copies of py-faster-rcnn keep them under other packages (``lib.rpn.proposal_layer``)."""
    key = f"{module}.{class_name}"
    for name, rule in KNOWN.items():
        if key == name or key.endswith("." + name):
            return rule
    return None

"""Well-known Python layers (layers/python_layers.py): py-faster-rcnn's set-up shapes.

Hand-derived from py-faster-rcnn's own setup() code and configuration defaults: the data layer
reshapes to IMS_PER_BATCH x 3 x max(SCALES) x MAX_SIZE = 1 x 3 x 600 x 1000 (end-to-end, RPN) or
2 x 3 x 600 x 1000 (Fast R-CNN); the anchor layer to (1, 1, A*H, W) and (1, 4A, H, W) with
A = 3 ratios x 3 scales = 9; the proposal layers to (1, 5), (1, 1) and (1, 4K).
"""

from __future__ import annotations

from conftest import need_shared
from layer_helpers import tops

from caffemem.commands.check import run_check
from caffemem.layers.python_layers import param_str_values


def _python(module: str, layer: str, param_str: str, *top_names: str) -> str:
    return ('type: "Python" ' + " ".join(f'top: "{t}"' for t in top_names)
            + f' python_param {{ module: "{module}" layer: "{layer}" param_str: "{param_str}" }}')


def test_the_rpn_data_layer_has_its_set_up_shapes() -> None:
    text = _python("roi_data_layer.layer", "RoIDataLayer", "'num_classes': 21", "data", "im_info", "gt_boxes")
    assert tops(text) == [(1, 3, 600, 1000), (1, 3), (1, 4)]


def test_the_fast_rcnn_data_layer_has_rois_and_two_images() -> None:
    text = _python("roi_data_layer.layer", "RoIDataLayer", "'num_classes': 21",
                   "data", "rois", "labels", "bbox_targets", "bbox_inside_weights", "bbox_outside_weights")
    assert tops(text) == [(2, 3, 600, 1000), (1, 5), (1,), (1, 84), (1, 84), (1, 84)]


def test_anchor_targets_follow_the_score_map_and_the_scales() -> None:
    tops4 = ("rpn_labels", "rpn_bbox_targets", "rpn_bbox_inside_weights", "rpn_bbox_outside_weights")
    text = _python("rpn.anchor_target_layer", "AnchorTargetLayer", "'feat_stride': 16", *tops4)
    assert tops(text, (1, 18, 38, 63), (1, 4), (1, 3), (1, 3, 600, 1000)) == [
        (1, 1, 342, 63), (1, 36, 38, 63), (1, 36, 38, 63), (1, 36, 38, 63)]
    four_scales = _python("rpn.anchor_target_layer", "AnchorTargetLayer",
                          "{'feat_stride': 16, 'scales': [4, 8, 16, 32]}", *tops4)
    assert tops(four_scales, (1, 24, 38, 63))[0] == (1, 1, 12 * 38, 63)


def test_proposal_layers_and_a_copy_under_another_package() -> None:
    assert tops(_python("rpn.proposal_layer", "ProposalLayer", "'feat_stride': 16", "rois"),
                (1, 18, 38, 63), (1, 36, 38, 63), (1, 3)) == [(1, 5)]
    text = _python("lib.rpn.proposal_target_layer", "ProposalTargetLayer", "'num_classes': 2",
                   "rois", "labels", "bbox_targets", "bbox_inside_weights", "bbox_outside_weights")
    assert tops(text, (1, 5), (1, 4)) == [(1, 5), (1, 1), (1, 8), (1, 8), (1, 8)]


def test_an_unknown_python_layer_still_needs_input() -> None:
    assert tops(_python("my_layers", "Mine", "", "out"), (1, 3)) == [None]


def test_param_str_is_read_as_its_yaml_dict() -> None:
    assert param_str_values("'num_classes': 21") == {"num_classes": "21"}
    assert param_str_values("{'feat_stride': 16, 'scales': !!python/tuple [8, 16, 32]}") == {
        "feat_stride": "16", "scales": "[8, 16, 32]"}


def test_the_faster_rcnn_training_net_is_analysed_whole() -> None:
    net = need_shared() / "corpus" / "nets" / "py_faster_rcnn" / "pascal_voc_VGG16_faster_rcnn_end2end_train.prototxt"
    result = run_check(net)
    assert not any(n.unanalysed_layers for n in result.analysis.nets)
    layers = {layer.name: layer for layer in result.analysis.nets[0].layers}
    assert [tuple(t) for t in layers["input-data"].top_shapes] == [(1, 3, 600, 1000), (1, 3), (1, 4)]
    assert tuple(layers["rpn-data"].top_shapes[0]) == (1, 1, 342, 63)
    assert tuple(layers["roi_pool5"].top_shapes[0]) == (1, 512, 7, 7)
    assert any("py-faster-rcnn's set-up shapes" in w for w in result.analysis.warnings)

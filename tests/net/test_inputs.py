"""``--input``: per-sample or whole shapes, for any top caffemem cannot compute, never for one it can."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, SHARED

import caffemem
from caffemem.cli import main
from caffemem.errors import CaffememError
from caffemem.net.inputs import WholeShape, build_options, parse_input

#: Faster R-CNN in miniature: a Python proposal layer makes 300 rois, whatever the batch.
RCNN = """
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 64 dim: 64 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 8 kernel_size: 3 pad: 1 } }
layer { name: "proposal" type: "Python" bottom: "conv" top: "rois"
        python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" } }
layer { name: "roi_pool" type: "ROIPooling" bottom: "conv" bottom: "rois" top: "pool"
        roi_pooling_param { pooled_h: 7 pooled_w: 7 spatial_scale: 1.0 } }
layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 4 } }
"""

UNKNOWN = """
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "magic" type: "HouseMagic" bottom: "data" top: "m" }
layer { name: "fc" type: "InnerProduct" bottom: "m" top: "fc" inner_product_param { num_output: 4 } }
"""


def shapes(result: caffemem.CheckResult) -> dict[str, tuple[int, ...] | None]:
    return {top: shape for layer in result.analysis.nets[0].layers
            for top, shape in zip(layer.tops, layer.top_shapes, strict=True)}


def test_parse() -> None:
    assert parse_input("data=3,224,224") == ("data", (3, 224, 224))
    top, shape = parse_input("rois=300,5!")
    assert top == "rois" and shape == (300, 5) and isinstance(shape, WholeShape)
    assert parse_input("x=2x3!")[1] == WholeShape((2, 3))
    for bad in ("rois=", "=3", "rois=300,,5", "rois=0,5!", "rois=!"):
        with pytest.raises(CaffememError, match="--input expects"):
            parse_input(bad)
    options = build_options(4, {"rois": WholeShape((300, 5)), "data": (3, 8, 8)})
    assert options.inputs == {"rois": (5,), "data": (3, 8, 8)} and options.whole_inputs == {"rois": (300, 5)}


def test_whole_shape_of_a_python_top() -> None:
    result = caffemem.check(RCNN, inputs={"rois": "300,5!"})
    got = shapes(result)
    assert got["rois"] == (300, 5) and got["pool"] == (300, 8, 7, 7) and got["fc"] == (300, 4)
    assert not result.analysis.nets[0].unanalysed_layers
    per_sample = shapes(caffemem.check(RCNN, inputs={"rois": (5,)}))
    assert per_sample["rois"] == (1, 5)  # per sample: the batch is the bottom's


def test_a_top_no_layer_class_can_compute() -> None:
    result = caffemem.check(UNKNOWN, inputs={"m": "2,16!"})
    layers = {layer.name: layer for layer in result.analysis.nets[0].layers}
    assert layers["magic"].top_shapes == [(2, 16)] and layers["magic"].unknown is not None  # still not analysed
    assert layers["fc"].top_shapes == [(2, 4)] and layers["fc"].unknown is None  # but what follows is
    assert shapes(caffemem.check(UNKNOWN, inputs={"m": (16,)}))["m"] == (2, 16)


def test_a_top_caffemem_computes_is_refused() -> None:
    with pytest.raises(CaffememError, match=r"--input conv: caffemem computes this top itself \(layer 'conv', "
                                            r"Convolution, gives 1x8x64x64\)"):
        caffemem.check(RCNN, inputs={"conv": (8, 64, 64)})


def test_whole_shape_of_a_data_top() -> None:
    net = str(EXAMPLES / "small_train_val.prototxt")
    result = caffemem.check(net, batch=20, inputs={"data": "20,1,32,32!"})
    assert shapes(result)["data"] == (20, 1, 32, 32)


def test_cli_whole_shape_and_errors(tmp_path) -> None:
    path = tmp_path / "rcnn.prototxt"
    path.write_text(RCNN)
    runner = CliRunner()
    out = runner.invoke(main, ["check", str(path), "--input", "rois=300,5!"]).stdout
    assert "300x8x7x7" in out and "INCOMPLETE" not in out
    result = runner.invoke(main, ["check", str(path), "--input", "conv=8,64,64"])
    assert result.exit_code == 2 and "computes this top itself" in result.stderr
    result = runner.invoke(main, ["check", str(path), "--input", "nothing=5"])
    assert result.exit_code == 2 and "names no top" in result.stderr


def test_faster_rcnn_from_the_corpus_is_complete_with_its_inputs() -> None:
    net = SHARED / "corpus" / "nets" / "py_faster_rcnn" / "pascal_voc_VGG16_faster_rcnn_end2end_train.prototxt"
    if not net.is_file():
        pytest.skip("the shared corpus is not beside the checkout (set CAFFEMEM_SHARED)")
    inputs = {"data": (3, 600, 1000), "im_info": (3,), "gt_boxes": "1,5!",
              "rpn_labels": "1,1,342,63!", "rpn_bbox_targets": "1,36,38,63!",
              "rpn_bbox_inside_weights": "1,36,38,63!", "rpn_bbox_outside_weights": "1,36,38,63!",
              "rpn_rois": "300,5!", "rois": "128,5!", "labels": "128!", "bbox_targets": "128,84!",
              "bbox_inside_weights": "128,84!", "bbox_outside_weights": "128,84!"}
    result = caffemem.check(net, inputs=inputs, mem="12GiB")
    assert not result.analysis.nets[0].unanalysed_layers
    assert shapes(result)["pool5"] == (128, 512, 7, 7) and result.fit is not None

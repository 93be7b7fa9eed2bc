"""Net::Init as caffemem reproduces it, on small nets whose answers are computed by hand."""

from __future__ import annotations

import pytest

from caffemem.errors import NetError
from caffemem.layers.registry import BuildOptions, SetupContext
from caffemem.net.build import build_net
from caffemem.net.prototxt import parse_text
from caffemem.net.state import TEST, TRAIN, compose_state
from caffemem.proto import caffe_pb2

LENET_LIKE = """
name: "t"
layer { name: "d" type: "DummyData" top: "data" top: "label"
        dummy_data_param { shape { dim: 8 dim: 1 dim: 28 dim: 28 } shape { dim: 8 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 5 stride: 1 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip" inner_product_param { num_output: 10 } }
layer { name: "acc" type: "Accuracy" bottom: "ip" bottom: "label" top: "acc" include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
"""


def build(text: str, phase: int = TRAIN, **options: object):
    param = caffe_pb2.NetParameter()
    parse_text(text, param, "t.prototxt")
    return build_net(param, compose_state(phase), SetupContext(phase, BuildOptions(**options), "t.prototxt"))


def test_shapes_and_cumulative_data_memory_by_hand() -> None:
    net = build(LENET_LIKE)
    shapes = {layer.name: layer.top_shapes for layer in net.layers}
    assert shapes["conv"] == [(8, 4, 24, 24)]
    # ceil((24 - 3) / 2) + 1 = 12: Caffe rounds pooling up
    assert shapes["pool"] == [(8, 4, 12, 12)]
    assert shapes["ip"] == [(8, 10)]
    assert shapes["loss"] == [()]
    data = 8 * 784 + 8
    conv = 8 * 4 * 24 * 24
    expected = (data + 2 * conv + 8 * 4 * 144 + 80 + 1) * 4  # relu in place counts again
    assert net.memory_required_for_data == expected
    assert [p.shape for p in net.layers[1].params] == [(4, 1, 5, 5), (4,)]
    assert [p.shape for p in net.layers[4].params] == [(10, 576), (10,)]


def test_test_phase_keeps_accuracy_and_inserts_splits_with_caffes_names() -> None:
    net = build(LENET_LIKE, TEST)
    names = [layer.name for layer in net.layers]
    assert names == ["d", "label_d_1_split", "conv", "relu", "pool", "ip", "ip_ip_0_split", "acc", "loss"]
    split = net.layers[1]
    assert split.tops == ["label_d_1_split_0", "label_d_1_split_1"]
    assert net.layers[-1].bottoms == ["ip_ip_0_split_1", "label_d_1_split_1"]
    assert net.outputs == ["acc", "loss"]


def test_split_name_uses_the_in_place_producer() -> None:
    text = LENET_LIKE.replace('layer { name: "pool"', 'layer { name: "side" type: "Pooling" bottom: "conv" '
                              'top: "side" pooling_param { pool: AVE kernel_size: 2 } }\nlayer { name: "pool"')
    net = build(text)
    assert "conv_relu_0_split" in [layer.name for layer in net.layers]


def test_backward_analysis_and_force_backward() -> None:
    net = build(LENET_LIKE, TEST)
    need = {layer.name: layer.need_backward for layer in net.layers}
    assert need["acc"] is False and need["d"] is False and need["conv"] is True
    frozen = LENET_LIKE.replace('top: "conv"\n', 'top: "conv" param { lr_mult: 0 } param { lr_mult: 0 }\n', 1)
    net = build(frozen)
    assert {layer.name: layer.need_backward for layer in net.layers}["conv"] is False
    forced = build(frozen.replace('name: "t"', 'name: "t" force_backward: true'))
    loss = forced.layers[-1]
    assert loss.need_backward and loss.bottom_need_backward == [True, False]  # never into the label


def test_batch_override_and_loss_weight() -> None:
    net = build(LENET_LIKE, batch=3)
    assert net.layers[0].top_shapes == [(3, 1, 28, 28), (3,)]
    assert net.layers[-1].loss_weights == [1.0]


def test_concat_of_mismatched_shapes_fails_naming_the_layer() -> None:
    text = """
    layer { name: "a" type: "DummyData" top: "a" top: "b"
            dummy_data_param { shape { dim: 2 dim: 3 dim: 4 dim: 4 } shape { dim: 2 dim: 3 dim: 5 dim: 4 } } }
    layer { name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "c" }
    """
    with pytest.raises(NetError, match="layer 'cat' \\(Concat\\): all inputs must have the same shape"):
        build(text)


def test_unknown_bottom_and_double_producer_fail_like_caffe() -> None:
    with pytest.raises(NetError, match="Unknown bottom blob 'nope' \\(layer 'r', bottom index 0\\)"):
        build('layer { name: "r" type: "ReLU" bottom: "nope" top: "r" }')
    twice = """
    layer { name: "a" type: "DummyData" top: "a" dummy_data_param { shape { dim: 1 } } }
    layer { name: "b" type: "DummyData" top: "a" dummy_data_param { shape { dim: 1 } } }
    """
    with pytest.raises(NetError, match="produced by multiple sources"):
        build(twice)


def test_python_layer_is_never_imported_and_needs_shapes() -> None:
    text = """
    layer { name: "py" type: "Python" top: "data" python_param { module: "os" layer: "system" } }
    layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param { num_output: 2 } }
    """
    net = build(text)
    assert net.layers[0].unknown and "never imported" in net.layers[0].unknown
    assert net.memory_required_for_data is None
    shaped = build(text, inputs={"data": (3, 4)}, batch=5)
    assert shaped.layers[1].top_shapes == [(5, 2)]
    assert shaped.memory_required_for_data == (5 * 12 + 10) * 4


def test_pooling_pad_clipping() -> None:
    text = """
    layer { name: "d" type: "Input" top: "x" input_param { shape { dim: 1 dim: 1 dim: 6 dim: 6 } } }
    layer { name: "p" type: "Pooling" bottom: "x" top: "p" pooling_param { pool: MAX kernel_size: 2 stride: 2 pad: 1 } }
    """
    # ceil((6 + 2 - 2) / 2) + 1 = 4, and (4 - 1) * 2 = 6 >= 6 + 1 is false: stays 4
    assert build(text).layers[1].top_shapes == [(1, 1, 4, 4)]
    text = text.replace("dim: 6 dim: 6", "dim: 5 dim: 5")
    # ceil((5 + 2 - 2) / 2) + 1 = 4, (4 - 1) * 2 = 6 >= 5 + 1: clipped to 3
    assert build(text).layers[1].top_shapes == [(1, 1, 3, 3)]


def test_shared_parameters_counted_once() -> None:
    text = """
    layer { name: "d" type: "Input" top: "a" top: "b" input_param { shape { dim: 2 dim: 3 } } }
    layer { name: "f1" type: "InnerProduct" bottom: "a" top: "fa" param { name: "w" } param { name: "bias" }
            inner_product_param { num_output: 4 } }
    layer { name: "f2" type: "InnerProduct" bottom: "b" top: "fb" param { name: "w" } param { name: "bias" }
            inner_product_param { num_output: 4 } }
    """
    net = build(text)
    assert net.param_count == 4 * 3 + 4
    assert net.layers[2].params[0].owner == (1, 0)


def test_an_assumed_image_size_gives_way_to_the_size_segnets_unpooling_pins(tmp_path) -> None:  # noqa: ANN001
    """SegNet's DenseImageData says no size; its Upsample's upsample_h/upsample_w restore pool2's
    input, one pooling below the image, and the next unpooling needs pool1's mask to match: at the
    assumed 256x256 the net fails, at 3 x (90*2) x (120*2) it builds."""
    from caffemem.commands.check import run_check

    net = tmp_path / "segnet_small.prototxt"
    net.write_text('''
layer { name: "data" type: "DenseImageData" top: "data" top: "label"
        dense_image_data_param { source: "train.txt" batch_size: 2 } }
layer { name: "pool1" type: "Pooling" bottom: "data" top: "pool1" top: "pool1_mask"
        pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "pool2" type: "Pooling" bottom: "pool1" top: "pool2" top: "pool2_mask"
        pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "up2" type: "Upsample" bottom: "pool2" bottom: "pool2_mask" top: "up2"
        upsample_param { scale: 2 upsample_h: 90 upsample_w: 120 } }
layer { name: "up1" type: "Upsample" bottom: "up2" bottom: "pool1_mask" top: "up1"
        upsample_param { scale: 2 } }
''')
    result = run_check(net)
    data = next(layer for layer in result.analysis.nets[0].layers if layer.name == "data")
    assert tuple(data.top_shapes[0]) == (2, 3, 180, 240)
    assert any("upsample_h 90, upsample_w 120" in w for w in result.warnings)

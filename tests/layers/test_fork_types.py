"""Fork layer types from face, OCR, YOLO and R-FCN/OHEM forks, and the variants of known type strings
that forks give other fields and blob counts.

Shapes, parameter shapes and buffers are computed by hand from each fork's own source (the file named
in the layer class's docstring), in 4-byte elements.
"""

from __future__ import annotations

import pytest
from layer_helpers import buffers, footprint, grads, make, tops

from caffemem.errors import NetError
from caffemem.layers.loss import CTC_LABELS_PER_SEQUENCE
from caffemem.layers.registry import BuildOptions, RunInfo, SetupContext
from caffemem.memory.model import run_footprint
from caffemem.modes import Mode
from caffemem.net.build import BuiltNet, build_net
from caffemem.net.prototxt import parse_text
from caffemem.net.state import TEST, TRAIN, compose_state
from caffemem.proto import caffe_pb2

DATA = ('layer { name: "data" type: "Input" top: "data" top: "label" '
        'input_param { shape { dim: %s } shape { dim: %s } } }\n')


def build(text: str, phase: int = TRAIN, **options: object) -> BuiltNet:
    param = caffe_pb2.NetParameter()
    parse_text(text, param, "fork")
    return build_net(param, compose_state(phase), SetupContext(phase, BuildOptions(**options), "fork"))  # type: ignore[arg-type]


def run(backward: bool = True, mode: Mode = Mode.CPU, down: tuple[bool, ...] = (True, False)) -> RunInfo:
    return RunInfo(phase=caffe_pb2.TRAIN, mode=mode, backward=backward, propagate_down=down,
                   inplace=(False,) * len(down))


# --- face -----------------------------------------------------------------------------------------

def test_center_loss() -> None:
    layer = make('type: "CenterLoss" bottom: "f" bottom: "l" top: "loss" '
                 'center_loss_param { num_output: 10575 }')
    assert layer.n_tops == 1 and layer.is_loss
    assert layer.reshape([(64, 512), (64, 1)]) == [()]
    assert layer.blobs == [(10575, 512)]
    # distance_ like the features, variation_sum_ like the centres (backward only)
    bufs = {b.name: (b.elements, b.when) for b in layer.buffers([(64, 512), (64, 1)], [()], run())}
    assert bufs == {"distance": (64 * 512, "fwd"), "variation_sum": (10575 * 512, "bwd")}
    with pytest.raises(NetError, match=r"labels must be \[N, 1, 1, 1\]"):
        layer.reshape([(64, 512), (64, 2)])
    # no declared top: the fork's ExactNumTopBlobs() is -1, so Caffe adds none
    assert make('type: "CenterLoss" bottom: "f" bottom: "l" center_loss_param { num_output: 2 }').n_tops == 0


def test_margin_inner_product() -> None:
    text = ('type: "MarginInnerProduct" bottom: "f" bottom: "l" top: "fc6" top: "lambda" '
            'margin_inner_product_param { num_output: 10572 type: QUADRUPLE }')
    layer = make(text)
    assert layer.reshape([(256, 512), (256,)]) == [(256, 10572), (1,)]
    assert layer.blobs == [(10572, 512)]
    t = 256 * 10572
    # x_norm [M] + sign_0, cos_theta + QUADRUPLE's five more top-sized temporaries
    assert sum(b.elements for b in layer.buffers([(256, 512), (256,)], [(256, 10572), (1,)], run())) == 256 + 7 * t
    single = make(text.replace("QUADRUPLE", "SINGLE").replace(' top: "lambda"', ""))
    assert single.reshape([(8, 4, 2, 2), (8, 1, 1, 1)]) == [(8, 3 * 0 + 10572)]
    assert single.blobs == [(10572, 16)]
    assert sum(b.elements for b in single.buffers([(8, 16)], [(8, 10572)], run())) == 8 + 2 * 8 * 10572
    with pytest.raises(NetError, match="number of labels"):
        layer.reshape([(256, 512), (128,)])


# --- OCR ------------------------------------------------------------------------------------------

def test_ctc_loss_variants() -> None:
    three = make('type: "CTCLoss" bottom: "p" bottom: "ind" bottom: "t" top: "loss"')
    three.check_counts(3, 1)
    assert three.variant == "CTC branch of BVLC PR 4681 (three bottoms)"
    assert any(w.startswith("CTCLoss: CTC branch") for w in three.ctx.warnings)
    assert three.reshape([(80, 16, 37), (80, 16), (80, 16)]) == [()]
    rows = 2 * CTC_LABELS_PER_SEQUENCE + 1
    # y_ [T, C] per sequence, alpha and beta [2L+1, T] doubles per sequence, 4 N-sized blobs
    assert sum(b.elements for b in three.buffers([(80, 16, 37)] * 1 + [(80, 16)] * 2, [()], run())) == \
        80 * 16 * 37 + 2 * 2 * rows * 80 * 16 + 4 * 16
    with pytest.raises(NetError, match=r"\[T, N\]"):
        three.reshape([(80, 16, 37), (80, 8), (80, 16)])

    two = make('type: "CTCLoss" bottom: "p" bottom: "label" top: "loss" '
               'ctc_loss_param { alphabet_size: 37 time_step: 80 }')
    two.check_counts(2, 1)
    assert two.variant == "warp-ctc OCR fork (two bottoms)"
    assert two.reshape([(80, 16, 37), (16, 25)]) == [()]
    # warp-ctc writes the gradient in Forward: a net that never runs backward still holds it
    assert [b.elements for b in two.buffers([(80, 16, 37), (16, 25)], [()], run(backward=False))] == [80 * 16 * 37]
    assert two.buffers([(80, 16, 37), (16, 25)], [()], run()) == []
    with pytest.raises(NetError, match="one row per sequence"):
        two.reshape([(80, 16, 37), (8, 25)])


def test_ctc_greedy_decoder() -> None:
    assert tops('type: "CTCGreedyDecoder" bottom: "p" bottom: "ind" top: "seq"', (80, 16, 37), (80, 16)) == \
        [(16, 80, 1, 1)]
    assert tops('type: "CTCGreedyDecoder" bottom: "p" bottom: "ind" top: "seq" top: "score"',
                (80, 16, 37), (80, 16)) == [(16, 80, 1, 1), (16, 1, 1, 1)]
    assert tops('type: "CTCGreedyDecoder" bottom: "p" bottom: "ind" bottom: "t" top: "seq" top: "acc"',
                (80, 16, 37), (80, 16), (80, 16)) == [(16, 80, 1, 1), (1, 1, 1, 1)]
    assert tops('type: "CTCGreedyDecoder" bottom: "p" bottom: "ind" bottom: "t" top: "s" top: "sc" top: "a"',
                (80, 16, 37), (80, 16), (80, 16)) == [(16, 80, 1, 1), (16, 1, 1, 1), (1, 1, 1, 1)]


def test_reverse_variants() -> None:
    assert tops('type: "Reverse" bottom: "x" top: "y" reverse_param { axis: 0 }', (26, 8, 256)) == [(26, 8, 256)]
    # indicator first (CRNN ports) or data first: the top is the data's shape
    rev = make('type: "Reverse" bottom: "cont" bottom: "x" top: "y"')
    rev.check_counts(2, 1)
    assert rev.variant == "sequence variant with a continuation indicator (two bottoms)"
    assert rev.reshape([(26, 8), (26, 8, 256)]) == [(26, 8, 256)]
    assert rev.data_index == 1 and not rev.writes_bottom_diff(0, run(down=(True, True)))
    assert tops('type: "Reverse" bottom: "x" bottom: "cont" top: "y"', (26, 8, 256), (26, 8)) == [(26, 8, 256)]
    with pytest.raises(NetError, match="continuation indicator"):
        tops('type: "Reverse" bottom: "x" bottom: "cont" top: "y"', (26, 8, 256), (26, 4))
    with pytest.raises(NetError, match="axis 3 out of range"):
        tops('type: "Reverse" bottom: "x" top: "y" reverse_param { axis: 3 }', (26, 8, 256))


def test_continuation_indicator() -> None:
    text = 'type: "ContinuationIndicator" top: "cont" continuation_indicator_param { time_step: 26 batch_size: 32 }'
    assert tops(text) == [(26, 32)]
    assert tops(text, batch=8) == [(26, 8)]  # follows --batch, as the data layers do
    with pytest.raises(NetError, match="time step"):
        tops('type: "ContinuationIndicator" top: "c" continuation_indicator_param { batch_size: 2 }')


def test_crnn_net() -> None:
    """A small CRNN-style training net: features [T, N, C] through Reverse into CTCLoss."""
    net = (DATA % ("26 dim: 4 dim: 37", "26 dim: 4") +
           'layer { name: "cont" type: "ContinuationIndicator" top: "cont" '
           'continuation_indicator_param { time_step: 26 batch_size: 4 } }\n'
           'layer { name: "rev" type: "Reverse" bottom: "cont" bottom: "data" top: "rev" }\n'
           'layer { name: "ip" type: "InnerProduct" bottom: "rev" top: "ip" '
           'inner_product_param { num_output: 37 axis: 2 } }\n'
           'layer { name: "ctc" type: "CTCLoss" bottom: "ip" bottom: "cont" bottom: "label" top: "loss" }\n')
    fp = footprint(net)
    layers = {layer.name: layer for layer in build(net).layers}
    rows = 2 * min(26, CTC_LABELS_PER_SEQUENCE) + 1
    assert buffers(fp, "ctc") == 26 * 4 * 37 + 2 * 2 * rows * 26 * 4 + 4 * 4
    assert grads(fp, "ip") == 26 * 4 * 37  # the loss propagates into the scores
    assert layers["rev"].top_shapes == [(26, 4, 37)]
    assert layers["ip"].params[0].shape == (37, 37)
    assert any(w.startswith("Reverse: sequence variant") for w in build(net).warnings)


# --- YOLO -----------------------------------------------------------------------------------------

def test_region_loss() -> None:
    text = 'type: "RegionLoss" bottom: "conv" bottom: "label" top: "loss" region_loss_param { num_class: 20 num: 5 }'
    layer = make(text)
    assert layer.reshape([(8, 125, 13, 13), (8, 150)]) == [()]
    assert [b.elements for b in layer.buffers([(8, 125, 13, 13)], [()], run())] == [2 * 8 * 125 * 169]
    with pytest.raises(NetError, match="values per image"):
        layer.reshape([(8, 120, 13, 13), (8, 150)])


def test_yolov3() -> None:
    layer = make('type: "Yolov3" bottom: "conv" bottom: "label" top: "loss" yolov3_param { num_class: 80 num: 3 }')
    assert layer.reshape([(4, 255, 13, 13), (4, 1500)]) == [()]
    n = 4 * 255 * 169
    assert sum(b.elements for b in layer.buffers([(4, 255, 13, 13)], [()], run())) == 3 * n  # diff, swap, swap diff
    with pytest.raises(NetError, match="values per image"):
        layer.reshape([(4, 256, 13, 13), (4, 1500)])
    det = make('type: "Yolov3DetectionOutput" bottom: "a" bottom: "b" top: "det" '
               'yolov3_detection_output_param { num_classes: 80 }')
    assert det.reshape([(1, 255, 13, 13), (1, 255, 26, 26)]) == [(1, 1, 1, 7)]
    assert [b.elements for b in det.buffers([(1, 255, 13, 13), (1, 255, 26, 26)], [], run())] == [255 * 676]
    with pytest.raises(NetError, match="mask_group_num is 2"):
        det.reshape([(1, 255, 13, 13)])


def test_yolo_detection_output_variant() -> None:
    det = make('type: "DetectionOutput" bottom: "conv" top: "det" detection_output_param { num_classes: 20 }')
    det.check_counts(1, 1)
    assert det.variant == "YOLO variant (one bottom)"
    assert "DetectionOutput: YOLO variant (one bottom) (layer '')" in det.ctx.warnings
    assert det.reshape([(1, 125, 13, 13)]) == [(1, 1, 1, 7)]
    assert [b.elements for b in det.buffers([(1, 125, 13, 13)], [(1, 1, 1, 7)], run())] == [125 * 169]
    ssd = make('type: "DetectionOutput" bottom: "a" bottom: "b" bottom: "c" top: "det"')
    ssd.check_counts(3, 1)
    assert ssd.variant is None
    with pytest.raises(NetError, match="at least 3 bottom"):
        ssd.check_counts(2, 1)


# --- R-FCN OHEM -----------------------------------------------------------------------------------

def test_ohem_layers() -> None:
    r = 300
    ohem = make('type: "BoxAnnotatorOHEM" bottom: "rois" bottom: "loss" bottom: "labels" bottom: "bbox_w" '
                'top: "labels_ohem" top: "bbox_w_ohem" box_annotator_ohem_param { roi_per_img: 128 }')
    assert ohem.reshape([(r, 5), (r,), (r,), (r, 8)]) == [(r, 1, 1, 1), (r, 8, 1, 1)]
    with pytest.raises(NetError, match="5 channels"):
        ohem.reshape([(r, 4), (r,), (r,), (r, 8)])
    with pytest.raises(NetError, match="roi_per_img"):
        tops('type: "BoxAnnotatorOHEM" top: "a" top: "b"', (r, 5), (r,), (r,), (r, 8))

    cls = make('type: "SoftmaxWithLossOHEM" bottom: "score" bottom: "labels" top: "loss" top: "prob" top: "per_roi"')
    assert cls.reshape([(r, 21), (r,)]) == [(), (r, 21), (r,)]
    # prob_ data + diff, the Caffe softmax's scale_ [r] and sum_multiplier_ [21] (the fork is GPU-only:
    # costed on its GPU path, whose cuDNN softmax has no scratch), and bottom 0's diff as scratch
    # when no backward runs
    got = {(b.name, b.diff): b.elements for b in cls.buffers([(r, 21), (r,)], [(), (r, 21), (r,)], run(backward=False))}
    assert got == {("prob", False): r * 21, ("prob", True): r * 21, ("bottom_diff_scratch", True): r * 21}

    box = make('type: "SmoothL1LossOHEM" bottom: "pred" bottom: "target" bottom: "w" top: "loss" top: "per_roi"')
    assert box.reshape([(r, 8), (r, 8), (r, 8)]) == [(), (r, 1, 1, 1)]
    assert sum(b.elements for b in box.buffers([(r, 8)], [()], run())) == 2 * r * 8
    with pytest.raises(NetError, match="channels, height and width"):
        box.reshape([(r, 8), (r, 4)])


# --- variants of BVLC/SSD types -------------------------------------------------------------------

def test_unknown_input_is_not_analysed_never_an_error() -> None:
    """Every new type behind a layer caffemem cannot size is 'not analysed', with its cause."""
    net = ('layer { name: "py" type: "Python" top: "x" top: "y" top: "z" top: "w" '
           'python_param { module: "m" layer: "L" } }\n')
    heads = [
        'type: "CenterLoss" bottom: "x" bottom: "y" center_loss_param { num_output: 2 }',
        'type: "MarginInnerProduct" bottom: "x" bottom: "y" top: "m" margin_inner_product_param { num_output: 2 }',
        'type: "CTCLoss" bottom: "x" bottom: "y" bottom: "z" top: "ctc"',
        'type: "CTCGreedyDecoder" bottom: "x" bottom: "y" top: "dec"',
        'type: "Reverse" bottom: "x" bottom: "y" top: "rev"',
        'type: "RegionLoss" bottom: "x" bottom: "y" top: "rl"',
        'type: "Yolov3" bottom: "x" bottom: "y" top: "yl"',
        'type: "Yolov3DetectionOutput" bottom: "x" bottom: "y" top: "yd"',
        'type: "DetectionOutput" bottom: "x" top: "do"',
        'type: "BoxAnnotatorOHEM" bottom: "x" bottom: "y" bottom: "z" bottom: "w" top: "o1" top: "o2"',
        'type: "SoftmaxWithLossOHEM" bottom: "x" bottom: "y" top: "s1"',
        'type: "SmoothL1LossOHEM" bottom: "x" bottom: "y" top: "s2"',
        'type: "Convolution3D" bottom: "x" top: "c3" convolution3d_param { num_output: 2 kernel_size: 1 '
        'kernel_depth: 1 }',
        'type: "Pooling3D" bottom: "x" top: "p3" pooling3d_param { kernel_size: 1 kernel_depth: 1 }',
        'type: "ContinuationIndicator" bottom: "x" top: "ci" continuation_indicator_param { time_step: 2 '
        'batch_size: 2 }',
        'type: "ReLU" bottom: "x" top: "r1" top: "r2"',
        'type: "MatWrite" bottom: "x" mat_write_param { prefix: "f" }',
    ]
    net += "".join(f'layer {{ name: "h{i}" {h} }}\n' for i, h in enumerate(heads))
    for forced in ("", "force_backward: true\n"):
        for phase, role in ((TRAIN, "train"), (TEST, "test")):
            built = build(forced + net, phase)
            for layer in built.layers[1:]:
                assert layer.unknown is not None and "because of layer py" in layer.unknown, layer.name
                assert layer.unknown_upstream
            for mode in ("cpu", "gpu"):
                run_footprint([built], [role], mode)  # costs what it can, never raises


# --- C3D ------------------------------------------------------------------------------------------

def test_convolution3d_and_pooling3d() -> None:
    conv = make('type: "Convolution3D" bottom: "x" top: "y" convolution3d_param { num_output: 64 kernel_size: 3 '
                'kernel_depth: 3 pad: 1 temporal_pad: 1 }')
    # C3D's conv1a: 16 frames of 112x112 keep their extents
    assert conv.reshape([(10, 3, 16, 112, 112)]) == [(10, 64, 16, 112, 112)]
    assert conv.blobs == [(64, 3, 3, 3, 3), (1, 1, 1, 1, 64)]
    bufs = {b.name: b.elements for b in conv.buffers([(10, 3, 16, 112, 112)], [(10, 64, 16, 112, 112)], run())}
    assert bufs == {"col_buffer": 3 * 27 * 16 * 112 * 112, "bias_multiplier": 16 * 112 * 112}
    # stride 2 in space and time, no pad: (16 - 3) // 2 + 1 = 7, (112 - 3) // 2 + 1 = 55
    strided = make('type: "Convolution3D" bottom: "x" top: "y" convolution3d_param { num_output: 8 kernel_size: 3 '
                   'kernel_depth: 3 stride: 2 temporal_stride: 2 bias_term: false }')
    assert strided.reshape([(1, 3, 16, 112, 112)]) == [(1, 8, 7, 55, 55)]
    assert strided.blobs == [(8, 3, 3, 3, 3)]
    with pytest.raises(NetError, match="5-D"):
        strided.reshape([(1, 3, 112, 112)])

    pool = make('type: "Pooling3D" bottom: "x" top: "y" pooling3d_param { pool: MAX kernel_size: 2 kernel_depth: 1 '
                'stride: 2 temporal_stride: 1 }')
    assert pool.reshape([(10, 64, 16, 112, 112)]) == [(10, 64, 16, 56, 56)]
    assert pool.buffers([(10, 64, 16, 112, 112)], [(10, 64, 16, 56, 56)], run()) == []  # MAX keeps no mask
    # ceil in space and time: ceil((7 - 2) / 2) + 1 = 4; ceil((3 - 2) / 2) + 1 = 2
    odd = make('type: "Pooling3D" bottom: "x" top: "y" pooling3d_param { kernel_size: 2 kernel_depth: 2 stride: 2 '
               'temporal_stride: 2 }')
    assert odd.reshape([(1, 512, 3, 7, 7)]) == [(1, 512, 2, 4, 4)]
    with pytest.raises(NetError, match="average pooling"):
        tops('type: "Pooling3D" bottom: "x" top: "y" pooling3d_param { kernel_size: 2 kernel_depth: 2 pad: 1 }',
             (1, 1, 4, 4, 4))


C3D_V10 = '''name: "c3d"
layers { name: "data" type: VIDEO_DATA top: "data" top: "label"
  image_data_param { source: "train.lst" batch_size: 30 crop_size: 112 new_height: 128 new_width: 171
                     new_length: 16 use_image: true } }
layers { name: "conv1a" type: CONVOLUTION3D bottom: "data" top: "conv1a" blobs_lr: 1 blobs_lr: 2
  convolution_param { num_output: 64 kernel_size: 3 kernel_depth: 3 pad: 1 temporal_pad: 1 } }
layers { name: "relu1a" type: RELU bottom: "conv1a" top: "conv1a" }
layers { name: "pool1" type: POOLING3D bottom: "conv1a" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 kernel_depth: 1 stride: 2 temporal_stride: 1 } }
layers { name: "fc" type: INNER_PRODUCT bottom: "pool1" top: "fc" inner_product_param { num_output: 101 } }
layers { name: "loss" type: SOFTMAX_LOSS bottom: "fc" bottom: "label" top: "loss" }
'''


def test_c3d_v1_net_upgrades_and_builds() -> None:
    from caffemem.net.load import net_from_text

    loaded = net_from_text(C3D_V10, "c3d")
    assert [layer.type for layer in loaded.param.layer] == ["VideoData", "Convolution3D", "ReLU", "Pooling3D",
                                                            "InnerProduct", "SoftmaxWithLoss"]
    net = build_net(loaded.param, compose_state(TRAIN), SetupContext(TRAIN, BuildOptions(), "c3d"))
    shapes = {layer.name: layer.top_shapes for layer in net.layers}
    assert shapes["data"] == [(30, 3, 16, 112, 112), (30, 1, 1, 1, 1)]
    assert shapes["conv1a"] == [(30, 64, 16, 112, 112)]
    assert shapes["pool1"] == [(30, 64, 16, 56, 56)]
    assert net.layers[1].params[0].shape == (64, 3, 3, 3, 3)
    assert net.layers[4].params[0].shape == (101, 64 * 16 * 56 * 56)
    assert {"VideoData: C3D v1.0 variant (image_data_param) (layer 'data')",
            "Convolution3D: C3D v1.0 variant (convolution_param) (layer 'conv1a')",
            "Pooling3D: C3D v1.0 variant (pooling_param) (layer 'pool1')"} <= set(net.warnings)
    fp = run_footprint([net], ["train"], "cpu")
    # v1.0's one host batch: the clips and labels once; the tops own their data
    assert fp.nets[0].by_layer["data"]["prefetch"] == (30 * 3 * 16 * 112 * 112 + 30) * 4
    assert fp.nets[0].by_layer["data"]["activations"] == (30 * 3 * 16 * 112 * 112 + 30) * 4


def test_c3d_v1_binary_numbers_are_told_apart_by_their_fields() -> None:
    """A binary C3D v1.0 file carries 30/31/33, BVLC's ARGMAX/THRESHOLD/SLICE: the fields decide."""
    from caffemem.net.upgrade import upgrade_net

    param = caffe_pb2.NetParameter()
    conv = param.layers.add(name="conv", type=caffe_pb2.V1LayerParameter.ARGMAX, bottom=["x"], top=["y"])
    conv.convolution_param.kernel_depth = 3
    pool = param.layers.add(name="pool", type=caffe_pb2.V1LayerParameter.THRESHOLD, bottom=["y"], top=["z"])
    pool.pooling_param.kernel_depth = 1
    real = param.layers.add(name="argmax", type=caffe_pb2.V1LayerParameter.ARGMAX, bottom=["z"], top=["a"])
    real.argmax_param.top_k = 1
    result = upgrade_net(param, "c3d.caffemodel")
    assert [layer.type for layer in param.layer] == ["Convolution3D", "Pooling3D", "ArgMax"]
    assert result.warnings == []  # Caffe's upgrade would log nothing; the layers name their variant
    param.layer[0].convolution_param.num_output = 4
    param.layer[0].convolution_param.kernel_size.append(3)
    conv_layer = make(str(param.layer[0]))
    assert conv_layer.reshape([(1, 3, 8, 16, 16)]) == [(1, 4, 6, 14, 14)]
    assert conv_layer.variant == "C3D v1.0 variant (convolution_param)"


def test_video_data_v11() -> None:
    layer = make('type: "VideoData" top: "data" top: "label" transform_param { crop_size: 112 } '
                 'video_data_param { source: "l.lst" batch_size: 30 new_length: 16 new_height: 128 new_width: 171 }',
                 phase=caffe_pb2.TRAIN)
    assert layer.reshape([]) == [(30, 3, 16, 112, 112), (30,)]
    assert layer.variant is None and not layer.tops_own_data and layer.prefetch_batches() == 4
    unsized = make('type: "VideoData" top: "data" video_data_param { batch_size: 2 new_length: 8 }')
    assert unsized.reshape([]) == [(2, 3, 8, 112, 112)]
    assert any("give --input data=C,L,H,W" in w for w in unsized.ctx.assumptions)
    given = make('type: "VideoData" top: "data" video_data_param { batch_size: 2 new_length: 8 }',
                 inputs={"data": (2, 8, 58, 58)})
    assert given.reshape([]) == [(2, 2, 8, 58, 58)] and not given.ctx.assumptions


# --- variants of BVLC/SSD types -------------------------------------------------------------------

def test_annotated_data_with_a_mask_top() -> None:
    layer = make('type: "AnnotatedData" top: "data" top: "label" top: "mask" data_param { batch_size: 4 } '
                 'transform_param { resize_param { height: 300 width: 300 } }', phase=caffe_pb2.TRAIN)
    layer.check_counts(0, 3)
    assert layer.variant == "SSD+mask variant (three tops: image, boxes, mask)"
    assert layer.reshape([]) == [(4, 3, 300, 300), (1, 1, 1, 8), (4, 1, 300, 300)]
    assert any("give --input mask=C,H,W" in w for w in layer.ctx.assumptions)
    two = make('type: "AnnotatedData" top: "data" top: "label" data_param { batch_size: 4 } '
               'transform_param { resize_param { height: 300 width: 300 } }')
    two.check_counts(0, 2)
    assert two.variant is None


def test_relu_with_two_tops() -> None:
    relu = make('type: "ReLU" bottom: "x" top: "y" top: "mask"')
    relu.check_counts(1, 2)
    assert relu.variant == "two-top variant (second top shaped like the bottom)"
    assert relu.reshape([(2, 8, 4, 4)]) == [(2, 8, 4, 4), (2, 8, 4, 4)]
    with pytest.raises(NetError, match="takes 1 top"):
        make('type: "Sigmoid" bottom: "x" top: "y" top: "z"').check_counts(1, 2)
    net = build(DATA % ("2 dim: 8", "2") + 'layer { name: "relu" type: "ReLU" bottom: "data" top: "r" top: "m" }\n')
    assert net.layers[1].top_shapes == [(2, 8), (2, 8)]
    assert "ReLU: two-top variant (second top shaped like the bottom) (layer 'relu')" in net.warnings


# --- data layers and writers ----------------------------------------------------------------------

def test_image_labelmap_data() -> None:
    layer = make('type: "ImageLabelmapData" top: "data" top: "label" transform_param { crop_size: 400 } '
                 'image_data_param { source: "train_pair.lst" batch_size: 10 }', phase=caffe_pb2.TRAIN)
    assert layer.reshape([]) == [(10, 3, 400, 400), (10, 1, 400, 400)]
    assert layer.tops_own_data and layer.prefetch_batches() == 3
    assert layer.prefetch_elements([(10, 3, 400, 400), (10, 1, 400, 400)]) == 10 * 4 * 400 * 400
    unsized = make('type: "ImageLabelmapData" top: "data" top: "label" image_data_param { batch_size: 1 }')
    assert unsized.reshape([]) == [(1, 3, 256, 256), (1, 1, 256, 256)]
    assert any("give --input data=C,H,W" in w for w in unsized.ctx.assumptions)


def test_box_data() -> None:
    layer = make('type: "BoxData" top: "data" top: "label" transform_param { crop_size: 416 } '
                 'data_param { batch_size: 16 side: 13 }')
    assert layer.reshape([]) == [(16, 3, 416, 416), (16, 150)]
    with pytest.raises(NetError, match="side num not equal to top size"):
        tops('type: "BoxData" top: "data" top: "a" top: "b" data_param { batch_size: 1 side: 13 }')
    two = make('type: "BoxData" top: "data" top: "l13" top: "l26" transform_param { crop_size: 416 } '
               'data_param { batch_size: 2 side: 13 side: 26 }', inputs={"l26": (300,)})
    assert two.reshape([]) == [(2, 3, 416, 416), (2, 150), (2, 300)]


def test_mat_write() -> None:
    assert tops('type: "MatWrite" bottom: "fc8" mat_write_param { prefix: "feat/" period: 1 }', (1, 21, 64, 64)) == []
    with pytest.raises(NetError, match="period must be positive"):
        tops('type: "MatWrite" bottom: "fc8" mat_write_param { prefix: "f" period: 0 }', (1, 21, 64, 64))


def test_the_variant_is_in_the_json() -> None:
    from caffemem.commands.check_dict import layer_dict

    net = build(DATA % ("1 dim: 125 dim: 13 dim: 13", "1") +
                'layer { name: "det" type: "DetectionOutput" bottom: "data" top: "det" }\n')
    assert layer_dict(net.layers[1])["variant"] == "YOLO variant (one bottom)"
    assert layer_dict(net.layers[0])["variant"] is None


def test_macs_of_the_weighted_fork_types() -> None:
    from caffemem.memory.macs import layer_macs
    from caffemem.net.load import net_from_text

    loaded = net_from_text(C3D_V10, "c3d")
    net = build_net(loaded.param, compose_state(TRAIN), SetupContext(TRAIN, BuildOptions(batch=1), "c3d"))
    conv = next(layer for layer in net.layers if layer.name == "conv1a")
    assert layer_macs(conv) == 64 * 16 * 112 * 112 * (3 * 3 * 3 * 3)
    face = build(DATA % ("4 dim: 512", "4") + 'layer { name: "m" type: "MarginInnerProduct" bottom: "data" '
                 'bottom: "label" top: "fc" margin_inner_product_param { num_output: 100 } }\n')
    assert layer_macs(face.layers[1]) == 4 * 512 * 100


def test_op_data() -> None:
    layer = make('type: "OPData" top: "data" top: "label" data_param { batch_size: 10 } '
                 'op_transform_param { stride: 8 crop_size_x: 368 crop_size_y: 368 }', phase=caffe_pb2.TRAIN)
    # COCO: (18 parts + background + 38 PAFs) x 2 (each with its mask) = 114 channels at 1/8
    assert layer.reshape([]) == [(10, 3, 368, 368), (10, 114, 46, 46)]
    assert not layer.ctx.assumptions and not layer.tops_own_data
    body25 = make('type: "OPData" top: "data" top: "label" data_param { batch_size: 1 } '
                  'op_transform_param { stride: 8 models: "COCO_25B_23" }', phase=caffe_pb2.TRAIN)
    assert body25.reshape([])[0] == (1, 3, 368, 368)
    assert any("give --input label=C,H,W" in w for w in body25.ctx.assumptions)
    given = make('type: "OPData" top: "data" top: "label" data_param { batch_size: 1 } '
                 'op_transform_param { stride: 8 models: "COCO_25B_23" }', phase=caffe_pb2.TRAIN,
                 inputs={"label": (220, 46, 46)})
    assert given.reshape([]) == [(1, 3, 368, 368), (1, 220, 46, 46)] and not given.ctx.assumptions

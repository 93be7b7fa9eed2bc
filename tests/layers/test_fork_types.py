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
    ]
    net += "".join(f'layer {{ name: "h{i}" {h} }}\n' for i, h in enumerate(heads))
    for phase, role in ((TRAIN, "train"), (TEST, "test")):
        built = build(net, phase)
        for layer in built.layers[1:]:
            assert layer.unknown is not None and "because of layer py" in layer.unknown, layer.name
            assert layer.unknown_upstream
        run_footprint([built], [role], "cpu")  # costs what it can, never raises

"""Fork layer types of FlowNet/FlowNet2, CRF-as-RNN, the spatial transformer and Ristretto.

Shapes, parameter shapes and buffers are computed by hand from each fork's own source (the file named
in the layer class's docstring), in 4-byte elements. The fixtures under ``fixtures/`` are small nets
written for these tests; ``caffemem check`` must analyse every layer of them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from layer_helpers import buffers, footprint, make, tops

from caffemem.cli import main
from caffemem.errors import NetError
from caffemem.layers.recurrent import lattice_elements
from caffemem.layers.registry import BuildOptions, RunInfo, SetupContext
from caffemem.modes import Mode
from caffemem.net.build import BuiltNet, build_net
from caffemem.net.prototxt import parse_text
from caffemem.net.state import TRAIN, compose_state
from caffemem.proto import caffe_pb2

FIXTURES = Path(__file__).parent / "fixtures"


def run(mode: Mode = Mode.CPU, backward: bool = True, n: int = 2, cudnn: bool = True) -> RunInfo:
    return RunInfo(phase=caffe_pb2.TRAIN, mode=mode, backward=backward, propagate_down=(False,) * n,
                   inplace=(False,) * n, cudnn=cudnn)


def total(layer_text: str, bottoms: list[tuple[int, ...]], info: RunInfo) -> int:
    layer = make(layer_text)
    top = layer.reshape(bottoms)
    return sum(b.elements for b in layer.buffers(bottoms, top, info))  # type: ignore[arg-type]


def build(text: str) -> BuiltNet:
    param = caffe_pb2.NetParameter()
    parse_text(text, param, "flownet")
    return build_net(param, compose_state(TRAIN), SetupContext(TRAIN, BuildOptions(), "flownet"))


# --- FlowNet / FlowNet2 ---------------------------------------------------------------------------

CORR = 'type: "Correlation" bottom: "a" bottom: "b" top: "c" correlation_param { %s }'


def test_correlation_flownetc_geometry() -> None:
    # FlowNetC's: kernel 1 (radius 0), displacement 20, pad 20, stride_2 2 on [4, 256, 48, 64]:
    # border 20, padded 88 x 104, top 48 x 64, grid radius 10 -> 21^2 = 441 channels.
    text = CORR % "pad: 20 kernel_size: 1 max_displacement: 20 stride_1: 1 stride_2: 2"
    assert tops(text, (4, 256, 48, 64), (4, 256, 48, 64)) == [(4, 441, 48, 64)]
    # kernel 3 adds a radius-1 border: ceil((88 - 42) / 1) = 46, ceil((104 - 42) / 1) = 62
    text3 = CORR % "pad: 20 kernel_size: 3 max_displacement: 20 stride_1: 1 stride_2: 2"
    assert tops(text3, (4, 256, 48, 64), (4, 256, 48, 64)) == [(4, 441, 46, 62)]
    # stride_1 2 rounds up: ceil((40 - 8) / 2) = 16, ceil((41 - 8) / 2) = 17
    text_s = CORR % "pad: 4 kernel_size: 1 max_displacement: 4 stride_1: 2 stride_2: 2"
    assert tops(text_s, (1, 8, 32, 33), (1, 8, 32, 33)) == [(1, 25, 16, 17)]
    # rbot1_/rbot2_: [N, H + 2 pad, W + 2 pad, C] each, in every mode (GPU-only code)
    for mode in (Mode.CPU, Mode.GPU):
        assert total(text, [(4, 256, 48, 64)] * 2, run(mode)) == 2 * 4 * 88 * 104 * 256
    assert make(text).writes_bottom_diff(1, run())  # backward writes both gradients regardless


def test_correlation_checks() -> None:
    with pytest.raises(NetError, match="Odd kernel size"):
        tops(CORR % "kernel_size: 2 max_displacement: 4", (1, 8, 16, 16), (1, 8, 16, 16))
    with pytest.raises(NetError, match="Max displacement is required"):
        tops(CORR % "kernel_size: 1", (1, 8, 16, 16), (1, 8, 16, 16))
    with pytest.raises(NetError, match="same number of channels"):
        tops(CORR % "kernel_size: 1 max_displacement: 4", (1, 8, 16, 16), (1, 4, 16, 16))
    with pytest.raises(NetError, match="don't fit"):
        tops(CORR % "kernel_size: 1 max_displacement: 8", (1, 8, 16, 16), (1, 8, 16, 16))


def test_correlation_1d() -> None:
    text = ('type: "Correlation1D" bottom: "a" bottom: "b" top: "c" correlation_param '
            '{ pad: 40 kernel_size: 1 max_displacement: 40 stride_1: 1 stride_2: 1 %s }')
    # width padded only: [N, 2r + 1, H, ceil((W + 80 - 80) / 1)]
    assert tops(text % "", (2, 64, 48, 96), (2, 64, 48, 96)) == [(2, 81, 48, 96)]
    assert tops(text % "single_direction: -1", (2, 64, 48, 96), (2, 64, 48, 96)) == [(2, 41, 48, 96)]
    assert total(text % "", [(2, 64, 48, 96)] * 2, run()) == 2 * 2 * 48 * 176 * 64
    with pytest.raises(NetError, match="single_direction"):
        tops(text % "single_direction: 2", (2, 64, 48, 96), (2, 64, 48, 96))


def test_resample_and_downsample() -> None:
    assert tops('type: "Resample" bottom: "x" top: "y" resample_param { width: 512 height: 384 }',
                (4, 2, 96, 128)) == [(4, 2, 384, 512)]
    assert tops('type: "Resample" bottom: "x" bottom: "ref" top: "y"', (4, 2, 96, 128), (4, 3, 48, 64)) == \
        [(4, 2, 48, 64)]
    with pytest.raises(NetError, match="only CUBIC, LINEAR and NEAREST"):
        tops('type: "Resample" bottom: "x" top: "y" resample_param { width: 4 height: 4 type: AREA }', (1, 1, 8, 8))
    with pytest.raises(NetError, match="top_height > 0"):
        tops('type: "Resample" bottom: "x" top: "y"', (1, 1, 8, 8))
    down = make('type: "Downsample" bottom: "x" top: "y" downsample_param { top_height: 12 top_width: 16 }')
    assert down.reshape([(4, 2, 96, 128)]) == [(4, 2, 12, 16)]
    assert down.top_data_view(0) is None
    # the input's own size: the top shares the bottom's data and gradient
    same = make('type: "Downsample" bottom: "x" bottom: "ref" top: "y"')
    assert same.reshape([(4, 2, 12, 16), (4, 3, 12, 16)]) == [(4, 2, 12, 16)]
    assert same.top_data_view(0) == 0 and same.top_diff_view(0) == 0
    assert not down.allow_backward and not make('type: "Resample" bottom: "x" top: "y"').allow_backward


def test_no_backward_layers_stop_gradients() -> None:
    """AllowBackward() false: a Downsample after a learnable layer still needs no backward, so the
    loss's gradient does not flow into it (nor its bottom's gradient get allocated for it)."""
    net = build('layer { name: "in" type: "Input" top: "x" top: "gt" input_param { shape { dim: 2 dim: 3 '
                'dim: 16 dim: 16 } shape { dim: 2 dim: 2 dim: 8 dim: 8 } } }\n'
                'layer { name: "conv" type: "Convolution" bottom: "x" top: "f" '
                'convolution_param { num_output: 2 kernel_size: 1 } }\n'
                'layer { name: "down" type: "Downsample" bottom: "f" bottom: "gt" top: "fd" }\n'
                'layer { name: "loss" type: "L1Loss" bottom: "fd" bottom: "gt" top: "loss" }\n')
    layers = {layer.name: layer for layer in net.layers}
    assert layers["conv"].need_backward
    assert not layers["down"].need_backward
    assert layers["loss"].top_shapes == [()]


def test_flow_warp() -> None:
    text = 'type: "FlowWarp" bottom: "img" bottom: "flow" top: "w"'
    assert tops(text, (4, 3, 96, 128), (4, 2, 96, 128)) == [(4, 3, 96, 128)]
    bottoms = [(4, 3, 96, 128), (4, 2, 96, 128)]
    assert total(text, bottoms, run(Mode.CPU)) == 0  # transposed_image_ is only the GPU's
    assert total(text, bottoms, run(Mode.GPU)) == 4 * 96 * 128 * 3
    with pytest.raises(NetError, match="2 channels"):
        tops(text, (4, 3, 96, 128), (4, 3, 96, 128))
    with pytest.raises(NetError, match="two input blobs"):
        make(text).check_counts(1, 1)


def test_channel_norm_and_accum() -> None:
    assert tops('type: "ChannelNorm" bottom: "f" top: "n"', (4, 2, 96, 128)) == [(4, 1, 96, 128)]
    accum = 'type: "Accum" bottom: "a" bottom: "b" top: "c" accum_param { %s }'
    # channels add up; the largest height and width, unless a custom size exceeds both
    assert tops(accum % "", (2, 3, 8, 8), (2, 2, 16, 12)) == [(2, 5, 16, 12)]
    assert tops(accum % "top_height: 20 top_width: 10", (2, 3, 8, 8), (2, 2, 16, 12)) == [(2, 5, 16, 12)]
    assert tops(accum % "top_height: 20 top_width: 14", (2, 3, 8, 8), (2, 2, 16, 12)) == [(2, 5, 20, 14)]
    # size_divisible_by 10: ceil(16 / 10) * 10 = 20, ceil(12 / 10) * 10 = 20
    assert tops(accum % "size_divisible_by: 10", (2, 3, 8, 8), (2, 2, 16, 12)) == [(2, 5, 20, 20)]
    ref = make('type: "Accum" bottom: "a" bottom: "b" bottom: "r" top: "c" accum_param { have_reference: true }')
    assert ref.reshape([(2, 3, 8, 8), (2, 2, 16, 12), (2, 7, 24, 32)]) == [(2, 5, 24, 32)]
    assert ref.writes_bottom_diff(1, run(n=3)) and not ref.writes_bottom_diff(2, run(n=3))


def test_l1_loss_buffers() -> None:
    bottoms = [(2, 2, 16, 16)] * 2
    n = 2 * 2 * 16 * 16
    plain = 'type: "L1Loss" bottom: "p" bottom: "t" top: "loss"'
    layer = make(plain)
    assert layer.is_loss and layer.reshape(bottoms) == [()]
    # diff_ data + gradient, mask_, sign_
    assert total(plain, bottoms, run()) == 4 * n
    assert total('type: "L1Loss" bottom: "p" top: "loss"', bottoms[:1], run(n=1)) == 2 * n
    l2 = plain + ' l1_loss_param { l2_per_location: true %s }'
    # + squares (data and gradient), sum and sqrt [2, 1, 16, 16] (data and gradient each),
    #   the 1x1 summing convolution's weight [1, 2, 1, 1] + bias (data and gradient), bias_multiplier [256]
    per_pixel = 2 * 16 * 16
    expected = 4 * n + 2 * n + 4 * per_pixel + 2 * 3 + 256
    assert total(l2 % "", bottoms, run()) == expected
    assert total(l2 % "plateau: 0.5", bottoms, run()) == expected + per_pixel
    with pytest.raises(NetError, match="one shape"):
        make(plain).reshape([(2, 2, 16, 16), (2, 2, 8, 8)])


def test_flownet_fixture() -> None:
    fp = footprint((FIXTURES / "flownet_small.prototxt").read_text())
    # feat [2, 16, 32, 32], pad 4: rbot1_ + rbot2_ [2, 40, 40, 16]; Correlation1D [2, 32, 40, 16]
    assert buffers(fp, "corr") == 2 * 2 * 40 * 40 * 16
    assert buffers(fp, "corr1d") == 2 * 2 * 32 * 40 * 16
    net = build((FIXTURES / "flownet_small.prototxt").read_text())
    shapes = {layer.name: layer.top_shapes for layer in net.layers}
    assert shapes["corr"] == [(2, 25, 32, 32)] and shapes["corr1d"] == [(2, 5, 32, 32)]
    assert shapes["gt_down"] == [(2, 2, 32, 32)] and shapes["up"] == [(2, 2, 64, 64)]
    assert shapes["norm"] == [(2, 1, 64, 64)] and shapes["acc"] == [(2, 3, 64, 64)]


# --- CRF-as-RNN -----------------------------------------------------------------------------------

def test_multi_stage_meanfield() -> None:
    text = ('type: "MultiStageMeanfield" bottom: "u" bottom: "s" bottom: "rgb" top: "crf" '
            'multi_stage_meanfield_param { num_iterations: 3 theta_alpha: 160 theta_beta: 3 theta_gamma: 3 }')
    layer = make(text)
    bottoms = [(1, 5, 32, 32), (1, 5, 32, 32), (1, 3, 32, 32)]
    assert layer.reshape(bottoms) == [(1, 5, 32, 32)]
    assert layer.blobs == [(1, 1, 5, 5)] * 3
    assert any("upper bound" in w for w in layer.ctx.warnings)
    assert layer.writes_bottom_diff(0, run(n=3)) and layer.writes_bottom_diff(1, run(n=3))
    assert not layer.writes_bottom_diff(2, run(n=3))
    # lattices: 3 (d + 1) P fixed, 2 (d + 1) M with M at its bound (d + 1) P
    p = 32 * 32
    assert lattice_elements(2, p) == 9 * p + 18 * p
    assert lattice_elements(5, p) == 18 * p + 72 * p
    e = 5 * p
    # P-sized: norms and feed 2, kernel buffer 5, spatial lattice 27, bilateral norms 1 and lattice 90,
    # three Softmax scale_ 3; E-sized: iteration outputs 2 x 2, Split gradients 3, 3 x 5 blobs x 2;
    # three copies of 3 x 25 parameters x 2; three sum_multiplier_ of 5
    expected = 128 * p + 37 * e + 450 + 15
    assert sum(b.elements for b in layer.buffers(bottoms, [(1, 5, 32, 32)], run(n=3))) == expected
    fp = footprint((FIXTURES / "crfasrnn_small.prototxt").read_text())
    assert buffers(fp, "crf") == expected
    with pytest.raises(NetError, match="greater than 1"):
        make(text.replace("num_iterations: 3", "num_iterations: 1")).reshape(bottoms)


# --- spatial transformer --------------------------------------------------------------------------

def test_spatial_transformer() -> None:
    text = 'type: "SpatialTransformer" bottom: "u" bottom: "theta" top: "v" st_param { %s }'
    assert tops(text % "output_H: 20 output_W: 24", (8, 3, 28, 28), (8, 6)) == [(8, 3, 20, 24)]
    assert tops(text % "theta_1_2: 0 theta_2_1: 0", (8, 3, 28, 28), (8, 4)) == [(8, 3, 28, 28)]
    with pytest.raises(NetError, match="not six"):
        tops(text % "", (8, 3, 28, 28), (8, 4))
    with pytest.raises(NetError, match="first dimension"):
        tops(text % "", (8, 3, 28, 28), (4, 6))
    bottoms = [(8, 1, 28, 28), (8, 6)]
    p = 20 * 20
    # CPU: output_grid [P, 3], input_grid [N, P, 2] and its gradient
    assert total(text % "output_H: 20 output_W: 20", bottoms, run()) == 3 * p + 2 * 8 * p * 2
    # GPU: + full_theta data and gradient, dTheta_tmp's gradient [N, 2, 3, P C], all_ones_2 [P C]
    assert total(text % "output_H: 20 output_W: 20", bottoms, run(Mode.GPU)) == \
        3 * p + 8 * p * 2 + 2 * 8 * 6 + 8 * 6 * p + p
    fp = footprint((FIXTURES / "stn_small.prototxt").read_text())
    assert buffers(fp, "st") == 3 * p + 2 * 8 * p * 2
    no_du = make(text % "to_compute_dU: false")
    assert not no_du.writes_bottom_diff(0, run(Mode.GPU)) and no_du.writes_bottom_diff(0, run())


# --- Ristretto ------------------------------------------------------------------------------------

def test_ristretto_layers() -> None:
    conv = ('type: "ConvolutionRistretto" bottom: "x" top: "y" convolution_param { num_output: 8 kernel_size: 3 '
            'pad: 1 } quantization_param { bw_params: 8 fl_params: 7 }')
    layer = make(conv)
    assert layer.reshape([(4, 3, 32, 32)]) == [(4, 8, 32, 32)]
    assert layer.blobs == [(8, 3, 3, 3), (8,)]
    # bias_multiplier [1024] + col_buffer [27 x 1024] + the quantized weight and bias copies
    expected = 1024 + 27 * 1024 + 216 + 8
    assert total(conv, [(4, 3, 32, 32)], run(n=1)) == expected
    assert total(conv, [(4, 3, 32, 32)], run(Mode.GPU, n=1)) == expected  # never cuDNN
    deconv = ('type: "DeconvolutionRistretto" bottom: "x" top: "y" '
              'convolution_param { num_output: 4 kernel_size: 2 stride: 2 }')
    assert tops(deconv, (4, 8, 32, 32)) == [(4, 4, 64, 64)]
    assert total(deconv, [(4, 8, 32, 32)], run(n=1)) == 4096 + 4 * 4 * 1024 + 8 * 4 * 4 + 4
    fc = 'type: "FcRistretto" bottom: "x" top: "y" inner_product_param { num_output: 10 }'
    assert tops(fc, (4, 4, 64, 64)) == [(4, 10)]
    assert total(fc, [(4, 4, 64, 64)], run(n=1)) == 4 + 10 * 16384 + 10
    lrn = 'type: "LRNRistretto" bottom: "x" top: "y" quantization_param { precision: MINIFLOAT }'
    assert total(lrn, [(4, 8, 32, 32)], run(Mode.GPU, n=1)) == 4 * 8 * 32 * 32  # scale_, never cuDNN
    with pytest.raises(NetError, match="only supports minifloat"):
        tops('type: "LRNRistretto" bottom: "x" top: "y"', (4, 8, 32, 32))


# --- the fixtures, end to end -------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["flownet_small", "crfasrnn_small", "stn_small", "ristretto_small"])
def test_fixture_checks_clean(name: str) -> None:
    result = CliRunner().invoke(main, ["check", str(FIXTURES / f"{name}.prototxt")])
    assert result.exit_code == 0, result.output
    assert "not analysed" not in result.stderr and "not analysed" not in result.stdout

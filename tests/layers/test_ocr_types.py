"""Fork types of the OCR nets (senlinuc/caffe_ocr) and the focal loss ports: Junhyuk Oh's ``Lstm``,
the memory-efficient ``DenseBlock``, ``WarpCTCLoss`` and chuanqi305's ``FocalLoss``.

Shapes, parameter shapes and buffers are computed by hand from each fork's source (named in each
layer class's docstring), in 4-byte elements. The fixtures are small nets written for these tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from layer_helpers import buffers, footprint, make, tops

from caffemem.cli import main
from caffemem.errors import NetError
from caffemem.layers.registry import RunInfo
from caffemem.modes import Mode
from caffemem.proto import caffe_pb2

FIXTURES = Path(__file__).parent / "fixtures"


def run(mode: Mode = Mode.CPU, backward: bool = True, phase: int = caffe_pb2.TRAIN, n: int = 1) -> RunInfo:
    return RunInfo(phase=phase, mode=mode, backward=backward, propagate_down=(True,) * n, inplace=(False,) * n)


def by_when(text: str, bottoms: list[tuple[int, ...]], info: RunInfo) -> dict[str, int]:
    layer = make(text)
    top = layer.reshape(bottoms)
    out: dict[str, int] = {}
    for b in layer.buffers(bottoms, top, info):  # type: ignore[arg-type]
        out[b.when] = out.get(b.when, 0) + b.elements
    return out


# --- Lstm -----------------------------------------------------------------------------------------

LSTM = 'type: "Lstm" bottom: "x" top: "h" lstm_param { num_output: 6 %s }'


def test_lstm_ocr_variant() -> None:
    layer = make(LSTM % "")
    assert layer.reshape([(16, 2, 9)]) == [(16, 2, 6)]
    assert layer.blobs == [(24, 9), (24, 6), (24,)]
    assert layer.variant is not None and "caffe_ocr" in layer.variant
    # only axis 2 is the input size: a trailing axis is not folded in
    assert make(LSTM % "").reshape([(16, 2, 9, 3)]) == [(16, 2, 6)]
    # E = T N H = 192, S = N H = 12: multiplier T N; forward 8E + E + 4S + 4S; backward 8E + E + 4S
    for mode in (Mode.CPU, Mode.GPU):
        assert by_when(LSTM % "", [(16, 2, 9)], run(mode)) == {"setup": 32, "fwd": 1824, "bwd": 1776}
    assert make(LSTM % "").writes_bottom_diff(0, run())


def test_lstm_caffe_lstm_variant() -> None:
    # junhyukoh/caffe-lstm: [T*N, ...] input, N from batch_size, top [T*N, H], I = count / num
    layer = make(LSTM % "batch_size: 4")
    assert layer.reshape([(320, 3, 2)]) == [(320, 6)]
    assert layer.blobs == [(24, 6), (24, 6), (24,)]
    assert layer.variant is not None and "caffe-lstm" in layer.variant
    assert tops(LSTM % "", (320, 1)) == [(320, 6)]  # 2-D bottom: N = batch_size's default 1
    with pytest.raises(NetError, match="multiple of batch size"):
        tops(LSTM % "batch_size: 7", (320, 1))


# --- DenseBlock -----------------------------------------------------------------------------------

DENSE = ('type: "DenseBlock" bottom: "x" top: "y" denseblock_param { numTransition: 2 initChannel: 64 '
         'growthRate: 4 %s }')


def test_denseblock_shapes_and_params() -> None:
    layer = make(DENSE % "")
    # the OCR fork takes C0 from the bottom (1), not initChannel (64)
    assert layer.reshape([(2, 1, 8, 16)]) == [(2, 9, 8, 16)]
    assert layer.blobs == [(4, 1, 3, 3), (4, 5, 3, 3)] + [(1, 1, 1, 1), (1, 5, 1, 1)] * 4 + [(1,)]
    specs = [s.lr_mult for s in layer.param_specs]  # type: ignore[attr-defined]
    assert specs == [1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]
    bc = make(DENSE % "use_BC: true")
    bc.reshape([(2, 1, 8, 16)])
    assert bc.blobs[:2] == [(4, 16, 3, 3)] * 2
    assert bc.blobs[10:12] == [(16, 1, 1, 1), (16, 5, 1, 1)]
    assert len(bc.blobs) == 21 and bc.blobs[12:20] == [(1, 16, 1, 1)] * 8
    assert [s.lr_mult for s in bc.param_specs] == [1] * 6 + [0] * 4 + [1] * 6 + [0] * 5  # type: ignore[attr-defined]
    with pytest.raises(NetError, match="Nope"):
        tops(DENSE % "" + ' param { lr_mult: 1 }', (2, 1, 8, 16))
    with pytest.raises(NetError, match="4-D"):
        tops(DENSE % "", (2, 1, 8))


def test_denseblock_buffers() -> None:
    # N 2, C0 1, g 4, T 2, P 128: C_i = 1, 5; whole output 2 * 9 * 128 = 2304
    b = [(2, 1, 8, 16)]
    # GPU: six shared whole-size buffers, two 8 MiB workspaces, saved stats 2 (1 + 5), tmp 2 * 9
    assert by_when(DENSE % "", b, run(Mode.GPU)) == {"setup": 6 * 2304 + 2 * 2 * 1024 * 1024 + 12 + 18}
    # with dropout eight shared buffers; BC (not ultra): 5 + T quad buffers [2, 16, 8, 16] and 4 * 16 per step
    assert by_when(DENSE % "use_dropout: true workspace_MB: 1", b, run(Mode.GPU)) == \
        {"setup": 8 * 2304 + 2 * 262144 + 30}
    quad = 2 * 16 * 128
    assert by_when(DENSE % "use_BC: true workspace_MB: 1", b, run(Mode.GPU)) == \
        {"setup": 6 * 2304 + 2 * 262144 + 30 + 7 * quad + 2 * 64}
    assert by_when(DENSE % "use_BC: true BC_ultra_space_efficient: true workspace_MB: 1", b, run(Mode.GPU)) == \
        {"setup": 6 * 2304 + 2 * 262144 + 30 + 6 * quad + 2 * 64}
    # CPU training: merged_conv 256 + 1280 + 2304; BN and ReLU outputs 2 (256 + 1280), conv outputs
    # 2 * 1024; x-hat 256 + 1280 and batch stats 2 (1 + 5): 10508 in forward, the same in backward
    assert by_when(DENSE % "", b, run()) == {"fwd": 10508, "bwd": 10508}
    # CPU inference: no x-hat or batch stats, but the leaked inference statistics 2 (1 + 5)
    assert by_when(DENSE % "", b, run(backward=False, phase=caffe_pb2.TEST)) == \
        {"fwd": 3840 + 5120 + 12, "bwd": 10508 - 1548}
    assert make(DENSE % "").writes_bottom_diff(0, run())


# --- WarpCTCLoss and FocalLoss --------------------------------------------------------------------

def test_warp_ctc_loss() -> None:
    text = 'type: "WarpCTCLoss" bottom: "x" bottom: "label" top: "loss"'
    assert tops(text, (16, 2, 5, 1), (2, 4)) == [()]
    # workspace [estimate]: N (C + S T + S + 3 S) + C T N with S = 2 L + 1 = 9
    assert by_when(text, [(16, 2, 5, 1), (2, 4)], run(n=2)) == {"fwd": 2 * (5 + 144 + 9 + 27) + 160}
    assert by_when(text, [(16, 2, 5, 1), (2, 4)], run(backward=False, n=2))["fwd"] == 530 + 160
    with pytest.raises(NetError, match="one row per sequence"):
        tops(text, (16, 2, 5, 1), (3, 4))
    with pytest.raises(NetError, match="width"):
        tops(text, (16, 2, 5, 2), (2, 4))


def test_focal_loss() -> None:
    text = 'type: "FocalLoss" bottom: "x" bottom: "label" top: "loss" focal_loss_param { gamma: 2 }'
    assert tops(text, (4, 5, 8, 8), (4, 1, 8, 8)) == [()]
    # SoftmaxWithLoss's memory: prob_ data and diff 1280 each, scale N H W 256, sum multiplier 5
    assert by_when(text, [(4, 5, 8, 8), (4, 1, 8, 8)], run(n=2)) == {"fwd": 1280 + 256, "setup": 1280 + 5}
    with pytest.raises(NetError, match="Number of labels"):
        tops(text, (4, 5, 8, 8), (4, 2, 8, 8))
    with pytest.raises(NetError, match="2 bottom"):
        layer = make(text)
        layer.check_counts(3, 1)


# --- the fixtures, end to end ---------------------------------------------------------------------

def test_ocr_fixture_footprint() -> None:
    fp = footprint((FIXTURES / "ocr_lstm_small.prototxt").read_text())
    assert buffers(fp, "block") == 2 * 10508
    assert buffers(fp, "lstm") == 32 + 1824 + 1776
    assert buffers(fp, "ctc") == 530


@pytest.mark.parametrize("name", ["ocr_lstm_small.prototxt", "focal_small.prototxt"])
@pytest.mark.parametrize("mode", ["cpu", "gpu"])
def test_fixtures_check_end_to_end(name: str, mode: str) -> None:
    result = CliRunner().invoke(main, ["check", str(FIXTURES / name), "--mode", mode])
    assert result.exit_code == 0, result.output
    assert "not analysed" not in result.output


def test_the_ocr_forks_ctc_decoder_takes_one_bottom_or_gives_accuracy() -> None:
    """senlinuc/caffe_ocr's ctc_decoder_layer.cpp: probabilities [T, N, C] alone decode to [N, T, 1, 1];
    with the labels [N, L] and one top, the accuracy blob [1, 2, 1, 1]."""
    from layer_helpers import tops as layer_tops

    assert layer_tops('type: "CTCGreedyDecoder" bottom: "p" top: "r"', (35, 1, 5530)) == [(1, 35, 1, 1)]
    assert layer_tops('type: "CTCGreedyDecoder" bottom: "p" bottom: "l" top: "acc"', (35, 8, 5530), (8, 20)) == [
        (1, 2, 1, 1)]

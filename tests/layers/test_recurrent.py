"""LSTM, RNN and LSTMUnit: outer tops, parameter shapes and the unrolled net's activation count.

The LSTM inner count is checked against the unrolled net of a real LSTM-CF training log
(corpus/logs/lstm_cf_deeplab: 6418548 elements of layer tops for T = N = 54, D = 38, H = 100),
plus what BVLC master adds to that older unrolled net: the Input layer's tops (x, cont, h_0, c_0)
and the scalar pseudo-loss.
"""

from __future__ import annotations

import pytest
from layer_helpers import tops as layer_tops

from caffemem.errors import NetError
from caffemem.layers.recurrent import LSTMLayer, RecurrentBase, RNNLayer
from caffemem.layers.registry import Layer, RunInfo, SetupContext, layer_class
from caffemem.modes import Mode
from caffemem.net.build import build_net
from caffemem.net.prototxt import parse_text
from caffemem.proto import caffe_pb2


def make(text: str) -> Layer:
    param = caffe_pb2.LayerParameter()
    assert parse_text(text, param) == []
    cls = layer_class(param.type)
    assert cls is not None
    return cls(param, SetupContext())


def test_lstm_shapes_and_params() -> None:
    lstm = make('name: "l" type: "LSTM" top: "h" recurrent_param { num_output: 16 }')
    assert lstm.reshape([(5, 3, 8, 2), (5, 3)]) == [(5, 3, 16)]
    assert lstm.blobs == [(64, 16), (64,), (64, 16)]  # W_xc [4H, D=8*2], b_c, W_hc [4H, H]


def test_lstm_static_input_and_exposed_hidden() -> None:
    lstm = make('name: "l" type: "LSTM" recurrent_param { num_output: 4 expose_hidden: true }')
    assert (lstm.min_bottoms, lstm.max_bottoms, lstm.exact_tops) == (4, 5, 3)
    state = (1, 2, 4)
    tops = lstm.reshape([(3, 2, 6), (3, 2), (2, 5, 5), state, state])
    assert tops == [(3, 2, 4), state, state]
    assert lstm.blobs == [(16, 6), (16,), (16, 25), (16, 4)]  # W_xc_static [4H, Ds=25]
    with pytest.raises(NetError, match="recurrent input"):
        lstm.reshape([(3, 2, 6), (3, 2), (1, 2, 5), state])


def test_rnn_shapes_and_params() -> None:
    rnn = make('name: "r" type: "RNN" recurrent_param { num_output: 7 }')
    assert rnn.reshape([(10, 4, 3), (10, 4), (4, 9)]) == [(10, 4, 7)]
    assert rnn.blobs == [(7, 3), (7,), (7, 9), (7, 7), (7, 7), (7,)]


def test_recurrent_checks() -> None:
    lstm = make('name: "l" type: "LSTM" recurrent_param { num_output: 4 }')
    with pytest.raises(NetError, match="cont"):
        lstm.reshape([(3, 2, 6), (3, 1)])
    with pytest.raises(NetError, match="num_output"):
        make('name: "l" type: "LSTM"').reshape([(3, 2, 6), (3, 2)])


def test_lstm_inner_count_matches_unrolled_net() -> None:
    lstm = make('name: "RGB_lstm1" type: "LSTM" recurrent_param { num_output: 100 }')
    lstm.reshape([(54, 54, 38), (54, 54)])
    assert isinstance(lstm, LSTMLayer)
    older_unrolled_tops = 6418548
    inputs = 54 * 54 * 38 + 54 * 54 + 2 * 54 * 100
    assert lstm.inner_activation_count == older_unrolled_tops + inputs + 1


def test_rnn_inner_count_by_hand() -> None:
    rnn = make('name: "r" type: "RNN" recurrent_param { num_output: 2 }')
    rnn.reshape([(2, 1, 3), (2, 1)])
    assert isinstance(rnn, RNNLayer)
    # inputs 6 + 2 + h_0 2; W_xh_x 4; per step 1 + 7*2 (twice); h_1 split 4; o concat 4; loss 1
    assert rnn.inner_activation_count == 10 + 4 + 2 * 15 + 4 + 4 + 1


def test_lstm_unit() -> None:
    unit = make('type: "LSTMUnit"')
    assert unit.reshape([(1, 3, 5), (1, 3, 20), (1, 3)]) == [(1, 3, 5), (1, 3, 5)]
    with pytest.raises(NetError, match="gate"):
        unit.reshape([(1, 3, 5), (1, 3, 15), (1, 3)])


def test_outer_memory_counts_outer_tops_only() -> None:
    net = caffe_pb2.NetParameter()
    assert parse_text("""
      layer { name: "in" type: "Input" top: "x" top: "cont"
              input_param { shape { dim: 4 dim: 2 dim: 3 } shape { dim: 4 dim: 2 } } }
      layer { name: "lstm" type: "LSTM" bottom: "x" bottom: "cont" top: "h" recurrent_param { num_output: 5 } }
    """, net) == []
    built = build_net(net, caffe_pb2.NetState(phase=caffe_pb2.TEST), SetupContext(phase=caffe_pb2.TEST))
    layer = built.layers[-1]
    assert layer.top_shapes == [(4, 2, 5)]
    assert built.memory_required_for_data == (24 + 8 + 40) * 4
    assert isinstance(layer.impl, RecurrentBase) and layer.impl.inner_activation_count > 40
    assert [p.shape for p in layer.params] == [(20, 3), (20,), (20, 5)]


def test_mask() -> None:
    """LSTM-CF's Mask: the continuation blob its LSTM reads, [height, width] from mask_param."""
    assert layer_tops('type: "Mask" top: "m" mask_param { width: 54 height: 27 }') == [(27, 54)]


def _run(bottoms: int, gpu: bool = False) -> RunInfo:
    return RunInfo(phase=caffe_pb2.TRAIN, mode=Mode.GPU if gpu else Mode.CPU, backward=True,
                   propagate_down=(False,) * bottoms, inplace=(False,) * bottoms)


def test_rnn_resident_blobs_by_hand() -> None:
    """T 2, N 1, H 2, D 3: of the 53 unrolled top elements, the data of x (6), cont (2), the h_1
    split (4) and the pseudo-loss (1) is not the unrolled net's own; nor are the diffs of x, cont,
    its slices (2), h_0 and h_conted_0 (2 each)."""
    rnn = make('name: "r" type: "RNN" recurrent_param { num_output: 2 }')
    rnn.reshape([(2, 1, 3), (2, 1)])
    bufs = {(b.name, b.when): b.elements for b in rnn.buffers([(2, 1, 3), (2, 1)], [(2, 1, 2)], _run(2))}
    assert bufs[("unrolled_net", "fwd")] == 53 - 6 - 2 - 4 - 1
    assert bufs[("unrolled_net", "bwd")] == 53 - 6 - 2 - 2 - 2 - 2
    assert bufs[("unrolled_copies", "init")] == 1 * (2 * 2 * 2 + 2)  # step 2's W_hh, W_ho, b_o
    assert bufs[("pseudoloss_multiplier", "setup")] == 2 * 1 * 2


def test_recurrent_bottom_gradients() -> None:
    """x and x_static always get their gradient (the unrolled input transforms propagate down);
    cont and the exposed initial states never do."""
    lstm = make('name: "l" type: "LSTM" recurrent_param { num_output: 4 expose_hidden: true }')
    run = _run(5)
    assert [lstm.writes_bottom_diff(j, run) for j in range(5)] == [True, False, True, False, False]
    plain = make('name: "l" type: "LSTM" recurrent_param { num_output: 4 }')
    assert [plain.writes_bottom_diff(j, _run(2)) for j in range(2)] == [True, False]


def test_lstm_unit_gate_buffer_gpu_only() -> None:
    unit = make('type: "LSTMUnit"')
    shapes = [(1, 3, 5), (1, 3, 20), (1, 3)]
    assert unit.buffers(shapes, [(1, 3, 5)] * 2, _run(3)) == []
    assert [b.elements for b in unit.buffers(shapes, [(1, 3, 5)] * 2, _run(3, gpu=True))] == [60, 60]

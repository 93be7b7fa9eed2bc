"""Fork neurons (layers/neuron.py): ReLU6.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

from layer_helpers import tops


def test_relu6() -> None:
    assert tops('type: "ReLU6" top: "r"', (1, 32, 112, 112)) == [(1, 32, 112, 112)]


def test_bayesian_segnets_dropout_keeps_its_mask_at_test_time() -> None:
    """caffe-segnet's dropout_layer.cpp draws the mask in TEST too when sample_weights_test is set
    (Monte Carlo dropout): 1x8x4x4 = 128 mask elements, resident in a test net; none without it."""
    from layer_helpers import buffers, footprint

    net = ('layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 8 dim: 4 dim: 4 } } } '
           'layer { name: "drop" type: "Dropout" bottom: "x" top: "y" dropout_param { %s } }')
    assert buffers(footprint(net % "sample_weights_test: true", role="test"), "drop") == 128
    assert buffers(footprint(net % "dropout_ratio: 0.5", role="test"), "drop") == 0

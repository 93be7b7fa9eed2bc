"""Fork neurons (layers/neuron.py): ReLU6.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

from layer_helpers import tops


def test_relu6() -> None:
    assert tops('type: "ReLU6" top: "r"', (1, 32, 112, 112)) == [(1, 32, 112, 112)]

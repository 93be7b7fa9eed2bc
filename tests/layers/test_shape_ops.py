"""Fork blob combinations (layers/shape_ops.py): SENet's Axpy.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

import pytest
from layer_helpers import tops

from caffemem.errors import NetError


def test_axpy() -> None:
    assert tops('type: "Axpy" top: "a"', (2, 64, 1, 1), (2, 64, 7, 7), (2, 64, 7, 7)) == [(2, 64, 7, 7)]
    with pytest.raises(NetError):
        tops('type: "Axpy" top: "a"', (2, 64, 7, 7), (2, 64, 7, 7), (2, 64, 7, 7))

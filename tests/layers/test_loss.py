"""Fork losses and evaluation (layers/loss.py): Fast R-CNN's SmoothL1Loss, DeepLab's SegAccuracy.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

import pytest
from layer_helpers import make, tops

from caffemem.errors import NetError


def test_smooth_l1() -> None:
    sl1 = make('type: "SmoothL1Loss" bottom: "a" bottom: "b" bottom: "c" bottom: "d" top: "l"')
    assert sl1.reshape([(1, 36, 14, 14)] * 4) == [()]
    with pytest.raises(NetError, match="inside and outside"):
        make('type: "SmoothL1Loss" top: "l"').reshape([(1, 36, 14, 14)] * 3)



def test_seg_accuracy() -> None:
    assert tops('type: "SegAccuracy" top: "a"', (1, 38, 54, 54), (1, 1, 54, 54)) == [(1, 1, 1, 4)]

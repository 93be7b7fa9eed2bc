"""Region-of-interest pooling (layers/pooling.py): Fast R-CNN's ROIPooling, R-FCN's PSROIPooling.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

import pytest
from layer_helpers import buffers, footprint, tops

from caffemem.errors import NetError


def test_region_pooling() -> None:
    assert tops('type: "ROIPooling" top: "p" roi_pooling_param { pooled_h: 7 pooled_w: 6 spatial_scale: 0.0625 }',
                (1, 512, 38, 50), (128, 5)) == [(128, 512, 7, 6)]
    assert tops('type: "PSROIPooling" top: "p" psroi_pooling_param { spatial_scale: 0.0625 output_dim: 21 '
                'group_size: 7 }', (1, 21 * 49, 38, 50), (300, 5)) == [(300, 21, 7, 7)]
    with pytest.raises(NetError, match="output_dim"):
        tops('type: "PSROIPooling" top: "p" psroi_pooling_param { output_dim: 21 group_size: 7 }',
             (1, 1000, 38, 50), (300, 5))



def test_region_pooling_and_smooth_l1_memory() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "feat" top: "rois" top: "t"
            dummy_data_param { shape { dim: 1 dim: 8 dim: 6 dim: 6 } shape { dim: 3 dim: 5 }
                               shape { dim: 3 dim: 2 dim: 2 dim: 2 } } }
    layer { name: "roi" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "roi"
            roi_pooling_param { pooled_h: 2 pooled_w: 2 } }
    layer { name: "psroi" type: "PSROIPooling" bottom: "feat" bottom: "rois" top: "psroi"
            psroi_pooling_param { output_dim: 2 group_size: 2 } }
    layer { name: "l1" type: "SmoothL1Loss" bottom: "psroi" bottom: "t" }
    layer { name: "sink" type: "Silence" bottom: "roi" }
    """
    cpu, gpu = footprint(net, role="inference"), footprint(net, "gpu", role="inference")
    # ROIPooling: int argmax per output, [3, 8, 2, 2] = 96. PSROIPooling: mapping_channel_ [3, 2, 2, 2] = 24.
    assert buffers(cpu, "roi") == buffers(gpu, "roi") == 96
    assert buffers(cpu, "psroi") == 24
    # SmoothL1Loss on 24 values: diff_ + errors_ = 48; Faster R-CNN's GPU version adds ones_ (24).
    assert buffers(cpu, "l1") == 48
    assert buffers(gpu, "l1") == 72

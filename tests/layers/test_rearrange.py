"""Resampling and reordering layers (layers/rearrange.py): Upsample, Interp, ShuffleChannel,
Permute, Transpose, Reorg.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

import pytest
from layer_helpers import buffers, footprint, grads, tops

from caffemem.categories import Category as C
from caffemem.errors import NetError


def test_permute() -> None:
    assert tops('type: "Permute" top: "p" permute_param { order: 0 order: 2 order: 3 order: 1 }',
                (8, 16, 38, 38)) == [(8, 38, 38, 16)]
    assert tops('type: "Permute" top: "p" permute_param { order: 1 }', (2, 3, 4)) == [(3, 2, 4)]



def test_upsample_interp_resampling() -> None:
    assert tops('type: "Upsample" top: "u" upsample_param { scale: 2 }', (4, 64, 23, 30), (4, 64, 23, 30)) \
        == [(4, 64, 46, 60)]
    assert tops('type: "Upsample" top: "u" upsample_param { upsample_h: 45 upsample_w: 60 }',
                (4, 64, 23, 30), (4, 64, 23, 30)) == [(4, 64, 45, 60)]
    assert tops('type: "Upsample" top: "u" upsample_param { scale: 2 pad_out_h: true }',
                (1, 8, 23, 30), (1, 8, 23, 30)) == [(1, 8, 45, 60)]
    with pytest.raises(NetError, match="same shape"):
        tops('type: "Upsample" top: "u"', (1, 8, 23, 30), (1, 8, 16, 16))
    b = (1, 512, 60, 60)
    assert tops('type: "Interp" top: "i" interp_param { zoom_factor: 8 }', b) == [(1, 512, 473, 473)]
    assert tops('type: "Interp" top: "i" interp_param { shrink_factor: 8 }', (1, 3, 426, 426)) == [(1, 3, 54, 54)]
    assert tops('type: "Interp" top: "i" interp_param { height: 60 width: 61 }', (1, 2, 1, 1)) == [(1, 2, 60, 61)]
    # shrink then zoom: (473-1)/8+1 = 60, then 60 + 59*1 = 119
    assert tops('type: "Interp" top: "i" interp_param { shrink_factor: 8 zoom_factor: 2 }',
                (1, 3, 473, 473)) == [(1, 3, 119, 119)]
    # cropping pads shrink the input first: 60-2 = 58 -> 58 + 57*7
    assert tops('type: "Interp" top: "i" interp_param { zoom_factor: 8 pad_beg: -1 pad_end: -1 }', b) \
        == [(1, 512, 457, 457)]
    with pytest.raises(NetError, match="zoom_factor"):
        tops('type: "Interp" top: "i"', b)



def test_shuffle_reorg_transpose() -> None:
    assert tops('type: "ShuffleChannel" top: "s" shuffle_channel_param { group: 3 }', (1, 240, 28, 28)) \
        == [(1, 240, 28, 28)]
    assert tops('type: "Reorg" top: "r" reorg_param { stride: 2 }', (8, 64, 34, 34)) == [(8, 256, 17, 17)]
    assert tops('type: "Reorg" top: "r" reorg_param { stride: 2 reverse: true }', (8, 256, 17, 17)) \
        == [(8, 64, 34, 34)]
    assert tops('type: "Transpose" top: "t" transpose_param { shape { dim: 54 dim: 54 dim: 128 } '
                'transposetype: CONVTOLSTM }', (1, 128, 54, 54)) == [(54, 54, 128)]
    with pytest.raises(NetError, match="elements"):
        tops('type: "Transpose" top: "t" transpose_param { shape { dim: 5 } }', (1, 2, 3))



def test_identity_permute_shares_data_and_diff() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "x" top: "t"
            dummy_data_param { shape { dim: 2 dim: 3 dim: 4 } shape { dim: 2 dim: 3 dim: 6 } } }
    layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 6 axis: 2 } }
    layer { name: "p" type: "Permute" bottom: "y" top: "z" permute_param { order: 0 order: 1 } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "z" bottom: "t" }
    """
    fp = footprint(net)
    # Natural order: Forward shares y's data and Backward shares the diff, so "p" owns neither;
    # only its 3 int entries per blob (3 axes x 3 blobs = 9).
    layer = fp.nets[0].by_layer["p"]
    assert C.ACTIVATIONS not in layer and C.ACTIVATION_GRADIENTS not in layer
    assert buffers(fp, "p") == 9
    assert grads(fp, "ip") == 2 * 3 * 6



def test_reorg_axpy_and_views_without_buffers() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "x" top: "a" top: "y" top: "t"
            dummy_data_param { shape { dim: 2 dim: 4 dim: 4 dim: 4 } shape { dim: 2 dim: 4 dim: 1 dim: 1 }
                               shape { dim: 2 dim: 4 dim: 4 dim: 4 } shape { dim: 2 dim: 16 dim: 2 dim: 2 } } }
    layer { name: "conv" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 4 kernel_size: 1 } }
    layer { name: "axpy" type: "Axpy" bottom: "a" bottom: "c" bottom: "y" top: "s" }
    layer { name: "shuffle" type: "ShuffleChannel" bottom: "s" top: "sh" shuffle_channel_param { group: 2 } }
    layer { name: "reorg" type: "Reorg" bottom: "sh" top: "r" reorg_param { stride: 2 } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "r" bottom: "t" }
    """
    fp = footprint(net)
    # Axpy: ones over x's spatial axes, 4*4 = 16. ShuffleChannel: none (temp_blob_ never used).
    assert buffers(fp, "axpy") == 16
    assert buffers(fp, "shuffle") == 0
    # Reorg backward reads its own bottom-shaped diff_ blob's diff: 2*4*4*4 = 128.
    assert buffers(fp, "reorg") == 128


def test_yolov3_upsample_takes_one_bottom_and_a_scale() -> None:
    """eric612/MobileNet-YOLO's upsample_layer.cpp: the last two axes times scale (default 1)."""
    assert tops('type: "Upsample" bottom: "x" top: "y" upsample_param { scale: 2 }', (1, 256, 13, 13)) == [
        (1, 256, 26, 26)]
    assert tops('type: "Upsample" bottom: "x" top: "y"', (1, 8, 5, 5)) == [(1, 8, 5, 5)]


def test_segnet_upsample_still_needs_its_mask() -> None:
    text = 'type: "Upsample" bottom: "x" bottom: "m" top: "y" upsample_param { scale: 2 }'
    assert tops(text, (1, 64, 8, 8), (1, 64, 8, 8)) == [(1, 64, 16, 16)]


def test_the_ocr_forks_transpose_permutes_axes() -> None:
    """senlinuc/caffe_ocr's transpose_layer.cpp: top axis i is bottom axis dim[i]."""
    text = 'type: "Transpose" bottom: "x" top: "y" transpose_param { dim: 3 dim: 0 dim: 2 dim: 1 }'
    assert tops(text, (2, 512, 1, 40)) == [(40, 2, 1, 512)]
    lstm_cf = 'type: "Transpose" bottom: "x" top: "y" transpose_param { shape { dim: 40 dim: 2 dim: 512 } }'
    assert tops(lstm_cf, (2, 512, 1, 40)) == [(40, 2, 512)]


def test_the_ocr_transposes_index_buffer_is_gpu_only() -> None:
    """buf_ holds count x axes ints, written only by transpose_layer.cu: 2x8x1x4 = 64 x 4 axes."""
    net = ('layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 2 dim: 8 dim: 1 dim: 4 } } } '
           'layer { name: "t" type: "Transpose" bottom: "x" top: "y" transpose_param { dim: 3 dim: 0 dim: 2 '
           'dim: 1 } }')
    assert buffers(footprint(net, mode="gpu", role="test"), "t") == 256
    assert buffers(footprint(net, mode="cpu", role="test"), "t") == 0

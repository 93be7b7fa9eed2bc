"""Fork convolutions (layers/conv.py): depthwise ports and DeepLab's hole convolution.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

import pytest
from layer_helpers import buffers, footprint, grads, make

from caffemem.categories import Category as C
from caffemem.errors import NetError


def test_convolutions() -> None:
    dw = make('type: "ConvolutionDepthwise" top: "c" convolution_param { num_output: 32 group: 32 kernel_size: 3 '
              'stride: 2 pad: 1 }')
    assert dw.reshape([(1, 32, 112, 112)]) == [(1, 32, 56, 56)] and dw.blobs == [(32, 1, 3, 3), (32,)]
    dw2 = make('type: "DepthwiseConvolution" top: "c" convolution_param { num_output: 64 group: 64 kernel_size: 3 '
               'pad: 1 bias_term: false }')
    assert dw2.reshape([(2, 64, 10, 10)]) == [(2, 64, 10, 10)] and dw2.blobs == [(64, 1, 3, 3)]
    # DeepLab hole 4, kernel 3: effective kernel 9; (54 + 2*4 - 9) + 1 = 54
    deeplab = make('type: "ConvolutionDeeplab" top: "c" convolution_deeplab_param { num_output: 1024 pad: 4 '
                   'kernel_size: 3 hole: 4 }')
    assert deeplab.reshape([(1, 512, 54, 54)]) == [(1, 1024, 54, 54)]
    assert deeplab.blobs == [(1024, 512, 3, 3), (1, 1, 1, 1024)]
    with pytest.raises(NetError, match="kernel"):
        make('type: "ConvolutionDeeplab" top: "c" convolution_deeplab_param { num_output: 4 }').reshape(
            [(1, 1, 5, 5)])



DW_NET = """
layer { name: "d" type: "DummyData" top: "data" top: "t"
        dummy_data_param { shape { dim: 2 dim: 4 dim: 6 dim: 6 } shape { dim: 2 dim: 4 dim: 6 dim: 6 } } }
layer { name: "dw" type: "TYPE" bottom: "data" top: "dw"
        convolution_param { num_output: 4 group: 4 kernel_size: 3 pad: 1 } }
layer { name: "loss" type: "EuclideanLoss" bottom: "dw" bottom: "t" }
"""



def test_depthwise_convolution_col_buffer_on_cpu_only() -> None:
    net = DW_NET.replace("TYPE", "DepthwiseConvolution")
    # CPU: BaseConvolutionLayer's path: bias_multiplier_ 36 + one-image column 4*9*36 = 1296.
    assert buffers(footprint(net), "dw") == 36 + 1296
    gpu = footprint(net, "gpu")
    # GPU: direct kernels, no column buffer, no cuDNN workspace; only bias_multiplier_ 36.
    assert buffers(gpu, "dw") == 36
    assert C.CUDNN_WORKSPACE not in gpu.by_category
    # Backward takes the data diff whatever propagate_down says: 2*4*6*6 = 288.
    assert grads(gpu, "d") == 288



def test_convolution_depthwise_weight_buffer_on_gpu() -> None:
    net = DW_NET.replace("TYPE", "ConvolutionDepthwise")
    # Reshape fills weight and bias ones-vectors of N*H_out*W_out = 72 each (both modes).
    assert buffers(footprint(net), "dw") == 72 + 72
    # GPU backward: weight_buffer_ C*kh*kw*72 = 2592 and bias_buffer_ C*72 = 288.
    assert buffers(footprint(net, "gpu"), "dw") == 72 + 72 + 2592 + 288



def test_convolution_deeplab_col_buffer() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "data" dummy_data_param { shape { dim: 1 dim: 2 dim: 5 dim: 5 } } }
    layer { name: "c" type: "ConvolutionDeeplab" bottom: "data" top: "c"
            convolution_deeplab_param { num_output: 3 kernel_size: 3 hole: 2 } }
    """
    # Effective kernel 5 -> 1x1 output; column 2*3*3*1 = 18; bias_multiplier_ [H_out*W_out] = 1.
    assert buffers(footprint(net, role="inference"), "c") == 18 + 1

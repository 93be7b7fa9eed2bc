"""Multiply-adds (MACs) of one forward pass, per layer, as Netscope and torchstat count them.

One multiply-add is ``a += b * c``. The count is of the arithmetic the layer's definition asks
for, not of what a library does (im2col copies, cuDNN's Winograd tricks and BLAS padding are not
counted). Per type, with ``N`` the batch and counts taken from the built shapes:

============================  ================================================================
Convolution, and the          top elements x (C_in / group x kh x kw), i.e. top elements times
depthwise/dilated forks,       the weight blob's elements per output channel (its shape [1:])
C3D's Convolution3D           (Convolution3D: x kd as well, its weights being [out, C, kd, k, k])
Deconvolution                 bottom elements x (C_out / group x kh x kw) (weight shape [1:])
InnerProduct,                 N x in x out (the weight blob's elements for every row of the top)
SphereFace MarginInnerProduct
Pooling AVE                   top elements x kh x kw (adds; one divide each not counted)
Pooling MAX / STOCHASTIC      0 (comparisons, not multiply-adds)
LRN                           top elements x local_size
BatchNorm, BN, Scale          top elements (one multiply-add per element)
Bias                          top elements (one add per element)
Eltwise                       top elements x (bottoms - 1) (SUM with coefficients, PROD, MAX alike)
Normalize (SSD)               2 x top elements (square-sum, then scale)
everything else               0: data, element-wise activations (ReLU, Sigmoid...), reshapes,
                              splits, concat, softmax, losses
============================  ================================================================

Recurrent layers (LSTM, RNN) are counted as 0 here: their arithmetic lives in the unrolled net,
which caffemem sizes for memory only. A layer whose shapes are unknown has no count (``None``).
"""

from __future__ import annotations

from collections.abc import Callable
from math import prod

from caffemem.layers.registry import count
from caffemem.net.build import BuiltLayer, BuiltNet

Rule = Callable[[BuiltLayer], int]


def _weights_per_output(layer: BuiltLayer) -> int:
    return prod(layer.params[0].shape[1:]) if layer.params and layer.params[0].shape else 0


def _conv(layer: BuiltLayer) -> int:
    return count(layer.top_shapes[0]) * _weights_per_output(layer)


def _deconv(layer: BuiltLayer) -> int:
    return count(layer.bottom_shapes[0]) * _weights_per_output(layer)


def _inner_product(layer: BuiltLayer) -> int:
    top = layer.top_shapes[0]
    if not layer.params or not top:
        return 0
    outputs = top[-1] or 1
    return count(top) // outputs * count(layer.params[0].shape)


def _kernel_area(layer: BuiltLayer) -> int:
    pp = layer.param.pooling_param
    if pp.global_pooling:
        bottom = layer.bottom_shapes[0]
        return prod(bottom[2:]) if bottom and len(bottom) > 2 else 1
    if pp.kernel_h and pp.kernel_w:
        return pp.kernel_h * pp.kernel_w
    return pp.kernel_size * pp.kernel_size


def _pooling(layer: BuiltLayer) -> int:
    if layer.param.pooling_param.pool != layer.param.pooling_param.AVE:
        return 0
    return sum(count(t) for t in layer.top_shapes) * _kernel_area(layer)


def _elements(layer: BuiltLayer) -> int:
    return count(layer.top_shapes[0])


def _lrn(layer: BuiltLayer) -> int:
    return count(layer.top_shapes[0]) * layer.param.lrn_param.local_size


def _eltwise(layer: BuiltLayer) -> int:
    return count(layer.top_shapes[0]) * max(0, len(layer.bottoms) - 1)


def _normalize(layer: BuiltLayer) -> int:
    return 2 * count(layer.top_shapes[0])


#: Layer type -> its rule; a type not listed does no multiply-adds.
RULES: dict[str, Rule] = {
    "Convolution": _conv, "ConvolutionDepthwise": _conv, "DepthwiseConvolution": _conv,
    "ConvolutionDeeplab": _conv, "Convolution3D": _conv, "Deconvolution": _deconv,
    "InnerProduct": _inner_product, "MarginInnerProduct": _inner_product,
    "Pooling": _pooling,
    "LRN": _lrn,
    "BatchNorm": _elements, "BN": _elements, "Scale": _elements, "Bias": _elements,
    "Eltwise": _eltwise,
    "Normalize": _normalize,
}


def layer_macs(layer: BuiltLayer) -> int | None:
    """Forward multiply-adds of ``layer`` at its built shapes (None when its shapes are unknown)."""
    if not layer.analysed or any(s is None for s in layer.bottom_shapes):
        return None
    rule = RULES.get(layer.type)
    if rule is None:
        return 0
    try:
        return rule(layer)
    except (IndexError, TypeError):
        return None


def net_macs(net: BuiltNet) -> int | None:
    """Forward multiply-adds of the whole net at its batch (None when some layer's shapes are unknown)."""
    counts = [layer_macs(layer) for layer in net.layers]
    return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)

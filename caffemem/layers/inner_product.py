"""Fully connected layers: InnerProduct and Embed."""

from __future__ import annotations

from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, canonical_axis, count, register
from caffemem.proto import caffe_pb2


@register("InnerProduct")
class InnerProductLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ip = self.param.inner_product_param
        b = bottoms[0]
        axis = canonical_axis(ip.axis, len(b), self.name)
        k = count(b[axis:])
        n = ip.num_output
        if n <= 0:
            raise self.fail("num_output must be positive")
        self.blobs = [(k, n) if ip.transpose else (n, k)] + ([(n,)] if ip.bias_term else [])
        self.outer = count(b[:axis])
        return [(*b[:axis], n)]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        if not self.param.inner_product_param.bias_term:
            return []
        return [Buffer("bias_multiplier", self.outer, "setup")]


@register("Embed")
class EmbedLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def allow_force_backward(self, bottom_index: int) -> bool:
        return False

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ep = self.param.embed_param
        self.blobs = [(ep.input_dim, ep.num_output)] + ([(ep.num_output,)] if ep.bias_term else [])
        return [(*bottoms[0], ep.num_output)]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return [Buffer("bias_multiplier", count(bottoms[0]), "setup")] if self.param.embed_param.bias_term else []


@register("MarginInnerProduct")
class MarginInnerProductLayer(Layer):
    """SphereFace's angular-margin classifier (wy1iu/sphereface,
    ``tools/caffe-sphereface/src/caffe/layers/margin_inner_product_layer.cpp``).

    Bottoms: features and labels (same ``num``); tops: scores [outer..., num_output] and, with two
    tops, the current lambda [1]. One weight blob [num_output, K], no bias. Memory (Reshape):
    ``x_norm_`` [M], ``sign_0_`` and ``cos_theta_`` (top-sized), plus per margin type more top-sized
    temporaries: DOUBLE 1 (cos^2), TRIPLE 4 (cos^2, cos^3, sign_1, sign_2), QUADRUPLE 5 (cos^2, cos^3,
    cos^4, sign_3, sign_4). All are written in Forward. Backward never writes the labels' diff.
    """

    exact_bottoms = 2
    min_tops = 1
    max_tops = 2

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index == 0

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return bottom_index == 0 and run.propagate_down[0]

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        mp = self.param.margin_inner_product_param
        b, label = bottoms
        if (b[0] if b else 1) != (label[0] if label else 1):
            raise self.fail(f"number of labels must match number of outputs ({b} vs {label})")
        if mp.num_output <= 0:
            raise self.fail("margin_inner_product_param.num_output must be positive")
        axis = canonical_axis(mp.axis, len(b), self.name)
        self.blobs = [(mp.num_output, count(b[axis:]))]
        self.outer = count(b[:axis])
        top: list[Shape | None] = [(*b[:axis], mp.num_output)]
        return top + ([(1,)] if self.n_tops > 1 else [])

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        t = count(tops[0])
        extra = {0: 0, 1: 1, 2: 4, 3: 5}[self.param.margin_inner_product_param.type]
        return [Buffer("x_norm", self.outer, "fwd"), Buffer("sign0_cos_theta", 2 * t, "fwd")] + \
            ([Buffer("margin_terms", extra * t, "fwd")] if extra else [])


@register("FcRistretto")
class FcRistrettoLayer(InnerProductLayer):
    """Ristretto's quantized InnerProduct (pmgysel/caffe, ``src/caffe/ristretto/layers/fc_ristretto_layer.cpp``):
    InnerProduct's shapes and parameters, plus ``weights_quantized_``, a quantized copy of each
    parameter blob written in every forward (the input is quantized in place)."""

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        precision = self.param.quantization_param.precision
        if precision not in caffe_pb2.QuantizationParameter.Precision.values():
            raise self.fail(f"Unknown precision mode: {precision}")
        return super().reshape(bottoms)

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        copies = [Buffer(f"weights_quantized_{i}", count(shape), "fwd") for i, shape in enumerate(self.blobs)]
        return super().buffers(bottoms, tops, run) + copies

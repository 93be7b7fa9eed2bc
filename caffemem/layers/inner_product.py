"""Fully connected layers: InnerProduct and Embed."""

from __future__ import annotations

from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, canonical_axis, count, register


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

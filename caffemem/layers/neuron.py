"""Element-wise layers: the top has the bottom's shape, usually computed in place."""

from __future__ import annotations

from caffemem.layers.registry import Layer, Shape, register


@register("ReLU", "Sigmoid", "TanH", "BNLL", "ELU", "Exp", "Log", "Power", "Threshold", "Clip", "Swish",
          "Dropout")
class NeuronLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        return [bottoms[0]]


@register("AbsVal")
class AbsValLayer(NeuronLayer):
    forbid_inplace = True


@register("PReLU")
class PReLULayer(NeuronLayer):
    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        if len(b) < 2:
            raise self.fail("number of axes of bottom blob must be >= 2")
        self.blobs = [()] if self.param.prelu_param.channel_shared else [(b[1],)]
        return [b]

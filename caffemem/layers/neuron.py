"""Element-wise layers: the top has the bottom's shape, usually computed in place (ReLU6 of the
MobileNet ports included)."""

from __future__ import annotations

from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, count, register
from caffemem.proto import caffe_pb2


@register("ReLU", "Sigmoid", "TanH", "BNLL", "ELU", "Exp", "Log", "Power", "Threshold", "Clip")
class NeuronLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def check_counts(self, n_bottoms: int, n_tops: int) -> None:
        """Forks declare ReLU with a second top (BVLC's NeuronLayer takes exactly one). No fork that
        defines it is identified here, so the second top is taken as an element-wise output of the
        bottom's shape (as the first), owning its storage, and the choice is named in the output."""
        if self.type == "ReLU" and n_bottoms == 1 and n_tops == 2:
            self.choose_variant("two-top variant (second top shaped like the bottom)")
            return
        super().check_counts(n_bottoms, n_tops)

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        return [bottoms[0]] * self.n_tops


@register("Dropout")
class DropoutLayer(NeuronLayer):
    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        # The CPU forward takes the mask pointer in every phase but writes it only in TRAIN (the
        # GPU one takes it only in TRAIN): outside TRAIN it is never resident. Bayesian SegNet's
        # sample_weights_test drops out at test time too, so there the mask is written in TEST.
        if run.phase != caffe_pb2.TRAIN and not self.param.dropout_param.sample_weights_test:
            return []
        return [Buffer("rand_vec", count(bottoms[0]), "fwd")]


@register("Swish")
class SwishLayer(NeuronLayer):
    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n = count(bottoms[0])
        return [Buffer("sigmoid_input", n, "fwd"), Buffer("sigmoid_output", n, "fwd")]


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        inner = count(bottoms[0][1:])
        out = [Buffer("multiplier", inner, "setup"), Buffer("backward_buff", inner, "bwd", diff=True)]
        if run.inplace and run.inplace[0]:
            out.append(Buffer("bottom_memory", count(bottoms[0]), "fwd"))
        return out


# --- fork neurons ---------------------------------------------------------------------------------

@register("ReLU6")
class ReLU6Layer(Layer):
    """ReLU clipped at 6 (MobileNet ports): an elementwise neuron, in place allowed."""

    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        return [bottoms[0]]


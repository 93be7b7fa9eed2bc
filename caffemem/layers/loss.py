"""Softmax, loss and accuracy layers. Losses get an automatic scalar top and loss weight 1."""

from __future__ import annotations

from caffemem.layers.registry import Layer, Shape, canonical_axis, count, register


@register("Softmax")
class SoftmaxLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        self.axis = canonical_axis(self.param.softmax_param.axis, len(b), self.name)
        return [b]


class LossLayer(Layer):
    """Caffe's ``LossLayer``: two bottoms (prediction, label), one scalar top made if absent."""

    exact_bottoms = 2
    exact_tops = 1
    auto_top_blobs = True
    is_loss = True

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index != 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if bottoms[0][:1] != bottoms[1][:1]:
            raise self.fail(f"the data and label should have the same first dimension "
                            f"({bottoms[0]} vs {bottoms[1]})")
        return [()]


@register("SoftmaxWithLoss")
class SoftmaxWithLossLayer(LossLayer):
    exact_bottoms = None
    min_bottoms = 2
    max_bottoms = 3
    exact_tops = None
    min_tops = 1
    max_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        pred, label = bottoms[0], bottoms[1]
        axis = canonical_axis(self.param.softmax_param.axis, len(pred), self.name)
        self.axis = axis
        outer, inner = count(pred[:axis]), count(pred[axis + 1:])
        if outer * inner != count(label):
            raise self.fail(f"number of labels must match number of predictions; e.g., if softmax axis == 1 "
                            f"and prediction shape is (N, C, H, W), label count (number of labels) must be "
                            f"N*H*W, with integer values in {{0, 1, ..., C-1}} (prediction {pred}, label {label})")
        return [()] + ([pred] if self.n_tops > 1 else [])


@register("InfogainLoss")
class InfogainLossLayer(SoftmaxWithLossLayer):
    max_bottoms = 3


@register("EuclideanLoss")
class EuclideanLossLayer(LossLayer):
    def allow_force_backward(self, bottom_index: int) -> bool:
        return True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        a, b = bottoms
        if count(a[1:]) != count(b[1:]):
            raise self.fail(f"inputs must have the same dimension ({a} vs {b})")
        return super().reshape(bottoms)


@register("SigmoidCrossEntropyLoss")
class SigmoidCrossEntropyLossLayer(LossLayer):
    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        a, b = bottoms
        if count(a) != count(b):
            raise self.fail(f"SIGMOID_CROSS_ENTROPY_LOSS layer inputs must have the same count ({a} vs {b})")
        return [()]


@register("HingeLoss", "MultinomialLogisticLoss")
class ClassifierLossLayer(LossLayer):
    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        top = super().reshape(bottoms)
        if self.type == "MultinomialLogisticLoss" and count(bottoms[1][1:]) != 1:
            raise self.fail("label must be one value per sample")
        return top


@register("ContrastiveLoss")
class ContrastiveLossLayer(LossLayer):
    exact_bottoms = 3

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index != 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        a, b, y = bottoms
        if a[1:2] != b[1:2] or count(a[2:]) != 1 or count(b[2:]) != 1 or count(y[1:]) != 1:
            raise self.fail(f"inputs must be (N,C,1,1), (N,C,1,1), (N,1,1,1); got {a}, {b}, {y}")
        return [()]


@register("Accuracy")
class AccuracyLayer(Layer):
    exact_bottoms = 2
    min_tops = 1
    max_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        pred, label = bottoms
        ap = self.param.accuracy_param
        axis = canonical_axis(ap.axis, len(pred), self.name)
        if ap.top_k > count(pred) // max(1, pred[0] if pred else 1):
            raise self.fail("top_k must be less than or equal to the number of classes")
        outer, inner = count(pred[:axis]), count(pred[axis + 1:])
        if outer * inner != count(label):
            raise self.fail(f"number of labels must match number of predictions (prediction {pred}, "
                            f"label {label})")
        return [()] + ([(pred[axis],)] if self.n_tops > 1 else [])

"""Softmax, loss and accuracy layers. Losses get an automatic scalar top and loss weight 1.

Fast R-CNN's ``SmoothL1Loss`` and DeepLab's ``SegAccuracy`` sit here beside their BVLC kin; SSD's
``MultiBoxLoss`` lives in :mod:`caffemem.layers.detection` with the priors it matches against.
"""

from __future__ import annotations

from caffemem.layers.registry import INTERNAL, Buffer, Layer, RunInfo, Shape, canonical_axis, count, legacy4, register


@register("Softmax")
class SoftmaxLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        self.axis = canonical_axis(self.param.softmax_param.axis, len(b), self.name)
        return [b]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return softmax_buffers(bottoms[0], self.axis, run)

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return True if not (run.gpu and run.cudnn) else run.propagate_down[bottom_index]


def softmax_buffers(pred: Shape, axis: int, run: RunInfo) -> list[Buffer]:
    """Caffe-engine softmax scratch: ``scale_`` (one value per softmax row) and ``sum_multiplier_``."""
    if run.gpu and run.cudnn:
        return []
    channels = pred[axis]
    return [Buffer("scale", count(pred) // max(1, channels), "fwd"), Buffer("sum_multiplier", channels, "setup")]


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

    def top_data_view(self, top_index: int) -> int | None:
        return INTERNAL if top_index == 1 else None  # the prob top shares prob_

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        pred = bottoms[0]
        n = count(pred)
        # The internal softmax writes prob_; it inherits loss weight 1, so prob_'s diff is filled
        # with it at setup.
        out = [Buffer("prob", n, "fwd"), Buffer("prob", n, "setup", diff=True)]
        out += softmax_buffers(pred, self.axis, run)
        if run.gpu and not run.backward:
            out.append(Buffer("bottom_diff_scratch", n, "fwd", diff=True, category="activation_gradients"))
        return out


@register("InfogainLoss")
class InfogainLossLayer(SoftmaxWithLossLayer):
    max_bottoms = 3

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        # Caffe counts labels along infogain_loss_param.axis; softmax_param.axis only steers the
        # internal softmax (checked with the real Caffe: tests/memory/cases/infogain-axis).
        pred, label = bottoms[0], bottoms[1]
        axis = canonical_axis(self.param.infogain_loss_param.axis, len(pred), self.name)
        self.axis = canonical_axis(self.param.softmax_param.axis, len(pred), self.name)
        outer, inner = count(pred[:axis]), count(pred[axis + 1:])
        if outer * inner != count(label):
            raise self.fail(f"number of labels must match number of predictions; e.g., if infogain axis == 1 "
                            f"and prediction shape is (N, C, H, W), label count (number of labels) must be "
                            f"N*H*W, with integer values in {{0, 1, ..., C-1}} (prediction {pred}, label {label})")
        return [()] + ([pred] if self.n_tops > 1 else [])


@register("EuclideanLoss")
class EuclideanLossLayer(LossLayer):
    def allow_force_backward(self, bottom_index: int) -> bool:
        return True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        a, b = bottoms
        if count(a[1:]) != count(b[1:]):
            raise self.fail(f"inputs must have the same dimension ({a} vs {b})")
        return super().reshape(bottoms)

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return [Buffer("diff", count(bottoms[0]), "fwd")]


@register("SigmoidCrossEntropyLoss")
class SigmoidCrossEntropyLossLayer(LossLayer):
    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        a, b = bottoms
        if count(a) != count(b):
            raise self.fail(f"SIGMOID_CROSS_ENTROPY_LOSS layer inputs must have the same count ({a} vs {b})")
        return [()]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n = count(bottoms[0])
        out = [Buffer("sigmoid_output", n, "fwd")]
        if run.gpu and not run.backward:
            out.append(Buffer("bottom_diff_scratch", 2 * n, "fwd", diff=True, category="activation_gradients"))
        return out


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n, c = bottoms[0][0], bottoms[0][1]
        return [Buffer("diff_and_square", 2 * n * c, "fwd"), Buffer("dist_sq", n, "fwd"),
                Buffer("summer_vec", c, "setup")]


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        if not run.gpu:
            return []
        # Master's GPU forward uses the bottoms' diffs as scratch, in every phase.
        pred, label = bottoms
        extra = count(label) if self.n_tops == 1 else count(pred)
        return [Buffer("bottom_diff_scratch", count(pred) + extra, "fwd", diff=True,
                       category="activation_gradients")]


# --- fork losses and evaluation -------------------------------------------------------------------

@register("SmoothL1Loss")
class SmoothL1LossLayer(LossLayer):
    """Fast R-CNN's box regression loss: prediction, target, and optionally inside/outside weights."""

    exact_bottoms = None
    min_bottoms = 2
    max_bottoms = 4

    def allow_force_backward(self, bottom_index: int) -> bool:
        return True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if len(bottoms) == 3:
            raise self.fail("if weights are used, both inside and outside weights must be given")
        top = super().reshape(bottoms)
        first = legacy4(self, bottoms[0])[1:]
        for b in bottoms[1:]:
            if legacy4(self, b)[1:] != first:
                raise self.fail(f"inputs must agree on channels, height and width ({bottoms[0]} vs {b})")
        return top

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """Bottom-sized ``diff_`` and ``errors_`` in forward. Faster R-CNN's version
        (``smooth_L1_loss_layer.cpp``/``.cu``, GPU only: its CPU path is NOT_IMPLEMENTED) also fills
        a bottom-sized ``ones_`` in Reshape to sum the errors; the only CPU implementation, SSD's, has
        no ``ones_``."""
        n = count(bottoms[0])
        out = [Buffer("diff", n, "fwd"), Buffer("errors", n, "fwd")]
        if run.gpu:
            out.append(Buffer("ones", n, "setup"))
        return out


@register("SegAccuracy")
class SegAccuracyLayer(Layer):
    """DeepLab-style segmentation accuracy: a [1, 1, 1, 4] summary."""

    exact_bottoms = 2
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        pn, pc, ph, pw = legacy4(self, bottoms[0])
        ln, lc, lh, lw = legacy4(self, bottoms[1])
        if pn != ln or lc != 1 or (ph, pw) != (lh, lw):
            raise self.fail(f"label {bottoms[1]} must be [N, 1, H, W] for prediction {bottoms[0]}")
        return [(1, 1, 1, 4)]


"""Softmax, loss and accuracy layers. Losses get an automatic scalar top and loss weight 1.

Fast R-CNN's ``SmoothL1Loss`` and DeepLab's ``SegAccuracy`` sit here beside their BVLC kin; SSD's
``MultiBoxLoss`` lives in :mod:`caffemem.layers.detection` with the priors it matches against.
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from caffemem.categories import Category as C
from caffemem.layers.registry import INTERNAL, Buffer, Layer, RunInfo, Shape, canonical_axis, count, legacy4, register
from caffemem.modes import Mode


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

    #: The parameter whose ``axis`` the labels are counted along (InfogainLoss and the focal loss
    #: count along their own; the internal softmax always follows ``softmax_param.axis``), and the
    #: CHECK's words when the counts differ, as each layer's source has them.
    label_axis_param: ClassVar[str] = "softmax_param"
    label_check: ClassVar[str] = ("number of labels must match number of predictions; e.g., if softmax axis == 1 "
                                  "and prediction shape is (N, C, H, W), label count (number of labels) must be "
                                  "N*H*W, with integer values in {0, 1, ..., C-1}")

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        pred, label = bottoms[0], bottoms[1]
        self.axis = canonical_axis(self.param.softmax_param.axis, len(pred), self.name)
        axis = canonical_axis(getattr(self.param, self.label_axis_param).axis, len(pred), self.name)
        if count(pred[:axis]) * count(pred[axis + 1:]) != count(label):
            raise self.fail(f"{self.label_check} (prediction {pred}, label {label})")
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
    # Caffe counts labels along infogain_loss_param.axis; softmax_param.axis only steers the
    # internal softmax (checked with the real Caffe: tests/memory/cases/infogain-axis).
    label_axis_param = "infogain_loss_param"
    label_check = SoftmaxWithLossLayer.label_check.replace("if softmax axis", "if infogain axis")


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



# --- face recognition forks -------------------------------------------------------------------------

@register("CenterLoss")
class CenterLossLayer(LossLayer):
    """caffe-face's centre loss (ydwen/caffe-face, ``src/caffe/layers/center_loss_layer.cpp``).

    Bottoms: features and labels ([N, 1, 1, 1]). One learnable blob, the class centres
    [num_output, K] with K the feature size from ``axis`` on. The fork declares no fixed top count
    (``ExactNumTopBlobs() == -1``), so Caffe adds no automatic top; LossLayer::Reshape makes top 0
    a scalar. Memory: ``distance_`` (bottom-sized, written in Forward) and ``variation_sum_``
    (centre-sized, written in Backward for the centres' diff).
    """

    exact_tops = None

    def loss_weights(self) -> list[float]:
        return super().loss_weights() if self.n_tops else []

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.param.center_loss_param
        feat, label = bottoms
        if cp.num_output <= 0:
            raise self.fail("center_loss_param.num_output must be positive")
        _, lc, lh, lw = legacy4(self, label)
        if (lc, lh, lw) != (1, 1, 1):
            raise self.fail(f"labels must be [N, 1, 1, 1], got {label}")
        top = super().reshape(bottoms)
        axis = canonical_axis(cp.axis, len(feat), self.name)
        self.blobs = [(cp.num_output, count(feat[axis:]))]
        return top[: self.n_tops] + [(0,)] * max(0, self.n_tops - 1)

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return bottom_index == 0 and run.propagate_down[0]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return [Buffer("distance", count(bottoms[0]), "fwd"),
                Buffer("variation_sum", count(self.blobs[0]), "bwd")]


# --- R-FCN's online hard example mining (OHEM) -------------------------------------------------------

@register("SoftmaxWithLossOHEM")
class SoftmaxWithLossOHEMLayer(SoftmaxWithLossLayer):
    """R-FCN's softmax loss with a per-instance loss top (daijifeng001/caffe-rfcn,
    ``src/caffe/layers/softmax_loss_ohem_layer.cpp``/``.cu``): tops loss, probabilities (bottom 0's
    shape) and per-instance loss (bottom 1's shape), which BoxAnnotatorOHEM ranks.

    Memory is SoftmaxWithLoss's (``prob_``, the internal softmax's scratch). The fork implements
    only the GPU path (``Forward_cpu`` is NOT_IMPLEMENTED), so it is costed as on the GPU, where the
    forward uses bottom 0's diff as scratch.
    """

    max_bottoms = 2
    max_tops = 3

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        top = super().reshape(bottoms)
        return top + ([bottoms[1]] if self.n_tops > 2 else [])

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return super().buffers(bottoms, tops, replace(run, mode=Mode.GPU))


@register("SmoothL1LossOHEM")
class SmoothL1LossOHEMLayer(LossLayer):
    """R-FCN's box regression loss with a per-instance loss top (daijifeng001/caffe-rfcn,
    ``src/caffe/layers/smooth_L1_loss_ohem_layer.cpp``): prediction, target and optional weights
    (same channels/height/width); tops loss and [N, 1, H, W] per-instance loss. Memory: ``diff_`` and
    ``errors_``, each bottom 0's size (GPU-only fork code, written in every forward)."""

    exact_bottoms = None
    min_bottoms = 2
    max_bottoms = 3
    exact_tops = None
    min_tops = 1
    max_tops = 2

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index == 0

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        top = super().reshape(bottoms)
        n, c, h, w = legacy4(self, bottoms[0])
        for b in bottoms[1:]:
            if legacy4(self, b)[1:] != (c, h, w):
                raise self.fail(f"inputs must agree on channels, height and width ({bottoms[0]} vs {b})")
        return top + ([(n, 1, h, w)] if self.n_tops > 1 else [])

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n = count(bottoms[0])
        return [Buffer("diff", n, "fwd"), Buffer("errors", n, "fwd")]


# --- CTC (OCR forks) ---------------------------------------------------------------------------------

#: [estimate] Labels per sequence in CTC training: the target blob can hold one per time step, but
#: text lines carry a few tens of characters; ChWick's CTCLoss sizes its alpha/beta tables to the
#: labels of each batch (2 x labels + 1 rows), so this is a high typical value, capped by T.
CTC_LABELS_PER_SEQUENCE = 32


@register("CTCLoss")
class CTCLossLayer(LossLayer):
    """Connectionist temporal classification loss. Two forks use the type string; the variant is
    picked by the bottom count:

    - three bottoms (probabilities [T, N, C], sequence indicators [T, N], targets [T, N]): the CTC
      branch of BVLC PR 4681 (ChWick/caffe ``ctc_loss_layer.cpp``). Forward runs on the host and
      keeps per sequence ``y_`` [T, C] (softmax), ``log_alpha_``/``log_beta_`` [2L+1, T] doubles (L
      labels: [estimate] :data:`CTC_LABELS_PER_SEQUENCE`), and N-sized length/probability blobs.
    - two bottoms (activations [T, N, C], labels [N, L]): the warp-ctc OCR forks (senlinuc/caffe_ocr
      ``ctc_loss_layer.cpp``): ``compute_ctc_loss`` writes the gradient into bottom 0's diff during
      Forward, so a net that never runs backward still allocates it; warp-ctc's own workspace is
      freed within the call and left out.
    """

    exact_bottoms = None
    min_bottoms = 2
    max_bottoms = 3

    def check_counts(self, n_bottoms: int, n_tops: int) -> None:
        super().check_counts(n_bottoms, n_tops)
        self.choose_variant("CTC branch of BVLC PR 4681 (three bottoms)" if n_bottoms == 3
                            else "warp-ctc OCR fork (two bottoms)")

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        probs = bottoms[0]
        if len(probs) < 3:
            raise self.fail(f"probabilities must be [T, N, C], got {probs}")
        if len(bottoms) == 3:
            top = super().reshape(bottoms[:2])
            for b in bottoms[1:]:
                if tuple(b[:2]) != tuple(probs[:2]):
                    raise self.fail(f"sequence indicators and targets must be [T, N] = {probs[:2]}, got {b}")
            return top
        cp = self.param.ctc_loss_param
        if cp.alphabet_size <= 0 or cp.time_step <= 0:
            raise self.fail("ctc_loss_param needs a positive alphabet_size and time_step")
        if bottoms[1][0] != probs[1]:
            raise self.fail(f"labels {bottoms[1]} must have one row per sequence ({probs[1]})")
        return [()]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return bottom_index == 0 and (run.propagate_down[0] or len(self.param.bottom) == 2)

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        probs = bottoms[0]
        t, n = probs[0], probs[1]
        if len(bottoms) == 2:
            if run.backward:  # then the bottom's diff is counted as written (writes_bottom_diff)
                return []
            return [Buffer("gradients", count(probs), "fwd", diff=True, category=C.ACTIVATION_GRADIENTS)]
        rows = 2 * min(t, CTC_LABELS_PER_SEQUENCE) + 1
        return [Buffer("y", count(probs), "fwd"),
                Buffer("log_alpha_beta", 2 * 2 * rows * t * n, "fwd"),
                Buffer("lengths_and_log_p", 4 * n, "fwd")]


@register("CTCGreedyDecoder")
class CTCGreedyDecoderLayer(Layer):
    """Best-path CTC decoding (ChWick/caffe ``ctc_decoder_layer.cpp``): probabilities [T, N, C] and
    sequence indicators, optionally target sequences. Tops: sequences [N, T, 1, 1], then (two
    bottoms) scores [N, 1, 1, 1], or (three bottoms) accuracy [1, 1, 1, 1] / scores and accuracy.
    Decoding works in host vectors; no backward."""

    min_bottoms = 1
    max_bottoms = 3
    min_tops = 1
    max_tops = 3
    empty_backward = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        probs = bottoms[0]
        if len(probs) < 3:
            raise self.fail(f"probabilities must be [T, N, C], got {probs}")
        t, n = probs[0], probs[1]
        # senlinuc/caffe_ocr's ctc_decoder_layer.cpp: one bottom decodes (sequences [N, T, 1, 1]);
        # two bottoms and one top (probabilities, labels [N, ...]) give the accuracy [1, 2, 1, 1].
        if len(bottoms) == 1:
            if self.n_tops != 1:
                raise self.fail("one bottom (the OCR fork's decoder) gives one top")
            self.choose_variant("OCR variant (one bottom: decoded sequences)")
            return [(n, t, 1, 1)]
        if len(bottoms) == 2 and self.n_tops == 1 and bottoms[1] and bottoms[1][0] == n != t:
            self.choose_variant("OCR variant (probabilities and labels: accuracy)")
            return [(1, 2, 1, 1)]
        if len(bottoms) == 2 and self.n_tops > 2:
            raise self.fail("only two tops with two bottoms: sequences, scores")
        tops: list[Shape | None] = [(n, t, 1, 1)]
        if self.n_tops == 2:
            tops.append((n, 1, 1, 1) if len(bottoms) == 2 else (1, 1, 1, 1))
        elif self.n_tops == 3:
            tops += [(n, 1, 1, 1), (1, 1, 1, 1)]
        return tops


# --- FlowNet / FlowNet2 ------------------------------------------------------------------------------

@register("L1Loss")
class L1LossLayer(Layer):
    """FlowNet's flow loss (lmb-freiburg/flownet2, ``src/caffe/layers/l1loss_layer.cpp``/``.cu``):
    the L1 norm of bottom 0 (one bottom) or of bottom 0 - bottom 1 (two, through an internal
    Eltwise, so they must have one shape), or with ``l2_per_location`` the summed per-pixel L2 norm
    (internal Power, 1x1 Convolution and Power layers). Scalar top; GPU-only code (the CPU path is
    NOT_IMPLEMENTED), so costed as on the GPU.

    Memory, all bottom-sized unless noted: ``diff_`` (two bottoms; data in forward, gradient in
    backward), ``mask_``, ``sign_`` (filled in Reshape with ``l2_per_location``, else in forward).
    With ``l2_per_location``: the squares' data and gradient, the channel sum and the square root
    ([N, 1, H, W], data and gradient each), ``plateau_l2_`` ([N, 1, H, W], with ``plateau`` > 0), and
    the summing convolution's weight [1, C, 1, 1], bias and ``bias_multiplier`` [H * W] (set up at
    once; their gradients in backward; not learnable parameters of the net).
    """

    min_bottoms = 1
    max_bottoms = 2
    exact_tops = 1
    auto_top_blobs = True
    is_loss = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if len(bottoms) == 2 and bottoms[0] != bottoms[1]:
            raise self.fail(f"the internal Eltwise needs bottoms of one shape ({bottoms[0]} vs {bottoms[1]})")
        return [()]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        lp = self.param.l1_loss_param
        pred = bottoms[0]
        n = count(pred)
        out: list[Buffer] = []
        if len(bottoms) == 2:
            out += [Buffer("diff", n, "fwd"), Buffer("diff", n, "bwd", diff=True)]
        out.append(Buffer("mask", n, "fwd"))
        if not lp.l2_per_location:
            return out + [Buffer("sign", n, "fwd")]
        num, channels = legacy4(self, pred)[:2]
        per_pixel = n // max(1, channels)  # [N, 1, H, W]
        spatial = per_pixel // max(1, num)
        out += [Buffer("sign", n, "setup"),
                Buffer("square_output", n, "fwd"), Buffer("square_output", n, "bwd", diff=True),
                Buffer("sum_output", per_pixel, "fwd"), Buffer("sum_output", per_pixel, "bwd", diff=True),
                Buffer("sqrt_output", per_pixel, "fwd"), Buffer("sqrt_output", per_pixel, "bwd", diff=True),
                Buffer("sum_weights", channels + 1, "setup"), Buffer("sum_weights", channels + 1, "bwd", diff=True),
                Buffer("sum_bias_multiplier", spatial, "setup")]
        if lp.plateau > 0:
            out.append(Buffer("plateau_l2", per_pixel, "fwd"))
        return out


@register("FocalLoss")
class FocalLossLayer(SoftmaxWithLossLayer):
    """Softmax focal loss (chuanqi305/FocalLoss, ``focal_loss_layer.cpp``/``.cu``): SoftmaxWithLoss
    with each term weighted by alpha (1 - p_t)^gamma.

    Two bottoms exactly (it keeps ``LossLayer``'s count), one or two tops (loss, probabilities).
    Labels are counted along ``focal_loss_param.axis``; the internal Softmax is built from a copy of
    the layer's own parameter, so ``softmax_param.axis`` (and engine) steer it. Memory is
    SoftmaxWithLoss's: ``prob_`` (its diff filled at set-up through the copied loss weight), the
    softmax's scratch, and on the GPU a forward that uses bottom 0's diff and ``prob_``'s diff as
    loss and count scratch.
    """

    min_bottoms = None
    max_bottoms = None
    exact_bottoms = 2

    label_axis_param = "focal_loss_param"
    label_check = ("Number of labels must match number of predictions; e.g., if softmax axis == 1 and prediction "
                   "shape is (N, C, H, W), label count (number of labels) must be N*H*W")

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        pred, label = bottoms[0], bottoms[1]
        if pred[:1] != label[:1]:
            raise self.fail(f"the data and label should have the same first dimension ({pred} vs {label})")
        return super().reshape(bottoms)


@register("WarpCTCLoss")
class WarpCTCLossLayer(LossLayer):
    """warp-ctc's CTC loss as the OCR fork wraps it (senlinuc/caffe_ocr, ``warp_ctc_loss_layer.cpp``
    /``.cu``). Bottom 0 holds activations [T, N, C, 1] (legacy accessors: num, channels, height; the
    width must be 1); the others are, by count: 2, labels [N, L] (blank-padded); 3, sequence
    indicators [T, N] and labels [., N]; 4, sequence lengths [N], label lengths [N], labels [., N].

    Forward writes the gradient into bottom 0's diff (``compute_ctc_loss``), so a net that never
    runs backward allocates it too. The layer keeps warp-ctc's workspace (``workspace_``, grown,
    never shrunk): [estimate] its size depends on the labels' lengths, so it is taken with the
    longest possible label (L, or T without a label width) in warp-ctc's host formula, per sequence
    C + (2L+1)(T + 5) floats plus C T for the probabilities; the GPU path's workspace (another
    formula) is costed the same way.
    """

    exact_bottoms = None
    min_bottoms = 2
    max_bottoms = 4

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        t, n, c, w = legacy4(self, bottoms[0])
        if w != 1:
            raise self.fail(f"activations must be [T, N, C, 1]; width is {w} ({bottoms[0]})")
        if len(bottoms) == 2:
            if legacy4(self, bottoms[1])[0] != n:
                raise self.fail(f"labels {bottoms[1]} must have one row per sequence ({n})")
            labels = legacy4(self, bottoms[1])[1]
        elif len(bottoms) == 3:
            ind, lab = legacy4(self, bottoms[1]), legacy4(self, bottoms[2])
            if ind[0] != t or ind[1] != n or lab[1] != n:
                raise self.fail(f"sequence indicators {bottoms[1]} must be [{t}, {n}] and labels {bottoms[2]} "
                                f"[., {n}]")
            labels = t
        else:
            if count(bottoms[1]) != n or count(bottoms[2]) != n or legacy4(self, bottoms[3])[1] != n:
                raise self.fail(f"sequence and label lengths must hold {n} values and labels be [., {n}]")
            labels = legacy4(self, bottoms[3])[0]
        self.dims = (t, n, c, labels)
        return [()]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return bottom_index == 0

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        t, n, c, labels = self.dims
        s = 2 * labels + 1
        workspace = n * (c + s * t + s + 3 * s) + c * t * n
        out = [Buffer("ctc_workspace", workspace, "fwd")]
        if not run.backward:  # the forward's gradient (counted via writes_bottom_diff in backward)
            out.append(Buffer("gradients", count(bottoms[0]), "fwd", diff=True, category=C.ACTIVATION_GRADIENTS))
        return out

"""Object detection heads: SSD's priors, decoding, loss and evaluation, and YOLO's evaluation.

Every rule was read from the fork that defines the type (SSD: weiliu89/caffe ``ssd``; YOLO:
intel/caffe). Where the output size depends on data (detections, boxes per image), the shape is the
one the fork's ``Reshape`` produces at set-up time, which is what "Memory required for data"
counts. Layers a fork implements only on the CPU (or only on the GPU) are costed on that path
whatever ``run.mode`` is.
"""

from __future__ import annotations

from caffemem.categories import Category as C
from caffemem.layers.loss import LossLayer, softmax_buffers
from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, count, legacy, legacy4, register
from caffemem.proto import caffe_pb2

#: [estimate] Prior boxes matched to ground truth per image in SSD's MultiBoxLoss. The real number
#: depends on the boxes of each batch (multibox_loss_layer.cpp sizes its blobs to the matches it
#: finds); VOC/COCO training with the default 0.5 overlap matches some tens per image, and the
#: blobs keep the largest batch's size, so this is a high typical value, capped by the prior count.
MULTIBOX_MATCHES_PER_IMAGE = 100


@register("PriorBox")
class PriorBoxLayer(Layer):
    """SSD's default boxes: [1, 2, H*W*num_priors*4] (coordinates and their variances).

    num_priors = (distinct aspect ratios, counting 1 and, with ``flip``, the inverses) x min sizes,
    plus one per max size. The fork declares no bottom-count limit; only bottom 0 sets the shape.
    """

    min_bottoms = 1
    exact_tops = 1

    def num_priors(self) -> int:
        pp = self.param.prior_box_param
        if not pp.min_size:
            raise self.fail("must provide min_size")
        if any(s <= 0 for s in pp.min_size):
            raise self.fail("min_size must be positive")
        ratios = [1.0]
        for ar in pp.aspect_ratio:
            if all(abs(ar - r) >= 1e-6 for r in ratios):
                ratios.append(ar)
                if pp.flip:
                    ratios.append(1.0 / ar)
        n = len(ratios) * len(pp.min_size)
        if pp.max_size:
            if len(pp.max_size) != len(pp.min_size):
                raise self.fail("max_size must be given once per min_size")
            if any(mx <= mn for mn, mx in zip(pp.min_size, pp.max_size, strict=True)):
                raise self.fail("max_size must be greater than min_size")
            n += len(pp.max_size)
        if len(pp.variance) not in (0, 1, 4):
            raise self.fail("give one variance or exactly four")
        return n

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        self.priors = self.num_priors()
        _, _, h, w = legacy4(self, bottoms[0])
        size = w * h * self.priors * 4
        if size <= 0:
            raise self.fail(f"no priors for feature map {bottoms[0]}")
        return [(1, 2, size)]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """``prior_box_layer.hpp``: Backward returns at once, so no bottom diff is ever written
        (and the top, written on the host each forward, is its only storage)."""
        return False


def _check_multibox(layer: Layer, loc: Shape, conf: Shape, prior: Shape, num_classes: int,
                    share_location: bool) -> int:
    """The location/confidence/prior agreement SSD's MultiBoxLoss and DetectionOutput CHECK."""
    priors = legacy(prior, 2) // 4
    loc_classes = 1 if share_location else num_classes
    if legacy(loc, 0) != legacy(conf, 0):
        raise layer.fail(f"location {loc} and confidence {conf} must have the same batch size")
    if priors * loc_classes * 4 != legacy(loc, 1):
        raise layer.fail(f"number of priors ({priors}) must match number of location predictions ({loc})")
    if priors * num_classes != legacy(conf, 1):
        raise layer.fail(f"number of priors ({priors}) must match number of confidence predictions ({conf})")
    return priors


@register("DetectionOutput")
class DetectionOutputLayer(Layer):
    """SSD's decoding + NMS. Its top is [1, 1, kept, 7]; at set-up (and so in the "Memory required
    for data" line) ``kept`` is 1: each forward resizes it to the detections found."""

    min_bottoms = 3
    max_bottoms = 4
    exact_tops = 1

    def check_counts(self, n_bottoms: int, n_tops: int) -> None:
        """YOLO ports reuse the type string for their own decoding of one blob, the last
        convolution's [N, boxes x (5 + classes), H, W]: one bottom picks that variant."""
        if n_bottoms == 1 and n_tops == 1:
            self.choose_variant("YOLO variant (one bottom)")
            return
        super().check_counts(n_bottoms, n_tops)

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if len(bottoms) == 1:
            # The YOLO ports' set-up shape is SSD's: one [image, label, score, 4 coordinates] row.
            return [(1, 1, 1, 7)]
        dp = self.param.detection_output_param
        if not dp.HasField("num_classes"):
            raise self.fail("must specify num_classes")
        nms = dp.nms_param
        if nms.nms_threshold < 0 or not 0 < nms.eta <= 1:
            raise self.fail("nms_threshold must be non-negative and eta in (0, 1]")
        _check_multibox(self, bottoms[0], bottoms[1], bottoms[2], dp.num_classes, dp.share_location)
        return [(1, 1, 1, 7)]

    def max_detections(self, bottoms: list[Shape]) -> int:
        """Upper bound of the rows a forward can keep: ``keep_top_k`` per image, else every class's
        NMS ``top_k`` (or every prior) per image; never fewer than one row per image, which is what
        an image without detections gets (``detection_output_layer.cpp``)."""
        dp = self.param.detection_output_param
        n = legacy(bottoms[0], 0)
        priors = legacy(bottoms[2], 2) // 4
        if dp.keep_top_k > -1:
            per_image = dp.keep_top_k
        else:
            classes = dp.num_classes - (1 if 0 <= dp.background_label_id < dp.num_classes else 0)
            top_k = dp.nms_param.top_k if dp.nms_param.HasField("top_k") and dp.nms_param.top_k > -1 else priors
            per_image = classes * min(top_k, priors)
        return n * max(1, per_image)

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """SSD's ``detection_output_layer.cu`` decodes and permutes on the device into
        ``bbox_preds_`` (loc size), ``bbox_permute_`` (loc size, only without ``share_location``) and
        ``conf_permute_`` (conf size), then reads them back on the host; the CPU forward works in
        host vectors that it frees. Either way the top grows past its set-up shape to the detections
        kept; its capacity never shrinks, so this counts [estimate] the upper bound
        :meth:`max_detections` x 7 (minus the 7 values of the set-up shape) as activations."""
        out: list[Buffer] = []
        if len(bottoms) == 1:
            # YOLO variant: the forward decodes a host copy of its bottom ([estimate]: the copy
            # YOLO ports' decoders make, e.g. Yolov3DetectionOutput's swap_), detections left out.
            return [Buffer("swap", count(bottoms[0]), "fwd")]
        if run.gpu:
            out.append(Buffer("bbox_preds", count(bottoms[0]), "fwd"))
            if not self.param.detection_output_param.share_location:
                out.append(Buffer("bbox_permute", count(bottoms[0]), "fwd"))
            out.append(Buffer("conf_permute", count(bottoms[1]), "fwd"))
        grown = 7 * self.max_detections(bottoms) - count(tops[0])
        if grown > 0:
            out.append(Buffer("detections_growth", grown, "fwd", category=C.ACTIVATIONS))
        return out


@register("DetectionEvaluate")
class DetectionEvaluateLayer(Layer):
    """SSD's per-class true/false positives: [1, 1, positive classes + valid detections, 5].

    At set-up the detections blob is still zero-filled, so every row counts as a valid detection
    (its label is 0, not -1): the count is bottom 0's height (1 after DetectionOutput's set-up).
    The fork declares no bottom-count limit; it reads two bottoms.
    """

    min_bottoms = 2
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ep = self.param.detection_evaluate_param
        det, gt = bottoms[0], bottoms[1]
        dn, dc, dh, dw = legacy4(self, det)
        gn, gc, _, gw = legacy4(self, gt)
        if (dn, dc, dw) != (1, 1, 7):
            raise self.fail(f"detections must be [1, 1, D, 7], got {det}")
        if (gn, gc, gw) != (1, 1, 8):
            raise self.fail(f"ground truth must be [1, 1, G, 8], got {gt}")
        positive = ep.num_classes if ep.background_label_id == -1 else ep.num_classes - 1
        return [(1, 1, positive + dh, 5)]


@register("MultiBoxLoss")
class MultiBoxLossLayer(LossLayer):
    """SSD's localisation + confidence loss over (loc, conf, priors, ground truth); scalar top."""

    exact_bottoms = 4

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        mp = self.param.multibox_loss_param
        if not mp.HasField("num_classes"):
            raise self.fail("must provide num_classes")
        if mp.num_classes < 1:
            raise self.fail("num_classes should not be less than 1")
        if mp.conf_loss_type == caffe_pb2.MultiBoxLossParameter.SOFTMAX and \
                not 0 <= mp.background_label_id < mp.num_classes:
            raise self.fail("background_label_id should be within [0, num_classes) for Softmax")
        top = super().reshape(bottoms)
        _check_multibox(self, bottoms[0], bottoms[1], bottoms[2], mp.num_classes, mp.share_location)
        return top

    def sample_counts(self, bottoms: list[Shape]) -> tuple[int, int]:
        """(matched priors, confidence rows) of a batch: what sizes the internal blobs.

        Matches are [estimate] :data:`MULTIBOX_MATCHES_PER_IMAGE` per image, capped by the prior
        count. Confidence rows follow the mining rule of SSD's ``MineHardExamples`` (``bbox_util.cpp``):
        MAX_NEGATIVE adds ``neg_pos_ratio`` negatives per match (at most the unmatched priors);
        HARD_EXAMPLE keeps at most ``sample_size`` priors per image, matches included; NONE scores
        every prior.
        """
        mp = self.param.multibox_loss_param
        n = legacy(bottoms[0], 0)
        priors = legacy(bottoms[2], 2) // 4
        matches = min(priors, MULTIBOX_MATCHES_PER_IMAGE)
        mining = caffe_pb2.MultiBoxLossParameter
        if mp.mining_type == mining.HARD_EXAMPLE:
            rows = min(mp.sample_size, priors)
            matches = min(matches, rows)
        elif mp.mining_type == mining.MAX_NEGATIVE:
            rows = matches + min(int(matches * mp.neg_pos_ratio), priors - matches)
        else:
            rows = priors
        return n * matches, n * rows

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """SSD's ``multibox_loss_layer.cpp`` (CPU only; its internal loss layers follow ``run.mode``).

        Localisation: ``loc_pred_`` and ``loc_gt_`` [4 x matches] on the host, the internal
        SmoothL1Loss's ``diff_`` and ``errors_`` (EuclideanLoss: ``diff_`` only) of the same size,
        and in backward ``loc_pred_``'s diff. Confidence (SOFTMAX): ``conf_pred_`` [rows, classes]
        (sharing bottom 1's data when nothing is mined) and ``conf_gt_`` [rows]; the internal
        SoftmaxWithLoss adds ``prob_`` [rows, classes], the Caffe softmax's ``scale_`` and
        ``sum_multiplier_``, and on the GPU its forward uses ``prob_``'s diff and ``conf_pred_``'s diff
        as scratch (``softmax_loss_layer.cu``). LOGISTIC: ``conf_gt_`` is [rows, classes] and the
        internal SigmoidCrossEntropyLoss keeps ``sigmoid_output_`` and, on the GPU, both its bottoms'
        diffs. Each internal loss scalar has a data value and a diff filled with its loss weight at
        set-up. The sizes rest on the [estimate] of :meth:`sample_counts`.
        """
        mp = self.param.multibox_loss_param
        classes = mp.num_classes
        matches, rows = self.sample_counts(bottoms)
        loc = 4 * matches
        down = tuple(run.propagate_down) + (False, False)
        out = [Buffer("internal_losses", 2, "fwd"), Buffer("internal_losses", 2, "setup", diff=True),
               Buffer("loc_pred_gt", 2 * loc, "fwd")]
        if down[0]:
            out.append(Buffer("loc_pred", loc, "bwd", diff=True))
        smooth = mp.loc_loss_type == caffe_pb2.MultiBoxLossParameter.SMOOTH_L1
        out.append(Buffer("loc_loss_diff_errors", (2 if smooth else 1) * loc, "fwd"))
        mined = mp.mining_type != caffe_pb2.MultiBoxLossParameter.NONE
        conf = rows * classes
        if mined:
            out.append(Buffer("conf_pred", conf, "fwd"))
        # Without mining, Backward hands conf_pred_'s diff to bottom 1 (ShareDiff) and bottom 1's own
        # is released, so the bottom diff already counts it.
        pred_diff_counted = not mined and run.backward and down[1]
        if mp.conf_loss_type == caffe_pb2.MultiBoxLossParameter.SOFTMAX:
            out += [Buffer("conf_gt", rows, "fwd"), Buffer("prob", conf, "fwd")]
            out += softmax_buffers((rows, classes), 1, run)
            if run.gpu:
                out.append(Buffer("prob", conf, "fwd", diff=True))
                if not pred_diff_counted:
                    out.append(Buffer("conf_pred", conf, "fwd", diff=True))
            elif down[1] and not pred_diff_counted:
                out.append(Buffer("conf_pred", conf, "bwd", diff=True))
        else:
            out += [Buffer("conf_gt", conf, "fwd"), Buffer("sigmoid_output", conf, "fwd")]
            if run.gpu:
                out.append(Buffer("conf_gt", conf, "fwd", diff=True))
            if run.gpu or (down[1] and not pred_diff_counted):
                out.append(Buffer("conf_pred", conf, "fwd" if run.gpu else "bwd", diff=True))
        return out


@register("EvalDetection")
class EvalDetectionLayer(Layer):
    """YOLO's evaluation (Intel Caffe): [N, num_class + side*side*num_object*4]."""

    min_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ep = self.param.eval_detection_param
        b = bottoms[0]
        expected = ep.side * ep.side * ep.num_object * (ep.num_class + 4 + 1)
        if count(b[1:]) != expected:
            raise self.fail(f"input holds {count(b[1:])} values per image; side^2 * num_object * "
                            f"(num_class + 5) = {expected}")
        return [(legacy(b, 0), ep.num_class + ep.side * ep.side * ep.num_object * 4)]



@register("RegionLoss")
class RegionLossLayer(LossLayer):
    """YOLOv2's loss (Intel Caffe and the caffe-yolo ports, ``region_loss_layer.cpp``): predictions
    [N, num x (coords + num_class + 1), side, side] and a box label blob; scalar top. LayerSetUp
    CHECKs the prediction count against side^2 x num x (coords + num_class + 1) (the ports that read
    the grid from the bottom use its height and width, as here for 4-D bottoms). Memory: two
    bottom-sized blobs written every forward (``diff_`` and ``real_diff_``, or ``output_``)."""

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index == 0

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        rp = self.param.region_loss_param
        pred = bottoms[0]
        h, w = (pred[2], pred[3]) if len(pred) == 4 else (rp.side, rp.side)
        expected = h * w * rp.num * (rp.coords + rp.num_class + 1)
        if count(pred[1:]) != expected:
            raise self.fail(f"input holds {count(pred[1:])} values per image; {h} x {w} x num x "
                            f"(coords + num_class + 1) = {expected}")
        return super().reshape(bottoms)

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return [Buffer("diff_real_diff", 2 * count(bottoms[0]), "fwd")]


@register("Yolov3")
class Yolov3Layer(LossLayer):
    """YOLOv3's loss for one output scale (eric612/MobileNet-YOLO ``yolov3_layer.cpp``): predictions
    [N, num x (5 + num_class), H, W] (LayerSetUp CHECKs the count with H, W read from the bottom)
    and a [N, 300 x 5] box label blob; scalar top. Memory: ``diff_`` and ``swap_`` (bottom-sized,
    written every forward) and ``swap_``'s diff, which the forward uses for the deltas."""

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index == 0

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        yp = self.param.yolov3_param
        n, c, h, w = legacy4(self, bottoms[0])
        expected = h * w * yp.num * (4 + yp.num_class + 1)
        if count(bottoms[0][1:]) != expected:
            raise self.fail(f"input holds {count(bottoms[0][1:])} values per image; H x W x num x "
                            f"(num_class + 5) = {expected}")
        return super().reshape(bottoms)

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n = count(bottoms[0])
        return [Buffer("diff_swap", 2 * n, "fwd"), Buffer("swap", n, "fwd", diff=True)]


@register("Yolov3DetectionOutput")
class Yolov3DetectionOutputLayer(Layer):
    """YOLOv3's decoding + NMS over its output scales (eric612/MobileNet-YOLO
    ``yolov3_detection_output_layer.cpp``): one bottom per scale (LayerSetUp CHECKs
    ``mask_group_num`` of them); top [1, 1, 1, 7] at set-up, resized to the detections kept.
    Memory: ``swap_`` is reshaped like each bottom in turn, so it holds the largest one."""

    min_bottoms = 1
    exact_tops = 1
    empty_backward = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        yp = self.param.yolov3_detection_output_param
        if len(bottoms) != yp.mask_group_num:
            raise self.fail(f"{len(bottoms)} bottoms; mask_group_num is {yp.mask_group_num}")
        return [(1, 1, 1, 7)]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return [Buffer("swap", max(count(b) for b in bottoms), "fwd")]


@register("BoxAnnotatorOHEM")
class BoxAnnotatorOHEMLayer(Layer):
    """R-FCN's hard example selection (daijifeng001/caffe-rfcn ``box_annotator_ohem_layer.cpp``):
    rois [R, 5, H, W], per-roi loss, labels [R, 1, H, W] and box weights [R, C, H, W]; tops the
    labels [R, 1, H, W] and box loss weights [R, C, H, W] of the ``roi_per_img`` hardest rois. No
    buffers; no backward (NOT_IMPLEMENTED)."""

    exact_bottoms = 4
    exact_tops = 2
    empty_backward = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        bp = self.param.box_annotator_ohem_param
        if bp.roi_per_img <= 0:
            raise self.fail("box_annotator_ohem_param.roi_per_img must be positive")
        n, c, h, w = legacy4(self, bottoms[0])
        if c != 5:
            raise self.fail(f"rois must have 5 channels, got {bottoms[0]}")
        for b in bottoms[1:3]:
            if legacy4(self, b) != (n, 1, h, w):
                raise self.fail(f"loss and labels must be [{n}, 1, {h}, {w}], got {b}")
        bn, bc, bh, bw = legacy4(self, bottoms[3])
        if (bn, bh, bw) != (n, h, w):
            raise self.fail(f"box weights must be [{n}, C, {h}, {w}], got {bottoms[3]}")
        return [(n, 1, h, w), (n, bc, h, w)]

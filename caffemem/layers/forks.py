"""Layer types of widely used Caffe forks, with the shapes each fork's own ``Reshape`` gives.

Every rule here was read from the fork that defines the type (SSD: weiliu89/caffe ``ssd``; SegNet:
alexgkendall/caffe-segnet; PSPNet: hszhao/PSPNet; Fast/Faster R-CNN: rbgirshick/caffe-fast-rcnn;
R-FCN, YOLO and INT8 layers: intel/caffe; LSTM-CF/DeepLab layers: Winstonxu123/LSTM-CF; ShuffleNet:
farmingyard/ShuffleNet; OpenPose training: CMU-Perceptual-Computing-Lab/caffe_train). Forks that
read shapes through Caffe's legacy ``num()/channels()/height()/width()`` accessors see a missing
axis as 1, and :func:`legacy` mirrors that, so odd-rank bottoms give the shapes the fork would.
Where a fork's output size depends on data (detections, boxes per image), the shape is the one its
``Reshape`` produces at set-up time, which is what "Memory required for data" counts.
"""

from __future__ import annotations

from caffemem.layers.conv import ConvolutionBase
from caffemem.layers.data import DataLayerBase
from caffemem.layers.loss import LossLayer
from caffemem.layers.registry import Layer, Shape, count, register
from caffemem.proto import caffe_pb2


def legacy(shape: Shape, index: int) -> int:
    """Caffe's ``Blob::LegacyShape``: axes past the blob's rank read as 1 (num/channels/height/width)."""
    return shape[index] if index < len(shape) else 1


def legacy4(layer: Layer, shape: Shape) -> Shape:
    """(num, channels, height, width) as the legacy accessors see it; they refuse blobs above 4-D."""
    if len(shape) > 4:
        raise layer.fail(f"cannot use legacy accessors on a {len(shape)}-D blob {shape}")
    return (legacy(shape, 0), legacy(shape, 1), legacy(shape, 2), legacy(shape, 3))


# --- normalisation and elementwise ----------------------------------------------------------------

@register("BN")
class BNLayer(Layer):
    """SegNet's and PSPNet's ``BN``: one type string, two implementations.

    SegNet keeps a scale and a shift ``[1, C, 1, 1]``; PSPNet adds running mean and variance (four
    blobs, the last two with lr 0, all four frozen with ``frozen: true``). PSPNet-only fields
    (slope/bias filler, momentum, eps, frozen, engine) or more than two ``param`` specs pick PSPNet.
    """

    exact_bottoms = 1
    exact_tops = 1

    def is_pspnet(self) -> bool:
        bp = self.param.bn_param
        psp_fields = ("slope_filler", "bias_filler", "momentum", "eps", "frozen", "engine")
        return any(bp.HasField(f) for f in psp_fields) or len(self.param.param) > 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        _, c, _, _ = legacy4(self, b)
        blob = (1, c, 1, 1)
        if self.is_pspnet():
            self.blobs = [blob] * 4
            frozen = self.param.bn_param.frozen
            specs = []
            for i in range(4):
                spec = caffe_pb2.ParamSpec()
                if i < len(self.param.param):
                    spec.CopyFrom(self.param.param[i])
                if i >= 2 or frozen:  # running statistics (and frozen scale/shift) never learn
                    spec.lr_mult = 0
                    spec.decay_mult = 0
                specs.append(spec)
            self.param_specs = specs
        else:
            self.blobs = [blob, blob]
        return [b]


@register("Normalize")
class NormalizeLayer(Layer):
    """SSD's L2 normalisation; one learnable scale per channel, or one in all with channel_shared."""

    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        if len(b) < 2:
            raise self.fail(f"number of axes of bottom blob must be >= 2, got {b}")
        np_ = self.param.norm_param
        self.blobs = [()] if np_.channel_shared else [(legacy(b, 1),)]
        return [b]


@register("Axpy")
class AxpyLayer(Layer):
    """SENet's ``Axpy``: top = a * x + y with a per-channel ``a`` of shape [N, C(, 1, 1)]."""

    exact_bottoms = 3
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        a, x, y = bottoms
        if a[:2] != x[:2]:
            raise self.fail(f"scale {a} and input {x} must agree on the first two axes")
        if len(a) == 4 and (a[2] != 1 or a[3] != 1):
            raise self.fail(f"scale must be [N, C, 1, 1], got {a}")
        if x != y:
            raise self.fail(f"the two addends must have the same shape ({x} vs {y})")
        return [x]


@register("ReLU6")
class ReLU6Layer(Layer):
    """ReLU clipped at 6 (MobileNet ports): an elementwise neuron, in place allowed."""

    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        return [bottoms[0]]


# --- convolutions -------------------------------------------------------------------------------

@register("ConvolutionDepthwise", "DepthwiseConvolution")
class DepthwiseConvolutionLayer(ConvolutionBase):
    """Depthwise convolution ports: ``BaseConvolutionLayer`` with ``convolution_param``, so the
    shapes and parameters are Convolution's (``group`` normally equals the channel count)."""


@register("ConvolutionDeeplab")
class ConvolutionDeeplabLayer(Layer):
    """DeepLab v1's convolution with ``hole`` (dilation), 2-D only, bias stored as [1, 1, 1, N]."""

    min_bottoms = 1
    min_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.param.convolution_deeplab_param
        if self.n_tops != len(bottoms):
            raise self.fail(f"number of bottom and top blobs must be equal ({len(bottoms)} vs {self.n_tops})")

        def pair(name: str) -> tuple[int, int]:
            """``name`` for both axes, or ``name_h`` and ``name_w`` (never a mix), as the fork CHECKs."""
            has_h, has_w = cp.HasField(f"{name}_h"), cp.HasField(f"{name}_w")
            if (has_h or has_w) and (cp.HasField(name) or not (has_h and has_w)):
                raise self.fail(f"{name} is {name} OR {name}_h and {name}_w")
            if has_h:
                return getattr(cp, f"{name}_h"), getattr(cp, f"{name}_w")
            return getattr(cp, name), getattr(cp, name)

        if not cp.HasField("kernel_size") and not (cp.HasField("kernel_h") and cp.HasField("kernel_w")):
            raise self.fail("filter size is kernel_size OR kernel_h and kernel_w")
        square = cp.HasField("kernel_size")
        kh, kw = (cp.kernel_size, cp.kernel_size) if square else (cp.kernel_h, cp.kernel_w)
        if cp.HasField("kernel_size") and (cp.HasField("kernel_h") or cp.HasField("kernel_w")):
            raise self.fail("filter size is kernel_size OR kernel_h and kernel_w; not both")
        ph, pw = pair("pad")
        sh, sw = pair("stride")
        hh, hw = pair("hole")
        if kh <= 0 or kw <= 0:
            raise self.fail("filter dimensions cannot be zero")
        n, c, h, w = legacy4(self, bottoms[0])
        if cp.num_output <= 0:
            raise self.fail("num_output must be positive")
        if c % cp.group or cp.num_output % cp.group:
            raise self.fail(f"channels ({c}) and num_output ({cp.num_output}) must be multiples of group "
                            f"({cp.group})")
        for b in bottoms[1:]:
            if legacy4(self, b) != (n, c, h, w):
                raise self.fail(f"all inputs must have the same shape ({bottoms[0]} vs {b})")
        ekh, ekw = kh + (kh - 1) * (hh - 1), kw + (kw - 1) * (hw - 1)
        oh, ow = (h + 2 * ph - ekh) // sh + 1, (w + 2 * pw - ekw) // sw + 1
        if oh <= 0 or ow <= 0:
            raise self.fail(f"output size {oh}x{ow} is not positive for input {bottoms[0]}")
        self.blobs = [(cp.num_output, c // cp.group, kh, kw)]
        if cp.bias_term:
            self.blobs.append((1, 1, 1, cp.num_output))
        return [(n, cp.num_output, oh, ow)] * len(bottoms)


# --- spatial resampling -------------------------------------------------------------------------

@register("Upsample")
class UpsampleLayer(Layer):
    """SegNet's unpooling: scatters bottom 0 into the positions recorded by a pooling mask (bottom 1)."""

    exact_bottoms = 2
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        up = self.param.upsample_param
        data, mask = bottoms
        if len(data) != 4 or len(mask) != 4:
            raise self.fail(f"input and mask must have 4 axes, got {data} and {mask}")
        if data != mask:
            raise self.fail(f"input {data} and mask {mask} must have the same shape")
        n, c, h, w = data
        if up.HasField("upsample_h") and up.HasField("upsample_w"):
            oh, ow = up.upsample_h, up.upsample_w
            if oh <= 1 or ow <= 1:
                raise self.fail("upsample_h and upsample_w must be greater than 1")
            return [(n, c, oh, ow)]
        if up.HasField("scale_h") or up.HasField("scale_w"):
            if up.HasField("scale") or not (up.HasField("scale_h") and up.HasField("scale_w")):
                raise self.fail("upsample_h & upsample_w are required, else scale OR scale_h & scale_w")
            sh, sw = up.scale_h, up.scale_w
        else:
            sh = sw = up.scale
        if sh <= 1 or sw <= 1:
            raise self.fail("scale must be greater than 1")
        if (up.pad_out_h and sh != 2) or (up.pad_out_w and sw != 2):
            raise self.fail("output padding compensation requires a scale of 2")
        return [(n, c, h * sh - int(up.pad_out_h), w * sw - int(up.pad_out_w))]


@register("Interp")
class InterpLayer(Layer):
    """PSPNet's (and DeepLab's) bilinear resize. The output size, in PSPNet's order of precedence:
    shrink only ``(H-1)/s + 1``; zoom only ``H + (H-1)(z-1)``; explicit height and width; shrink then
    zoom. ``pad_beg``/``pad_end`` (non-positive: cropping) first change the effective input size."""

    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ip = self.param.interp_param
        if ip.pad_beg > 0 or ip.pad_end > 0:
            raise self.fail("only non-positive padding (cropping) is supported")
        n, c, h, w = legacy4(self, bottoms[0])
        h_eff, w_eff = h + ip.pad_beg + ip.pad_end, w + ip.pad_beg + ip.pad_end
        shrink, zoom = ip.HasField("shrink_factor"), ip.HasField("zoom_factor")

        def shrunk(size: int) -> int:
            return (size - 1) // ip.shrink_factor + 1

        def zoomed(size: int) -> int:
            return size + (size - 1) * (ip.zoom_factor - 1)

        if shrink and ip.shrink_factor < 1:
            raise self.fail("shrink factor must be positive")
        if zoom and ip.zoom_factor < 1:
            raise self.fail("zoom factor must be positive")
        if shrink and not zoom:
            oh, ow = shrunk(h_eff), shrunk(w_eff)
        elif zoom and not shrink:
            oh, ow = zoomed(h_eff), zoomed(w_eff)
        elif ip.HasField("height") and ip.HasField("width"):
            oh, ow = ip.height, ip.width
        elif shrink and zoom:
            oh, ow = zoomed(shrunk(h_eff)), zoomed(shrunk(w_eff))
        else:
            raise self.fail("output size needs zoom_factor, shrink_factor, or height and width")
        if h_eff <= 0 or w_eff <= 0 or oh <= 0 or ow <= 0:
            raise self.fail(f"sizes must be positive (input {h_eff}x{w_eff}, output {oh}x{ow})")
        return [(n, c, oh, ow)]


@register("ShuffleChannel")
class ShuffleChannelLayer(Layer):
    """ShuffleNet's channel shuffle: same shape (made 4-D by the legacy accessors)."""

    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if self.param.shuffle_channel_param.group <= 0:
            raise self.fail("group must be greater than 0")
        return [legacy4(self, bottoms[0])]


@register("Permute")
class PermuteLayer(Layer):
    """SSD's axis permutation: the listed axes first, the others after them in their order."""

    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        orders: list[int] = []
        for o in self.param.permute_param.order:
            if o >= len(b):
                raise self.fail(f"order {o} should be less than the input dimension ({len(b)})")
            if o in orders:
                raise self.fail("there are duplicate orders")
            orders.append(o)
        orders += [i for i in range(len(b)) if i not in orders]
        self.order = tuple(orders)
        return [tuple(b[o] for o in orders)]


@register("Transpose")
class TransposeLayer(Layer):
    """LSTM-CF's conv/LSTM layout switch: the top shape is given in full and must keep the count."""

    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        top = tuple(self.param.transpose_param.shape.dim)
        if count(top) != count(bottoms[0]):
            raise self.fail(f"top shape {top} must hold as many elements as the bottom {bottoms[0]}")
        return [top]


@register("Reorg")
class ReorgLayer(Layer):
    """YOLOv2's space-to-depth: [N, C*s*s, H/s, W/s] (``reverse``: [N, C/(s*s), H*s, W*s])."""

    exact_bottoms = 1
    exact_tops = 1
    forbid_inplace = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        rp = self.param.reorg_param
        if not rp.HasField("stride"):
            raise self.fail("needs reorg_param.stride")
        s = rp.stride
        n, c, h, w = legacy4(self, bottoms[0])
        if rp.reverse:
            return [(n, c // (s * s), h * s, w * s)]
        return [(n, c * s * s, h // s, w // s)]


@register("Mask")
class MaskLayer(Layer):
    """LSTM-CF's sequence-continuation mask: no bottoms, a [height, width] top (LSTM's ``cont``)."""

    exact_bottoms = 0
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        mp = self.param.mask_param
        return [(mp.height, mp.width)]


# --- region pooling -----------------------------------------------------------------------------

@register("ROIPooling")
class ROIPoolingLayer(Layer):
    """Fast R-CNN: one [C, pooled_h, pooled_w] map per region of interest (bottom 1 is [R, 5])."""

    exact_bottoms = 2
    exact_tops = 1

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index != 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        rp = self.param.roi_pooling_param
        if rp.pooled_h <= 0 or rp.pooled_w <= 0:
            raise self.fail("pooled_h and pooled_w must be > 0")
        c = legacy4(self, bottoms[0])[1]
        rois = legacy(bottoms[1], 0)
        return [(rois, c, rp.pooled_h, rp.pooled_w)]


@register("PSROIPooling")
class PSROIPoolingLayer(Layer):
    """R-FCN's position-sensitive pooling: [R, output_dim, group_size, group_size]."""

    exact_bottoms = 2
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        pp = self.param.psroi_pooling_param
        if pp.output_dim <= 0 or pp.group_size <= 0:
            raise self.fail("output_dim and group_size must be > 0")
        c = legacy4(self, bottoms[0])[1]
        if c != pp.output_dim * pp.group_size ** 2:
            raise self.fail(f"input channels ({c}) must be output_dim * group_size^2 "
                            f"({pp.output_dim} * {pp.group_size}^2)")
        return [(legacy(bottoms[1], 0), pp.output_dim, pp.group_size, pp.group_size)]


# --- SSD detection ------------------------------------------------------------------------------

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

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        dp = self.param.detection_output_param
        if not dp.HasField("num_classes"):
            raise self.fail("must specify num_classes")
        nms = dp.nms_param
        if nms.nms_threshold < 0 or not 0 < nms.eta <= 1:
            raise self.fail("nms_threshold must be non-negative and eta in (0, 1]")
        _check_multibox(self, bottoms[0], bottoms[1], bottoms[2], dp.num_classes, dp.share_location)
        return [(1, 1, 1, 7)]


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


# --- data layers --------------------------------------------------------------------------------

class ForkPrefetchingDataLayer(DataLayerBase):
    """Fork data layers built on ``BasePrefetchingDataLayer``: tops alias prefetch batches."""

    tops_own_data = False

    def prefetch_batches(self) -> int:
        return self.param.data_param.prefetch

    def prefetch_elements(self, tops: list[Shape]) -> int:
        return sum(count(t) for t in tops)

    def sized_sample(self, channels: int, height: int, width: int) -> tuple[int, ...]:
        """Per-sample (C, H, W): the user's ``--input`` first, else the given size, else an assumption."""
        user = self.user_sample_shape()
        if user is not None:
            return user
        if height and width:
            return (channels, height, width)
        return self.assume((channels, 256, 256), "the image size is in the data, which caffemem does not "
                                                 "read")


@register("AnnotatedData")
class AnnotatedDataLayer(ForkPrefetchingDataLayer):
    """SSD's images with boxes. Data: [batch, C, H, W] with H, W from ``resize_param`` (then crop);
    label: [1, 1, boxes, 8] where ``boxes`` is the box count of the first record (at least 1), which
    caffemem cannot read: it takes 1, what Caffe logs for a single-object first image."""

    min_tops = 1
    max_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        tp = self.param.transform_param
        batch = self.batch_size(self.param.data_param.batch_size)
        rp = tp.resize_param
        resize_mode = caffe_pb2.ResizeParameter
        if tp.HasField("resize_param") and rp.resize_mode == resize_mode.FIT_SMALL_SIZE and batch != 1:
            raise self.fail("only batch size 1 is supported with resize_mode FIT_SMALL_SIZE")
        height = width = 0
        if tp.HasField("resize_param") and rp.resize_mode != resize_mode.FIT_SMALL_SIZE:
            height, width = rp.height, rp.width
        crop_h, crop_w = (tp.crop_size, tp.crop_size) if tp.crop_size else (tp.crop_h, tp.crop_w)
        height, width = crop_h or height, crop_w or width
        sample = self.sized_sample(3, height, width)
        tops: list[Shape | None] = [(batch, *sample)]
        if self.n_tops > 1:
            tops.append((1, 1, 1, 8))
        return tops


@register("DenseImageData")
class DenseImageDataLayer(ForkPrefetchingDataLayer):
    """SegNet's image + label-image reader: [batch, C, H, W] and [batch, 1, H, W]."""

    exact_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        dp = self.param.dense_image_data_param
        if (dp.new_height > 0) != (dp.new_width > 0) or (dp.crop_height > 0) != (dp.crop_width > 0):
            raise self.fail("new_height/new_width and crop_height/crop_width must be set together")
        crop = self.param.transform_param.crop_size
        if crop > 0:
            h, w = crop, crop
        elif dp.crop_height > 0:
            h, w = dp.crop_height, dp.crop_width
        else:
            h, w = dp.new_height, dp.new_width
        sample = self.sized_sample(3 if dp.is_color else 1, h, w)
        batch = self.batch_size(dp.batch_size)
        return [(batch, *sample), (batch, 1, *sample[1:])]


@register("ImageSegData")
class ImageSegDataLayer(ForkPrefetchingDataLayer):
    """DeepLab's image + segmentation reader (via ``image_data_param``): image, label and a
    [batch, 1, 1, 2] size blob. It declares three tops and makes the missing ones anonymous."""

    exact_tops = 3
    auto_top_blobs = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ip = self.param.image_data_param
        if (ip.new_height > 0) != (ip.new_width > 0):
            raise self.fail("new_height and new_width must be set together")
        if self.param.transform_param.HasField("mean_file"):
            raise self.fail("ImageSegData does not support mean_file")
        crop = self.param.transform_param.crop_size
        h, w = (crop, crop) if crop > 0 else (ip.new_height, ip.new_width)
        sample = self.sized_sample(3 if ip.is_color else 1, h, w)
        batch = self.batch_size(ip.batch_size)
        return [(batch, *sample), (batch, 1, *sample[1:]), (batch, 1, 1, 2)]


@register("CPMData")
class CPMDataLayer(ForkPrefetchingDataLayer):
    """OpenPose training data: 6-channel records (image, centre map, masks; the transformer CHECKs
    6) cropped to crop_size_y x crop_size_x in TRAIN, and label maps of 2*(num_parts+1) channels at
    1/stride resolution. Outside TRAIN the record's own size is used, which caffemem assumes is
    the crop size."""

    min_tops = 1
    max_tops = 2

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.param.cpm_transform_param
        batch = self.batch_size(self.param.data_param.batch_size)
        user = self.user_sample_shape()
        if user is not None:
            sample: tuple[int, ...] = user
        else:
            sample = (6, cp.crop_size_y, cp.crop_size_x)
            if self.ctx.phase != caffe_pb2.TRAIN:
                self.assume(sample, "outside TRAIN the record's own size is used")
        h, w = legacy(sample, 1), legacy(sample, 2)
        tops: list[Shape | None] = [(batch, *sample)]
        if self.n_tops > 1:
            tops.append((batch, 2 * (cp.num_parts + 1), h // cp.stride, w // cp.stride))
        return tops

"""Layer types of widely used Caffe forks, with the shapes each fork's own ``Reshape`` gives.

Every rule here was read from the fork that defines the type (SSD: weiliu89/caffe ``ssd``; SegNet:
alexgkendall/caffe-segnet; PSPNet: hszhao/PSPNet; Fast/Faster R-CNN: rbgirshick/caffe-fast-rcnn;
R-FCN, YOLO and INT8 layers: intel/caffe; LSTM-CF/DeepLab layers: Winstonxu123/LSTM-CF; ShuffleNet:
farmingyard/ShuffleNet; OpenPose training: CMU-Perceptual-Computing-Lab/caffe_train). Forks that
read shapes through Caffe's legacy ``num()/channels()/height()/width()`` accessors see a missing
axis as 1, and :func:`legacy` mirrors that, so odd-rank bottoms give the shapes the fork would.
Where a fork's output size depends on data (detections, boxes per image), the shape is the one its
``Reshape`` produces at set-up time, which is what "Memory required for data" counts.

The memory hooks (``buffers``, ``writes_bottom_diff``, views, prefetch) follow the same sources:
each one names the file whose allocations it mirrors. Layers a fork implements only on the CPU
(or only on the GPU) are costed on that path whatever ``run.mode`` is.
"""

from __future__ import annotations

from typing import ClassVar

from caffemem.categories import Category as C
from caffemem.layers.conv import ConvolutionBase
from caffemem.layers.data import PrefetchingDataLayer
from caffemem.layers.loss import LossLayer, softmax_buffers
from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, count, register
from caffemem.proto import caffe_pb2

#: [estimate] Prior boxes matched to ground truth per image in SSD's MultiBoxLoss. The real number
#: depends on the boxes of each batch (multibox_loss_layer.cpp sizes its blobs to the matches it
#: finds); VOC/COCO training with the default 0.5 overlap matches some tens per image, and the
#: blobs keep the largest batch's size, so this is a high typical value, capped by the prior count.
MULTIBOX_MATCHES_PER_IMAGE = 100


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """The two forks' temporaries: neither has a cuDNN path the registry would pick.

        PSPNet (``src/caffe/layers/bn_layer.cpp``): its Reshape fills the spatial [H*W] and batch [N]
        ones-vectors; every forward uses a bottom-sized broadcast buffer, per-(image, channel) and
        per-channel statistics, and, unless ``frozen``, saves ``x_norm_`` (bottom size) and
        ``x_inv_std_`` [C] for backward (in TEST too: the copy is guarded by ``frozen`` only). Its
        ``CuDNNBNLayer`` is compiled but never registered, so the Caffe path always runs.

        SegNet (``src/caffe/layers/bn_layer.cpp``/``.cu``): Reshape writes data *and* diff of both
        ones-vectors; forward uses a bottom-sized ``buffer_blob_`` and [N, C] spatial mean and
        variance; LEARN mode adds [C] batch mean/variance and ``x_norm_`` (bottom size). Only the CPU
        backward keeps partial sums in the diffs of the two [N, C] blobs.
        """
        n, c, h, w = legacy4(self, bottoms[0])
        total = n * c * h * w
        if self.is_pspnet():
            out = [Buffer("spatial_sum_multiplier", h * w, "setup"), Buffer("batch_sum_multiplier", n, "setup"),
                   Buffer("broadcast_buffer", total, "fwd"), Buffer("spatial_statistic", n * c, "fwd"),
                   Buffer("batch_statistic", c, "fwd")]
            if not self.param.bn_param.frozen:
                out += [Buffer("x_norm", total, "fwd"), Buffer("x_inv_std", c, "fwd")]
            return out
        out = [Buffer("spatial_sum_multiplier", 2 * h * w, "setup"), Buffer("batch_sum_multiplier", 2 * n, "setup"),
               Buffer("buffer_blob", total, "fwd"), Buffer("spatial_mean_variance", 2 * n * c, "fwd")]
        if self.param.bn_param.bn_mode == caffe_pb2.BNParameter.LEARN:
            out += [Buffer("batch_mean_variance", 2 * c, "fwd"), Buffer("x_norm", total, "fwd")]
        if not run.gpu:
            out.append(Buffer("spatial_mean_variance", 2 * n * c, "bwd", diff=True))
        return out

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """SegNet's Backward takes the bottom diff before looking at ``propagate_down``; PSPNet's checks it."""
        return True if not self.is_pspnet() else run.propagate_down[bottom_index]


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """SSD's ``normalize_layer.cpp``/``.cu``: set-up fills a [C] and an [H*W] ones-vector; forward
        squares one image at a time into ``buffer_`` [C*H*W] and keeps the norms in ``norm_`` ([N], or
        [N*H*W] when not ``across_spatial``); backward adds ``buffer_channel_`` [C] and
        ``buffer_spatial_`` [H*W], which it takes even when it only needs some of them."""
        n, c, h, w = legacy4(self, bottoms[0])
        across = self.param.norm_param.across_spatial
        return [Buffer("sum_channel_multiplier", c, "setup"), Buffer("sum_spatial_multiplier", h * w, "setup"),
                Buffer("buffer", c * h * w, "fwd"), Buffer("norm", n if across else n * h * w, "fwd"),
                Buffer("buffer_channel", c, "bwd"), Buffer("buffer_spatial", h * w, "bwd")]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """Both Backward paths take ``mutable_*_diff`` of the bottom before testing ``propagate_down``."""
        return True


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """intel/caffe ``axpy_layer.cpp`` (CPU only): Reshape fills a ones-vector over x's spatial axes."""
        return [Buffer("spatial_sum_multiplier", count(bottoms[1][2:]), "setup")]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """The gradient of ``a`` is summed in x's diff, so x's diff is written whenever ``a`` needs one."""
        if bottom_index == 1:
            return run.propagate_down[0] or run.propagate_down[1]
        return run.propagate_down[bottom_index]


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
    shapes and parameters are Convolution's (``group`` normally equals the channel count).

    The two type strings are two different implementations, and neither has a cuDNN engine:

    - ``DepthwiseConvolution`` (yonghenglh6/DepthwiseConvolution ``depthwise_conv_layer.cpp``/``.cu``)
      keeps ``BaseConvolutionLayer``'s CPU path (im2col column buffer and GEMMs), while its GPU
      kernels read the image and weights directly: no column buffer, only the base class's
      ``bias_multiplier_`` filled on the host at set-up.
    - ``ConvolutionDepthwise`` (farmingyard/caffe-mobilenet ``conv_dw_layer.cpp``/``.cu``) is a plain
      ``Layer`` whose Reshape fills two ones-vectors of [N*H_out*W_out] (weights, and bias when
      present) on the device; its GPU backward writes per-position weight products into
      ``weight_buffer_`` [C*kh*kw*N*H_out*W_out] and bias terms into ``bias_buffer_``
      [C*N*H_out*W_out] before summing them; the CPU path loops directly and needs neither.

    Both zero or take the bottom diff as soon as Backward runs, whatever ``propagate_down`` says.
    """

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        cp = self.conv_param()
        g = self.geometry
        if self.type == "ConvolutionDepthwise":
            n, c = legacy(bottoms[0], 0), legacy(bottoms[0], 1)
            positions = n * count(self.output_spatial)
            out = [Buffer("weight_multiplier", positions, "setup")]
            if cp.bias_term:
                out.append(Buffer("bias_multiplier", positions, "setup"))
            if run.gpu and run.param_propagate[:1] and run.param_propagate[0]:
                out.append(Buffer("weight_buffer", c * count(g.kernel) * positions, "bwd"))
            if run.gpu and cp.bias_term and len(run.param_propagate) > 1 and run.param_propagate[1]:
                out.append(Buffer("bias_buffer", c * positions, "bwd"))
            return out
        if run.gpu:
            return [Buffer("bias_multiplier", count(self.output_spatial), "setup")] if cp.bias_term else []
        # The CPU path is BaseConvolutionLayer's; no cuDNN, whatever the build.
        return super().buffers(bottoms, tops, RunInfo(run.phase, run.mode, run.backward, run.propagate_down,
                                                      run.inplace, run.param_propagate, cudnn=False))

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return True


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
        self.is_1x1 = (kh, kw, sh, sw, ph, pw, hh, hw) == (1, 1, 1, 1, 0, 0, 1, 1)
        self.col_elements = c * kh * kw * oh * ow
        self.out_pixels = oh * ow
        return [(n, cp.num_output, oh, ow)] * len(bottoms)

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """LSTM-CF's ``conv_deeplab_layer.cpp``/``.cu`` (no cuDNN variant): a one-image column buffer
        [C*kh*kw*H_out*W_out], skipped only for true 1x1 kernels (stride 1, no pad, no hole), since
        then both directions read or write the bottom in place; ``bias_multiplier_`` [H_out*W_out] is
        filled on the host in Reshape."""
        out = [Buffer("bias_multiplier", self.out_pixels, "setup")] if self.param.convolution_deeplab_param.bias_term \
            else []
        if not self.is_1x1:
            out.append(Buffer("col_buffer", self.col_elements, "fwd"))
        return out

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """The bottom diff is taken when the weights learn or the bottom needs a gradient."""
        return run.propagate_down[bottom_index] or bool(run.param_propagate[:1] and run.param_propagate[0])


# --- spatial resampling -------------------------------------------------------------------------

@register("Upsample")
class UpsampleLayer(Layer):
    """SegNet's unpooling: scatters bottom 0 into the positions recorded by a pooling mask (bottom 1).

    Memory: ``upsample_layer.cpp``/``.cu`` keep no blobs of their own (the mask is bottom 1).
    """

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
    zoom. ``pad_beg``/``pad_end`` (non-positive: cropping) first change the effective input size.

    Memory: ``interp_layer.cpp`` interpolates straight between bottom and top, with no blobs of its own.
    """

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
    """ShuffleNet's channel shuffle: same shape (made 4-D by the legacy accessors).

    Memory: ``shuffle_channel_layer.cpp``/``.cu`` copy channel groups straight from bottom to top;
    their ``temp_blob_`` is declared but every use of it is commented out, so it is never allocated.
    """

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

    @property
    def need_permute(self) -> bool:
        return self.order != tuple(range(len(self.order)))

    def top_data_view(self, top_index: int) -> int | None:
        """``permute_layer.cpp``: with the natural order, Forward shares the bottom's data..."""
        return None if self.need_permute else 0

    def top_diff_view(self, top_index: int) -> int | None:
        """...and Backward makes the bottom share the top's diff, so one gradient storage serves both."""
        return None if self.need_permute else 0

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """Three int blobs of one entry per axis (order, old and new strides), written at set-up."""
        return [Buffer("permute_order_old_new_steps", 3 * len(bottoms[0]), "setup")]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """When it permutes, Backward writes the bottom diff without consulting ``propagate_down``."""
        return self.need_permute or run.propagate_down[bottom_index]


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

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """LSTM-CF's ``transpose_layer.cpp``/``.cu``: Backward always writes the bottom diff."""
        return True


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """intel/caffe ``reorg_layer.cpp``/``.cu``: Backward reads the diff of its own bottom-shaped
        ``diff_`` blob (not the top's), allocating it whenever the bottom needs a gradient."""
        if run.propagate_down and run.propagate_down[0]:
            return [Buffer("diff", count(bottoms[0]), "bwd", diff=True)]
        return []


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """caffe-fast-rcnn ``roi_pooling_layer.cpp``/``.cu``: an int argmax per output, top-shaped."""
        return [Buffer("max_idx", count(tops[0]), "fwd")]


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """intel/caffe ``psroi_pooling_layer.cpp``/``.cu``: an int source channel per output, top-shaped."""
        return [Buffer("mapping_channel", count(tops[0]), "fwd")]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """Backward zero-fills the ROI blob's diff too whenever the features need a gradient."""
        return run.propagate_down[0] or run.propagate_down[bottom_index]


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

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
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

class ForkPrefetchingDataLayer(PrefetchingDataLayer):
    """Fork data layers built on an older ``BasePrefetchingDataLayer``.

    Unlike BVLC master (whose tops alias the prefetch batches), every one of these forks' Forward
    ``caffe_copy``s the batch into the tops, so the tops own their data; and the number of batches
    is the fork's fixed ``PREFETCH_COUNT`` (``include/caffe/layers/base_data_layer.hpp``), not
    ``data_param.prefetch``. Each batch holds every top's worth of data.
    """

    tops_own_data = True
    #: Batches the fork's prefetch queue holds.
    prefetch_count: ClassVar[int] = 3

    def prefetch_batches(self) -> int:
        return self.prefetch_count

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
    caffemem cannot read: it takes 1, what Caffe logs for a single-object first image.

    Memory: SSD's ``base_data_layer.hpp`` fixes ``PREFETCH_COUNT = 3`` and its Forward copies each
    batch into the tops (``base_data_layer.cpp``/``.cu``). The label blobs grow with the boxes of each
    batch (a few hundred values), which is left out.
    """

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
    """SegNet's image + label-image reader: [batch, C, H, W] and [batch, 1, H, W].

    Memory: SegNet's ``BasePrefetchingDataLayer`` predates the prefetch queue: one host batch
    (``prefetch_data_``, ``prefetch_label_``) filled by a thread that is joined each forward, and
    copied into the tops (``base_data_layer.cpp``/``.cu``).
    """

    exact_tops = 2
    prefetch_count = 1

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
    [batch, 1, 1, 2] size blob. It declares three tops and makes the missing ones anonymous.

    Memory follows PSPNet's version: ``PREFETCH_COUNT = 5`` batches of image, label and size (its
    ``ImageDimPrefetchingDataLayer`` touches all three at set-up), copied into the tops each forward
    (``base_data_layer.cpp``/``.cu``). LSTM-CF's DeepLab-v1 copy keeps a single batch instead.
    """

    exact_tops = 3
    prefetch_count = 5
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
    the crop size.

    Memory: caffe_train's ``base_data_layer.hpp`` fixes ``PREFETCH_COUNT = 3``, and its Forward
    copies each batch into the tops.
    """

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

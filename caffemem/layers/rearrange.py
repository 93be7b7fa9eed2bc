"""Layers that resample or reorder a blob's elements: upsampling, bilinear resize, channel shuffle,
axis permutation, layout transposes and space-to-depth.

All of them come from forks (SegNet, PSPNet/DeepLab, ShuffleNet, SSD, LSTM-CF, YOLO via intel/caffe);
each docstring names the file its shapes and allocations were read from.
"""

from __future__ import annotations

from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, count, legacy4, register
from caffemem.modes import Mode


@register("Upsample")
class UpsampleLayer(Layer):
    """SegNet's unpooling: scatters bottom 0 into the positions recorded by a pooling mask (bottom 1).

    The YOLOv3 ports (eric612/MobileNet-YOLO, caffe-yolov3 and their copies) reuse the type string
    for darknet's nearest-neighbour upsampling of one bottom: the last two axes times ``scale``
    (default 1 there). One bottom picks that variant.

    Memory: ``upsample_layer.cpp``/``.cu`` keep no blobs of their own in either fork (the mask is
    SegNet's bottom 1).
    """

    min_bottoms = 1
    max_bottoms = 2
    exact_tops = 1

    def check_counts(self, n_bottoms: int, n_tops: int) -> None:
        if n_bottoms == 1 and n_tops == 1:
            self.choose_variant("YOLOv3 variant (one bottom: nearest-neighbour, scale)")
            return
        if n_bottoms != 2:
            raise self.fail(f"takes 2 bottom blob(s) (SegNet: data and pooling mask) or 1 (YOLOv3), got {n_bottoms}")
        super().check_counts(n_bottoms, n_tops)

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        up = self.param.upsample_param
        if len(bottoms) == 1:
            scale = up.scale if up.HasField("scale") else 1  # the YOLO forks' default
            shape = list(bottoms[0])
            if len(shape) < 2:
                raise self.fail(f"needs at least 2 axes, got {bottoms[0]}")
            shape[-1] *= scale
            shape[-2] *= scale
            return [tuple(shape)]
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
    """LSTM-CF's conv/LSTM layout switch: the top shape is given in full and must keep the count.

    The OCR fork senlinuc/caffe_ocr reuses the type string for an axis permutation (``dim``: the
    bottom axis each top axis takes, as Permute's ``order``): ``dim`` picks that variant. Its
    ``transpose_layer.cu`` keeps an int index buffer of count x axes (``buf_``, written by every
    GPU forward and backward); the CPU code never touches it.
    """

    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        tp = self.param.transpose_param
        if tp.dim:
            self.choose_variant("OCR variant (dim: an axis permutation)")
            if list(self.param.top) == list(self.param.bottom):
                raise self.fail("does not support in-place computation")
            order = list(tp.dim)
            if len(order) != len(bottoms[0]):
                raise self.fail(f"dim {order} must name every axis of the bottom {bottoms[0]}")
            if sorted(order) != list(range(len(order))):
                raise self.fail(f"dim {order} must be a permutation of 0..{len(order) - 1}")
            return [tuple(bottoms[0][d] for d in order)]
        top = tuple(tp.shape.dim)
        if count(top) != count(bottoms[0]):
            raise self.fail(f"top shape {top} must hold as many elements as the bottom {bottoms[0]}")
        return [top]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        if not self.param.transpose_param.dim or run.mode != Mode.GPU:
            return []
        return [Buffer("buf", count(bottoms[0]) * len(bottoms[0]), "fwd")]

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



@register("Reverse")
class ReverseLayer(Layer):
    """Reverses a sequence along time (CRNN/OCR forks); the variant is picked by the bottom count:

    - one bottom: reverse along ``reverse_param.axis`` (senlinuc/caffe_ocr and ChWick/caffe
      ``reverse_layer.cpp``): the top has the bottom's shape;
    - two bottoms, a [T, N] continuation indicator and the [T, N, ...] data, in either order (the
      CRNN ports' ``reverse_layer.cpp`` take the indicator first, lmb-style ports the data first):
      each sequence is reversed within its indicated length; the top has the data's shape.

    No in-place use (the forks CHECK it); no buffers beyond a few integers.
    """

    min_bottoms = 1
    max_bottoms = 2
    exact_tops = 1
    forbid_inplace = True

    def check_counts(self, n_bottoms: int, n_tops: int) -> None:
        super().check_counts(n_bottoms, n_tops)
        if n_bottoms == 2:
            self.choose_variant("sequence variant with a continuation indicator (two bottoms)")

    def allow_force_backward(self, bottom_index: int) -> bool:
        return len(self.param.bottom) == 1 or bottom_index == self.data_index

    data_index = 0

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if len(bottoms) == 1:
            b = bottoms[0]
            if not b:
                raise self.fail("does not support a 0-axis blob")
            axis = self.param.reverse_param.axis
            if not 0 <= axis < len(b):
                raise self.fail(f"axis {axis} out of range for {b}")
            return [b]
        first, second = bottoms
        self.data_index = 1 if len(first) == 2 and len(second) >= 2 else 0
        data, cont = bottoms[self.data_index], bottoms[1 - self.data_index]
        if len(cont) != 2 or tuple(cont) != tuple(data[:2]):
            raise self.fail(f"the continuation indicator must be [T, N] = {data[:2]}, got {cont}")
        return [data]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        if len(self.param.bottom) == 2 and bottom_index != self.data_index:
            return False
        return run.propagate_down[bottom_index]


# --- FlowNet / FlowNet2 (lmb-freiburg/flownet2): resizing and warping ------------------------------

class _SizedBySecondBottom(Layer):
    """Resample and Downsample: [N, C] of bottom 0 at the height and width of bottom 1 when there is
    one, else at the size the layer's parameters name. Both refuse backward (``AllowBackward`` is
    false in FlowNet's Caffe, so ``Net::Init`` gives them no backward pass)."""

    min_bottoms = 1
    max_bottoms = 2
    exact_tops = 1
    allow_backward = False

    def size_from_param(self) -> tuple[int, int]:
        raise NotImplementedError

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        n, c, h, w = legacy4(self, bottoms[0])
        if len(bottoms) == 1:
            top_h, top_w = self.size_from_param()
        else:
            _, _, top_h, top_w = legacy4(self, bottoms[1])
        if top_h < 1 or top_w < 1:
            raise self.fail(f"must have top_height > 0 and top_width > 0 (got {top_h}x{top_w})")
        self.same_size = (h, w) == (top_h, top_w)
        return [(n, c, top_h, top_w)]

    def allow_force_backward(self, bottom_index: int) -> bool:
        return False


@register("Resample")
class ResampleLayer(_SizedBySecondBottom):
    """FlowNet's image/flow resize (``src/caffe/layers/resample_layer.cpp``/``.cu``): NEAREST, LINEAR
    or CUBIC (AREA is refused in LayerSetUp); ``resample_param.height``/``width`` or bottom 1's size.
    No blobs of its own (the GPU kernels read and write the bottom and top directly; the CPU forward
    is fatal)."""

    def size_from_param(self) -> tuple[int, int]:
        rp = self.param.resample_param
        return rp.height, rp.width

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        rp = self.param.resample_param
        if rp.type not in (rp.NEAREST, rp.LINEAR, rp.CUBIC):
            raise self.fail("only CUBIC, LINEAR and NEAREST interpolation is supported for now")
        return super().reshape(bottoms)


@register("Downsample")
class DownsampleLayer(_SizedBySecondBottom):
    """FlowNet's area downsampling (``src/caffe/layers/downsample_layer.cpp``/``.cu``):
    ``downsample_param.top_height``/``top_width`` or bottom 1's size. When that is the input's own
    size, Reshape makes the top share the bottom's data and gradient (a view, no storage). No blobs
    of its own; GPU-only code."""

    def size_from_param(self) -> tuple[int, int]:
        dp = self.param.downsample_param
        return dp.top_height, dp.top_width

    def top_data_view(self, top_index: int) -> int | None:
        return 0 if self.same_size else None

    def top_diff_view(self, top_index: int) -> int | None:
        return 0 if self.same_size else None


@register("FlowWarp")
class FlowWarpLayer(Layer):
    """FlowNet2's backward warp of an image by a flow field (``src/caffe/layers/flow_warp_layer.cpp``/``.cu``):
    image [N, C, H, W] and flow [N, 2, H, W] give a top of the image's shape.

    Memory: ``transposed_image_`` [N, H, W, C], written only by the GPU forward. Backward writes
    (or zeroes) both bottoms' gradients whatever propagate_down says.
    """

    def check_counts(self, n_bottoms: int, n_tops: int) -> None:
        # The fork declares no counts; Reshape CHECKs them.
        if n_bottoms != 2:
            raise self.fail("FlowWarpLayer takes two input blobs: image and flow.")
        if n_tops != 1:
            raise self.fail("FlowWarpLayer outputs one blob.")

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        n, c, h, w = legacy4(self, bottoms[0])
        fn, fc, fh, fw = legacy4(self, bottoms[1])
        if fn != n:
            raise self.fail(f"Num of the inputs should be the same ({bottoms[0]} vs {bottoms[1]})")
        if fc != 2:
            raise self.fail(f"Flow should have 2 channels: x-flow and y-flow (got {bottoms[1]})")
        if (fh, fw) != (h, w):
            raise self.fail(f"Width and height of the inputs should be the same ({bottoms[0]} vs {bottoms[1]})")
        return [(n, c, h, w)]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return [Buffer("transposed_image", count(bottoms[0]), "fwd")] if run.gpu else []

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return True


@register("Accum")
class AccumLayer(Layer):
    """FlowNet2's channel concatenation of blobs of different sizes (``src/caffe/layers/accum_layer.cpp``/``.cu``),
    each nearest-upsampled to the top's size. Channels add up; the size is the last bottom's with
    ``have_reference`` (its channels are not accumulated), else the largest height and width, raised
    to a multiple of ``size_divisible_by`` or to ``top_height``/``top_width`` when both of those
    exceed the largest. No blobs of its own; backward writes every accumulated bottom's gradient."""

    min_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ap = self.param.accum_param
        dims = [legacy4(self, b) for b in bottoms]
        num = dims[0][0]
        summed = dims[:-1] if ap.have_reference else dims
        if ap.have_reference and len(bottoms) < 2:
            raise self.fail("Need at least two bottom blobs (one as reference)")
        for d, b in zip(summed, bottoms, strict=False):
            if d[0] != num:
                raise self.fail(f"All accumulated layers must have same number of images (num_) ({b})")
        channels = sum(d[1] for d in summed)
        if channels < 1:
            raise self.fail("Accumulated layers must have some channels in total")
        if ap.have_reference:
            height, width = dims[-1][2], dims[-1][3]
        else:
            max_h, max_w = max(d[2] for d in dims), max(d[3] for d in dims)
            if ap.HasField("size_divisible_by"):
                if ap.size_divisible_by == 0:
                    raise self.fail("size_divisible_by must be positive (the fork divides by it)")
                top_h = _ceil_div(max_h, ap.size_divisible_by) * ap.size_divisible_by
                top_w = _ceil_div(max_w, ap.size_divisible_by) * ap.size_divisible_by
            else:
                top_h, top_w = ap.top_height, ap.top_width
            # the fork's own rule: the custom size only when it exceeds the largest bottom both ways
            height, width = (top_h, top_w) if top_h > max_h and top_w > max_w else (max_h, max_w)
        self.accumulated = len(summed)
        return [(num, channels, height, width)]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return bottom_index < self.accumulated


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# --- Spatial transformer (daerduoCarey/SpatialTransformerLayer) ------------------------------------

@register("SpatialTransformer")
class SpatialTransformerLayer(Layer):
    """The affine spatial transformer with bilinear sampling (daerduoCarey/SpatialTransformerLayer,
    ``src/caffe/layers/st_layer.cpp``/``.cu``). Bottoms: U [N, C, H, W] and theta, whose per-sample
    count plus the ``theta_*`` fixed in ``st_param`` must be six. Top: [N, C, output_H, output_W]
    (the input's H and W by default). No learnable blobs.

    Memory, with ``P = output_H * output_W``: ``output_grid`` [P, 3] filled in LayerSetUp;
    ``input_grid`` [N, P, 2] written in forward (its gradient too in the CPU backward). The GPU adds
    ``full_theta`` [N, 6] (data in forward, gradient in backward) and, in backward, ``dTheta_tmp``'s
    gradient [N, 2, 3, P * C] and ``all_ones_2`` [P * C]. The CPU backward writes both bottoms'
    gradients; the GPU one writes theta's, and U's only with ``to_compute_dU`` (default true).
    """

    exact_bottoms = 2
    exact_tops = 1

    _THETAS = ("theta_1_1", "theta_1_2", "theta_1_3", "theta_2_1", "theta_2_2", "theta_2_3")

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        sp = self.param.st_param
        if sp.transform_type != "affine":
            raise self.fail("Transformation type only supports affine now!")
        if sp.sampler_type != "bilinear":
            raise self.fail("Sampler type only supports bilinear now!")
        u, theta = bottoms
        if len(u) < 4:
            raise self.fail(f"U must have 4 axes (N, C, H, W), got {u}")
        if len(theta) < 1:
            raise self.fail("theta must have a first (batch) axis")
        fixed = sum(sp.HasField(t) for t in self._THETAS)
        if count(theta[1:]) + fixed != 6:
            raise self.fail(f"The dimension of theta is not six! Only {count(theta[1:])} + {fixed}")
        if theta[0] != u[0]:
            raise self.fail(f"The first dimension of theta and U should be the same ({theta} vs {u})")
        out_h = sp.output_H if sp.HasField("output_H") else u[2]
        out_w = sp.output_W if sp.HasField("output_W") else u[3]
        n, c = u[0], u[1]
        self.grid = out_h * out_w
        return [(n, c, out_h, out_w)]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n, c = bottoms[0][0], bottoms[0][1]
        p = self.grid
        out = [Buffer("output_grid", 3 * p, "setup"), Buffer("input_grid", n * p * 2, "fwd")]
        if run.gpu:
            out += [Buffer("full_theta", n * 6, "fwd"), Buffer("full_theta", n * 6, "bwd", diff=True),
                    Buffer("dTheta_tmp", n * 6 * p * c, "bwd", diff=True), Buffer("all_ones_2", p * c, "bwd")]
        else:
            out.append(Buffer("input_grid", n * p * 2, "bwd", diff=True))
        return out

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        if bottom_index == 0 and run.gpu:
            return self.param.st_param.to_compute_dU
        return True

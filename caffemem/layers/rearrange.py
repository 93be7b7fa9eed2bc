"""Layers that resample or reorder a blob's elements: upsampling, bilinear resize, channel shuffle,
axis permutation, layout transposes and space-to-depth.

All of them come from forks (SegNet, PSPNet/DeepLab, ShuffleNet, SSD, LSTM-CF, YOLO via intel/caffe);
each docstring names the file its shapes and allocations were read from.
"""

from __future__ import annotations

from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, count, legacy4, register


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

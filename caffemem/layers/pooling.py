"""Pooling and SPP: Caffe's ceil rounding and its pad clipping, exactly; and region-of-interest
pooling from Fast R-CNN (ROIPooling) and R-FCN (PSROIPooling)."""

from __future__ import annotations

import math

from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, count, legacy, legacy4, register
from caffemem.proto import caffe_pb2

P = caffe_pb2.PoolingParameter


def pooled_size(size: int, k: int, p: int, s: int, ceil_mode: bool, padded: bool | None = None) -> int:
    """Caffe's output size: ceil (or floor) of (size + 2p - k) / s, plus one, computed in float.

    ``padded``: whether the layer pads at all (either dimension; default: this one). Caffe then
    clips the last window of *both* dimensions so that it starts inside the image.
    """
    ratio = (size + 2 * p - k) / s
    out = (math.ceil(ratio) if ceil_mode else math.floor(ratio)) + 1
    if (p if padded is None else padded) and (out - 1) * s >= size + p:  # the last window must start inside
        out -= 1
    return out


@register("Pooling")
class PoolingLayer(Layer):
    exact_bottoms = 1
    min_tops = 1
    max_tops = 2

    def ceil_mode(self, pp: caffe_pb2.PoolingParameter) -> bool:
        """CEIL unless ``round_mode: FLOOR`` (BVLC) or ``ceil_mode: false`` (forks) says otherwise."""
        fields = pp.DESCRIPTOR.fields_by_name
        if "ceil_mode" in fields and pp.HasField("ceil_mode"):
            return bool(pp.ceil_mode)
        return pp.round_mode == P.CEIL

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        pp = self.param.pooling_param
        b = bottoms[0]
        if len(b) != 4:
            raise self.fail(f"input must have 4 axes, corresponding to (num, channels, height, width); got {b}")
        if self.n_tops == 2 and pp.pool != P.MAX:
            raise self.fail("only MAX pooling can have a mask top")
        n, c, h, w = b
        if pp.global_pooling:
            if pp.HasField("kernel_size") or pp.HasField("kernel_h") or pp.HasField("kernel_w"):
                raise self.fail("with global_pooling: true filter size cannot be specified")
            kh, kw = h, w
        else:
            if pp.HasField("kernel_size") == (pp.HasField("kernel_h") or pp.HasField("kernel_w")):
                if pp.HasField("kernel_size"):
                    raise self.fail("filter size is kernel_size OR kernel_h and kernel_w; not both")
                raise self.fail("filter size is kernel_size OR kernel_h and kernel_w; not neither")
            kh, kw = (pp.kernel_size, pp.kernel_size) if pp.HasField("kernel_size") else (pp.kernel_h, pp.kernel_w)
        if kh <= 0 or kw <= 0:
            raise self.fail("filter dimensions must be greater than zero")
        ph, pw = (pp.pad_h, pp.pad_w) if (pp.HasField("pad_h") or pp.HasField("pad_w")) else (pp.pad, pp.pad)
        sh, sw = (pp.stride_h, pp.stride_w) if (pp.HasField("stride_h") or pp.HasField("stride_w")) \
            else (pp.stride, pp.stride)
        if pp.global_pooling and (ph or pw or sh != 1 or sw != 1):
            raise self.fail("with global pooling, only pad = 0 and stride = 1 are allowed")
        if ph or pw:
            if pp.pool not in (P.AVE, P.MAX):
                raise self.fail("padding implemented only for average and max pooling")
            if ph >= kh or pw >= kw:
                raise self.fail("pad must be smaller than the kernel")
        ceil = self.ceil_mode(pp)
        oh = pooled_size(h, kh, ph, sh, ceil, bool(ph or pw))
        ow = pooled_size(w, kw, pw, sw, ceil, bool(ph or pw))
        self.kernel = (kh, kw)
        top = (n, c, oh, ow)
        return [top] * self.n_tops

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        pool = self.param.pooling_param.pool
        if pool == P.MAX and self.n_tops == 1:
            return [Buffer("max_idx", count(tops[0]), "fwd")]
        if pool == P.STOCHASTIC and run.gpu and run.phase == caffe_pb2.TRAIN:
            return [Buffer("rand_idx", count(tops[0]), "fwd")]
        return []


@register("SPP")
class SPPLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        if len(b) != 4:
            raise self.fail(f"input must have 4 axes; got {b}")
        n, c, h, w = b
        levels = self.param.spp_param.pyramid_height
        if levels <= 0:
            raise self.fail("pyramid_height must be positive")
        sizes = []
        for level in range(levels):
            bins = 2 ** level
            kh, kw = math.ceil(h / bins), math.ceil(w / bins)
            ph, pw = (kh * bins - h + 1) // 2, (kw * bins - w + 1) // 2
            if ph >= kh or pw >= kw:
                raise self.fail(f"pyramid level {level}: pad must be smaller than the kernel")
            padded = bool(ph or pw)  # its inner Pooling layer clips both dimensions then
            sizes.append((pooled_size(h, kh, ph, kh, True, padded), pooled_size(w, kw, pw, kw, True, padded)))
        self.level_sizes = sizes
        self.batch_channels = n * c
        if levels == 1:
            return [(n, c, sizes[0][0], sizes[0][1])]
        return [(n, c * sum(a * b for a, b in sizes))]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """Per level a pooled output and its MAX mask; in training, the internal split's diffs."""
        per_level = sum(self.batch_channels * h * w for h, w in self.level_sizes)
        out = [Buffer("pooled_outputs", per_level, "fwd"), Buffer("max_idx", per_level, "fwd")]
        if len(self.level_sizes) > 1:
            out.append(Buffer("concat_inputs", per_level, "fwd"))
            out.append(Buffer("split_diffs", len(self.level_sizes) * count(bottoms[0]), "bwd", diff=True))
        return out


# --- region-of-interest pooling (Fast R-CNN, R-FCN) -----------------------------------------------

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



@register("Pooling3D")
class Pooling3DLayer(Layer):
    """C3D's spatio-temporal pooling (facebookarchive/C3D ``pool3d_layer.cpp``, v1.0 and v1.1) on
    [N, C, L, H, W]: extents ceil((in + 2 pad - kernel) / stride) + 1 in height and width and
    ceil((L - kernel_depth) / temporal_stride) + 1 in time (no temporal padding, no clipping of the
    last window). v1.1 reads ``pooling3d_param``, v1.0 ``pooling_param``. MAX keeps no mask (its
    backward compares values again); only STOCHASTIC has ``rand_idx_`` (top-sized)."""

    exact_bottoms = 1
    exact_tops = 1

    def pool3d_param(self) -> caffe_pb2.Pooling3DParameter | caffe_pb2.PoolingParameter:
        if not self.param.HasField("pooling3d_param") and self.param.HasField("pooling_param"):
            if self.variant is None:
                self.choose_variant("C3D v1.0 variant (pooling_param)")
            return self.param.pooling_param
        return self.param.pooling3d_param

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        pp = self.pool3d_param()
        b = bottoms[0]
        if len(b) != 5:
            raise self.fail(f"needs a 5-D [N, C, L, H, W] bottom, got {b}")
        n, c, length, h, w = b
        k, kd, s, ts = pp.kernel_size, pp.kernel_depth, pp.stride, pp.temporal_stride
        if k <= 0 or kd <= 0 or s <= 0 or ts <= 0:
            raise self.fail("kernel_size, kernel_depth and strides must be positive")
        if pp.pad and pp.pool != caffe_pb2.PoolingParameter.AVE:
            raise self.fail("Padding implemented only for average pooling.")

        def ceil_div(a: int, d: int) -> int:
            return -(-a // d)

        ho = ceil_div(h + 2 * pp.pad - k, s) + 1
        wo = ceil_div(w + 2 * pp.pad - k, s) + 1
        lo = ceil_div(length - kd, ts) + 1
        if min(lo, ho, wo) <= 0:
            raise self.fail(f"kernel {kd}x{k}x{k} larger than the input {b}")
        return [(n, c, lo, ho, wo)]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        if self.pool3d_param().pool == caffe_pb2.PoolingParameter.STOCHASTIC:
            return [Buffer("rand_idx", count(tops[0]), "fwd")]
        return []

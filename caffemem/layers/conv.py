"""Convolution-like layers: Convolution, Deconvolution, Im2col (Caffe's ``BaseConvolutionLayer``),
and the forks' depthwise convolutions and DeepLab's ``hole`` convolution.

Fork types follow the fork that defines them; each class docstring names the source file its
shapes and allocations were read from.
"""

from __future__ import annotations

from dataclasses import dataclass

from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, canonical_axis, count, legacy, legacy4, register
from caffemem.proto import caffe_pb2


@dataclass(frozen=True)
class ConvGeometry:
    """Kernel, stride, pad and dilation per spatial axis, read as ``BaseConvolutionLayer`` does."""

    axis: int
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pad: tuple[int, ...]
    dilation: tuple[int, ...]

    @property
    def is_1x1(self) -> bool:
        return all(k == 1 for k in self.kernel) and all(s == 1 for s in self.stride) \
            and all(p == 0 for p in self.pad)


def conv_geometry(layer: Layer, cp: caffe_pb2.ConvolutionParameter, bottom: Shape) -> ConvGeometry:
    axis = canonical_axis(cp.axis, len(bottom), layer.name)
    n = len(bottom) - axis - 1
    if n < 1:
        raise layer.fail(f"bottom {bottom} has no spatial axes after axis {axis}")

    def per_axis(values: list[int], h: int | None, w: int | None, what: str, default: int) -> tuple[int, ...]:
        if h is not None or w is not None:
            if n != 2:
                raise layer.fail(f"{what}_h & {what}_w can only be used for 2D convolution")
            if values:
                raise layer.fail(f"either {what} or {what}_h/w should be specified; not both")
            return (h or 0, w or 0)
        if not values:
            return (default,) * n
        if len(values) not in (1, n):
            raise layer.fail(f"{what} must be specified once, or once per spatial dimension "
                             f"({what} specified {len(values)} times; {n} spatial dims)")
        return tuple(values) if len(values) == n else (values[0],) * n

    def hw(name: str) -> tuple[int | None, int | None]:
        h = getattr(cp, f"{name}_h") if cp.HasField(f"{name}_h") else None
        w = getattr(cp, f"{name}_w") if cp.HasField(f"{name}_w") else None
        return h, w

    kernel = per_axis(list(cp.kernel_size), *hw("kernel"), what="kernel_size", default=0)
    if any(k <= 0 for k in kernel):
        raise layer.fail("filter dimensions must be nonzero")
    stride = per_axis(list(cp.stride), *hw("stride"), what="stride", default=1)
    if any(s <= 0 for s in stride):
        raise layer.fail("stride dimensions must be nonzero")
    pad = per_axis(list(cp.pad), *hw("pad"), what="pad", default=0)
    dil = list(cp.dilation)
    if dil and len(dil) not in (1, n):
        raise layer.fail("dilation must be specified once, or once per spatial dimension")
    dilation = tuple(dil) if len(dil) == n else ((dil[0],) * n if dil else (1,) * n)
    return ConvGeometry(axis, kernel, stride, pad, dilation)


class ConvolutionBase(Layer):
    """Shapes and parameters shared by convolution and deconvolution."""

    min_bottoms = 1
    min_tops = 1
    deconv = False

    def conv_param(self) -> caffe_pb2.ConvolutionParameter:
        return self.param.convolution_param

    def out_dim(self, size: int, k: int, s: int, p: int, d: int) -> int:
        extent = d * (k - 1) + 1
        if self.deconv:
            return s * (size - 1) + extent - 2 * p
        return (size + 2 * p - extent) // s + 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.conv_param()
        if self.n_tops != len(bottoms):
            raise self.fail(f"number of bottom and top blobs must be equal ({len(bottoms)} vs {self.n_tops})")
        first = bottoms[0]
        g = conv_geometry(self, cp, first)
        self.geometry = g
        channels = first[g.axis]
        group = cp.group
        num_output = cp.num_output
        if num_output <= 0:
            raise self.fail("num_output must be positive")
        if channels % group:
            raise self.fail(f"input channels ({channels}) must be divisible by group ({group})")
        if num_output % group:
            raise self.fail(f"num_output ({num_output}) must be divisible by group ({group})")
        for b in bottoms[1:]:
            if b != first:
                raise self.fail(f"all inputs must have the same shape ({first} vs {b})")
        if self.deconv:
            weight: Shape = (channels, num_output // group, *g.kernel)
        else:
            weight = (num_output, channels // group, *g.kernel)
        self.blobs = [weight] + ([(num_output,)] if cp.bias_term else [])
        spatial = first[g.axis + 1:]
        out = tuple(self.out_dim(size, k, s, p, d)
                    for size, k, s, p, d in zip(spatial, g.kernel, g.stride, g.pad, g.dilation, strict=True))
        if any(o <= 0 for o in out):
            raise self.fail(f"output size {out} is not positive for input {first}")
        self.input_shape = first
        self.output_spatial = out
        top = (*first[:g.axis], num_output, *out)
        return [top for _ in bottoms]

    def col_buffer_count(self) -> int:
        """Elements of the per-image im2col buffer (``col_buffer_``)."""
        g = self.geometry
        k = count(g.kernel)
        if self.deconv:
            return self.conv_param().num_output * k * count(self.input_shape[g.axis + 1:])
        return self.input_shape[g.axis] * k * count(self.output_spatial)


    def uses_cudnn(self, run: RunInfo) -> bool:
        """cuDNN builds pick cuDNN for DEFAULT-engine convolutions without dilation."""
        engine = self.conv_param().engine
        if not (run.gpu and run.cudnn) or engine == caffe_pb2.ConvolutionParameter.CAFFE:
            return False
        return all(d == 1 for d in self.geometry.dilation) or engine == caffe_pb2.ConvolutionParameter.CUDNN

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        out: list[Buffer] = []
        if self.conv_param().bias_term:
            out_spatial = count(tops[0][self.geometry.axis + 1:])
            out.append(Buffer("bias_multiplier", out_spatial, "setup"))
        col = self.col_buffer_count()
        if self.uses_cudnn(run):
            group = self.conv_param().group
            # [estimate] cuDNN picks algorithms under an 8 MiB limit per call; three calls per group
            # (fwd, bwd data, bwd filter). Implicit-GEMM style algorithms need about a column buffer.
            per_call = min(8 * 1024 * 1024 // 4, max(1, col // group))
            out.append(Buffer("cudnn_workspace", 3 * group * per_call, "setup", category="cudnn_workspace"))
            return out
        # A 1x1 kernel's gemm reads and writes the blobs themselves: its data gradient takes
        # mutable_*_data() of the column buffer but never writes it. On the CPU an unwritten
        # allocation is never resident; on the GPU cudaMalloc commits it.
        if self.deconv or not self.geometry.is_1x1:
            out.append(Buffer("col_buffer", col, "fwd"))
        elif run.gpu and run.backward and any(run.propagate_down):
            out.append(Buffer("col_buffer", col, "bwd"))
        return out

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        # Caffe's Backward (convolution and deconvolution alike) takes mutable_*_diff() of the
        # bottom whenever the weights learn, but writes it only when it propagates down: on the
        # CPU an allocation never written is never resident (measured:
        # tests/memory/cases/conv-*-bottom-diff); on the GPU cudaMalloc commits it (cuDNN's
        # Backward takes it only when it propagates down).
        if run.gpu and not self.uses_cudnn(run):
            return run.propagate_down[bottom_index] or bool(run.param_propagate[:1] and run.param_propagate[0])
        return run.propagate_down[bottom_index]


@register("Convolution")
class ConvolutionLayer(ConvolutionBase):
    pass


@register("Deconvolution")
class DeconvolutionLayer(ConvolutionBase):
    deconv = True


@register("Im2col")
class Im2colLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        g = conv_geometry(self, self.param.convolution_param, b)
        channels = b[g.axis]
        out = tuple((size + 2 * p - (d * (k - 1) + 1)) // s + 1 for size, k, s, p, d in
                    zip(b[g.axis + 1:], g.kernel, g.stride, g.pad, g.dilation, strict=True))
        return [(*b[:g.axis], channels * count(g.kernel), *out)]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return True


# --- depthwise and DeepLab convolutions (forks) ---------------------------------------------------

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



# --- C3D's 3-D convolution --------------------------------------------------------------------------

@register("Convolution3D")
class Convolution3DLayer(Layer):
    """C3D's spatio-temporal convolution (facebookarchive/C3D ``convolution3d_layer.cpp``, v1.0 and
    v1.1) on [N, C, L, H, W] blobs: one kernel_size for height and width, ``kernel_depth`` in time.

    v1.1 reads ``convolution3d_param``; v1.0 (V1 files, ``type: CONVOLUTION3D``) the same fields in
    ``convolution_param``: the message present picks the variant. Output extents are
    (in + 2 pad - kernel) / stride + 1 (floor). Weights [num_output, C, kd, k, k] whatever
    ``filter_group`` is; bias [1, 1, 1, 1, num_output]. Memory: a one-clip ``col_buffer_``
    [C kd k k, L', H', W'] (vol2col on every forward) and ``bias_multiplier_`` [L' H' W'] at set-up;
    C3D has no cuDNN path for it.
    """

    exact_bottoms = 1
    exact_tops = 1

    def conv3d_param(self) -> caffe_pb2.Convolution3DParameter | caffe_pb2.ConvolutionParameter:
        if not self.param.HasField("convolution3d_param") and self.param.HasField("convolution_param"):
            if self.variant is None:
                self.choose_variant("C3D v1.0 variant (convolution_param)")
            return self.param.convolution_param
        return self.param.convolution3d_param

    def spatial(self) -> tuple[int, int, int]:
        """(kernel_size, pad, stride): plain numbers in C3D's messages, repeated fields in BVLC's
        ``convolution_param`` that C3D v1.0 files fill once."""
        cp = self.conv3d_param()
        if isinstance(cp, caffe_pb2.ConvolutionParameter):
            return (cp.kernel_size[0] if cp.kernel_size else 0, cp.pad[0] if cp.pad else 0,
                    cp.stride[0] if cp.stride else 1)
        return cp.kernel_size, cp.pad, cp.stride

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.conv3d_param()
        b = bottoms[0]
        if len(b) != 5:
            raise self.fail(f"needs a 5-D [N, C, L, H, W] bottom, got {b}")
        n, c, length, h, w = b
        k, pad, stride = self.spatial()
        kd = cp.kernel_depth
        if cp.num_output <= 0 or k <= 0 or kd <= 0 or stride <= 0 or cp.temporal_stride <= 0:
            raise self.fail("num_output, kernel_size, kernel_depth and strides must be positive")
        if cp.num_output % cp.filter_group:
            raise self.fail("num_output must be divisible by filter_group")
        lo = (length + 2 * cp.temporal_pad - kd) // cp.temporal_stride + 1
        ho = (h + 2 * pad - k) // stride + 1
        wo = (w + 2 * pad - k) // stride + 1
        if min(lo, ho, wo) <= 0:
            raise self.fail(f"kernel {kd}x{k}x{k} larger than the padded input {b}")
        self.out_spatial = lo * ho * wo
        self.col = c * kd * k * k * self.out_spatial
        self.blobs = [(cp.num_output, c, kd, k, k)] + ([(1, 1, 1, 1, cp.num_output)] if cp.bias_term else [])
        return [(n, cp.num_output, lo, ho, wo)]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        out = [Buffer("col_buffer", self.col, "fwd")]
        if self.conv3d_param().bias_term:
            out.append(Buffer("bias_multiplier", self.out_spatial, "setup"))
        return out


# --- FlowNet's correlations (lmb-freiburg/flownet2) ---------------------------------------------

def _ceil_div(a: int, b: int) -> int:
    """``ceil((float)a / (float)b)`` as FlowNet computes its output sizes (exact for blob sizes)."""
    return -(-a // b)


@register("Correlation")
class CorrelationLayer(Layer):
    """FlowNet's 2-D correlation of two feature maps (``src/caffe/layers/correlation_layer.cpp``/``.cu``).

    Both bottoms [N, C, H, W] (legacy accessors) must agree. With border ``b = max_displacement +
    (kernel_size - 1) / 2`` and grid radius ``r = max_displacement / stride_2``, the top is
    [N, (2r + 1)^2, ceil((H + 2 pad - 2b) / stride_1), likewise for W]. No learnable blobs.

    Memory: Reshape makes ``rbot1_``/``rbot2_``, padded channel-last copies of the bottoms
    [N, H + 2 pad, W + 2 pad, C], which only the GPU forward writes; ``rtopdiff_`` is shaped but never
    touched. The CPU path is NOT_IMPLEMENTED, so the layer is costed as on the GPU. Backward writes
    both bottoms' gradients whatever propagate_down says.
    """

    exact_bottoms = 2
    exact_tops = 1
    one_dimensional = False

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.param.correlation_param
        if not cp.HasField("kernel_size"):
            raise self.fail("Filter kernel_size is not set")
        if not cp.HasField("max_displacement"):
            raise self.fail("Max displacement is required.")
        if cp.kernel_size % 2 == 0:
            raise self.fail("Odd kernel size required")
        if self.one_dimensional and not -1 <= cp.single_direction <= 1:
            raise self.fail("single_direction must be -1 (left), 0 (off), or 1 (right)")
        if cp.stride_1 == 0 or cp.stride_2 == 0:
            raise self.fail("stride_1 and stride_2 must be positive (the fork divides by them)")
        n, c, h, w = legacy4(self, bottoms[0])
        _, c2, h2, w2 = legacy4(self, bottoms[1])
        if w != w2:
            raise self.fail("Both bottom blobs must have same width")
        if h != h2:
            raise self.fail("Both bottom blobs must have same height")
        if c != c2:
            raise self.fail("Both bottom blobs must have same number of channels")
        kernel_radius = (cp.kernel_size - 1) // 2
        border = cp.max_displacement + kernel_radius
        padded_w = w + 2 * cp.pad
        radius = cp.max_displacement // cp.stride_2
        if self.one_dimensional:
            padded_h = h
            top_h = _ceil_div(padded_h - 2 * kernel_radius, cp.stride_1)
            channels = radius + 1 if cp.single_direction else 2 * radius + 1
        else:
            padded_h = h + 2 * cp.pad
            top_h = _ceil_div(padded_h - 2 * border, cp.stride_1)
            channels = (2 * radius + 1) ** 2
        top_w = _ceil_div(padded_w - 2 * border, cp.stride_1)
        if top_w < 1 or top_h < 1:
            raise self.fail("Correlation cannot be done with current settings. Neighborhood and kernel "
                            f"don't fit in blob (top {top_h}x{top_w} for bottoms {bottoms[0]})")
        self.padded = n * padded_h * padded_w * c
        return [(n, channels, top_h, top_w)]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return [Buffer("rbot1", self.padded, "fwd"), Buffer("rbot2", self.padded, "fwd")]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return True


@register("Correlation1D")
class Correlation1DLayer(CorrelationLayer):
    """FlowNet's horizontal correlation (``src/caffe/layers/correlation_layer1d.cpp``/``.cu``), for
    disparity: only the width is padded and displaced. The top is [N, D, ceil((H - 2k) / stride_1),
    ceil((W + 2 pad - 2b) / stride_1)] with ``k = (kernel_size - 1) / 2``, ``D = r + 1`` when
    ``single_direction`` is -1 or 1, else ``2r + 1``. Memory as Correlation's, with ``rbot1_``/``rbot2_``
    [N, H, W + 2 pad, C] (GPU-only code)."""

    one_dimensional = True


# --- Ristretto (pmgysel/caffe): quantized convolutions ---------------------------------------------

def ristretto_precision(layer: Layer) -> None:
    """Ristretto's constructors refuse a precision they do not know (``Unknown precision mode``)."""
    precision = layer.param.quantization_param.precision
    if precision not in caffe_pb2.QuantizationParameter.Precision.values():
        raise layer.fail(f"Unknown precision mode: {precision}")


def quantized_copies(layer: Layer) -> list[Buffer]:
    """``weights_quantized_``: Ristretto's forward quantizes a copy of every parameter blob (the
    float blobs stay the learnable ones, so the copies come on top of them); the inputs are
    quantized in place."""
    return [Buffer(f"weights_quantized_{i}", count(shape), "fwd") for i, shape in enumerate(layer.blobs)]


@register("ConvolutionRistretto")
class ConvolutionRistrettoLayer(ConvolutionBase):
    """Ristretto's quantized convolution (``src/caffe/ristretto/layers/conv_ristretto_layer.cpp``):
    a ``ConvolutionLayer`` built directly, so always Caffe's engine (never cuDNN), with Convolution's
    shapes and parameters plus the quantized parameter copies (:func:`quantized_copies`)."""

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ristretto_precision(self)
        return super().reshape(bottoms)

    def uses_cudnn(self, run: RunInfo) -> bool:
        return False

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return super().buffers(bottoms, tops, run) + quantized_copies(self)


@register("DeconvolutionRistretto")
class DeconvolutionRistrettoLayer(ConvolutionRistrettoLayer):
    """Ristretto's quantized deconvolution (``deconv_ristretto_layer.cpp``): Deconvolution's shapes,
    Caffe's engine, plus the quantized parameter copies."""

    deconv = True


# --- DenseBlock (Tongcheng/caffe's memory-efficient DenseNet block, as in senlinuc/caffe_ocr) -----

@register("DenseBlock")
class DenseBlockLayer(Layer):
    """A whole DenseNet block in one layer: ``numTransition`` times BN-ReLU-[Conv1x1-BN-ReLU]-Conv3x3,
    each step appending ``growthRate`` channels (senlinuc/caffe_ocr, ``src/caffe/layers/
    DenseBlock_layer.cpp``/``.cu``; the OCR fork reads the initial channel count from the bottom,
    not ``initChannel``).

    Shape: bottom ``[N, C0, H, W]`` (read by index: 4 axes), top ``[N, C0 + T g, H, W]``. The
    convolutions are always 3x3 with pad 1 and stride 1 (``filter_H``, ``pad_h``, the strides are
    read but unused). With C_i = C0 + i g, the parameters are, per transition i, the 3x3 filter
    [g, C_i, 3, 3] (BC: [g, 4g, 3, 3]), BN scale, bias, global mean and variance [1, C_i, 1, 1] each;
    with ``use_BC`` also the 1x1 filter [4g, C_i, 1, 1] and the bottleneck BN's four [1, 4g, 1, 1]
    blobs; and one scalar (the moving-average factor). LayerSetUp writes its own param specs (mean,
    variance and the scalar get lr_mult 0) and CHECK-fails ("Nope") when the prototxt gives any.

    Memory differs by device, because the two paths are separate code:

    - GPU (every non-CPU_ONLY build, at set-up): six shared buffers of the whole output's size
      (data and gradient after conv, BN and ReLU; eight with dropout) that every transition works
      in, two cuDNN workspaces of ``workspace_MB`` each, per transition the saved mean and inverse
      variance [C_i], the final-size mean/variance scratch [C_T] x 2; with BC five [N, 4g, H, W]
      buffers (six when ultra space efficient) plus, when not, one per transition, and four [4g]
      per transition. cuDNN's dropout states and reserve spaces (``use_dropout``) are sized by cuDNN
      and not counted.
    - CPU (at the first forward): one blob per intermediate of every transition, allocated lazily
      as Forward and Backward touch them (see :meth:`buffers`); no dropout.
    """

    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        if len(b) != 4:
            raise self.fail(f"needs a 4-D bottom [N, C, H, W] (it reads shape()[0], [2], [3]); got {b}")
        dp = self.param.denseblock_param
        t, g = dp.numTransition, dp.growthRate
        if t <= 0 or g <= 0:
            raise self.fail(f"numTransition ({t}) and growthRate ({g}) must be positive")
        if len(self.param.param):
            raise self.fail("Nope: DenseBlock sets its own param specs; remove the layer's param { } blocks")
        n, c0, h, w = b
        self.dims = (n, c0, h, w, t, g)
        chans = [c0 + i * g for i in range(t)]
        bc = dp.use_BC
        filters: list[Shape] = [(g, 4 * g if bc else c, 3, 3) for c in chans]
        bn: list[Shape] = [(1, c, 1, 1) for c in chans]
        blobs = filters + bn * 4
        if bc:
            quad: list[Shape] = [(1, 4 * g, 1, 1)] * t
            blobs += [(4 * g, c, 1, 1) for c in chans] + quad * 4
        self.blobs = blobs + [(1,)]
        frozen = (lambda i: 3 * t <= i < 5 * t or i >= 8 * t) if bc else (lambda i: i >= 3 * t)
        specs = []
        for i in range(len(self.blobs)):
            spec = caffe_pb2.ParamSpec()
            spec.lr_mult = spec.decay_mult = 0.0 if frozen(i) else 1.0
            specs.append(spec)
        self.param_specs = specs
        if dp.use_dropout:
            self.ctx.warn(f"DenseBlock '{self.name}': use_dropout: cuDNN's dropout states and reserve spaces "
                          "(GPU) are sized by cuDNN and not counted")
        return [(n, c0 + t * g, h, w)]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n, c0, h, w, t, g = self.dims
        dp = self.param.denseblock_param
        p = h * w
        chans = [c0 + i * g for i in range(t)]
        full = n * (c0 + t * g) * p
        quad = n * 4 * g * p
        if run.gpu:
            shared = (8 if dp.use_dropout else 6) * full
            out = [Buffer("shared_transition_buffers", shared, "setup"),
                   Buffer("cudnn_workspaces", 2 * dp.workspace_MB * 1024 * 1024 // 4, "setup"),
                   Buffer("saved_mean_inv_variance", 2 * sum(chans), "setup"),
                   Buffer("mean_var_tmp", 2 * (c0 + t * g), "setup")]
            if dp.use_BC:
                # ultra space efficient: one more shared 1x1 output; otherwise one per transition
                bottleneck = 6 if dp.BC_ultra_space_efficient else 5 + t
                out += [Buffer("bottleneck_buffers", bottleneck * quad, "setup"),
                        Buffer("bottleneck_stats", t * 4 * 4 * g, "setup")]
            return out
        # CPU: merged_conv[0..T] get data in forward (the input copy, then each concatenation);
        # per transition the BN output and the ReLU output [N, C_i, H, W] and the conv output
        # [N, g, H, W]; in training the BN's x-hat [N, C_i, H, W] and batch mean/variance [C_i].
        merged = sum(n * c * p for c in chans) + full
        steps = sum(2 * n * c * p for c in chans) + t * n * g * p
        train = run.phase == caffe_pb2.TRAIN
        stats = sum(n * c * p + 2 * c for c in chans) if train else 0
        bc_data = t * ((4 if train else 3) * quad + (8 * g if train else 0)) if dp.use_BC else 0
        out = [Buffer("merged_conv", merged, "fwd"), Buffer("transition_blobs", steps + stats + bc_data, "fwd")]
        if not train:
            # [measured from the source] the inference BN allocates two [C] blobs per call and never
            # frees them: this is one forward's worth; the leak grows with every forward.
            leak = 2 * sum(chans) + (t * 8 * g if dp.use_BC else 0)
            out.append(Buffer("inference_bn_leak", leak, "fwd"))
        # Backward: every blob's gradient (merged_conv[T] first, from the top's), the batch
        # statistics' gradients, and with BC the four bottleneck blobs' gradients and statistics'.
        grads = merged + steps + stats + (t * (4 * quad + 8 * g) if dp.use_BC else 0)
        out.append(Buffer("transition_blobs", grads, "bwd", diff=True))
        return out

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """Both Backwards copy the block's input gradient out unconditionally ("always propagate
        down")."""
        return True

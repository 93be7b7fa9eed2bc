"""Convolution-like layers: Convolution, Deconvolution, Im2col (Caffe's ``BaseConvolutionLayer``)."""

from __future__ import annotations

from dataclasses import dataclass

from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, canonical_axis, count, register
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

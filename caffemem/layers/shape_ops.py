"""Layers that move, join, cut or reduce blobs without learnable weights (SENet's Axpy, which
joins three blobs like an Eltwise, included)."""

from __future__ import annotations

from caffemem.layers.registry import INTERNAL, Buffer, Layer, RunInfo, Shape, canonical_axis, count, register
from caffemem.proto import caffe_pb2


@register("Split")
class SplitLayer(Layer):
    exact_bottoms = 1
    min_tops = 1
    forbid_inplace = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        return [bottoms[0]] * self.n_tops

    def top_data_view(self, top_index: int) -> int | None:
        return 0  # Forward does ShareData(bottom); each top keeps its own gradient


class ViewLayer(Layer):
    """A top that is the bottom under another shape: shares both data and gradient storage."""

    def top_data_view(self, top_index: int) -> int | None:
        return 0

    def top_diff_view(self, top_index: int) -> int | None:
        return 0


@register("Concat")
class ConcatLayer(Layer):
    def top_data_view(self, top_index: int) -> int | None:
        return 0 if self.n_bottoms == 1 else None

    top_diff_view = top_data_view

    min_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.param.concat_param
        first = bottoms[0]
        if "per_fla_fuse" in cp.DESCRIPTOR.fields_by_name and cp.per_fla_fuse:
            # Intel Caffe fuses SSD's Permute + Flatten into the Concat: every bottom is flattened
            # from axis 1 (in NHWC order) and the top is [N, sum of counts, 1, 1].
            if any(b[0] != first[0] for b in bottoms):
                raise self.fail("fused permute/flatten concat needs the same batch on every bottom")
            return [(first[0], sum(count(b[1:]) for b in bottoms), 1, 1)]
        if cp.HasField("concat_dim") and cp.HasField("axis"):
            raise self.fail("either axis or concat_dim should be specified; not both")
        axis = cp.concat_dim if cp.HasField("concat_dim") else canonical_axis(cp.axis, len(first), self.name)
        if axis >= len(first):
            raise self.fail(f"concat axis {axis} out of range for {first}")
        total = 0
        for i, b in enumerate(bottoms):
            if len(b) != len(first):
                raise self.fail(f"all inputs must have the same number of axes (bottom {i}: {b} vs {first})")
            for j, (x, y) in enumerate(zip(b, first, strict=True)):
                if j != axis and x != y:
                    raise self.fail(f"all inputs must have the same shape, except at concat_axis "
                                    f"{axis} (bottom {i}: {b} vs bottom 0: {first})")
            total += b[axis]
        return [(*first[:axis], total, *first[axis + 1:])]


@register("Slice")
class SliceLayer(Layer):
    def top_data_view(self, top_index: int) -> int | None:
        return 0 if self.n_tops == 1 else None

    top_diff_view = top_data_view

    exact_bottoms = 1
    min_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        sp = self.param.slice_param
        b = bottoms[0]
        axis = sp.slice_dim if sp.HasField("slice_dim") else canonical_axis(sp.axis, len(b), self.name)
        size = b[axis]
        points = list(sp.slice_point)
        if points:
            if len(points) != self.n_tops - 1:
                raise self.fail(f"{len(points)} slice points for {self.n_tops} tops")
            if any(p2 <= p1 for p1, p2 in zip(points, points[1:], strict=False)) or points[-1] >= size \
                    or points[0] <= 0:
                raise self.fail(f"slice points {points} do not cut axis {axis} of size {size}")
            sizes = [p2 - p1 for p1, p2 in zip([0, *points], [*points, size], strict=True)]
        else:
            if size % self.n_tops:
                raise self.fail(f"axis {axis} of size {size} cannot be split evenly into {self.n_tops} tops")
            sizes = [size // self.n_tops] * self.n_tops
        return [(*b[:axis], s, *b[axis + 1:]) for s in sizes]


@register("Flatten")
class FlattenLayer(ViewLayer):
    exact_bottoms = 1
    exact_tops = 1
    forbid_inplace = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        fp = self.param.flatten_param
        b = bottoms[0]
        start = canonical_axis(fp.axis, len(b), self.name)
        end = canonical_axis(fp.end_axis, len(b), self.name)
        return [(*b[:start], count(b[start:end + 1]), *b[end + 1:])]


@register("Reshape")
class ReshapeLayer(ViewLayer):
    exact_bottoms = 1
    exact_tops = 1
    forbid_inplace = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        rp = self.param.reshape_param
        b = bottoms[0]
        dims = list(rp.shape.dim)
        n = len(b)
        start = rp.axis if rp.axis >= 0 else n + rp.axis + 1
        if not 0 <= start <= n:
            raise self.fail(f"axis {rp.axis} out of range for {b}")
        if rp.num_axes < -1:
            raise self.fail("num_axes must be >= 0, or -1 for all")
        end = n if rp.num_axes == -1 else start + rp.num_axes
        if end > n:
            raise self.fail(f"axis + num_axes exceeds the bottom's {n} axes")
        if sum(1 for d in dims if d == -1) > 1:
            raise self.fail("new shape contains multiple -1 dims")
        top = list(b[:start])
        for i, d in enumerate(dims):
            if d == 0:
                if start + i >= n:
                    raise self.fail(f"copy axis {start + i} out of range")
                top.append(b[start + i])
            else:
                top.append(d)
        top.extend(b[end:])
        if -1 in top:
            known = count([d for d in top if d != -1])
            if known == 0 or count(b) % known:
                raise self.fail(f"bottom count {count(b)} not divisible by the product of the new dims {known}")
            top[top.index(-1)] = count(b) // known
        if count(top) != count(b):
            raise self.fail(f"output count {count(top)} must match input count {count(b)} ({b} -> {top})")
        return [tuple(top)]


@register("Crop")
class CropLayer(Layer):
    exact_bottoms = 2
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.param.crop_param
        a, ref = bottoms
        if len(a) != len(ref):
            raise self.fail(f"bottoms must have the same number of axes ({a} vs {ref})")
        axis = canonical_axis(cp.axis, len(a), self.name)
        offsets = list(cp.offset)
        n_crop = len(a) - axis
        if offsets and len(offsets) not in (1, n_crop):
            raise self.fail("number of offset values must be 1 or the number of cropped axes")
        top = list(a)
        for i in range(axis, len(a)):
            off = offsets[0] if len(offsets) == 1 else (offsets[i - axis] if offsets else 0)
            if a[i] - off < ref[i]:
                raise self.fail(f"invalid crop: axis {i} of size {a[i]} with offset {off} is smaller "
                                f"than the reference size {ref[i]}")
            top[i] = ref[i]
        return [tuple(top)]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return bottom_index == 0


@register("Eltwise")
class EltwiseLayer(Layer):
    min_bottoms = 2
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ep = self.param.eltwise_param
        if ep.coeff and len(ep.coeff) != len(bottoms):
            raise self.fail("Eltwise layer takes one coefficient per bottom blob")
        if ep.coeff and ep.operation != caffe_pb2.EltwiseParameter.SUM:
            raise self.fail("Eltwise layer only takes coefficients for summation")
        for i, b in enumerate(bottoms[1:], 1):
            if count(b) != count(bottoms[0]):
                raise self.fail(f"bottom {i} {b} does not match bottom 0 {bottoms[0]}")
        return [bottoms[0]]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        if self.param.eltwise_param.operation == caffe_pb2.EltwiseParameter.MAX:
            return [Buffer("max_idx", count(tops[0]), "fwd")]
        return []


@register("Silence")
class SilenceLayer(Layer):
    min_bottoms = 1
    exact_tops = 0

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        return []


@register("HDF5Output")
class HDF5OutputLayer(Layer):
    exact_bottoms = 2
    exact_tops = 0

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        return []


@register("Tile")
class TileLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        tp = self.param.tile_param
        b = list(bottoms[0])
        axis = canonical_axis(tp.axis, len(b), self.name)
        if tp.tiles <= 0:
            raise self.fail("number of tiles must be positive")
        b[axis] *= tp.tiles
        return [tuple(b)]


@register("Reduction")
class ReductionLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        axis = canonical_axis(self.param.reduction_param.axis, len(b), self.name) if b else 0
        self.reduced = count(b[axis:])
        return [b[:axis]]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        op = self.param.reduction_param.operation
        if op in (caffe_pb2.ReductionParameter.SUM, caffe_pb2.ReductionParameter.MEAN):
            return [Buffer("sum_multiplier", self.reduced, "setup")]
        return []


@register("ArgMax")
class ArgMaxLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        ap = self.param.argmax_param
        b = bottoms[0]
        if ap.HasField("axis"):
            axis = canonical_axis(ap.axis, len(b), self.name)
            if ap.top_k > b[axis]:
                raise self.fail("top_k must be less than or equal to the dimension of the axis")
            top = list(b)
            top[axis] = ap.top_k
            return [tuple(top)]
        if ap.top_k > count(b[1:]):
            raise self.fail("top_k must be less than or equal to the number of classes")
        top = [1] * max(len(b), 3)
        top[0] = b[0]
        top[2] = ap.top_k
        if ap.out_max_val:
            top[1] = 2
        return [tuple(top)]


@register("BatchReindex")
class BatchReindexLayer(Layer):
    exact_bottoms = 2
    exact_tops = 1

    def allow_force_backward(self, bottom_index: int) -> bool:
        return bottom_index == 0

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        data, index = bottoms
        if len(index) != 1:
            raise self.fail(f"index must be one-dimensional, got {index}")
        return [(index[0], *data[1:])]


@register("Filter")
class FilterLayer(Layer):
    min_bottoms = 2
    min_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if len(bottoms) != self.n_tops + 1:
            raise self.fail("Filter needs one more bottom (the selector, last) than tops")
        selector = bottoms[-1]
        for b in bottoms[:-1]:
            if b[0] != selector[0]:
                raise self.fail(f"selector {selector} and bottom {b} must have the same first dimension")
        self.ctx.warn(f"layer '{self.name}' (Filter): top shapes are the full batch as at set-up; after each "
                      "forward the first dimension is the number of selected items")
        return list(bottoms[:-1])


@register("Parameter")
class ParameterLayer(Layer):
    exact_bottoms = 0
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        shape = tuple(self.param.parameter_param.shape.dim)
        self.blobs = [shape]
        return [shape]

    def top_data_view(self, top_index: int) -> int | None:
        return INTERNAL  # the top shares the parameter blob

    top_diff_view = top_data_view


# --- fork element-wise combinations ---------------------------------------------------------------

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



@register("ContinuationIndicator")
class ContinuationIndicatorLayer(Layer):
    """The LSTM continuation blob of the OCR forks (senlinuc/caffe_ocr
    ``continuation_indicator_layer.cpp``): [time_step, batch_size], 0 at t = 0 and 1 after. An
    optional bottom only flags sequences that continue. ``--batch`` replaces ``batch_size``, as it
    replaces the data layers' batch size that this one must match."""

    min_bottoms = 0
    max_bottoms = 1
    exact_tops = 1
    empty_backward = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        cp = self.param.continuation_indicator_param
        batch = self.ctx.options.batch if self.ctx.options.batch is not None else cp.batch_size
        if batch <= 0:
            raise self.fail("The batch size should be greater than 0.")
        if cp.time_step <= 0:
            raise self.fail("The time step should be greater than 0.")
        return [(cp.time_step, batch)]


@register("MatWrite")
class MatWriteLayer(Layer):
    """DeepLab's feature dump (deeplab-public ``mat_write_layer.cpp``): every ``period`` iterations it
    writes each bottom to a .mat file (``Blob::ToMat``). No tops, no buffers, no backward."""

    min_bottoms = 1
    exact_tops = 0
    empty_backward = True

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if self.param.mat_write_param.period <= 0:
            raise self.fail("period must be positive")
        return []

"""Normalisation and affine layers: BatchNorm, LRN, MVN, Scale, Bias."""

from __future__ import annotations

from caffemem.layers.registry import Layer, Shape, canonical_axis, register
from caffemem.proto import caffe_pb2


@register("BatchNorm")
class BatchNormLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        channels = b[1] if len(b) > 1 else 1
        self.blobs = [(channels,), (channels,), (1,)]
        # Caffe masks the statistics from the solver: it adds lr_mult 0 specs to its own copy of the
        # param, and refuses any spec with a nonzero lr_mult.
        specs = []
        for i in range(3):
            spec = caffe_pb2.ParamSpec()
            if i < len(self.param.param):
                spec.CopyFrom(self.param.param[i])
                if spec.lr_mult != 0:
                    raise self.fail("Cannot configure batch normalization statistics as layer parameters "
                                    f"(param {i} has lr_mult {spec.lr_mult})")
            spec.lr_mult = 0
            specs.append(spec)
        self.param_specs = specs
        return [b]


@register("LRN")
class LRNLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        if len(b) != 4:
            raise self.fail(f"input must have 4 axes, corresponding to (num, channels, height, width); got {b}")
        if self.param.lrn_param.local_size % 2 == 0:
            raise self.fail("LRN only supports odd values for local_size")
        return [b]


@register("MVN")
class MVNLayer(Layer):
    exact_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        b = bottoms[0]
        # Caffe reshapes the top with the legacy 4-D accessors, so 2-D inputs come out as N D 1 1.
        legacy = tuple(b[i] if i < len(b) else 1 for i in range(4))
        if len(b) > 4:
            raise self.fail("MVN needs at most 4 axes")
        return [legacy]


def affine_param_shape(layer: Layer, bottoms: list[Shape], axis: int, num_axes: int) -> Shape:
    """The parameter shape of Scale/Bias: ``bottom0.shape[axis : axis+num_axes]``, or bottom1's shape."""
    b = bottoms[0]
    if len(bottoms) > 1:
        other = bottoms[1]
        start = canonical_axis(axis, len(b), layer.name) if len(other) > 0 else 0
        if b[start:start + len(other)] != other:
            raise layer.fail(f"shape mismatch: bottom[1] {other} must match bottom[0] {b} from axis {start}")
        return other
    if num_axes < -1:
        raise layer.fail("num_axes must be non-negative, or -1 to extend to the end of bottom[0]")
    start = canonical_axis(axis, len(b), layer.name) if num_axes != 0 or len(b) > 0 else 0
    end = len(b) if num_axes == -1 else start + num_axes
    if end > len(b):
        raise layer.fail(f"parameter axes {start}..{end} exceed bottom[0] {b}")
    return b[start:end]


@register("Scale")
class ScaleLayer(Layer):
    min_bottoms = 1
    max_bottoms = 2
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        sp = self.param.scale_param
        shape = affine_param_shape(self, bottoms, sp.axis, sp.num_axes)
        self.blobs = [] if len(bottoms) > 1 else [shape]
        if sp.bias_term:
            self.blobs.append(shape)
        return [bottoms[0]]


@register("Bias")
class BiasLayer(Layer):
    min_bottoms = 1
    max_bottoms = 2
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        bp = self.param.bias_param
        shape = affine_param_shape(self, bottoms, bp.axis, bp.num_axes)
        self.blobs = [] if len(bottoms) > 1 else [shape]
        return [bottoms[0]]

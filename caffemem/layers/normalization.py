"""Normalisation and affine layers: BatchNorm, LRN, MVN, Scale, Bias, and the forks' BN (SegNet,
PSPNet) and Normalize (SSD).

Fork types follow the fork that defines them; each class docstring names the source file its
shapes and allocations were read from.
"""

from __future__ import annotations

from dataclasses import replace

from caffemem.layers.registry import Buffer, Layer, RunInfo, Shape, canonical_axis, count, legacy, legacy4, register
from caffemem.modes import Mode
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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        b = bottoms[0]
        n, c = b[0], (b[1] if len(b) > 1 else 1)
        total = count(b)
        out = [Buffer("temp", total, "fwd"), Buffer("x_norm", total, "fwd"), Buffer("mean_variance", 2 * c, "fwd"),
               Buffer("num_by_chans", n * c, "fwd"), Buffer("batch_sum_multiplier", n, "setup"),
               Buffer("spatial_sum_multiplier", total // max(1, n * c), "setup")]
        if run.inplace and run.inplace[0]:
            out.append(Buffer("x_norm", total, "bwd", diff=True))
        return out

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return True


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

    def within_channel(self) -> bool:
        return self.param.lrn_param.norm_region == caffe_pb2.LRNParameter.WITHIN_CHANNEL

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n = count(bottoms[0])
        if self.within_channel():
            if run.gpu and run.cudnn:  # CuDNNLCN: two temp buffers of the bottom's size at setup
                return [Buffer("lcn_temp", 2 * n, "setup")]
            return [Buffer("square_pool_power", 3 * n, "fwd"), Buffer("internal_diffs", 5 * n, "bwd", diff=True)]
        if run.gpu and run.cudnn and self.param.lrn_param.local_size <= 16:
            return []
        out = [Buffer("scale", n, "fwd")]
        if not run.gpu and run.backward:
            # The CPU forward and backward build one image's padded squares (and ratios) in local
            # blobs; once glibc's mmap threshold has risen past them they come from the heap, which
            # keeps them (measured: tests/memory/cases/lrn-padded-transient).
            _, c, h, w = bottoms[0]
            out.append(Buffer("padded_ratio", (c + self.param.lrn_param.local_size - 1) * h * w + h * w, "bwd"))
        return out

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return True


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

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        n, c, h, w = tops[0]
        across = self.param.mvn_param.across_channels
        return [Buffer("mean_variance", 2 * n * (1 if across else c), "fwd"),
                Buffer("temp", count(bottoms[0]), "fwd"),
                Buffer("sum_multiplier", h * w * (c if across else 1), "setup")]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return True


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
        # A scalar scale (num_axes: 0) makes Caffe use axis 0: inner (and its multipliers) span the blob.
        axis = canonical_axis(sp.axis, len(bottoms[0]), self.name) if bottoms[0] and shape else 0
        self.outer = count(bottoms[0][:axis])
        self.scale_dim = count(shape)
        self.inner = count(bottoms[0][axis + len(shape):])
        return [bottoms[0]]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        out = [Buffer("sum_multiplier", max(self.outer, self.inner), "setup")]
        if self.param.scale_param.bias_term:
            out.append(Buffer("bias_multiplier", self.inner, "setup"))
        if run.inplace and run.inplace[0]:
            out.append(Buffer("temp", count(bottoms[0]), "fwd"))
        # Backward sums through sum_result_ only when neither dimension is 1 and it is no scalar
        if run.backward and self.inner > 1 and self.outer > 1 and self.outer * self.scale_dim > 1:
            out.append(Buffer("sum_result", self.outer * self.scale_dim, "bwd"))
        return out

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        learnable = len(self.blobs) > 0 and bool(run.param_propagate[:1]) and run.param_propagate[0] \
            and len(run.propagate_down) == 1
        elementwise = self.inner == 1 and self.outer == 1
        if learnable and not (run.inplace and run.inplace[0]) and not elementwise and bottom_index == 0:
            return True  # Caffe uses the bottom diff as scratch for the scale gradient
        return run.propagate_down[bottom_index]


@register("Bias")
class BiasLayer(Layer):
    min_bottoms = 1
    max_bottoms = 2
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        bp = self.param.bias_param
        shape = affine_param_shape(self, bottoms, bp.axis, bp.num_axes)
        self.blobs = [] if len(bottoms) > 1 else [shape]
        # A scalar bias (num_axes: 0) makes Caffe use axis 0: its multiplier spans the whole blob.
        axis = canonical_axis(bp.axis, len(bottoms[0]), self.name) if bottoms[0] and shape else 0
        self.inner = count(bottoms[0][axis + len(shape):])
        return [bottoms[0]]

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return [Buffer("bias_multiplier", self.inner, "setup")]


# --- fork normalisation layers --------------------------------------------------------------------

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



# --- FlowNet2 and Ristretto -------------------------------------------------------------------------

@register("ChannelNorm")
class ChannelNormLayer(Layer):
    """FlowNet2's per-pixel L2 norm across channels (lmb-freiburg/flownet2,
    ``src/caffe/layers/channel_norm_layer.cpp``/``.cu``): [N, C, H, W] to [N, 1, H, W] (legacy
    accessors). Its header allows more bottoms but Reshape CHECKs exactly one. No blobs of its own;
    both backward paths write the bottom's gradient whatever propagate_down says (the GPU one even
    hands host pointers to its kernel, a fork bug that caffemem does not model)."""

    min_bottoms = 1
    exact_tops = 1

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if len(bottoms) != 1:
            raise self.fail(f"takes one input blob (Reshape's CHECK), got {len(bottoms)}")
        n, _, h, w = legacy4(self, bottoms[0])
        return [(n, 1, h, w)]

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        return True


@register("LRNRistretto")
class LRNRistrettoLayer(LRNLayer):
    """Ristretto's minifloat LRN (pmgysel/caffe, ``src/caffe/ristretto/layers/lrn_ristretto_layer.cpp``/``.cu``):
    LRN's shapes, built directly as Caffe's LRNLayer (never cuDNN). Only MINIFLOAT precision and
    ACROSS_CHANNELS are implemented, and only on the GPU (the CPU paths are fatal), so it is costed
    as Caffe's GPU LRN: the ``scale_`` blob."""

    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        if self.param.quantization_param.precision != caffe_pb2.QuantizationParameter.MINIFLOAT:
            raise self.fail("LRN layer only supports minifloat")
        if self.within_channel():
            raise self.fail("Unsupported normalization region: WITHIN_CHANNEL (Ristretto's LRN)")
        return super().reshape(bottoms)

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        return super().buffers(bottoms, tops, replace(run, mode=Mode.GPU, cudnn=False))

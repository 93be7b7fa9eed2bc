"""The layer catalogue's contract: one class per Caffe layer type, registered by its type string.

Each class mirrors what Caffe's own layer does in ``SetUp`` (``LayerSetUp`` + ``Reshape``): given
the bottom shapes it returns the top shapes and records its learnable parameter shapes, and it
fails with a message naming the layer wherever Caffe's CHECKs would fail. Adding a layer type is
one small class in the module of its kind (not of the fork that wrote it), decorated with
:func:`register`, plus its row in :mod:`caffemem.layers.types` (origin, converters, training-only,
log sources); ``tests/layers/test_types.py`` checks the two agree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from caffemem.categories import Category
from caffemem.errors import NetError
from caffemem.modes import Mode
from caffemem.proto import caffe_pb2

Shape = tuple[int, ...]
#: ``Layer.top_data_view`` value for a top that aliases a layer-internal blob or a parameter.
INTERNAL = -1


def count(shape: Sequence[int]) -> int:
    """Number of elements of a blob; a 0-axis blob holds one element, as in Caffe."""
    n = 1
    for d in shape:
        n *= d
    return n


def canonical_axis(axis: int, num_axes: int, layer: str) -> int:
    """Caffe's ``Blob::CanonicalAxisIndex``: negative axes count from the end."""
    if not -num_axes <= axis < num_axes:
        raise NetError(f"layer '{layer}': axis {axis} out of range for a {num_axes}-D blob")
    return axis + num_axes if axis < 0 else axis


def legacy(shape: Shape, index: int) -> int:
    """Caffe's ``Blob::LegacyShape``: axes past the blob's rank read as 1 (num/channels/height/width).

    Many forks read shapes through these legacy accessors rather than ``shape(i)``; mirroring them is
    what makes odd-rank bottoms give the shapes the fork itself would compute.
    """
    return shape[index] if index < len(shape) else 1


def legacy4(layer: Layer, shape: Shape) -> Shape:
    """(num, channels, height, width) as the legacy accessors see it; they refuse blobs above 4-D."""
    if len(shape) > 4:
        raise layer.fail(f"cannot use legacy accessors on a {len(shape)}-D blob {shape}")
    return (legacy(shape, 0), legacy(shape, 1), legacy(shape, 2), legacy(shape, 3))



@dataclass
class BuildOptions:
    """What the user says about the run that a prototxt cannot: batch size and input shapes."""

    batch: int | None = None
    inputs: dict[str, Shape] = field(default_factory=dict)  # per-sample shape by top name
    #: whole shapes (batch included: ``--input rois=300,5!``) by top name; their tops also appear in
    #: ``inputs`` with the batch dropped, so a data layer sets itself up as usual, and the net
    #: builder then gives the top exactly this shape (see caffemem.net.inputs).
    whole_inputs: dict[str, Shape] = field(default_factory=dict)


@dataclass
class SetupContext:
    """What a layer may know while it is set up: the net's phase and the user's options."""

    phase: int = caffe_pb2.TRAIN
    options: BuildOptions = field(default_factory=BuildOptions)
    source: str | None = None
    warnings: list[str] = field(default_factory=list)
    #: The warnings that say a data shape was assumed (a subset of ``warnings``): when the net then
    #: fails to build, the assumption is the first suspect, and the error says so.
    assumptions: list[str] = field(default_factory=list)
    #: Every batch the layers took from the prototxt for want of ``options.batch`` (see :meth:`batch_or`).
    #: When it holds one value B at most, building with ``batch=B`` gives the same net: layers read the
    #: option through :meth:`batch_or` only.
    default_batches: set[int] = field(default_factory=set)
    #: Per-sample shapes assumed for data tops (``DataLayerBase.assume``), by top name: what a
    #: failed build may try again with other sizes (``net/analyze.py``).
    assumed_tops: dict[str, Shape] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def batch_or(self, default: int) -> int:
        """The user's batch (``options.batch``), else ``default`` (the prototxt's, recorded)."""
        if self.options.batch is not None:
            return self.options.batch
        self.default_batches.add(default)
        return default

    def assume(self, message: str) -> None:
        """Warn that a shape was assumed where only the data would tell."""
        self.warnings.append(message)
        self.assumptions.append(message)


@dataclass(frozen=True)
class Buffer:
    """A layer-internal allocation (column buffer, pooling mask, BatchNorm temporaries, ...).

    ``when`` is when Caffe first touches it: ``"setup"`` (every net), ``"fwd"`` (every net that runs
    forward) or ``"bwd"`` (only nets that run this layer's backward); ``"init"`` is transient, held
    only while the layer sets up and freed before the net's set-up ends (not in the steady state; it
    can raise the set-up peak). ``diff`` marks the gradient half of an internal blob, which Caffe
    allocates separately from its data.
    """

    name: str
    elements: int
    when: str = "fwd"
    diff: bool = False
    category: str = Category.LAYER_BUFFERS


@dataclass(frozen=True)
class RunInfo:
    """How a layer runs in the net being costed: what decides which buffers Caffe touches."""

    phase: int
    mode: Mode
    backward: bool  # this layer's Backward runs (training net, layer needs backward)
    propagate_down: tuple[bool, ...]
    inplace: tuple[bool, ...]
    param_propagate: tuple[bool, ...] = ()  # per param blob: its gradient is computed
    cudnn: bool = True  # GPU builds: cuDNN engine where Caffe picks it by default

    @property
    def gpu(self) -> bool:
        return self.mode == Mode.GPU


class Layer:
    """Base of every layer type: blob-count checks and defaults shared by all of Caffe's layers.

    Subclasses set the ``*_bottoms``/``*_tops`` limits Caffe declares and implement :meth:`reshape`.
    """

    type_name: ClassVar[str] = ""
    exact_bottoms: ClassVar[int | None] = None
    min_bottoms: ClassVar[int | None] = None
    max_bottoms: ClassVar[int | None] = None
    exact_tops: ClassVar[int | None] = None
    min_tops: ClassVar[int | None] = None
    max_tops: ClassVar[int | None] = None
    #: Loss layers get an anonymous top when none is declared (``AutoTopBlobs``).
    auto_top_blobs: ClassVar[bool] = False
    #: Loss layers add ``loss_weight: 1`` for their first top when none is given.
    is_loss: ClassVar[bool] = False
    #: Caffe CHECKs that some layers are never used in place.
    forbid_inplace: ClassVar[bool] = False
    #: Data layers: their tops come from storage, not computation, and never need backward.
    is_data: ClassVar[bool] = False
    #: FlowNet's Caffe lets a layer refuse backward (``Layer::AllowBackward``): ``Net::Init`` then
    #: marks it as needing no backward whatever its bottoms need, so its tops need none either (its
    #: Resample and Downsample do this). BVLC layers all allow it.
    allow_backward: ClassVar[bool] = True
    #: Layers whose Backward does nothing (decoders, writers, generated indicators): they write no
    #: bottom gradient, and force_backward does not ask them for one.
    empty_backward: ClassVar[bool] = False

    def __init__(self, param: caffe_pb2.LayerParameter, ctx: SetupContext) -> None:
        self.param = param
        self.ctx = ctx
        self.name = param.name
        self.type = param.type
        self.blobs: list[Shape] = []  # learnable parameter shapes, in Caffe's order
        self.n_tops = len(param.top)
        self.n_bottoms = len(param.bottom)

    # --- the contract -------------------------------------------------------------------------
    def reshape(self, bottoms: list[Shape]) -> list[Shape | None]:
        """Top shapes for these bottom shapes (Caffe's LayerSetUp + Reshape). Sets ``self.blobs``.

        ``None`` marks a top whose shape cannot be known without running code (Python layers).
        """
        raise NotImplementedError

    def allow_force_backward(self, bottom_index: int) -> bool:
        return not self.empty_backward

    # --- the memory contract (see caffemem.memory) ---------------------------------------------
    #: Tops that own no data storage of their own: data-layer tops alias the prefetch batches.
    tops_own_data: ClassVar[bool] = True

    def top_data_view(self, top_index: int) -> int | None:
        """Index of the bottom whose data storage this top shares (Split, Flatten, Reshape...).

        ``INTERNAL`` means the top aliases storage counted elsewhere (a parameter, ``prob_``).
        """
        return None

    def top_diff_view(self, top_index: int) -> int | None:
        """Index of the bottom whose gradient storage this top shares (Flatten, Reshape...)."""
        return None

    def buffers(self, bottoms: list[Shape], tops: list[Shape], run: RunInfo) -> list[Buffer]:
        """Internal allocations Caffe makes for this layer in this run (none by default)."""
        return []

    def writes_bottom_diff(self, bottom_index: int, run: RunInfo) -> bool:
        """Whether Backward writes (so allocates) this bottom's gradient. Default: propagate_down."""
        return not self.empty_backward and run.propagate_down[bottom_index]

    def prefetch_elements(self, tops: list[Shape]) -> int:
        """Elements held by one prefetch batch of a prefetching data layer (0 for other layers)."""
        return 0

    def prefetch_batches(self) -> int:
        return 0

    def unknown_reason(self) -> str:
        """Why :meth:`reshape` left a top shape unknown (``None``): e.g. a Python layer."""
        return "top shape unknown"

    def loss_weights(self) -> list[float]:
        """One weight per top, as ``Layer::SetLossWeights`` records them."""
        weights = list(self.param.loss_weight)
        if self.is_loss and not weights:
            if self.n_tops > 1:
                self.ctx.warn(f"layer '{self.name}' ({self.type}): {self.n_tops} tops without loss_weight: "
                              "BVLC Caffe refuses this (forks accept it); assuming weight 1 on the first top")
            weights = [1.0] + [0.0] * (self.n_tops - 1)
        if weights and len(weights) != self.n_tops:
            raise NetError(f"layer '{self.name}': loss_weight must be unspecified or specified once per top "
                           f"blob ({len(weights)} weights for {self.n_tops} tops)")
        return weights + [0.0] * (self.n_tops - len(weights)) if weights else [0.0] * self.n_tops

    # --- shared helpers ---------------------------------------------------------------------------
    def fail(self, message: str) -> NetError:
        return NetError(f"layer '{self.name}' ({self.type}): {message}", self.ctx.source)

    #: Set by :meth:`choose_variant`: which fork's layer of this type string the layer was read as.
    variant: str | None = None

    def choose_variant(self, variant: str) -> None:
        """Record (and warn) that a fork's layer of a known type string is meant: forks reuse names
        (YOLO's one-bottom ``DetectionOutput``) with other fields and blob counts, and the rule
        picked from them is named in the output, e.g. "DetectionOutput: YOLO variant (one bottom)"."""
        self.variant = variant
        self.ctx.warn(f"{self.type}: {variant} (layer '{self.name}')")

    def check_counts(self, n_bottoms: int, n_tops: int) -> None:
        """Caffe's ``Layer::CheckBlobCounts``."""
        def check(n: int, exact: int | None, lo: int | None, hi: int | None, what: str) -> None:
            if exact is not None and n != exact:
                raise self.fail(f"takes {exact} {what} blob(s), got {n}")
            if lo is not None and n < lo:
                raise self.fail(f"takes at least {lo} {what} blob(s), got {n}")
            if hi is not None and n > hi:
                raise self.fail(f"takes at most {hi} {what} blob(s), got {n}")

        check(n_bottoms, self.exact_bottoms, self.min_bottoms, self.max_bottoms, "bottom")
        check(n_tops, self.exact_tops, self.min_tops, self.max_tops, "top")

    def auto_top_count(self) -> int:
        """How many anonymous tops Caffe adds (``Net::Init`` with ``AutoTopBlobs``)."""
        if not self.auto_top_blobs:
            return 0
        needed = max(self.min_tops or 0, self.exact_tops or 0)
        return max(0, needed - len(self.param.top))


L = TypeVar("L", bound=type[Layer])

LAYERS: dict[str, type[Layer]] = {}


def register(*type_names: str) -> Callable[[L], L]:
    """Class decorator: make a layer class the rule for one or more Caffe type strings."""

    def deco(cls: L) -> L:
        for name in type_names:
            if name in LAYERS:
                raise RuntimeError(f"layer type {name} registered twice")
            LAYERS[name] = cls
        if not cls.type_name:
            cls.type_name = type_names[0]
        return cls

    return deco


def layer_class(type_name: str) -> type[Layer] | None:
    """The registered class for a Caffe type string, or None for a type caffemem does not know."""
    return LAYERS.get(type_name)

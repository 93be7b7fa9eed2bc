"""Build a net the way Caffe's ``Net::Init`` does: filter, insert splits, set up layer by layer.

The result records, per layer, what Caffe would log (top shapes, the running "Memory required for
data") and what the memory model needs later (in-place tops, loss weights, which layers and
bottoms run backward, parameter shapes and sharing). Layers caffemem cannot analyse (unknown types,
Python layers without a user-given shape) are kept with unknown top shapes and named, so the rest
of the net is still reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from caffemem.errors import CaffememError, NetError
from caffemem.layers import catalogue  # noqa: F401  (registers every layer type)
from caffemem.layers.registry import Layer, SetupContext, Shape, count, layer_class
from caffemem.net.prototxt import MAX_BLOB_AXES
from caffemem.net.splits import insert_splits
from caffemem.net.state import PHASE_NAMES, filter_net
from caffemem.proto import caffe_pb2

DTYPE_BYTES = 4


@dataclass
class ParamBlob:
    """One learnable parameter blob of a layer, with Caffe's sharing and learning-rate facts."""

    shape: Shape
    lr_mult: float
    decay_mult: float
    name: str = ""
    owner: tuple[int, int] | None = None  # (layer index, param index) it shares storage with
    #: lr_mult as the prototxt gives it (default 1): what Caffe's need-backward test reads, which
    #: differs from ``lr_mult`` for layers that rewrite their own specs (BatchNorm).
    net_lr_mult: float = 1.0

    @property
    def shared(self) -> bool:
        return self.owner is not None


@dataclass
class BuiltLayer:
    """One layer as ``Net::Init`` set it up."""

    index: int
    name: str
    type: str
    bottoms: list[str]
    tops: list[str]
    top_shapes: list[Shape | None]
    bottom_shapes: list[Shape | None]
    params: list[ParamBlob]
    loss_weights: list[float]
    inplace: list[bool]
    param: caffe_pb2.LayerParameter
    impl: Layer | None
    is_split: bool = False
    auto_tops: int = 0
    need_backward: bool = False
    logged_need_backward: bool = False  # what Caffe logs: before force_backward is applied
    bottom_need_backward: list[bool] = field(default_factory=list)
    memory_required_for_data: int | None = None  # bytes, cumulative, as Caffe logs after this layer
    unknown: str | None = None  # why caffemem could not compute this layer's tops
    #: True when ``unknown`` is only inherited (a bottom's shape is unknown), False when this layer
    #: is where the analysis stopped: the root cause a user should be shown first.
    unknown_upstream: bool = False

    @property
    def analysed(self) -> bool:
        return self.unknown is None and all(s is not None for s in self.top_shapes)


@dataclass
class BuiltNet:
    """A net as Caffe builds it for one state."""

    name: str
    phase: int
    state: caffe_pb2.NetState
    layers: list[BuiltLayer]
    outputs: list[str]
    force_backward: bool
    warnings: list[str]
    source: str | None = None
    #: The batches its layers took from the prototxt, no batch being given (SetupContext.batch_or).
    default_batches: set[int] = field(default_factory=set)

    @property
    def phase_name(self) -> str:
        return PHASE_NAMES[self.phase]

    @property
    def memory_required_for_data(self) -> int | None:
        return self.layers[-1].memory_required_for_data if self.layers else 0

    @property
    def unanalysed_layers(self) -> list[BuiltLayer]:
        return [layer for layer in self.layers if layer.unknown is not None]

    def learnable_params(self) -> list[ParamBlob]:
        """Owner parameters (shared ones once), as Caffe's ``learnable_params_``."""
        return [p for layer in self.layers for p in layer.params if not p.shared]

    @property
    def param_count(self) -> int:
        return sum(count(p.shape) for p in self.learnable_params())

    @property
    def data_batch(self) -> int | None:
        """The batch of the net's first data layer (its first top's first axis), if it has one."""
        for layer in self.layers:
            if layer.impl is not None and layer.impl.is_data and layer.top_shapes and layer.top_shapes[0]:
                return layer.top_shapes[0][0]
        return None


def build_net(param: caffe_pb2.NetParameter, state: caffe_pb2.NetState, ctx: SetupContext,
              prepared: dict[bytes, tuple[str, caffe_pb2.NetParameter]] | None = None) -> BuiltNet:
    """Run FilterNet, InsertSplits and the per-layer setup loop of ``Net::Init`` on ``param``.

    ``prepared``: where the filtered, split net of each state is kept, so that building ``param`` again
    (at another batch) redoes only the setup loop; neither step depends on the build options.
    """
    key = state.SerializeToString(deterministic=True)
    name_and_split = prepared.get(key) if prepared is not None else None
    if name_and_split is None:
        filtered = filter_net(param, state)
        name_and_split = (filtered.name, insert_splits(filtered, ctx.source))
        if prepared is not None:
            prepared[key] = name_and_split
    builder = _Builder(name_and_split[1], state, ctx)
    return builder.run(name_and_split[0])


class _Builder:
    def __init__(self, param: caffe_pb2.NetParameter, state: caffe_pb2.NetState, ctx: SetupContext) -> None:
        self.param = param
        self.state = state
        self.ctx = ctx
        self.shapes: dict[str, Shape | None] = {}
        self.blob_need_backward: dict[str, bool] = {}
        self.available: set[str] = set()
        self.layers: list[BuiltLayer] = []
        self.param_owner_by_name: dict[str, tuple[int, int]] = {}
        self.memory: int | None = 0
        self.unknown_from: dict[str, str] = {}  # blob of unknown shape -> the layer that caused it

    def run(self, name: str) -> BuiltNet:
        for i, lp in enumerate(self.param.layer):
            self.layers.append(self.setup_layer(i, lp))
        self.backward_pass()
        force = self.param.force_backward
        if force:
            self.apply_force_backward()
        return BuiltNet(name=name, phase=self.state.phase, state=self.state, layers=self.layers,
                        outputs=sorted(self.available), force_backward=force, warnings=self.ctx.warnings,
                        source=self.ctx.source, default_batches=self.ctx.default_batches)

    def fail(self, message: str) -> NetError:
        return NetError(message, self.ctx.source)

    def setup_layer(self, index: int, lp: caffe_pb2.LayerParameter) -> BuiltLayer:
        if not lp.HasField("phase"):
            lp.phase = self.state.phase
        name, ltype = lp.name, lp.type
        bottoms, tops = list(lp.bottom), list(lp.top)
        propagate_down = list(lp.propagate_down)
        if propagate_down and len(propagate_down) != len(bottoms):
            raise self.fail(f"layer '{name}': propagate_down param must be specified either 0 or "
                            f"bottom_size times")
        cls = layer_class(ltype)
        impl = cls(lp, self.ctx) if cls is not None else None
        unknown = None if cls is not None else f"layer type '{ltype}' is not in caffemem's catalogue"

        need_backward = False
        bottom_shapes: list[Shape | None] = []
        bottom_need: list[bool] = []
        shapes, blob_need_backward, available = self.shapes, self.blob_need_backward, self.available
        for j, blob in enumerate(bottoms):
            if blob not in shapes:
                raise self.fail(f"Unknown bottom blob '{blob}' (layer '{name}', bottom index {j})")
            bottom_shapes.append(shapes[blob])
            available.discard(blob)
            blob_need = blob_need_backward[blob]
            bottom_need.append(bool(propagate_down[j]) if propagate_down else blob_need)
            need_backward |= blob_need

        inplace: list[bool] = []
        n_bottoms = len(bottoms)
        for j, blob in enumerate(tops):
            same = j < n_bottoms and bottoms[j] == blob
            if not same and blob in shapes:
                raise self.fail(f"Top blob '{blob}' produced by multiple sources (layer '{name}').")
            inplace.append(same)
        if impl is not None and impl.forbid_inplace and any(inplace):
            raise self.fail(f"layer '{name}' ({ltype}) does not allow in-place computation")

        auto = impl.auto_top_count() if impl is not None else 0
        top_names = list(tops) + ["(automatic)"] * auto
        if impl is not None:
            impl.n_tops = len(top_names)
            impl.check_counts(n_bottoms, len(top_names))

        top_shapes: list[Shape | None]
        upstream = False
        if impl is not None and None not in bottom_shapes:
            try:
                top_shapes = list(impl.reshape(list(bottom_shapes)))  # type: ignore[arg-type]
            except NetError:
                raise
            except (ZeroDivisionError, IndexError, ValueError) as err:
                raise self.fail(f"layer '{name}' ({ltype}): cannot set up with bottoms "
                                f"{bottom_shapes}: {err}") from None
            if len(top_shapes) != len(top_names):
                raise self.fail(f"layer '{name}' ({ltype}) produced {len(top_shapes)} tops, "
                                f"{len(top_names)} declared")
            for shape in top_shapes:
                if shape and min(shape) < 0:
                    raise self.fail(f"layer '{name}' ({ltype}): a top of shape {shape}; Caffe's "
                                    f"Blob::Reshape fails its check 'shape[i] >= 0 ({min(shape)} vs. 0)'")
                if shape is not None and len(shape) > MAX_BLOB_AXES:
                    raise self.fail(f"layer '{name}' ({ltype}): a top of {len(shape)} axes; Caffe's "
                                    f"Blob::Reshape fails its check 'shape.size() <= kMaxBlobAxes "
                                    f"({len(shape)} vs. {MAX_BLOB_AXES})'")
                if shape is not None and count(shape) > 2**31 - 1:
                    raise self.fail(f"layer '{name}': blob size exceeds INT_MAX ({shape}); Caffe's "
                                    f"Blob::Reshape fails its check 'count_ <= INT_MAX'")
        else:
            top_shapes = [None] * len(top_names)
            upstream = unknown is None
            if upstream:
                roots = sorted({self.unknown_from.get(b, "?") for b, s in zip(bottoms, bottom_shapes, strict=True)
                                if s is None})
                unknown = f"a bottom's shape is unknown (because of layer {', '.join(roots)})"
        self.apply_user_shapes(lp, impl, top_shapes, bottom_shapes)
        if impl is not None and unknown is None and None in top_shapes:
            unknown = impl.unknown_reason()

        loss_weights = impl.loss_weights() if impl is not None else \
            list(lp.loss_weight) + [0.0] * (len(top_names) - len(lp.loss_weight))

        for blob, shape, is_inplace in zip(tops, top_shapes, inplace, strict=False):
            self.shapes[blob] = shape
            if shape is None:
                self.unknown_from[blob] = self.unknown_from.get(bottoms[0], name) \
                    if upstream and unknown is not None and bottoms else name
            if not is_inplace:
                self.blob_need_backward[blob] = False
            self.available.add(blob)

        if self.memory is not None:
            if None in top_shapes:
                self.memory = None
            else:
                self.memory += sum(count(s) for s in top_shapes if s is not None)

        params = self.make_params(index, lp, impl) if unknown is None else []
        for p in params:
            need_backward |= p.net_lr_mult != 0
        if impl is not None and not impl.allow_backward:
            need_backward = False
        if need_backward:
            for blob in tops:
                self.blob_need_backward[blob] = True

        return BuiltLayer(index=index, name=name, type=ltype, bottoms=bottoms, tops=top_names,
                          top_shapes=top_shapes, bottom_shapes=bottom_shapes, params=params,
                          loss_weights=loss_weights, inplace=inplace,
                          param=lp, impl=impl, is_split=ltype == "Split" and name.endswith("_split"),
                          auto_tops=auto, need_backward=need_backward, bottom_need_backward=bottom_need,
                          memory_required_for_data=None if self.memory is None else self.memory * DTYPE_BYTES,
                          unknown=unknown, unknown_upstream=upstream and unknown is not None)

    def apply_user_shapes(self, lp: caffe_pb2.LayerParameter, impl: Layer | None, top_shapes: list[Shape | None],
                          bottom_shapes: list[Shape | None]) -> None:
        """``--input``: whole shapes replace what a data or Python layer made of them; tops caffemem could not
        compute take the user's shape; a top caffemem computes itself may not be given (caffemem.net.inputs)."""
        options = self.ctx.options
        if not options.inputs and not options.whole_inputs:
            return
        reads_inputs = impl is not None and (impl.is_data or lp.type == "Python")
        for j, blob in enumerate(lp.top):
            whole = options.whole_inputs.get(blob)
            sample = options.inputs.get(blob)
            if whole is None and sample is None:
                continue
            if reads_inputs:
                if whole is not None:
                    top_shapes[j] = tuple(whole)
                continue
            shape = top_shapes[j]
            if shape is not None:
                dims = "x".join(str(d) for d in shape)
                raise CaffememError(f"--input {blob}: caffemem computes this top itself (layer '{lp.name}', "
                                    f"{lp.type}, gives {dims}); --input is for tops it cannot know (data, Input, "
                                    "Python and unanalysable layers)", self.ctx.source)
            if whole is not None:
                top_shapes[j] = tuple(whole)
            elif sample is not None:
                first = next((b for b in bottom_shapes if b), None)
                top_shapes[j] = (self.ctx.batch_or(first[0] if first else 1), *sample)

    def make_params(self, index: int, lp: caffe_pb2.LayerParameter, impl: Layer | None) -> list[ParamBlob]:
        """Parameter blobs with their specs, and Caffe's ``AppendParam`` sharing by name."""
        shapes = impl.blobs if impl is not None else []
        if impl is not None and len(lp.param) > len(shapes):
            raise self.fail(f"Too many params specified for layer {lp.name}")
        own_specs = getattr(impl, "param_specs", None)  # layers that rewrite their own specs (BatchNorm)
        out: list[ParamBlob] = []
        for p, shape in enumerate(shapes):
            spec = lp.param[p] if p < len(lp.param) else None
            own = own_specs[p] if own_specs is not None and p < len(own_specs) else spec
            blob = ParamBlob(shape=tuple(shape),
                             lr_mult=own.lr_mult if own is not None else 1.0,
                             decay_mult=own.decay_mult if own is not None else 1.0,
                             name=spec.name if spec is not None else "",
                             net_lr_mult=spec.lr_mult if spec is not None else 1.0)
            if blob.name:
                owner = self.param_owner_by_name.get(blob.name)
                if owner is None:
                    self.param_owner_by_name[blob.name] = (index, p)
                else:
                    owner_blob = self.layers[owner[0]].params[owner[1]]
                    mode = spec.share_mode if spec is not None else caffe_pb2.ParamSpec.STRICT
                    if mode == caffe_pb2.ParamSpec.PERMISSIVE:
                        ok = count(owner_blob.shape) == count(blob.shape)
                    else:
                        ok = owner_blob.shape == blob.shape
                    if not ok:
                        raise self.fail(f"Cannot share param '{blob.name}' owned by layer "
                                        f"'{self.layers[owner[0]].name}' with layer '{lp.name}'; shapes "
                                        f"{owner_blob.shape} and {blob.shape} differ")
                    blob.owner = owner
            out.append(blob)
        return out

    def backward_pass(self) -> None:
        """Caffe's reverse pass: which layers contribute to a loss and which bottoms get gradients."""
        under_loss: set[str] = set()
        skip_backp: set[str] = set()
        for layer in reversed(self.layers):
            contributes = any(w != 0 for w in layer.loss_weights) or not under_loss.isdisjoint(layer.tops)
            skip = skip_backp.issuperset(layer.tops)
            if layer.need_backward and skip:
                layer.need_backward = False
                layer.bottom_need_backward = [False] * len(layer.bottoms)
            if not contributes:
                layer.need_backward = False
            layer.logged_need_backward = layer.need_backward
            for j, blob in enumerate(layer.bottoms):
                if contributes:
                    under_loss.add(blob)
                else:
                    layer.bottom_need_backward[j] = False
                if not layer.bottom_need_backward[j]:
                    skip_backp.add(blob)

    def apply_force_backward(self) -> None:
        for layer in self.layers:
            layer.need_backward = True
            for j in range(len(layer.bottoms)):
                allow = layer.impl.allow_force_backward(j) if layer.impl is not None else True
                layer.bottom_need_backward[j] = layer.bottom_need_backward[j] or allow

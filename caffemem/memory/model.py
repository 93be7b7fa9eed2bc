"""What a Caffe process really holds: Caffe's allocation rules applied to a built net.

Caffe allocates a blob's data and its gradient separately and only when some code first touches
them; it never reuses memory between layers or between the train and test nets. So the footprint
is not "every blob twice": forward data exists for every top that owns storage (in-place layers,
splits, flatten/reshape views share), gradients exist only where backward really reads or writes
them, parameters cost data + gradient + the solver's history, and each layer adds its own internal
buffers (see each layer class's ``buffers``). Facts are from ``shared/docs/caffe-memory-model.md``
and Caffe's source; the CPU figures are checked against measured peaks of real Caffe runs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from caffemem.categories import ORDER
from caffemem.categories import Category as C
from caffemem.layers.registry import INTERNAL, RunInfo, count
from caffemem.memory.solvers import history_blobs
from caffemem.modes import Mode, Role
from caffemem.net.build import DTYPE_BYTES, BuiltNet
from caffemem.proto import caffe_pb2

#: [measured] What each layer of each net costs the process besides its blobs' values: the layer
#: object, the LayerParameter copies Net::Init keeps, each top Blob object (with its two tiny
#: SyncedMemory headers) and each parameter Blob (data, diff and history headers). Fitted on
#: ``caffe train`` of nets of 0-800 ReLU (in place or not) and InnerProduct layers on 1x1 blobs:
#: 4.06 KiB per in-place ReLU, +0.67 KiB per own top, +1.3 KiB per parameter blob.
LAYER_OBJECT_BYTES = 4160
TOP_OBJECT_BYTES = 690
PARAM_OBJECT_BYTES = 1330
#: [measured] Code pages each distinct layer type a run uses brings in (its Forward/Backward in
#: libcaffe with the kernel's fault-around), and libm's exp/log/pow the first layer computing them
#: adds: medians of 6 runs of the trivial net plus one layer of each type (each run varies by
#: +-0.2 MB, so these are coarse): 40-80 KiB a type, Sigmoid, LRN and SoftmaxWithLoss ~180 KiB.
TYPE_CODE_BYTES = 48 * 1024
MATH_CODE_BYTES = 130 * 1024
_MATH_TYPES = frozenset({"Sigmoid", "LRN", "LSTMUnit", "SoftmaxWithLoss", "Softmax", "InfogainLoss", "ELU", "BNLL",
                         "Exp", "Log", "Power", "SigmoidCrossEntropyLoss", "Swish", "MultinomialLogisticLoss",
                         "ContrastiveLoss"})
#: Peak RSS of the real ``caffe`` CPU process on a trivial net (oracle case ``baseline-trivial``:
#: 12,902,400 B) less that net's layer objects (3 layers, 4 tops, 2 parameter blobs) and its three
#: layer types' code: binary, shared libraries, protobuf/glog/OpenBLAS state. Everything else is
#: added to it.
CPU_RUNTIME_BYTES = 12_902_400 - (3 * LAYER_OBJECT_BYTES + 4 * TOP_OBJECT_BYTES + 2 * PARAM_OBJECT_BYTES
                                  + 3 * TYPE_CODE_BYTES)
#: [estimate] CUDA context, cuBLAS/cuRAND handles and cuDNN kernels on the device. Real values
#: range from about 100 to 500 MiB by driver, CUDA version and GPU; 300 MiB is a middle value.
GPU_RUNTIME_BYTES = 300 * 1024 * 1024
#: [estimate] NCCL's device buffers per GPU in a multi-GPU run (a few 4 MiB channel buffers).
NCCL_BUFFER_BYTES = 32 * 1024 * 1024


@dataclass
class NetFootprint:
    """Bytes one net holds, by category, and by layer and category."""

    name: str
    phase: str
    role: Role
    role_reason: str = ""
    by_category: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    by_layer: dict[str, dict[str, int]] = field(default_factory=dict)
    #: What the end of ``Net::Init`` holds: every parameter blob its fillers wrote (also those a test
    #: net later takes from the train net) and the buffers set-up fills. Not part of the total.
    setup_bytes: int = 0
    #: The largest transient a layer holds while it sets up (``Buffer`` ``"init"``), on top of
    #: what the layers before it hold. Not part of the total.
    setup_transient_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(self.by_category.values())

    def add(self, layer: str, category: str, nbytes: int) -> None:
        if nbytes <= 0:
            return
        self.by_category[category] += nbytes
        per = self.by_layer.setdefault(layer, defaultdict(int))
        per[category] += nbytes


@dataclass
class RunFootprint:
    """The whole process: every net of the run plus the process itself."""

    mode: Mode
    nets: list[NetFootprint]
    runtime_bytes: int
    extra: dict[str, int] = field(default_factory=dict)  # e.g. weights_loading
    solver_type: str | None = None
    gpus: int = 1
    objects_bytes: int = 0  # of the host process: the nets' layer and Blob objects
    #: Of ``runtime_bytes``, what the process has touched only once the nets run (layer types' code,
    #: OpenBLAS's first calls): not yet resident at the end of set-up.
    run_only_bytes: int = 0
    #: Of the unrolled nets' set-up cost, the heap freed at the end of set-up that the run's
    #: recurrent blobs reuse (left out of ``runtime_bytes``; resident again at the set-up peak).
    setup_heap_bytes: int = 0

    @property
    def by_category(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for net in self.nets:
            for k, v in net.by_category.items():
                out[k] += v
        for k, v in self.extra.items():
            out[k] += v
        out[C.RUNTIME] += self.runtime_bytes
        return {k: out[k] for k in ORDER if out.get(k)} | {k: v for k, v in out.items() if k not in ORDER}

    @property
    def total_bytes(self) -> int:
        return sum(self.by_category.values())

    @property
    def host_bytes(self) -> int:
        """Host memory of the process. In CPU mode everything; in GPU mode the pinned copies.

        GPU mode [estimate]: fillers write every parameter on the host, and those pinned copies stay;
        prefetch batches exist on both sides; plus the CPU process baseline.
        """
        if self.mode == Mode.CPU:
            return self.total_bytes
        cats = self.by_category
        return (cats.get(C.WEIGHTS, 0) + cats.get(C.PREFETCH, 0) + cats.get(C.WEIGHTS_LOADING, 0) + CPU_RUNTIME_BYTES
                + self.objects_bytes)


@dataclass
class _Storage:
    elements: int
    layer: str


def _param_propagate(net: BuiltNet, layer_params: list) -> tuple[bool, ...]:
    return tuple(net.force_backward or p.lr_mult != 0 for p in layer_params)


def net_footprint(net: BuiltNet, role: Role, mode: Mode = Mode.CPU, solver_type: str = "SGD",
                  train_layer_names: set[str] | None = None, l1: bool = False,
                  fed_inputs: bool = True) -> NetFootprint:
    """Bytes ``net`` holds in a run where it plays ``role`` (train, test or inference).

    ``fed_inputs``: whether something writes the Input layers' tops (pycaffe, an application). In
    ``caffe train`` nothing does: their zeroed pages are only read, so never resident.
    """
    fp = NetFootprint(net.name, net.phase_name, role)
    unwritten: set[int] = set()  # data of Input tops nothing has written yet
    train = role == Role.TRAIN
    idle = role == Role.IDLE  # built, never run: only what set-up touches
    data: dict[int, _Storage] = {}
    diff: dict[int, _Storage] = {}
    blob_of: dict[str, tuple[int | None, int | None]] = {}  # blob name -> (data id, diff id)
    next_id = 0
    bottoms_of: list[list[tuple[int | None, int | None]]] = []
    tops_of: list[list[tuple[int | None, int | None]]] = []
    runs: list[RunInfo | None] = []

    for layer in net.layers:
        # A layer whose bottoms' shapes are unknown was never set up (reshape did not run): its views
        # and buffers may depend on what set-up decides (Permute's order), so it is not asked for them.
        impl = layer.impl if all(s is not None for s in layer.bottom_shapes) else None
        bottoms = [blob_of.get(b, (None, None)) for b in layer.bottoms]
        tops: list[tuple[int | None, int | None]] = []
        for j, (name, shape) in enumerate(zip(layer.tops, layer.top_shapes, strict=True)):
            if j < len(layer.inplace) and layer.inplace[j]:
                if bottoms[j][0] in unwritten and not idle:  # an in-place layer writes it
                    unwritten.discard(bottoms[j][0])
                    storage = data[bottoms[j][0]]
                    fp.add(storage.layer, C.ACTIVATIONS, storage.elements * DTYPE_BYTES)
                tops.append(bottoms[j])
                blob_of[name] = bottoms[j]
                continue
            elements = count(shape) if shape is not None else 0
            data_id: int | None
            diff_id: int | None
            view = impl.top_data_view(j) if impl is not None else None
            if impl is not None and not impl.tops_own_data:
                data_id = None
            elif view is None:
                data_id, next_id = next_id, next_id + 1
                data[data_id] = _Storage(elements, layer.name)
                if not fed_inputs and layer.type == "Input":
                    unwritten.add(data_id)
                elif not idle:
                    fp.add(layer.name, C.ACTIVATIONS, elements * DTYPE_BYTES)
            elif view == INTERNAL:
                data_id = None
            else:
                data_id = bottoms[view][0]
            dview = impl.top_diff_view(j) if impl is not None else None
            if dview is None:
                diff_id, next_id = next_id, next_id + 1
                diff[diff_id] = _Storage(elements, layer.name)
            elif dview == INTERNAL:
                diff_id = None
            else:
                diff_id = bottoms[dview][1]
            tops.append((data_id, diff_id))
            if name != "(automatic)":
                blob_of[name] = (data_id, diff_id)
        bottoms_of.append(bottoms)
        tops_of.append(tops)

        if impl is None or not layer.analysed or any(blob_of.get(b) is None for b in layer.bottoms):
            runs.append(None)
            continue
        run = RunInfo(phase=net.phase, mode=mode, backward=train and layer.need_backward,
                      propagate_down=tuple(layer.bottom_need_backward), inplace=tuple(layer.inplace),
                      param_propagate=_param_propagate(net, layer.params))
        runs.append(run)
        bottom_shapes = [s for s in layer.bottom_shapes if s is not None]
        top_shapes = [s for s in layer.top_shapes if s is not None]
        for buf in impl.buffers(bottom_shapes, top_shapes, run):
            if buf.when == "init":  # fillers write host memory: a host-only transient
                if mode == Mode.CPU:
                    fp.setup_transient_bytes = max(fp.setup_transient_bytes, buf.elements * DTYPE_BYTES)
                continue
            if buf.when == "setup" and buf.category == C.LAYER_BUFFERS:
                fp.setup_bytes += buf.elements * DTYPE_BYTES
            if buf.when == "bwd" and not run.backward or idle and buf.when != "setup":
                continue
            fp.add(layer.name, buf.category, buf.elements * DTYPE_BYTES)
        batches = impl.prefetch_batches()
        if batches:
            per = impl.prefetch_elements(top_shapes) * DTYPE_BYTES * batches
            fp.add(layer.name, C.PREFETCH, per)  # GPU: the same again in pinned host memory

    # Gradients: loss tops get theirs at set-up (filled with the loss weight) in every net.
    touched: set[int] = set()
    for layer, tops in zip(net.layers, tops_of, strict=True):
        for w, (_, diff_id) in zip(layer.loss_weights, tops, strict=False):
            if w and diff_id is not None:
                touched.add(diff_id)
    if train:
        for layer, bottoms, tops, run in zip(reversed(net.layers), reversed(bottoms_of), reversed(tops_of),
                                             reversed(runs), strict=True):
            if run is None or not layer.need_backward or layer.impl is None:
                continue
            if any(run.propagate_down) or any(run.param_propagate):
                touched.update(d for _, d in tops if d is not None)
            for j, (_, diff_id) in enumerate(bottoms):
                if diff_id is not None and layer.impl.writes_bottom_diff(j, run):
                    touched.add(diff_id)
    for diff_id in touched:
        storage = diff[diff_id]
        fp.add(storage.layer, C.ACTIVATION_GRADIENTS, storage.elements * DTYPE_BYTES)

    # Parameters: owners only (shared ones are released by ShareWeights).
    history = history_blobs(solver_type, mode, l1) if train else 0
    for layer in net.layers:
        own = sum(count(p.shape) for p in layer.params if not p.shared) * DTYPE_BYTES
        if not own:
            continue
        fp.setup_bytes += own
        if role == Role.TEST and train_layer_names is not None and layer.name in train_layer_names:
            continue  # ShareTrainedLayersWith frees the test net's copy and uses the train net's
        fp.add(layer.name, C.WEIGHTS, own)
        if train:
            fp.add(layer.name, C.WEIGHT_GRADIENTS, own)
            fp.add(layer.name, C.SOLVER_HISTORY, own * history)
    return fp


#: [measured] The net an LSTM/RNN layer unrolls at set-up: (layers, tops, parameter blobs) for one
#: timestep and for each further one (counted from Caffe's logs of T = 1 and 50), the layer types
#: it adds, and how much more its layers cost than a plain net's (their LayerParameters are
#: bigger): T = 1, 50, 200 measured within 0.1 MB.
_UNROLLED = {
    "LSTM": ((16, 20, 4), (6, 11, 1),
             {"Slice", "Scale", "Eltwise", "LSTMUnit", "Concat", "Reshape", "Split"}),
    "RNN": ((16, 17, 5), (7, 10, 2),
            {"Slice", "Scale", "Eltwise", "TanH", "Concat", "Reshape", "Split"}),
}
UNROLLED_FACTOR = 1.17


def _unrolled(layer) -> tuple[int, set[str]]:
    """Process bytes of the net a recurrent layer unrolls, and the layer types in it."""
    first, step, types = _UNROLLED[layer.type]
    shape = layer.bottom_shapes[0] if layer.bottom_shapes else None
    steps = max(0, shape[0] - 1) if shape else 0
    layers, tops, params = (a + steps * b for a, b in zip(first, step, strict=True))
    own = LAYER_OBJECT_BYTES * layers + TOP_OBJECT_BYTES * tops + PARAM_OBJECT_BYTES * params
    return int(own * UNROLLED_FACTOR), types


#: [fit] Share of an unrolled net's set-up cost (``_unrolled``) that is transient: the NetParameter
#: copies its Net::Init makes (filtered, with splits) are freed at the end of set-up, and the heap
#: they leave is reused by the unrolled blobs the first passes allocate (small ones, from the heap).
#: Fitted on LSTM/RNN nets of T = 50-100 whose blobs are smaller than that heap (1.5-2.0 MiB
#: over without it).
UNROLLED_TRANSIENT_SHARE = 0.4


def unrolled_heap_reuse(nets: list[BuiltNet], fps: list[NetFootprint]) -> int:
    """Bytes of the unrolled nets' freed set-up heap that their own blobs reuse: at most the
    transient share of their set-up cost, at most what the recurrent layers hold."""
    transient = held = 0
    for net, fp in zip(nets, fps, strict=True):
        for layer in net.layers:
            if layer.type in _UNROLLED:
                transient += int(_unrolled(layer)[0] * UNROLLED_TRANSIENT_SHARE)
                cats = fp.by_layer.get(layer.name, {})
                held += cats.get(C.ACTIVATIONS, 0) + cats.get(C.ACTIVATION_GRADIENTS, 0)
    return min(transient, held)


def objects_bytes(nets: list[BuiltNet]) -> int:
    """The process memory the nets' layer and Blob objects take (``LAYER_OBJECT_BYTES`` and co.),
    and the code of the layer types they use (``TYPE_CODE_BYTES``, ``MATH_CODE_BYTES``)."""
    types = {layer.type for net in nets for layer in net.layers}
    total = 0
    for net in nets:
        for layer in net.layers:
            if layer.type in _UNROLLED:
                inner, inner_types = _unrolled(layer)
                total += inner
                types |= inner_types
            own_tops = sum(1 for j in range(len(layer.tops)) if not (j < len(layer.inplace) and layer.inplace[j]))
            total += LAYER_OBJECT_BYTES + TOP_OBJECT_BYTES * own_tops + PARAM_OBJECT_BYTES * len(layer.params)
    return total + code_bytes(types)


def code_bytes(types: set[str]) -> int:
    return TYPE_CODE_BYTES * len(types) + (MATH_CODE_BYTES if types & _MATH_TYPES else 0)


#: [measured] What the trivial net's run touches beyond its set-up (OpenBLAS's first gemm, the
#: solver loop): 12,470 kB with ``max_iter: 0``, ``display: 0`` against 12,676 kB for 2 iterations.
FIRST_RUN_BYTES = 206 * 1024


def run_only_bytes(nets: list[BuiltNet]) -> int:
    """Of the runtime, what set-up has not touched yet: ``FIRST_RUN_BYTES`` and [fit] half the layer
    types' code (set-up runs their LayerSetUp and Reshape, not their Forward and Backward; fitted
    on five set-up-dominated LSTM/RNN runs of 18-65 MiB, within 0.4 MiB)."""
    types = {layer.type for net in nets for layer in net.layers}
    for net in nets:
        for layer in net.layers:
            if layer.type in _UNROLLED:
                types |= _UNROLLED[layer.type][2]
    return code_bytes(types) // 2 + FIRST_RUN_BYTES


def run_footprint(nets: list[BuiltNet], roles: list[Role], mode: Mode = Mode.CPU, solver_type: str = "SGD",
                  gpus: int = 1, l1: bool = False, fed_inputs: bool = True) -> RunFootprint:
    """The footprint of a run made of ``nets`` (train first, then tests), or of a forward-only net."""
    # The solver's train net comes first; its test nets share its weights (whatever its own role).
    train_names = {layer.name for layer in nets[0].layers} if nets and roles[0] != Role.TEST else set()
    fps = [net_footprint(net, role, mode, solver_type, train_names if role == Role.TEST else None, l1, fed_inputs)
           for net, role in zip(nets, roles, strict=True)]
    runtime = CPU_RUNTIME_BYTES + objects_bytes(nets) if mode == Mode.CPU else GPU_RUNTIME_BYTES
    reuse = unrolled_heap_reuse(nets, fps) if mode == Mode.CPU else 0
    runtime -= reuse
    run = RunFootprint(mode=mode, nets=fps, runtime_bytes=runtime,
                       solver_type=solver_type if Role.TRAIN in roles else None, gpus=gpus,
                       objects_bytes=objects_bytes(nets),
                       run_only_bytes=run_only_bytes(nets) if mode == Mode.CPU else 0,
                       setup_heap_bytes=reuse)
    if mode == Mode.GPU and gpus > 1 and Role.TRAIN in roles:
        # Caffe's NCCL path moves each GPU's weights and gradients into two flat buffers of the
        # same size (GPUParams), so they cost nothing extra; NCCL's own communication buffers do.
        run.extra[C.MULTI_GPU] = NCCL_BUFFER_BYTES
    return run


def is_l1(solver: caffe_pb2.SolverParameter | None) -> bool:
    return solver is not None and solver.regularization_type == "L1"

"""Which run an analysis describes, and its footprint.

A solver (or a net with a TRAIN phase) is a training run: ``caffe train`` runs forward, backward and
the update on the solver's train net whatever its own ``state`` or loss says, and test nets share its
weights. A net analysed only in TEST phase is a forward-only run (``caffe test``, pycaffe). A solver
with ``max_iter: 0`` trains nothing: ``Solver::Solve`` only runs the final forward pass (when
``display`` is set) and the final test (when ``test_interval`` is set). A test net the solver never
tests keeps the parameter blobs its fillers wrote and holds nothing else. The verdict against a
budget is :mod:`caffemem.memory.fit`'s.
"""

from __future__ import annotations

from caffemem.categories import Category as C
from caffemem.layers.registry import count
from caffemem.memory.loading import serialize_peak
from caffemem.memory.model import RunFootprint, is_l1, run_footprint
from caffemem.memory.solvers import canonical_solver_type
from caffemem.modes import Mode, Role
from caffemem.net.analyze import Analysis
from caffemem.net.build import BuiltNet
from caffemem.net.state import TRAIN
from caffemem.proto import caffe_pb2


def roles_of(nets: list[BuiltNet]) -> list[Role]:
    """TRAIN/TEST roles for a training run, INFERENCE for a forward-only one."""
    if not any(net.phase == TRAIN for net in nets):
        return [Role.INFERENCE] * len(nets)
    return [Role.TRAIN if net.phase == TRAIN else Role.TEST for net in nets]


def runs_tests(solver: caffe_pb2.SolverParameter) -> bool:
    """Whether ``Solver::Solve`` ever calls ``TestAll``: at iteration 0 (``test_initialization``), at a
    multiple of ``test_interval`` inside the run, or after the last iteration."""
    interval, last = solver.test_interval, max(0, solver.max_iter)
    if interval <= 0:
        return False
    return last == 0 or solver.test_initialization or interval < last or last % interval == 0


def plan_roles(analysis: Analysis) -> tuple[list[Role], list[str]]:
    """Each net's role in the run, and why."""
    nets, solver = analysis.nets, analysis.solver.param if analysis.solver is not None else None
    if analysis.train_index is None:
        roles = roles_of(nets)
        why = "built in TEST phase only: run forward only (caffe test, pycaffe)"
        return roles, [why if r == Role.INFERENCE else "" for r in roles]
    roles, reasons = [], []
    evaluation = solver is not None and solver.max_iter <= 0
    unset = "max_iter: 0" if solver is None or solver.HasField("max_iter") else "max_iter not set (0)"
    run_tests = solver is None or runs_tests(solver)
    for i, _net in enumerate(nets):
        if i == analysis.train_index:
            if not evaluation:
                roles.append(Role.TRAIN)
                reasons.append(analysis.train_reason)
            elif solver.display > 0:
                roles.append(Role.INFERENCE)
                reasons.append(f"{unset}: no iteration runs, only the final forward pass that displays the loss")
            else:
                roles.append(Role.IDLE)
                reasons.append(f"{unset} and no display: built, never run (its weights only)")
        elif run_tests:
            roles.append(Role.TEST)
            reasons.append("a test net: runs forward with the train net's weights")
        else:
            roles.append(Role.IDLE)
            reasons.append("a test net the solver never tests (test_interval, test_initialization, max_iter): "
                           "it holds its own parameter blobs and nothing else")
    return roles, reasons


def roles_for(analysis: Analysis) -> list[Role]:
    return plan_roles(analysis)[0]


def footprint(analysis: Analysis, mode: Mode = Mode.CPU, solver_type: str | None = None,
              gpus: int = 1) -> RunFootprint:
    """The run's footprint. The solver's own type wins over ``solver_type`` (the CLI default)."""
    solver = analysis.solver.param if analysis.solver is not None else None
    if solver is not None and solver.type:
        stype = canonical_solver_type(solver.type)
    else:
        stype = canonical_solver_type(solver_type or "SGD")
    roles, reasons = plan_roles(analysis)
    # ``caffe train`` has no way to feed an Input layer: on the CPU its tops stay unwritten zero
    # pages (on the GPU cudaMalloc commits them all the same).
    fed = analysis.train_index is None or mode == Mode.GPU
    fp = run_footprint(analysis.nets, roles, mode, stype, gpus, is_l1(solver), fed_inputs=fed)
    for net_fp, why in zip(fp.nets, reasons, strict=True):
        net_fp.role_reason = why
    if mode == Mode.CPU and analysis.train_index is not None and snapshots(solver):
        train = analysis.nets[analysis.train_index]
        fp.extra[C.SNAPSHOT] = snapshot_bytes(train, stype)
    setup = setup_excess(fp)
    if setup:
        fp.extra[SETUP_PEAK] = setup
    return fp


#: Extra category: how far the set-up peak (every net's own parameters, before the test nets share
#: the train net's) lies above the steady state; only an evaluation run (``max_iter: 0``) has one.
SETUP_PEAK = "setup_peak"


def setup_excess(fp: RunFootprint) -> int:
    """Bytes by which the end of ``Net::Init`` for every net tops the steady state.

    Each test net's fillers write its own copy of the parameters it later takes from the train net
    (``ShareTrainedLayersWith``, at its first test); until then both copies are resident. A layer's
    transient set-up allocations (an LSTM/RNN's unrolled net) come on top while it sets up.
    """
    cats = fp.by_category
    at_setup = sum(n.setup_bytes for n in fp.nets) + cats.get(C.PREFETCH, 0) + fp.runtime_bytes - fp.run_only_bytes
    at_setup += fp.setup_heap_bytes
    at_setup += max((n.setup_transient_bytes for n in fp.nets), default=0)
    return max(0, at_setup - fp.total_bytes)


def snapshots(solver: caffe_pb2.SolverParameter | None) -> bool:
    """Whether the run writes a snapshot: every ``snapshot`` iterations, and at the end by default."""
    if solver is None:
        return True  # Caffe's default snapshot_after_train is true
    return solver.snapshot > 0 or solver.snapshot_after_train


def snapshot_bytes(net: BuiltNet, solver_type: str) -> int:
    """[measured] The peak extra host memory of writing one snapshot in CPU mode.

    ``Net::ToProto`` copies every layer's blobs (a shared one once per layer that holds it) into a
    NetParameter, one value at a time, so each array grows by doubling (old and new buffer both
    resident at each step); the NetParameter is freed, then the solver state copies its history
    blobs (one per learnable parameter, two for AdaDelta/Adam) the same way. What glibc keeps of
    the first pass in its heap carries into the second (``serialize_peak``).
    """
    weights = [count(p.shape) for layer in net.layers for p in layer.params]
    owned = [count(p.shape) for layer in net.layers for p in layer.params if not p.shared]
    history = 2 if solver_type in ("AdaDelta", "Adam") else 1
    return serialize_peak([weights, owned * history])

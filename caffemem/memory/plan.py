"""Which run an analysis describes, and its footprint.

A solver (or a net with a TRAIN phase) is a training run: the train net learns, test nets share
its weights. A net analysed only in TEST phase is a forward-only run (``caffe test``, pycaffe).
The verdict against a budget is :mod:`caffemem.memory.fit`'s.
"""

from __future__ import annotations

from caffemem.categories import Category as C
from caffemem.memory.model import RunFootprint, is_l1, run_footprint
from caffemem.memory.solvers import canonical_solver_type
from caffemem.modes import Mode, Role
from caffemem.net.analyze import Analysis
from caffemem.net.build import DTYPE_BYTES, BuiltNet
from caffemem.net.state import TRAIN
from caffemem.proto import caffe_pb2


def roles_of(nets: list[BuiltNet]) -> list[Role]:
    """TRAIN/TEST roles for a training run, INFERENCE for a forward-only one."""
    if not any(net.phase == TRAIN for net in nets):
        return [Role.INFERENCE] * len(nets)
    return [Role.TRAIN if net.phase == TRAIN else Role.TEST for net in nets]


def roles_for(analysis: Analysis) -> list[Role]:
    return roles_of(analysis.nets)


def footprint(analysis: Analysis, mode: Mode = Mode.CPU, solver_type: str | None = None,
              gpus: int = 1) -> RunFootprint:
    """The run's footprint. The solver's own type wins over ``solver_type`` (the CLI default)."""
    solver = analysis.solver.param if analysis.solver is not None else None
    if solver is not None and solver.type:
        stype = canonical_solver_type(solver.type)
    else:
        stype = canonical_solver_type(solver_type or "SGD")
    roles = roles_for(analysis)
    fp = run_footprint(analysis.nets, roles, mode, stype, gpus, is_l1(solver))
    if mode == Mode.CPU and Role.TRAIN in roles and snapshots(solver):
        train = analysis.nets[roles.index(Role.TRAIN)]
        fp.extra[C.SNAPSHOT] = snapshot_bytes(train.param_count, stype)
    return fp


def snapshots(solver: caffe_pb2.SolverParameter | None) -> bool:
    """Whether the run writes a snapshot: every ``snapshot`` iterations, and at the end by default."""
    if solver is None:
        return True  # Caffe's default snapshot_after_train is true
    return solver.snapshot > 0 or solver.snapshot_after_train


def snapshot_bytes(params: int, solver_type: str) -> int:
    """[from the source] The peak extra host memory of writing one snapshot in CPU mode.

    ``Net::ToProto`` copies every weight into a NetParameter (4 bytes each), then, after that is
    freed, the solver state copies its history blobs (one per weight, two for AdaDelta/Adam). The
    steady state is all allocated by then, so the larger of the two adds to the peak.
    """
    history = 2 if solver_type in ("AdaDelta", "Adam") else 1
    return DTYPE_BYTES * params * history

"""Which run an analysis describes, its footprint, and the largest batch that fits a budget.

A solver (or a net with a TRAIN phase) is a training run: the train net learns, test nets share
its weights. A net analysed only in TEST phase is a forward-only run (``caffe test``, pycaffe).
Memory is affine in the batch size for Caffe (every activation and most buffers scale with N;
weights, history and the process do not), so two analyses give the largest batch directly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from caffemem.categories import Category as C
from caffemem.errors import CaffememError
from caffemem.memory.model import RunFootprint, is_l1, run_footprint
from caffemem.memory.solvers import canonical_solver_type
from caffemem.net.analyze import Analysis
from caffemem.net.build import DTYPE_BYTES, BuiltNet
from caffemem.net.state import TRAIN
from caffemem.proto import caffe_pb2


def roles_of(nets: list[BuiltNet]) -> list[str]:
    """"train"/"test" for a training run, "inference" for a forward-only one."""
    if not any(net.phase == TRAIN for net in nets):
        return ["inference"] * len(nets)
    return ["train" if net.phase == TRAIN else "test" for net in nets]


def roles_for(analysis: Analysis) -> list[str]:
    return roles_of(analysis.nets)


def footprint(analysis: Analysis, mode: str = "cpu", solver_type: str | None = None,
              gpus: int = 1) -> RunFootprint:
    """The run's footprint. The solver's own type wins over ``solver_type`` (the CLI default)."""
    solver = analysis.solver.param if analysis.solver is not None else None
    if solver is not None and solver.type:
        stype = canonical_solver_type(solver.type)
    else:
        stype = canonical_solver_type(solver_type or "SGD")
    roles = roles_for(analysis)
    fp = run_footprint(analysis.nets, roles, mode, stype, gpus, is_l1(solver))
    if mode == "cpu" and "train" in roles and snapshots(solver):
        train = analysis.nets[roles.index("train")]
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


def host_available_bytes() -> int:
    """MemAvailable of this machine (Linux), for ``--mem host``."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        raise CaffememError("cannot read this machine's available memory; give --mem SIZE") from None


@dataclass
class Fit:
    """The verdict for one budget."""

    budget_bytes: int
    budget_name: str
    needed_bytes: int
    fits: bool
    max_batch: int | None  # None: no batch fits (the fixed part alone is too big), or not computed
    fixed_bytes: int | None = None  # what does not grow with the batch
    per_sample_bytes: int | None = None


def largest_batch(at: Callable[[int], int], budget: int, probe: int = 1) -> tuple[int | None, int, int]:
    """From the footprint at two batch sizes, the largest batch within ``budget``.

    Returns (max batch or None, fixed bytes, bytes per sample). ``at(b)`` is the footprint when every
    data layer has batch ``b``.
    """
    probe = max(1, probe)
    low, high = at(probe), at(probe + 1)
    slope = max(1, high - low)
    fixed = low - slope * probe
    if budget < fixed + slope:
        return None, fixed, slope
    best = (budget - fixed) // slope
    return int(best), fixed, slope

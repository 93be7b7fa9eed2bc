"""How many parameter-sized blobs each Caffe solver touches, per mode (``sgd_solvers.hpp``).

Caffe's SGDSolver creates ``history_``, ``update_`` and ``temp_`` for every learnable parameter but
allocates only what a code path touches. The CPU paths of several solvers use ``update_``/``temp_``
where the GPU kernels do not, which the oracle confirms (Nesterov/AdaGrad/RMSProp cost exactly one
more parameter-sized blob than SGD on the CPU, Adam two, AdaDelta three).
"""

from __future__ import annotations

from caffemem.modes import Mode
from caffemem.net.solver_types import SolverType, canonical_solver_type

SOLVER_TYPES = tuple(SolverType)

_BLOBS = {
    # type: (cpu, gpu)
    "SGD": (1, 1),
    "Nesterov": (2, 1),
    "AdaGrad": (2, 1),
    "RMSProp": (2, 1),
    "AdaDelta": (4, 2),
    "Adam": (3, 2),
}


def history_blobs(solver_type: str, mode: Mode, l1: bool = False) -> int:
    """Parameter-sized blobs per learnable parameter: history plus the update/temp Caffe touches."""
    cpu, gpu = _BLOBS[canonical_solver_type(solver_type)]
    n = cpu if mode == Mode.CPU else gpu
    if l1 and solver_type in ("SGD", "Nesterov", "AdaGrad", "RMSProp") and (mode != Mode.CPU or n < 3):
        n += 1  # L1 regularisation needs temp_
    return n

__all__ = ["SOLVER_TYPES", "canonical_solver_type", "history_blobs"]

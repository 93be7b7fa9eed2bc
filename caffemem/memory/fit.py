"""The one verdict: does a run fit a budget, and what is the largest batch that would.

``caffemem check`` and ``caffemem postmortem`` both ask this question, of a net they built in
different ways; both hand :func:`judge` a function giving the footprint at a batch size and get
the same :class:`Fit` back. Memory is affine in the batch size for Caffe (every activation and
most buffers scale with N; weights, history and the process do not), so two analyses give the
largest batch directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from caffemem.errors import CaffememError
from caffemem.memory.budget import Budget

#: Caffe indexes a blob's elements with an ``int``: no blob may hold more than this many.
INT_MAX = 2**31 - 1
#: A verdict within this share of the budget (either side) is "tight": the estimate's own error
#: (allocator rounding, driver versions) is of that order, so the user should not rely on it.
TIGHT_SHARE = 0.05


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

    @property
    def share(self) -> float:
        """What the run needs as a share of the budget (1.0 = exactly all of it)."""
        return self.needed_bytes / self.budget_bytes if self.budget_bytes else float("inf")

    @property
    def tight(self) -> bool:
        """Within :data:`TIGHT_SHARE` of the budget, fitting or not."""
        return abs(self.share - 1.0) <= TIGHT_SHARE


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


def judge(budget: Budget, needed: int, at: Callable[[int], int] | None, probe: int = 1,
          int_max_batch: int | None = None) -> tuple[Fit, list[str]]:
    """The verdict for ``needed`` bytes against ``budget``, with the largest batch that fits.

    ``at(b)`` gives the whole footprint at batch ``b`` (None when it cannot be computed, e.g. while
    layers are left unanalysed: then only the verdict at the run's own batch is given).
    ``int_max_batch`` caps the answer where a blob would pass Caffe's INT_MAX elements. Returns the
    fit and notes for the user (why the largest batch is missing or capped).
    """
    fit = Fit(budget.bytes, budget.name, needed, needed <= budget.bytes, None)
    notes: list[str] = []
    if at is None:
        return fit, notes
    try:
        fit.max_batch, fit.fixed_bytes, fit.per_sample_bytes = largest_batch(at, budget.bytes, probe)
    except CaffememError as err:
        notes.append(f"largest batch not computed: {err}")
    if fit.max_batch is not None and int_max_batch is not None and fit.max_batch > int_max_batch:
        notes.append(f"memory would allow batch {fit.max_batch}, but at batch {int_max_batch + 1} a blob would "
                     "exceed Caffe's limit of INT_MAX elements")
        fit.max_batch = int_max_batch
    return fit, notes

"""A bulk-read stretch (bulk.py ``TrainBatch``) encoded as the curve table's rows, ready for the builder.

A pure function of the stretch and of four numbers of the builder's state (``RenderState``);
``RunBuilder.take_rendered`` then checks what depends on the run as it is now. The seconds are
counted with logs/clock.py as the line path counts them, and the rows are encoded by the table's
own encoder (``curve.render_rows``): this module never looks inside the encoded text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import add

from caffemem.logs.clock import DAY_US, day
from caffemem.logs.curve import Pending, render_rows
from caffemem.logs.fast.bulk import TrainBatch
from caffemem.logs.grammar import to_float
from caffemem.logs.model import LAST_LINES

RenderState = tuple[int, int, int, int]
"""(first day, first clock, year offset, start) of a run: what its seconds column is counted from."""


def _relative_us(stamps: set[str], state: RenderState, cache: dict[str, int]) -> dict[str, int] | None:
    """Each stamp's whole second as the line path counts it, (days + (clock - first)) + offset,
    minus the run's start; None if one is on a day before the first (or no date).

    Real logs print a new second on nearly every block, so the work is done once per minute
    ("mmdd hh:mm") and each second only adds its seconds; the integers are the line path's.
    """
    first_day, first_clock, year_offset, start = state
    minutes: dict[str, int | None] = {}
    relative: dict[str, int] = {}
    for stamp in stamps:
        minute = stamp[:-3]
        if minute in minutes:
            base = minutes[minute]
        else:
            date, _, hours_minutes = minute.partition(" ")
            number = day(date, cache)
            base = None
            if number and number >= first_day:
                at = (int(hours_minutes[0:2]) * 60 + int(hours_minutes[3:5])) * 60 * 10**6
                base = (number - first_day) * DAY_US + at - first_clock + year_offset - start
            minutes[minute] = base
        if base is None:
            return None
        relative[stamp] = base + int(stamp[-2:]) * 10**6
    return relative


@dataclass(eq=False)
class RenderedBatch:
    """A bulk-read stretch turned into the table's kept rows, and what the builder needs of it."""

    state: RenderState  # rendered for this state of the builder only
    lines: int
    tids: set[str]
    names: list[str]
    rows: str  # every row but the last, encoded by curve.render_rows (opaque here)
    count: int
    nonfinite: bool
    first_seconds: int  # the first loss line's time stamp, as the builder counts it
    last_seconds: int  # the last one's
    last: Pending
    tail: list[str]  # the stretch's last lines (for the run's last lines)
    passing: int = 0  # lines of unknown kinds in the stretch (bulk.py ``_passing``)


def tail_lines(text: str, start: int, end: int) -> list[str]:
    """The last LAST_LINES lines of ``text[start:end]`` (whole lines), without copying all of it."""
    near = max(start, end - 8192)
    while True:
        part = text[near:end]
        if near == start or part.count("\n") > LAST_LINES:
            return part.rsplit("\n", LAST_LINES + 1)[-LAST_LINES - 1:-1]
        near = max(start, end - 8 * (end - near))


def render_batch(batch: TrainBatch, tail: list[str], state: RenderState,
                 cache: dict[str, int]) -> RenderedBatch | None:
    """The batch rendered for a builder in ``state``, or None when it needs the line-by-line rules.

    A pure function of its arguments (``cache`` only remembers day numbers).
    """
    last_lr = to_float(batch.lrs[-1])
    if math.isnan(last_lr):
        return None  # a later lr line of the same iteration would fill it in: line path
    # Line path per loss line: (days + (clock - first)) + offset, then minus start; all in
    # integer microseconds, so one value per distinct "mmdd hh:mm:ss" plus the microseconds is exact.
    relative = _relative_us(set(batch.stamps), state, cache)
    if relative is None:
        return None  # a day before the run's first, or no date
    start = state[3]
    first = relative[batch.stamps[0]] + start + int(batch.micros[0])
    micros = list(map(str, map(add, map(relative.__getitem__, batch.stamps), map(int, batch.micros))))
    names = list(batch.outputs)
    columns = list(batch.outputs.values())
    last = Pending(int(batch.iterations[-1]), int(micros[-1]), last_lr, to_float(batch.losses[-1]), 0)
    last.outputs = {name: to_float(column[-1]) for name, column in zip(names, columns, strict=True)}
    count = len(batch.iterations) - 1
    rows = render_rows(names, batch.iterations[:-1], micros[:-1], batch.lrs[:-1], batch.losses[:-1],
                       [column[:-1] for column in columns]) if count else ""
    return RenderedBatch(state=state, lines=batch.lines, tids=batch.tids, names=names, rows=rows, count=count,
                         nonfinite=batch.nonfinite, first_seconds=first, last_seconds=int(micros[-1]) + start,
                         last=last, tail=tail, passing=batch.passing)

"""Where training blew up: the first iteration whose loss or a net output Caffe printed as NaN or inf.

Read from the run's curve once the log is read, so the line path and the bulk path (which hands
whole stretches of training lines over already encoded) find the same place.
"""

from __future__ import annotations

import math

from caffemem.logs.curve import Table
from caffemem.logs.model import Divergence, Phase, Run


def _word(value: float) -> str:
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _first_in(table: Table, phase: Phase) -> Divergence | None:
    if not len(table) or not table.has_printed_nonfinite():
        return None
    for row in table.records():
        if phase == Phase.TRAIN and _printed(row.loss):
            return Divergence(row.iteration, "loss", _word(row.loss), phase)
        for name, value in zip(table.names, row.outputs, strict=False):
            if _printed(value):
                return Divergence(row.iteration, name, _word(value), phase)
    return None


def _printed(value: float) -> bool:
    """An infinity, or a NaN Caffe printed (a missing value is a plain NaN; a printed one is marked by the curve)."""
    return math.isinf(value) or math.isnan(value) and getattr(value, "printed", False)


def find_divergence(run: Run) -> Divergence | None:
    """The first non-finite training value, else the first non-finite test value, else None."""
    train = _first_in(run.train, Phase.TRAIN)
    test = _first_in(run.test, Phase.TEST)
    if train is None or test is not None and test.iteration < train.iteration:
        return test
    return train

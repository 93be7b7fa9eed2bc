"""Read long stretches of plain training lines in bulk, without looking at each line in Python.

Most of a long log is the same few lines per displayed iteration:

    I0606 00:32:28.832183   904 solver.cpp:229] Iteration 169800, loss = 1.88825
    I0606 00:32:28.832336   904 solver.cpp:245]     Train net output #0: loss = 1.89004 (* 1 = 1.89004 loss)
    I0606 00:32:28.832348   904 sgd_solver.cpp:106] Iteration 169800, lr = 4.70591e-05

Classifying them one by one costs microseconds a line, and even one regex over every character
costs several times a bare ``for line in file`` loop. So the lines are judged by their *shape*:
the line with every digit replaced by 0. Whether lines.py's regexes (the glog prefix and the
per-iteration fast path) accept a line, and where each field sits in it, depends only on its
shape, because they treat every digit alike. A piece of the file has few distinct shapes; each
is classified once (and remembered), the piece becomes a string of one kind letter per line,
a tiny regex on that string finds stretches of blocks (loss line, k train outputs, lr line), and
the fields are cut out of the original lines at the offsets their shape gives — all with
C-level map/slice calls. Anything irregular (outputs that change name, iteration numbers that
do not pair up, a date change, numbers float() does not read) sends the stretch back to the
line-by-line path; the tests check both paths give the same result.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import call, itemgetter

from caffemem.logs.lines import ITERATION_RE, OUTPUT_RE, PREFIX_RE

_DIGITS = str.maketrans("123456789", "000000000")
_NOT_HOT: tuple[str, None] = ("x", None)
# shape -> (kind letter, getter of the fields from a line of that shape)
_SHAPES: dict[str, tuple[str, Callable[[str], tuple[str, ...]] | None]] = {}
MAX_SHAPES = 100_000  # forget and relearn past this, so odd logs cannot grow it without end
MIN_BLOCKS = 4  # shorter stretches are cheaper line by line
# Blocks of one kind repeated: loss line (L), k train outputs (O), lr line (R).
_STRETCH_RE = re.compile(r"(LO*R)\1*")


@dataclass
class TrainBatch:
    """Columns for consecutive (loss line, train outputs, lr line) blocks."""

    lines: int
    date: str
    clocks: list[str]
    tids: set[str]
    iterations: array  # type: ignore[type-arg]
    losses: array  # type: ignore[type-arg]
    lrs: array  # type: ignore[type-arg]
    outputs: dict[str, array]  # type: ignore[type-arg]
    tail: list[str]


def shape_kind(shape: str) -> tuple[str, Callable[[str], tuple[str, ...]] | None]:
    """Kind letter and field getter for lines of this shape, using lines.py's own regexes.

    L: (date, clock, tid, iteration, loss); O: (tid, name, value); R: (tid, iteration, lr).
    Only INFO lines: an F line is a crash even when it reads like a solver line.
    """
    prefix = PREFIX_RE.match(shape)
    if prefix is None or not shape.startswith("I"):
        return _NOT_HOT
    at = prefix.end()
    message = shape[at:]

    def span(m: re.Match[str], group: int, offset: int = at) -> slice:
        return slice(m.start(group) + offset, m.end(group) + offset)

    head = [span(prefix, 2, 0), span(prefix, 3, 0), span(prefix, 4, 0)]
    found = ITERATION_RE.match(message)
    if found is not None:
        if found.group(2) is not None:
            return "L", itemgetter(*head, span(found, 1), span(found, 2))
        if found.group(3) is not None:
            return "R", itemgetter(head[2], span(found, 1), span(found, 3))
        if found.group(8) is not None:
            return "L", itemgetter(*head, span(found, 1), span(found, 8))
        return _NOT_HOT  # "Testing net": rare, left to the line path
    found = OUTPUT_RE.match(message)
    if found is not None and found.group(1) == "Train":
        return "O", itemgetter(head[2], span(found, 3), span(found, 4))
    return _NOT_HOT


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def split_piece(piece: str) -> Iterator[tuple[list[str], TrainBatch | None, list[str]]]:
    """Cut a piece of whole lines into (lines before, batch, the batch's lines), in file order.

    The last item has no batch. Lines of stretches that are too short or irregular come back
    among the plain lines.
    """
    lines = _lines(piece)
    shapes = _lines(piece.translate(_DIGITS))
    if len(_SHAPES) > MAX_SHAPES:
        _SHAPES.clear()
    for shape in set(shapes).difference(_SHAPES):
        _SHAPES[shape] = shape_kind(shape)
    info = list(map(_SHAPES.__getitem__, shapes))
    kinds = "".join(map(itemgetter(0), info))
    pos = 0
    for m in _STRETCH_RE.finditer(kinds):
        start, end = m.span()
        size = len(m.group(1))
        if (end - start) // size < MIN_BLOCKS:
            continue
        batch = _columns(lines, info, start, end, size)
        if batch is None:
            continue
        yield lines[pos:start], batch, lines[start:end]
        pos = end
    yield lines[pos:], None, []


def _fields(lines: list[str], info: list[tuple[str, Callable[[str], tuple[str, ...]] | None]],
            start: int, end: int, step: int) -> list[tuple[str, ...]]:
    """The fields of every step-th line from start, each cut by its own shape's getter."""
    return list(map(call, map(itemgetter(1), info[start:end:step]), lines[start:end:step]))


def _columns(lines: list[str], info: list[tuple[str, Callable[[str], tuple[str, ...]] | None]],
             start: int, end: int, size: int) -> TrainBatch | None:
    """A TrainBatch for lines[start:end], blocks of ``size`` lines, or None if irregular."""
    n = (end - start) // size
    loss_lines = _fields(lines, info, start, end, size)
    dates = list(map(itemgetter(0), loss_lines))
    if dates.count(dates[0]) != n:
        return None
    iterations = list(map(itemgetter(3), loss_lines))
    lr_lines = _fields(lines, info, start + size - 1, end, size)
    if list(map(itemgetter(1), lr_lines)) != iterations:
        return None
    tids = set(map(itemgetter(2), loss_lines))
    tids.update(map(itemgetter(0), lr_lines))
    outputs: dict[str, array] = {}  # type: ignore[type-arg]
    try:
        for j in range(1, size - 1):
            out_lines = _fields(lines, info, start + j, end, size)
            names = list(map(itemgetter(1), out_lines))
            name = names[0].strip()
            if names.count(names[0]) != n or name in outputs:
                return None
            tids.update(map(itemgetter(0), out_lines))
            outputs[name] = array("d", map(float, map(itemgetter(2), out_lines)))
        losses = array("d", map(float, map(itemgetter(4), loss_lines)))
        lrs = array("d", map(float, map(itemgetter(2), lr_lines)))
    except ValueError:  # "nan(0x...)" and similar: leave them to the line path's to_float
        return None
    return TrainBatch(lines=end - start, date=dates[0], clocks=list(map(itemgetter(1), loss_lines)),
                      tids=tids, iterations=array("q", map(int, iterations)), losses=losses, lrs=lrs,
                      outputs=outputs, tail=lines[max(start, end - 12):end])

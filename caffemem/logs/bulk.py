"""Read long stretches of plain training lines in bulk, a regex pass per stretch instead of per line.

Most of a long log is the same three lines per displayed iteration:

    I0606 00:32:28.832183   904 solver.cpp:229] Iteration 169800, loss = 1.88825
    I0606 00:32:28.832336   904 solver.cpp:245]     Train net output #0: loss = 1.89004 (* 1 = 1.89004 loss)
    I0606 00:32:28.832348   904 sgd_solver.cpp:106] Iteration 169800, lr = 4.70591e-05

Classifying them one by one costs several microseconds a line in Python. Here a whole piece of
the file is cut with one ``re.split`` on a block pattern: that yields the text between blocks
and every block's fields as plain strings, with no match objects, so the fields of consecutive
blocks can be taken as columns by slicing, and numbers converted a column at a time. The block
pattern accepts only what lines.py accepts for these kinds (same prefix, same number syntax;
all lines of a block from one thread), and anything irregular — outputs that differ from the
first block's, numbers float() does not read, a date change — sends the stretch back to the
line-by-line path. Both paths must give the same result; the tests compare them.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import repeat
from operator import itemgetter

from caffemem.logs.lines import INT_PATTERN as _INT

# A subset of lines.NUM_PATTERN (no case-insensitive nan/inf, no NaN payloads): the bulk path may
# refuse more than the line path, never accept more. Without the (?i:) group it scans faster.
_NUM = r"(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|-nan))"


def _prefix(stamp: bool) -> str:
    """An INFO glog prefix after a newline; with ``stamp`` it captures date, time and thread id,
    without it the thread id must equal the block's first line's (backreference to group 4)."""
    if stamp:
        return r"\nI(\d{4}(?:\d{4})?) (\d\d:\d\d:\d\d\.\d+) +(\d+) [^\s\]]+:\d+\] ?"
    return r"\nI\d{4}(?:\d{4})? \d\d:\d\d:\d\d\.\d+ +\4 [^\s\]]+:\d+\] ?"


_LOSS = rf"[ \t]*Iteration ({_INT})(?: \({_NUM} iter/s, {_NUM}s/{_INT} iters?\))?, loss = ({_NUM})[ \t]*(?=\n)"
_OUT = rf"[ \t]*Train net output #{_INT}: [^\n]+? = {_NUM}(?: \(\* {_NUM} = {_NUM} loss\))?[ \t]*(?=\n)"
_LR = rf"[ \t]*Iteration ({_INT}), lr = ({_NUM})[ \t]*(?=\n)"

# One block, from the newline before its first line to just before the newline after its last
# (a pattern that starts with a literal is scanned much faster than one anchored with ^).
# Groups: 1 the whole block, 2 date, 3 clock, 4 tid, 5 iteration, 6 loss, 7 the output lines,
# 8 iteration (lr line), 9 lr.
BLOCK_RE = re.compile("(" + _prefix(True) + _LOSS + "((?:" + _prefix(False) + _OUT + ")*)"
                      + _prefix(False) + _LR + ")")
GROUPS = 9
# The output lines of blocks, already checked by BLOCK_RE: name and value of each.
OUTPUT_RE = re.compile(rf"\] ?[ \t]*Train net output #{_INT}: ([^\n]+?) = ({_NUM})")
MIN_BLOCKS = 4  # shorter stretches are cheaper line by line


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


def _lines_of(separator: str) -> list[str]:
    """The lines in the text between two blocks (it starts with the previous line's newline)."""
    if not separator:
        return []
    lines = separator.split("\n")[1:]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def split_piece(piece: str) -> Iterator[tuple[list[str], TrainBatch | None, str]]:
    """Cut a piece of whole lines into (lines before, batch or None, batch text) in file order.

    Lines of stretches that are too short or irregular come back among the plain lines.
    """
    parts = BLOCK_RE.split("\n" + piece)
    step = GROUPS + 1
    count = (len(parts) - 1) // step
    pending: list[str] = _lines_of(parts[0])
    i = 0
    while i < count:
        j = i + 1  # the stretch is blocks i..j-1: the separators between them are empty
        while j < count and not parts[j * step]:
            j += 1
        batch = None
        if j - i >= MIN_BLOCKS:
            batch = parse_columns([parts[1 + g + i * step: j * step: step] for g in range(GROUPS)])
        text = "".join(parts[1 + i * step: j * step: step])[1:] + "\n"
        if batch is None:
            pending.extend(text[:-1].split("\n"))
        else:
            yield pending, batch, text
            pending = []
        pending.extend(_lines_of(parts[j * step]))
        i = j
    if pending:
        yield pending, None, ""


def parse_columns(columns: list[list[str]]) -> TrainBatch | None:
    """A TrainBatch from the BLOCK_RE groups of consecutive blocks, or None if irregular."""
    whole, dates, clocks, tids, its, losses, regions, lr_its, lrs = columns
    n = len(whole)
    if dates.count(dates[0]) != n or its != lr_its:
        return None
    per_block = regions[0].count("\n")
    if per_block and list(map(str.count, regions, repeat("\n"))).count(per_block) != n:
        return None
    pairs = OUTPUT_RE.findall("".join(regions)) if per_block else []
    if len(pairs) != per_block * n:
        return None
    names = [pairs[j][0].strip() for j in range(per_block)]
    if len(set(names)) != per_block:
        return None
    outputs = {}
    try:
        for j, name in enumerate(names):
            column = pairs[j::per_block]
            if list(map(itemgetter(0), column)).count(pairs[j][0]) != n:
                return None
            outputs[name] = array("d", map(float, map(itemgetter(1), column)))
        loss_values = array("d", map(float, losses))
        lr_values = array("d", map(float, lrs))
    except ValueError:  # "nan(0x...)" and similar: leave them to the line path's to_float
        return None
    tail = "".join(whole[-12:]).split("\n")[1:][-12:]  # each block starts with a newline
    return TrainBatch(lines=n * (2 + per_block), date=dates[0], clocks=clocks, tids=set(tids),
                      iterations=array("q", map(int, its)), losses=loss_values, lrs=lr_values,
                      outputs=outputs, tail=tail)

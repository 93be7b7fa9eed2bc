"""Runs of glog lines of kinds caffemem does not know, found by their shape and skipped in bulk.

Between the training blocks of a real log sit lines the run builder only counts: "Data layer
prefetch queue empty", NVCaffe's per-layer ``[Forward]``/``[Backward]`` debug lines, a 2014
solver's ``Data: ..., Cost: 0`` lines, LMDB and cuDNN chatter. Line by line each costs a
classification (for some a lark parse, ~80 us) and an event. Here a line is judged by its
*shape*, every ASCII digit 1-9 replaced by 0 (bulk.py's shapes): lines.py and the grammar treat
all digits alike (every terminal of glog.lark that takes a digit takes any digit; lines.py's
regexes use ``\\d``), so whether a line is ``unknown`` depends only on its shape. Each distinct
shape is classified once, with lines.py's ``classify`` itself (the grammar stays the definition;
tests/logs/fast/test_log_plain.py checks that line and shape agree on every corpus line).

A line is *skippable* when its shape is classified ``unknown`` and, if it has a glog prefix, is not
F (a fatal line is a crash). For such a line the builder only counts it, keeps it as a last line
and notes its thread id (a line without a prefix: counts it and keeps it, once the run has glog
lines and outside a text block), which is what ``RunBuilder.take_unknown`` does for a whole run of
them — or refuses, and then the run goes line by line. A line from a source file whose lines
reveal a data layer's type while it is set up (``DATA_LAYER_SOURCES``, compared as shapes too:
NVCaffe's data layers print "Output data size", "Parser threads" at every test pass) is skippable
only while no layer is being set up: its mark is a ``SourceGetter``, which ``take_unknown`` is
told of (the compiled scanner is only lent a run in which no layer is being set up).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import groupby
from operator import itemgetter

from caffemem.logs.events import UNKNOWN
from caffemem.logs.fast.bulk import digit_shape
from caffemem.logs.lines import DATA_LAYER_SOURCES, PREFIX_RE, classify

_SOURCE_SHAPES = frozenset(map(digit_shape, DATA_LAYER_SOURCES))
MAX_SHAPES = 100_000  # forget and relearn past this (binary junk in lines makes many shapes)
MAX_LINE_CHARS = 4096  # longer lines are judged one by one and their shape is not kept

NO_PREFIX = True
"""The mark of a skippable line without a glog prefix (binary junk broken at a newline byte, an
unknown tool's output): skippable only outside a text block and once the run has glog lines."""



class SourceGetter:
    """The thread-id getter of skippable lines from a data layer's source file (see the module)."""

    __slots__ = ("get",)

    def __init__(self, get: itemgetter) -> None:  # type: ignore[type-arg]
        self.get = get

    def __call__(self, line: str) -> str:
        return self.get(line)  # type: ignore[no-any-return]


# A line shape -> the getter of its thread id when the line is skippable (NO_PREFIX when it has
# no thread id; a SourceGetter for a data layer's source file), else False.
_SHAPES: dict[str, itemgetter | SourceGetter | bool] = {}  # type: ignore[type-arg]
_GETTERS: dict[tuple[int, int], itemgetter] = {}  # type: ignore[type-arg]
_SOURCE_GETTERS: dict[tuple[int, int], SourceGetter] = {}  # one object per place, so that groupby joins runs


def skippable(shape: str) -> itemgetter | SourceGetter | bool:  # type: ignore[type-arg]
    """The thread-id getter for lines of this shape if they are skippable (see the module), else False."""
    if len(shape) > MAX_LINE_CHARS or not shape:
        return False
    prefix = PREFIX_RE.match(shape)
    if prefix is None:
        return NO_PREFIX if classify(shape).kind == UNKNOWN else False
    if shape[0] == "F" or classify(shape).kind != UNKNOWN:
        return False
    where = (prefix.start(4), prefix.end(4))
    getter = _GETTERS.get(where)
    if getter is None:
        getter = _GETTERS[where] = itemgetter(slice(*where))
    if prefix.group(5).split(":", 1)[0] in _SOURCE_SHAPES:
        source = _SOURCE_GETTERS.get(where)
        if source is None:
            source = _SOURCE_GETTERS[where] = SourceGetter(getter)
        return source
    return getter


def runs(lines: list[str], text: str) -> Iterator[tuple[int, int, itemgetter | SourceGetter | bool]]:  # type: ignore[type-arg]
    """(start, end, getter) over ``lines`` (``text`` split at its newlines, ``text`` whole lines):
    consecutive lines skippable with the same thread-id getter, or (getter False) not skippable."""
    shapes = digit_shape(text).split("\n")
    if len(shapes) > len(lines):
        shapes.pop()  # text ended with a newline
    get = _SHAPES.get
    marks = list(map(get, shapes))
    if None in marks:
        if len(_SHAPES) > MAX_SHAPES:
            _SHAPES.clear()
        for index, mark in enumerate(marks):
            if mark is None:
                shape = shapes[index]
                mark = _SHAPES.get(shape)
                if mark is None:
                    mark = skippable(shape)
                    if len(shape) <= MAX_LINE_CHARS:
                        _SHAPES[shape] = mark
                marks[index] = mark
    start = 0
    for mark, group in groupby(marks):
        end = start + len(list(group))
        yield start, end, mark
        start = end

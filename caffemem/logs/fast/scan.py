"""The compiled scanner (``_scan.c``) fed from Python: a piece's lines taken in C up to the first
line it is not sure of, that line read the Python way, and on again.

The C code decides only what lines.py and runs.py decide identically for the lines a training run
repeats (see its header); it hands back everything else, so the result is the line path's byte
for byte (tests/logs/fast/test_log_scan.py checks it on every shared log, and the cases where it
must hand back). It is optional: where it was not built, or with ``CAFFEMEM_NO_C=1`` in the
environment, ``compiled.SCAN`` is None and the pure-Python bulk path (bulk.py, plain.py) does the work.
"""

from __future__ import annotations

from collections.abc import Callable

from caffemem.logs.fast import compiled, plain
from caffemem.logs.fast.pieces import hand_back_end
from caffemem.logs.lines import _KNOWN_FIRST_WORDS, _NAME_FORMS
from caffemem.logs.reader import LineEvents
from caffemem.logs.runs import RunBuilder

if compiled.BUILT is not None:
    compiled.BUILT.setup(tuple(sorted(word.encode("ascii") for word in _KNOWN_FIRST_WORDS)),
                         tuple(form.encode("ascii") for form in _NAME_FORMS))


def __getattr__(name: str) -> object:
    """``scan.SCAN``: the module in use, read from ``compiled`` (set it there, not here)."""
    if name == "SCAN":
        return compiled.SCAN
    raise AttributeError(name)




def feed_piece(piece: str, events: LineEvents, builder: RunBuilder,
               python: Callable[[str], None]) -> None:
    """Feed a piece of whole lines: stretches the scanner takes, the other lines through
    ``python`` (the pure-Python bulk feeding of a text of whole lines).

    A line handed back is read alone; after tries that take nothing, twice as many lines go the
    Python way each time (a set-up, a log the scanner does not know), so a log it cannot read
    costs hardly more than the pure-Python path.
    """
    scan = compiled.SCAN
    assert scan is not None
    size = len(piece)
    ascii_only = piece.isascii()
    pos = 0  # characters
    at = 0  # bytes of the piece's UTF-8 form
    misses = 0
    shapes = plain._SHAPES
    while pos < size:
        state = builder.lend_scan() if events.block_kind is None else None
        if state is None:
            python(piece[pos:])
            return
        result = scan.scan(piece, at, *state, shapes)
        taken = builder.take_scan(events.number + 1, result)
        events.number += taken
        at, pos = result[0], pos + result[1]
        if pos >= size:
            return
        misses = 0 if taken else min(misses + 1, 12)
        end = hand_back_end(piece, pos, misses)
        chunk = piece[pos:end]
        python(chunk)
        pos = end
        at += len(chunk) if ascii_only else len(chunk.encode("utf-8", "surrogatepass"))

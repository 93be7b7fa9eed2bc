"""Reading Caffe training logs: the nets set up, the training curve, and how each run ended.

``read_log(path)`` is the entry point; it reads the file once, in bounded memory, and returns a
:class:`LogReport` whose runs hold the echoed net and solver text for other modules to parse.
How it reads fast is private (``caffemem.logs.fast``): the result is the line path's.
"""

from __future__ import annotations

import os

from caffemem.logs.fast.feed import Feeder
from caffemem.logs.fast.pieces import PIECE_BYTES
from caffemem.logs.malloc import keep_freed_memory
from caffemem.logs.model import (
    CrashKind,
    EndStatus,
    Layer,
    LogReport,
    Net,
    Phase,
    PhaseSource,
    Run,
    RunEnd,
    Stage,
    Top,
)
from caffemem.logs.reader import ProgressCallback, open_log, read_pieces
from caffemem.logs.runs import RunBuilder


def read_log(path: str | os.PathLike[str], progress: ProgressCallback | None = None,
             bulk: bool = True, piece_bytes: int = PIECE_BYTES) -> LogReport:
    """Read one log file. ``progress(bytes_done, total)`` is called now and then if given.

    ``bulk=False`` reads every line through the line classifier (slower, same result; the tests
    use it to check the fast path). One process: the compiled scanner (fast/_scan.c, where it
    was built) takes the lines a training run repeats. ``piece_bytes`` is the size of the pieces
    the file is read in (the tests make it small).

    Call ``close()`` on the result (or let it be collected) to drop the temporary files that
    hold long training curves.
    """
    stream, size = open_log(path)
    builder = RunBuilder(os.fspath(path))
    feeder = Feeder(builder)
    with stream:
        for piece in read_pieces(stream, progress, size, piece_bytes):
            feeder.piece(piece, bulk)
        lines = feeder.finish()
    report = builder.finish()
    report.bytes = size or 0
    report.lines = lines
    return report


__all__ = ["CrashKind", "EndStatus", "Layer", "LogReport", "Net", "Phase", "PhaseSource",
           "ProgressCallback", "Run", "RunEnd", "Stage", "Top", "keep_freed_memory", "read_log"]

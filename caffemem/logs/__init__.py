"""Reading Caffe training logs: the nets set up, the training curve, and how each run ended.

``read_log(path)`` is the entry point; it reads the file once, in bounded memory, and returns a
:class:`LogReport` whose runs hold the echoed net and solver text for other modules to parse.
"""

from __future__ import annotations

import os

from caffemem.logs.lines import classify
from caffemem.logs.model import Layer, LogReport, Net, Run, RunEnd, Top
from caffemem.logs.parallel import PARALLEL_MIN_BYTES, can_fork, read_parallel
from caffemem.logs.pieces import PIECE_BYTES
from caffemem.logs.reader import ProgressCallback, iter_events, open_log, split_lines
from caffemem.logs.runs import RunBuilder


def read_log(path: str | os.PathLike[str], progress: ProgressCallback | None = None,
             bulk: bool = True, parallel_min_bytes: int | None = None,
             piece_bytes: int = PIECE_BYTES) -> LogReport:
    """Read one log file. ``progress(bytes_done, total)`` is called now and then if given.

    ``bulk=False`` reads every line through the line classifier (slower, same result; the tests
    use it to check the bulk path). When ``parallel_min_bytes`` is given (the command line passes
    ``PARALLEL_MIN_BYTES``), files at least that big are read with a forked worker process doing
    part of the bulk work (parallel.py; same result). A library caller gets no fork unless it asks. ``piece_bytes`` is
    the size of the pieces the file is read in (the tests make it small).

    Call ``close()`` on the result (or let it be collected) to drop the temporary files that
    hold long training curves.
    """
    stream, size = open_log(path)
    builder = RunBuilder(os.fspath(path))
    lines = 0
    with stream:
        parallel = bulk and parallel_min_bytes is not None and can_fork(stream, size, parallel_min_bytes)
        if parallel:
            lines = read_parallel(stream, builder, progress, size, piece_bytes)
        for number, event in () if parallel else iter_events(stream, progress, size, bulk, piece_bytes):
            if event.kind == "end_of_file":
                lines = event.values[0]
                continue
            if event.kind == "train_batch":
                batch, text = event.values
                if not builder.take_batch(number, batch, text):
                    for offset, line in enumerate(split_lines(text)):
                        builder.feed(number + offset, classify(line))
                continue
            builder.feed(number, event)
    report = builder.finish()
    report.bytes = size or 0
    report.lines = lines
    return report


__all__ = ["PARALLEL_MIN_BYTES", "Layer", "LogReport", "Net", "ProgressCallback", "Run", "RunEnd", "Top", "read_log"]

"""``caffemem log`` as a library call: read a Caffe log once and pick the runs to report."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from caffemem.commands.display import DISPLAY, Displayable
from caffemem.errors import CaffememError
from caffemem.logs import LogReport, ProgressCallback, Run, parselog, read_log
from caffemem.logs.parselog import Cell, CsvText, ParseLog, TableState, log_year
from caffemem.logs.reader import open_log, read_pieces


@dataclass(repr=False)
class LogResult(Displayable):
    """A log read, and the runs the caller asked about (all of them unless one was picked).

    The report may keep long training curves in temporary files: ``close()`` it (or use the result
    as a context manager) when done writing.
    """

    report: LogReport
    runs: list[Run]

    def close(self) -> None:
        self.report.close()

    def to_dict(self) -> dict:
        """Exactly what ``caffemem log --format json`` writes, as Python data (the whole curve in memory)."""
        render = DISPLAY.get((LogResult, "dict"))
        if render is None:  # the JSON writer registers itself when imported (caffemem.read_log does)
            raise CaffememError("to_dict needs the log's JSON writer: import caffemem.report.log_json first")
        return render(self)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        ends = ", ".join(str(run.end.status) for run in self.runs[:5]) + (", ..." if len(self.runs) > 5 else "")
        return f"<LogResult: {len(self.runs)} run(s) of {len(self.report.runs)} in the log ({ends})>"

    def __enter__(self) -> LogResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_log(path: str | os.PathLike[str], run_number: int | None = None,
            progress: ProgressCallback | None = None) -> LogResult:
    """Read ``path``; with ``run_number`` (1 = first) keep only that run."""
    report = read_log(path, progress=progress)
    runs = report.runs
    if run_number is not None:
        if not 1 <= run_number <= len(report.runs):
            report.close()
            raise CaffememError(f"--run {run_number}: the log holds {len(report.runs)} run(s)")
        runs = [report.runs[run_number - 1]]
    return LogResult(report, runs)


@dataclass(repr=False)
class ParseLogResult:
    """A log opened for parse_log.py's reading (``caffemem log --csv-prefix``, the drop-in).

    Nothing is read until ``rows()`` is taken: the rows stream out of one pass over the file, so
    a writer can put them in files as they come, in constant memory. ``close()`` it (or use it
    as a context manager) when done.
    """

    path: str
    year: int
    parse: ParseLog
    stream: BinaryIO

    @property
    def tables(self) -> dict[str, TableState]:
        """"train" and "test": their columns, rows and left-out outputs (complete once ``rows()`` is done)."""
        return self.parse.tables

    @property
    def started(self) -> bool:
        """Whether the log has the ``Solving`` line parse_log.py starts from (known once ``rows()`` is done)."""
        return self.parse.started

    def rows(self) -> Iterator[tuple[TableState, list[Cell]]]:
        return self.parse.rows()

    def csv_rows(self, delimiter: str = ",") -> Iterator[tuple[TableState, list[Cell] | CsvText]]:
        """The rows, those the compiled reader finished as CSV text (ParseLog.csv_rows)."""
        return self.parse.csv_rows(delimiter)

    def close(self) -> None:
        if self.stream is not sys.stdin.buffer:
            self.stream.close()

    def __enter__(self) -> ParseLogResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_parse_log(path: str | os.PathLike[str], year: int | None = None,
                  progress: ProgressCallback | None = None) -> ParseLogResult:
    """Open ``path`` (``-``: standard input) for parse_log.py's reading, its first stamp in ``year``
    (glog prints none; default: as parse_log.py, the file's ctime year, and this year for standard
    input). Compressed and binary files are refused, as by the main reader; bytes that are not
    UTF-8 are replaced instead of stopping the read (parse_log.py stops with a traceback)."""
    stream, size = open_log(path)
    try:
        first_year = log_year(path) if year is None else year
    except OSError:
        stream.close()
        raise
    if not 1 <= first_year <= 9999:
        stream.close()
        raise CaffememError(f"--year {first_year}: a year from 1 to 9999")

    pieces: Iterator[str | bytes]
    if parselog.SCAN is not None and size is not None and _regular(stream):
        # the compiled reader takes a regular file's bytes (no decoding for the lines it takes)
        report = None if progress is None else (lambda done: progress(done, size))
        pieces = parselog.file_pieces(stream.fileno(), size, report)
    else:
        pieces = read_pieces(stream, progress, size, unprefix=False)  # parse_log.py reads lines as they are
    return ParseLogResult(os.fspath(path), first_year, ParseLog(None, first_year, pieces=pieces), stream)


def _regular(stream: BinaryIO) -> bool:
    """Whether ``stream`` is a regular file read with ``os.pread`` (as logs/reader.py's read_pieces)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode) and hasattr(os, "pread")
    except (OSError, ValueError, AttributeError):
        return False

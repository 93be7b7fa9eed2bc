"""``caffemem log`` as a library call: read a Caffe log once and pick the runs to report."""

from __future__ import annotations

import os
from dataclasses import dataclass

from caffemem.commands.display import DISPLAY, Displayable
from caffemem.errors import CaffememError
from caffemem.logs import LogReport, ProgressCallback, Run, read_log


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

"""Which run of a log a command looks at, when a file holds several (restarts, resumed runs)."""

from __future__ import annotations

from caffemem.errors import CaffememError
from caffemem.logs.model import LogReport, Run


def pick_run(report: LogReport, index: int | None) -> Run:
    """Run ``index`` (1 = first) if given; else the last run that crashed, else the last run.

    The last crash is what a post-mortem is about; a log whose runs all finished is read at its end.
    """
    if not report.runs:
        raise CaffememError("no Caffe run found in this log", report.source)
    if index is not None:
        if not 1 <= index <= len(report.runs):
            raise CaffememError(f"the log has {len(report.runs)} run(s); --run {index} does not exist", report.source)
        return report.runs[index - 1]
    crashed = [r for r in report.runs if r.end.status == "crashed"]
    return crashed[-1] if crashed else report.runs[-1]

"""`caffemem log --format csv`: the training curve as Caffe's tools/extra/parse_log.py writes it.

Two tables per run, train and test, each with the columns NumIters, Seconds, LearningRate and then
one column per net output in the order the log first shows them. Seconds count from the run's
``Solving`` line. Missing values are empty cells. On one stream the tables follow each other,
separated by a blank line, so that scripts already reading parse_log.py output can split them.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from typing import TextIO

from caffemem.commands.log import LogResult
from caffemem.logs.curve import Table
from caffemem.logs.model import Run
from caffemem.outputs import open_new_file, refuse_existing
from caffemem.report.options import ReportOptions

HEAD = ["NumIters", "Seconds", "LearningRate"]


def _cell(value: float) -> str:
    """A value as parse_log.py prints it: a NaN Caffe printed stays ``nan`` (str(float('nan'))), a
    missing value is an empty cell."""
    if math.isnan(value):
        return "nan" if getattr(value, "printed", False) else ""
    return repr(value)


def table_rows(table: Table) -> Iterator[list[str]]:
    """Header row, then one row per table row."""
    yield HEAD + table.names
    for row in table.records():
        yield [str(row.iteration), f"{row.seconds:.6f}", _cell(row.lr), *map(_cell, row.outputs)]


def write_table(table: Table, out: TextIO) -> None:
    chunks = table.csv_chunks()  # the same cells, rewritten from the kept rows in C where it can
    if chunks is None:
        csv.writer(out, lineterminator="\n").writerows(table_rows(table))
        return
    csv.writer(out, lineterminator="\n").writerow(HEAD + table.names)
    for text in chunks:
        out.write(text)


def write_log_csv(runs: list[Run], out: TextIO) -> None:
    """All selected runs: train table, blank line, test table; runs separated by a blank line."""
    for i, run in enumerate(runs):
        if i:
            out.write("\n")
        write_table(run.train, out)
        out.write("\n")
        write_table(run.test, out)


def write_log_csv_files(runs: list[Run], prefix: str, force: bool = False) -> list[str]:
    """parse_log.py's pair of files, PREFIX.train and PREFIX.test (PREFIX.runN.* for several runs).

    An existing file is never written over unless ``force``; then nothing is written at all.
    Returns the paths written.
    """
    plan = []
    for run in runs:
        stem = prefix if len(runs) == 1 else f"{prefix}.run{run.index + 1}"  # runs count from 1, as --run
        plan += [(stem + ".train", run.train), (stem + ".test", run.test)]
    refuse_existing([path for path, _ in plan], force)
    for path, table in plan:
        with open_new_file(path, force) as handle:
            write_table(table, handle)
    return [path for path, _ in plan]


def write(result: LogResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem log --format csv`` on one stream (``--csv-prefix`` writes two files instead)."""
    write_log_csv(result.runs, out)

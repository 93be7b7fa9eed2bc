"""`caffemem log --format csv`: the training curve as CSV, three ways.

- **Standard output** (no ``--csv-prefix``): one rectangular table, a header once, so that any CSV
  reader (pandas, a spreadsheet) takes it whole. Columns ``Run,Phase,TestNet,NumIters,Seconds,
  LearningRate`` and then every output name of the selected runs in first-seen order, training
  outputs before test outputs (a name both phases have is one column: ``Phase`` tells the rows
  apart). One row per curve row: the runs in order, each run's TRAIN rows then its TEST rows;
  ``TestNet`` is the test net's number (Caffe's ``#0``) on TEST rows and empty on TRAIN rows.
  The pairing is caffemem's own (logs/curve.py): a row holds its iteration's own learning rate
  and outputs, seconds count from its run's ``Solving`` line (six decimals). A value the row
  lacks is an empty cell; a NaN or infinity Caffe printed is ``nan``/``inf``/``-inf``.
- **``--csv-prefix P``, the parse_log.py drop-in**: ``P.train`` and ``P.test`` with the rows,
  values and bytes of Caffe's ``tools/extra/parse_log.py`` (logs/parselog.py tells its rule):
  csv.excel (CRLF line ends), floats as Python writes them (``100.0``), the first row's columns.
  ``P`` an existing directory gives ``P/<log name>.train``, as ``parse_log.py LOG P``. A table
  without rows is not written (as parse_log.py). Streamed: rows go to the files as they are read.
- **``--csv-prefix P --own-pairing``**: the same pair of files (``P.runN.*`` when the log holds
  several runs), but with caffemem's own rows as on standard output, a table per phase.

Nothing the user owns is written over without ``--force`` (caffemem/outputs.py), and a file
this writes is never left half-written: an interrupted drop-in removes what it had begun.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from caffemem.commands.log import LogResult, ParseLogResult
from caffemem.errors import CaffememError
from caffemem.logs.curve import Table
from caffemem.logs.model import Run
from caffemem.logs.parselog import HEAD as PARSE_LOG_HEAD
from caffemem.logs.parselog import CsvText, TableState
from caffemem.outputs import open_new_file, refuse_existing
from caffemem.report.options import ReportOptions

HEAD = list(PARSE_LOG_HEAD)  # parse_log.py's names, kept by every table this writes
#: The rectangular table's first columns, before the outputs.
RECTANGLE_HEAD = ["Run", "Phase", "TestNet", *HEAD]


def check_delimiter(delimiter: str) -> str:
    """``--delimiter`` as the csv module takes it: one character (``\\t`` typed as two is a tab),
    not a quote or a line end. Checked before anything is read."""
    if delimiter == "\\t":
        delimiter = "\t"
    if len(delimiter) != 1 or delimiter in "\"\r\n":
        raise CaffememError(f"--delimiter {delimiter!r}: one character, not a quote or a line end")
    return delimiter


def _cell(value: float) -> str:
    """A value as parse_log.py prints it: a NaN Caffe printed stays ``nan`` (str(float('nan'))), a
    missing value is an empty cell."""
    if math.isnan(value):
        return "nan" if getattr(value, "printed", False) else ""
    return repr(value)


# --------------------------------------------------------------------------- standard output


def rectangle_columns(runs: list[Run]) -> list[str]:
    """Every output name of ``runs`` once, in first-seen order: training outputs, then test outputs."""
    names: dict[str, None] = {}
    for phase in ("train", "test"):
        for run in runs:
            names.update(dict.fromkeys(getattr(run, phase).names))
    return list(names)


def _phase_rows(run: Run, phase: str, table: Table, names: list[str]) -> Iterator[list[str]]:
    """The cells of each row of one table, decoded."""
    where = {name: k for k, name in enumerate(table.names)}
    places = [where.get(name) for name in names]
    number = str(run.index + 1)  # runs count from 1, as --run
    for row in table.records():
        outputs = row.outputs
        yield [number, phase, str(row.net) if phase == "TEST" else "", str(row.iteration), f"{row.seconds:.6f}",
               _cell(row.lr), *("" if k is None else _cell(outputs[k]) for k in places)]


def rectangle_rows(runs: list[Run]) -> Iterator[list[str]]:
    """The header, then one row per curve row: for each run, its TRAIN rows, then its TEST rows
    (as parse_log.py's two files hold them, in one table)."""
    names = rectangle_columns(runs)
    yield RECTANGLE_HEAD + names
    for run in runs:
        yield from _phase_rows(run, "TRAIN", run.train, names)
        yield from _phase_rows(run, "TEST", run.test, names)


def _copy_training_rows(run: Run, names: list[str], out: TextIO) -> bool:
    """One run's TRAIN rows as the compiled scanner rewrites them, with the row head and the empty
    test-only cells added by ``str.replace`` chunk by chunk (no row is decoded). False, and nothing
    written, where they cannot be had that way, or their columns are not the table's first ones."""
    train = run.train
    if names[:len(train.names)] != train.names:
        return False
    chunks = train.csv_chunks()
    if chunks is None:
        return False
    head = f"{run.index + 1},TRAIN,,"
    tail = "," * (len(names) - len(train.names)) + "\n"
    for text in chunks:
        if text:
            out.write(head + text[:-1].replace("\n", tail + head) + tail)
    return True


def _copy_test_rows(run: Run, names: list[str], out: TextIO) -> bool:
    """One run's TEST rows from the compiled scanner's rewrite, each line's output cells put in the
    table's column order (split at its commas: the cells are numbers). Only where every row is of
    test net #0, which the kept rows tell by holding no ``"net"`` key; False, nothing written, else."""
    test = run.test
    if any('"net": ' in text for text in test.text_chunks()):
        return False
    chunks = test.csv_chunks()
    if chunks is None:
        return False
    where = {name: k for k, name in enumerate(test.names)}
    places = [where.get(name) for name in names]
    head = f"{run.index + 1},TEST,0,"
    for text in chunks:
        lines = []
        for line in text.splitlines():
            cells = line.split(",")
            outputs = cells[3:]
            lines.append(head + ",".join(cells[:3] + ["" if k is None else outputs[k] for k in places]))
        if lines:
            out.write("\n".join(lines) + "\n")
    return True


def write(result: LogResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem log --format csv`` on one stream: the one rectangular table (see the module).

    With the compiled scanner and the usual comma, no row is decoded: the training rows (nearly all
    of a long log) are rewritten in C and copied, the test rows' cells put in column order; the
    same bytes either way (the contract tests compare both)."""
    writer = csv.writer(out, lineterminator="\n", delimiter=options.delimiter)
    runs = result.runs
    names = rectangle_columns(runs)
    writer.writerow(RECTANGLE_HEAD + names)
    for run in runs:
        fast = options.delimiter == ","
        if not (fast and _copy_training_rows(run, names, out)):
            writer.writerows(_phase_rows(run, "TRAIN", run.train, names))
        if not (fast and _copy_test_rows(run, names, out)):
            writer.writerows(_phase_rows(run, "TEST", run.test, names))


# --------------------------------------------------------------------------- files


def csv_paths(log_path: str, prefix: str) -> tuple[str, str]:
    """PREFIX.train and PREFIX.test; for a PREFIX that is a directory, DIR/<log name>.train and
    .test, as ``parse_log.py LOG DIR`` names them."""
    if os.path.isdir(prefix):
        if log_path == "-":
            raise CaffememError(f"--csv-prefix {prefix} is a directory, and standard input has no name to "
                                "give the files: name them with a prefix (DIR/NAME)")
        stem = os.path.join(prefix, os.path.basename(log_path))
    else:
        stem = prefix
    return stem + ".train", stem + ".test"


@dataclass
class WrittenTable:
    """What became of one of the drop-in's files: ``rows`` 0 means it was not written."""

    path: str
    table: TableState
    rows: int


def write_parse_log_files(result: ParseLogResult, paths: tuple[str, str], force: bool = False,
                          delimiter: str = ",") -> list[WrittenTable]:
    """parse_log.py's ``.train`` and ``.test`` files at ``paths``, streamed from ``result``.

    Both paths are refused up front when one exists (unless ``force``), before the log is read. A
    file is created with its table's first row, so a table without rows leaves no file (with
    ``force``, an older file there stays as it was, as with parse_log.py).
    """
    by_name = dict(zip(("train", "test"), paths, strict=True))
    refuse_existing(list(paths), force)
    writers: dict[str, Any] = {}
    handles: dict[str, TextIO] = {}
    counts = dict.fromkeys(by_name, 0)
    created: list[str] = []
    try:
        with ExitStack() as stack:
            for table, row in result.csv_rows(delimiter):
                name = table.name
                writer = writers.get(name)
                if isinstance(row, CsvText):  # rows the compiled reader wrote (never a table's first)
                    handles[name].write(row)
                    counts[name] += row.count
                    continue
                if writer is None:
                    handle = handles[name] = stack.enter_context(open_new_file(by_name[name], force))
                    created.append(by_name[name])
                    writer = writers[name] = csv.writer(handle, dialect="excel", delimiter=delimiter)
                    writer.writerow(table.columns)
                writer.writerow(row)
                counts[name] += 1
    except BaseException:
        if not force:  # (with force, open_new_file drops its unfinished temporary itself)
            for path in created:
                Path(path).unlink(missing_ok=True)
        raise
    return [WrittenTable(path, result.tables[name], counts[name]) for name, path in by_name.items()]


def table_rows(table: Table) -> Iterator[list[str]]:
    """Header row, then one row per table row (caffemem's own pairing)."""
    yield HEAD + table.names
    for row in table.records():
        yield [str(row.iteration), f"{row.seconds:.6f}", _cell(row.lr), *map(_cell, row.outputs)]


def write_table(table: Table, out: TextIO, delimiter: str = ",") -> None:
    chunks = table.csv_chunks() if delimiter == "," else None  # the cells rewritten in C where it can
    if chunks is None:
        csv.writer(out, lineterminator="\n", delimiter=delimiter).writerows(table_rows(table))
        return
    csv.writer(out, lineterminator="\n").writerow(HEAD + table.names)
    for text in chunks:
        out.write(text)


def write_log_csv_files(runs: list[Run], paths: tuple[str, str], force: bool = False,
                        delimiter: str = ",") -> list[str]:
    """``--own-pairing``: caffemem's own rows in the pair of files ``paths`` (``.runN`` before the
    ending for each run when there are several).

    An existing file is never written over unless ``force``; then nothing is written at all.
    Returns the paths written.
    """
    plan = []
    stems = [path.rsplit(".", 1)[0] for path in paths]
    for run in runs:
        tag = "" if len(runs) == 1 else f".run{run.index + 1}"  # runs count from 1, as --run
        plan += [(f"{stems[0]}{tag}.train", run.train), (f"{stems[1]}{tag}.test", run.test)]
    refuse_existing([path for path, _ in plan], force)
    for path, table in plan:
        with open_new_file(path, force) as handle:
            write_table(table, handle, delimiter)
    return [path for path, _ in plan]

"""The two tables Caffe's ``tools/extra/parse_log.py`` makes of a log, in one streaming pass.

People have years of scripts and plots built on parse_log.py's ``LOG.train`` and ``LOG.test``, so
``caffemem log --format csv --csv-prefix`` must give them the very same rows and values, quirks
included; caffemem's own curve (curve.py, built by the main reader) pairs values differently and
is not a drop-in. This module is the rule parse_log.py follows, written anew and streamed:
parse_log.py holds every row in memory, here a row leaves as soon as it is finished (only the
first row waits, for the second), so a gigabyte log costs a few megabytes.

The rule, line by line:

- Lines up to and including the first one containing ``Solving`` only give the start time (that
  line's glog stamp). Without such a line there are no rows.
- ``Iteration N`` anywhere on a line sets the iteration (a float: written ``100.0``), before
  anything else is looked at; until the first one, nothing else counts.
- A line whose glog stamp (``I0210 13:39:22.381027``) does not parse is skipped. Glog prints no
  year: it starts as the ``year`` given (parse_log.py: the log file's ctime year) and goes up by
  one whenever the month goes backwards.
- ``lr = X`` sets the learning rate (NaN until then).
- ``Train net output #k: NAME = VALUE`` (and ``Test net output``) sets NAME in the table's open
  row. When the open row's iteration differs, it is finished and a new one starts, with the
  iteration, the seconds of this line since the start and the current learning rate.
- A row is also finished as soon as it has as many columns as the first finished row; so the
  first row is only finished when the second starts, and a row still open at the end is dropped.
- The first row's learning rate is replaced by the second row's (it was printed after it).
- The columns are the first row's, in order; a missing value is an empty cell.

Where parse_log.py stops with a traceback, this goes on, as a user would want:

- a line too short for a glog stamp (a blank line: IndexError there) is skipped like any other
  line without a stamp;
- an output a later row has but the first row lacks (DictWriter's ValueError) has no column: it
  is left out of that row and counted in ``TableState.dropped``;
- a number that is no number (``1.2.3``; ``lr = 1-5``) is ignored as if the line did not hold it;
- a ``Solving`` line whose stamp does not parse (or a huge number in a stamp) gives no start time:
  no rows, as a log without one.

Where it is built, a compiled reader (``_parselog.c``, an optional extension) takes the lines
of a piece it is sure of and writes their finished rows straight as CSV text (``csv_rows``); it
hands back to ``ParseLog._lines``, the definition, every line it is not sure of (non-ASCII where
a character counts, a stamp that is not glog's usual one, a year moving on, a first row, a new
column), with the state kept on the ParseLog for both. ``CAFFEMEM_NO_C=1`` selects Python
alone; tests/logs/test_parselog_c.py checks both give the same bytes.

The one deliberate difference in values: a NaN or infinity Caffe printed (``nan``, ``-nan``,
``inf``, ``-inf``, MSVC's ``1.#QNAN``/``1.#INF``) is kept, as ``nan``/``inf``/``-inf``.
parse_log.py's number pattern does not take ``nan`` (the output is silently missing, which can
also keep the row from ever being finished), takes the ``-`` of ``-nan`` (and then stops with a
ValueError) and reads ``1.#INF`` as 1.0. A diverged run is exactly when the curve matters.
"""

from __future__ import annotations

import datetime
import itertools
import math
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType

from caffemem.logs.fast.pieces import PIECE_BYTES, FileCutter, decode, hand_back_end

Cell = float | str
"""A value of a row: a float, or ``""`` for a missing one (as csv.DictWriter's restval)."""

ITERATION = re.compile(r"Iteration (\d+)")
LEARNING_RATE = re.compile(r"lr = ([-+]?[0-9]*\.?[0-9]+([eE]?[-+]?[0-9]+)?)")
# parse_log.py's value pattern is the last alternative; the two before it catch what Caffe prints
# for non-finite values (glibc's nan/-nan/inf, MSVC's 1.#QNAN/1.#INF) so they are kept.
_VALUE = r"([-+]?(?:[nN][aA][nN]|[iI][nN][fF])|[-+]?1\.#[A-Za-z]+|[.\deE+-]+)"
TRAIN_OUTPUT = re.compile(r"Train net output #(\d+): (\S+) = " + _VALUE)
TEST_OUTPUT = re.compile(r"Test net output #(\d+): (\S+) = " + _VALUE)

#: The stamp glog writes (level, MMDD, HH:MM:SS.micros, a space): when a line starts with it, its
#: time parses as parse_log.py reads it if and only if the day exists; anything else is read the long way.
GLOG_STAMP = re.compile(r"\S[0-9]{4} (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\.[0-9]{6}\s")

#: The first three columns of both tables, as parse_log.py names them (the keys every row starts with).
HEAD = ("NumIters", "Seconds", "LearningRate")


def log_year(path: str | os.PathLike[str]) -> int:
    """The year parse_log.py gives a log's first stamp: the year of the file's ctime, local time.

    Standard input has no ctime: the current year.
    """
    if os.fspath(path) == "-":
        return time.localtime().tm_year
    return datetime.datetime.fromtimestamp(os.path.getctime(path)).year


def stamp(line: str, year: int) -> datetime.datetime | None:
    """The glog time at the start of ``line`` in ``year``, or None when it does not parse.

    parse_log.py's reading exactly (so that the same lines are skipped): the first word's
    characters 1-2 are the month and the rest the day, the second word is H:M:S.micro.
    """
    words = line.split(None, 2)
    try:
        first, clock = words[0], words[1]
        dot = clock.rfind(".")
        hms = [int(part) for part in clock[:dot].split(":")]
        return datetime.datetime(year, int(first[1:3]), int(first[3:]), hms[0], hms[1], hms[2],
                                 int(clock[dot + 1:]))
    except (ValueError, IndexError, OverflowError):
        return None


def day_start(mmdd: str, year: int, start: datetime.date, start_micros: int) -> tuple[int, int]:
    """Day ``mmdd`` (four ASCII digits) of ``year``: its month (0 when there is no such day) and
    its midnight in microseconds after the start (``start``, ``start_micros`` into that day)."""
    try:
        day = datetime.date(year, int(mmdd[:2]), int(mmdd[2:]))
    except ValueError:
        return 0, 0
    return day.month, (day - start).days * 86_400_000_000 - start_micros


def number(text: str) -> float | None:
    """A value's text as a float: non-finite ones kept (MSVC's ``1.#INF`` too), None for no number."""
    if "#" in text:
        value = math.inf if "INF" in text.upper() else math.nan
        return -value if text.startswith("-") else value
    try:
        return float(text)
    except ValueError:
        return None


def _split_lines(text: str) -> list[str]:
    """Lines of a piece of whole lines, without their newlines (as logs/reader.py's split_lines)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


_NONE: list[list[Cell]] = []  # no row finished (shared: never added to)


class TableState:
    """One of the two tables as it is being built: the open row, the first row (which waits for
    the second's learning rate), the columns, and what had to be left out."""

    __slots__ = ("name", "open", "first", "columns", "width", "finished", "dropped")

    def __init__(self, name: str) -> None:
        self.name = name  # "train" or "test"
        self.open: dict[str, float] | None = None
        self.first: dict[str, float] | None = None
        self.columns: list[str] = []  # the first finished row's keys: the file's header
        self.width = 0  # how many: a row with as many is finished (none before the first row)
        self.finished = 0  # rows finished so far
        self.dropped: dict[str, int] = {}  # output name -> rows it was left out of (no column)

    def cells(self, row: dict[str, float]) -> list[Cell]:
        """``row`` in the table's columns: ``""`` where it has no value; a name the first row
        lacks has no column, so it is left out and counted in ``dropped``."""
        if list(row) == self.columns:
            return list(row.values())
        first = self.first
        assert first is not None
        for name in row:
            if name not in first:
                self.dropped[name] = self.dropped.get(name, 0) + 1
        return [row.get(name, "") for name in self.columns]

    def finish(self, row: dict[str, float]) -> list[list[Cell]]:
        """Rows ready to write once ``row`` is finished: none for the first (it waits for the
        second's learning rate), both for the second, else ``row`` alone."""
        self.finished += 1
        if self.finished > 2:
            return [self.cells(row)]
        if self.finished == 1:
            self.first = row
            self.columns = list(row)
            self.width = len(row)
            return []
        first = self.first
        assert first is not None
        first["LearningRate"] = row["LearningRate"]
        return [self.cells(first), self.cells(row)]

    def output(self, iteration: float, seconds: float, lr: float, name: str, value: float) -> list[list[Cell]]:
        """An output line of this table: the rows it finishes (parse_log.py's
        parse_line_for_net_output). ``seconds`` are the line's since the start (for a new row)."""
        row = self.open
        if row is not None and row["NumIters"] == iteration:
            row[name] = value
            if len(row) != self.width:
                return _NONE
            self.open = None
            return self.finish(row)
        done = _NONE if row is None else self.finish(row)
        row = self.open = {"NumIters": iteration, "Seconds": seconds, "LearningRate": lr}
        row[name] = value
        if len(row) == self.width:
            self.open = None
            return done + self.finish(row)
        return done

    def close(self) -> list[list[Cell]]:
        """The end of the log: a first row still waiting goes out as it is; an open row is dropped."""
        self.open = None
        if self.finished == 1:
            assert self.first is not None
            return [self.cells(self.first)]
        return []


class CsvText(str):
    """Finished rows of one table already in CSV (the compiled reader's output): the lines the
    csv module would write for them, ``count`` of them."""

    __slots__ = ("count",)
    count: int


def _csv_text(text: str, count: int) -> CsvText:
    out = CsvText(text)
    out.count = count
    return out


#: Characters a float's repr can hold: a delimiter among them would make the csv module quote a
#: value, which the compiled reader does not do, so with such a delimiter it is not used.
_FLOAT_CHARACTERS = "0123456789.e+-nafi"



def file_pieces(fd: int, size: int, progress: Callable[[int], None] | None = None,
                piece_bytes: int = PIECE_BYTES) -> Iterator[str | bytes]:
    """The pieces of logs/fast/pieces.py's FileCutter (read_pieces' pieces of a regular file), for
    the compiled reader: as bytes where those read exactly as the piece's text (no "\\r", which
    the text makes a line end; not cut inside an overlong line), else as the text itself.
    ``progress`` gets the bytes done after each piece."""
    cutter = FileCutter(fd, size, piece_bytes)
    for index in range(cutter.count):
        start, end = cutter.span(index)
        if end > start:
            data = os.pread(fd, end - start, start)
            if b"\r" in data or (end < size and not data.endswith(b"\n")):
                yield cutter.piece(index)
            else:
                yield data
        if progress is not None:
            progress(min(size, (index + 1) * piece_bytes))


class ParseLog:
    """parse_log.py's reading of a log with the log starting in ``year``: of ``lines`` (without
    their newlines), or of ``pieces`` (text of whole lines, as logs/reader.py's read_pieces, or
    such a piece's bytes where they read as its text: ``file_pieces``).

    ``rows()`` streams the finished rows; afterwards ``tables`` tells what each table holds and
    ``started`` whether a ``Solving`` line was found. ``csv_rows()`` is the same with the
    compiled reader (logs/_parselog.c) taking the lines it is sure of, where it is built.

    The reading's state between lines lives on the object (``iteration``, ``lr``, ``year``,
    ``last_month``, ``same_month``, the tables' open rows), so that the compiled reader and the
    Python loop (``_lines``, the definition) can take turns on one log.
    """

    def __init__(self, lines: Iterable[str] | None, year: int, pieces: Iterable[str | bytes] | None = None) -> None:
        self.lines = lines
        self.pieces = pieces
        self.year = year
        self.tables = {"train": TableState("train"), "test": TableState("test")}
        self.started = False
        self.start = datetime.datetime.min  # the Solving line's stamp (set once started)
        self.start_micros = 0  # its time of day, in microseconds
        self.start_ordinal = 0  # its day's proleptic Gregorian ordinal (date.toordinal)
        self.iteration = -1.0
        self.lr = math.nan
        self.last_month = 0
        # line[1:3] of the last line whose stamp parsed (its month's text), for the quick skip
        self.same_month: str | None = None
        # "MMDD" -> (its month, 0 when no such day in ``year``; the day's start in microseconds since ``start``)
        self.days: dict[str, tuple[int, int]] = {}

    def rows(self) -> Iterator[tuple[TableState, list[Cell]]]:
        """(table, row in the table's columns) for every row, as soon as it is finished."""
        for table, row in self._records(None, ","):
            assert not isinstance(row, CsvText)
            yield table, row

    def csv_rows(self, delimiter: str = ",") -> Iterator[tuple[TableState, list[Cell] | CsvText]]:
        """As ``rows()``, but rows the compiled reader finished come as CSV text (csv.excel with
        ``delimiter``: what the csv module writes for them). Pure Python (only lists) where the
        reader is not built, with ``CAFFEMEM_NO_C=1``, or with a delimiter a float may hold."""
        scan = SCAN if self.pieces is not None and delimiter not in _FLOAT_CHARACTERS else None
        return self._records(scan, delimiter)

    def _begin(self, line: str) -> bool:
        """The Solving line: set the start (False when its stamp does not parse)."""
        start = stamp(line, self.year)
        if start is None:
            # parse_log.py stops here with a traceback; a log without a start time is a log without rows
            return False
        self.started = True
        self.start = start
        self.start_micros = ((start.hour * 60 + start.minute) * 60 + start.second) * 1_000_000 + start.microsecond
        self.start_ordinal = start.toordinal()
        self.last_month = start.month
        return True

    def _records(self, scan: ModuleType | None,
                 delimiter: str) -> Iterator[tuple[TableState, list[Cell] | CsvText]]:
        if self.pieces is None:
            assert self.lines is not None
            lines = iter(self.lines)
            for line in lines:
                if "Solving" in line:
                    if not self._begin(line):
                        return
                    break
            if not self.started:
                return
            yield from self._lines(lines)
        else:
            pieces = iter(self.pieces)
            rest: str | bytes = ""
            for piece in pieces:
                if isinstance(piece, bytes):
                    found = piece.find(b"Solving")
                    if found < 0:
                        continue
                    begin = piece.rfind(b"\n", 0, found) + 1
                    end = piece.find(b"\n", found)
                    line = decode(piece[begin:] if end < 0 else piece[begin:end])
                else:
                    found = piece.find("Solving")
                    if found < 0:
                        continue
                    begin = piece.rfind("\n", 0, found) + 1
                    end = piece.find("\n", found)
                    line = piece[begin:] if end < 0 else piece[begin:end]
                if not self._begin(line):
                    return
                rest = piece[len(piece):] if end < 0 else piece[end + 1:]
                break
            if not self.started:
                return
            for piece in itertools.chain((rest,), pieces):
                if scan is None:
                    yield from self._lines(_split_lines(decode(piece) if isinstance(piece, bytes) else piece))
                elif isinstance(piece, bytes):
                    yield from self._scan_bytes(scan, piece, delimiter)
                else:
                    yield from self._scan_piece(scan, piece, delimiter)
        for table in self.tables.values():
            for row in table.close():
                yield table, row

    def _scan_piece(self, scan: ModuleType, piece: str,
                    delimiter: str) -> Iterator[tuple[TableState, list[Cell] | CsvText]]:
        """A piece of whole lines: stretches the compiled reader takes, the lines it hands back
        through ``_lines``. After tries that take nothing, twice as many lines go the Python way
        each time (a first row, a year that moves on), so a log it cannot read costs hardly more
        than the pure-Python path."""
        train, test = self.tables["train"], self.tables["test"]
        size = len(piece)
        ascii_only = piece.isascii()
        pos = 0  # characters
        at = 0  # bytes of the piece's UTF-8 form
        misses = 0
        while pos < size:
            try:
                taken, chars, train_text, train_rows, test_text, test_rows = scan.scan(
                    self, train, test, piece, at, delimiter)
            except UnicodeEncodeError:  # (a lone surrogate: no UTF-8 form) the rest the Python way
                yield from self._lines(_split_lines(piece[pos:]))
                return
            if train_rows:
                yield train, _csv_text(train_text, train_rows)
            if test_rows:
                yield test, _csv_text(test_text, test_rows)
            if chars < 0:  # all the rest
                return
            at += taken
            pos += chars
            misses = 0 if taken else min(misses + 1, 12)
            end = hand_back_end(piece, pos, misses)
            chunk = piece[pos:end]
            yield from self._lines(_split_lines(chunk))
            pos = end
            at += len(chunk) if ascii_only else len(chunk.encode("utf-8", "surrogatepass"))

    def _scan_bytes(self, scan: ModuleType, piece: bytes,
                    delimiter: str) -> Iterator[tuple[TableState, list[Cell] | CsvText]]:
        """``_scan_piece`` on a piece's bytes (see ``file_pieces``): the lines C hands back are
        decoded one stretch at a time, the rest never."""
        train, test = self.tables["train"], self.tables["test"]
        size = len(piece)
        at = 0
        misses = 0
        while at < size:
            taken, _, train_text, train_rows, test_text, test_rows = scan.scan(self, train, test, piece, at, delimiter)
            if train_rows:
                yield train, _csv_text(train_text, train_rows)
            if test_rows:
                yield test, _csv_text(test_text, test_rows)
            at += taken
            if at >= size:
                return
            misses = 0 if taken else min(misses + 1, 12)
            end = hand_back_end(piece, at, misses)
            yield from self._lines(_split_lines(decode(piece[at:end])))
            at = end

    def _lines(self, lines: Iterable[str]) -> Iterator[tuple[TableState, list[Cell]]]:
        """The rule, line by line (the module's docstring), on lines after the Solving line,
        from the state on ``self`` and leaving it there."""
        year = self.year
        start = self.start
        start_date = start.date()
        start_micros = self.start_micros
        train, test = self.tables["train"], self.tables["test"]
        search_iteration = ITERATION.search
        iteration = self.iteration
        lr = self.lr
        last_month = self.last_month
        same_month = self.same_month
        glog_stamp = GLOG_STAMP.match
        outputs = ((train, TRAIN_OUTPUT.search, "Train net output #"), (test, TEST_OUTPUT.search, "Test net output #"))
        days = self.days
        try:
            for line in lines:
                if "Iteration " in line:
                    found = search_iteration(line)
                    if found:
                        iteration = float(found.group(1))
                if iteration < 0:
                    continue
                has_lr = "lr = " in line
                has_output = "net output #" in line
                if not (has_lr or has_output) and line[1:3] == same_month and not line[:1].isspace():
                    # Only the month of a line like this counts (the year moves when it goes back),
                    # and it is the month of the last stamp that parsed.
                    continue
                when = None
                day_micros = None
                if glog_stamp(line):  # the usual stamp: only its day can be wrong (Feb 30)
                    day = days.get(line[1:5])
                    if day is None:
                        day = days[line[1:5]] = day_start(line[1:5], year, start_date, start_micros)
                    month, day_micros = day
                    if not month:
                        continue
                else:
                    when = stamp(line, year)
                    if when is None:
                        continue
                    month = when.month
                if month < last_month:
                    year += 1
                    days.clear()
                    day_micros = None
                    when = stamp(line, year)  # (Feb 29 of the new year may not exist: parse_log.py stops there)
                    if when is None:
                        continue
                last_month = month
                same_month = None if line[:1].isspace() else line[1:3]
                if not (has_lr or has_output):
                    continue
                if has_lr:
                    found = LEARNING_RATE.search(line)
                    if found:
                        value = number(found.group(1))
                        if value is not None:
                            lr = value
                if has_output:
                    for table, search, marker in outputs:
                        if marker not in line:
                            continue
                        found = search(line)
                        if not found:
                            continue
                        value = number(found.group(3))
                        if value is None:
                            continue
                        row = table.open
                        seconds = 0.0  # (only a new row takes this line's time)
                        if row is None or row["NumIters"] != iteration:
                            if when is not None:
                                seconds = (when - start).total_seconds()
                            else:  # the same number as total_seconds() (exact microseconds, one division)
                                assert day_micros is not None
                                seconds = (day_micros + int(line[6:8]) * 3_600_000_000 + int(line[9:11]) * 60_000_000
                                           + int(line[12:14]) * 1_000_000 + int(line[15:21])) / 1_000_000
                        for row in table.output(iteration, seconds, lr, found.group(2), value):
                            yield table, row
        finally:
            self.year = year
            self.iteration = iteration
            self.lr = lr
            self.last_month = last_month
            self.same_month = same_month


_parselog: ModuleType | None
try:
    from caffemem.logs import _parselog  # type: ignore[attr-defined, no-redef]
except ImportError:  # not built: the pure-Python path
    _parselog = None

SCAN: ModuleType | None = None if os.environ.get("CAFFEMEM_NO_C") else _parselog
"""The compiled reader in use (None: pure Python). Tests switch it to compare both paths."""

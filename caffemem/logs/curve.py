"""The training curve of a run: a table of any length that owns how it is kept and written as JSON.

What other modules see is data: ``len(table)``, ``names`` (outputs in first-seen order),
``records()`` (one :class:`CurveRow` per row), ``rows()`` (the same as flat tuples), the columns
``iteration``, ``seconds``, ``lr``, ``loss``, ``net`` and ``output(name)``, and one writer of the
table's own JSON, ``write_json_rows``.

How the rows are kept is this module's business. A gigabyte log holds millions of iterations;
most arrive in bulk (logs/fast) as the number text Caffe printed, so the cheapest form to keep
them in is the finished JSON row: the fast path encodes a whole stretch with ``render_rows`` (one
``str.join``, in whichever process read it) and hands the text over opaque, and
``write_json_rows`` copies it out. Rows are kept in memory up to MEMORY_CHARS and appended to a
spill file after that (an anonymous memory file while the process's spilled rows fit in
MEMORY_FILE_BYTES, else a temporary file on disk: see ``_spill_file``); reading back streams the
file in pieces, and ``records()`` decodes them. The summary and csv writers need not decode
them all: ``records_at`` decodes only the rows asked for, and ``csv_chunks``/``test_json_chunks``
rewrite the kept text in C (fast/_scan.c, ``rewrite``).

The kept text differs from plain JSON in ways only this module undoes: non-finite values are the
bare words ``nan``, ``-nan``, ``inf``, ``-inf`` (as Caffe prints them), and every row ends with
``,\\n``. Seconds are integer microseconds written as ``<us>e-6`` — an exact JSON number, and
an int is far cheaper to format than a float's repr.

The last row stays unencoded (``pending``) because the line-by-line path may still change it:
a later lr line or train output of the same iteration fills it in.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from typing import IO, BinaryIO, NamedTuple, TextIO

from caffemem.logs.fast import compiled

MEMORY_CHARS = 1 << 22  # rendered text kept in memory before spilling (4 MiB)
READ_BYTES = 1 << 20  # spilled rows read back in blocks of about this (each block is decoded whole)
SENDFILE_BYTES = 1 << 18  # spilled rows at least this long are copied by the kernel, shorter ones written
PARSE_CHARS = 1 << 18  # rows parsed back at once by rows()
MEMORY_FILE_BYTES = 32 << 20  # spilled rows of all tables kept in anonymous memory files up to this, then on disk
_in_memory_files = 0  # bytes spilled to memory files so far, by every table of the process


def _spill_file(in_memory: bool) -> tuple[IO[bytes], bool]:
    """A new spill file and whether it is in memory: an anonymous memory file (Linux
    ``memfd_create``) when ``in_memory`` and there is one, else a temporary file on disk.

    Why memory first: a gigabyte log leaves some 350 MB of rows. Written to a temporary file on a
    disk's file system they cost 0.07 s of system time on a quiet machine but up to 2.7 s when
    the kernel throttles writers for its write-back (other work writing); in a memory file,
    0.09 s every time. Such pages are not the process's resident set (they are never mapped)
    but they are RAM the machine cannot page out without swap, and reading a log must take
    constant memory: so only the first MEMORY_FILE_BYTES (32 MiB, all a log of ~100 MB needs) go
    there, the rest to disk (``Table._spill_parts``), whose pages the kernel can drop.
    """
    create = getattr(os, "memfd_create", None)
    if in_memory and create is not None:
        try:
            return os.fdopen(create("caffemem-rows", getattr(os, "MFD_CLOEXEC", 0)), "w+b"), True
        except OSError:
            pass
    return tempfile.TemporaryFile(prefix="caffemem-rows-"), False
_NONFINITE_FOR_JSON = ((": -nan", ": NaN"), (": nan", ": NaN"), (": -inf", ": -Infinity"), (": inf", ": Infinity"))
_NONFINITE_TO_NULL = ((": -nan", ": null"), (": nan", ": null"), (": -inf", ": null"), (": inf", ": null"))
_NONFINITE_TO_NULL_BYTES = tuple((old.encode("ascii"), new.encode("ascii")) for old, new in _NONFINITE_TO_NULL)


class PrintedNonFinite(float):
    """A NaN or infinity Caffe printed (a missing value is a plain NaN): ``printed`` tells them apart."""

    printed = True


_PRINTED = {"NaN": PrintedNonFinite("nan"), "Infinity": PrintedNonFinite("inf"),
            "-Infinity": PrintedNonFinite("-inf")}


def _any_printed(values: tuple[float, ...]) -> bool:
    """Whether some value is non-finite as Caffe printed it (a missing value is a NaN without text)."""
    return any(not math.isfinite(v) and (math.isinf(v) or getattr(v, "text", None) is not None) for v in values)


def _as_float(value: float | int | None) -> float:
    if value is None:
        return math.nan
    return value if isinstance(value, float) else float(value)


def _read_at(source: IO[bytes], size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset``: ``os.pread`` where there is one (it leaves the file position
    alone), else seek and read (Windows)."""
    if hasattr(os, "pread"):
        return os.pread(source.fileno(), size, offset)
    source.seek(offset)
    return source.read(size)


class CurveRow(NamedTuple):
    """One row of a curve: NaN where a value is missing (or Caffe printed nan); ``net`` is the
    test net's number in test tables, 0 in training tables."""

    iteration: int
    seconds: float
    lr: float
    loss: float
    net: int
    outputs: tuple[float, ...]  # in the table's ``names`` order


def _json_value(value: float | int) -> str:
    """A value as the JSON writer shows it: NaN and infinities become null (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    return json.dumps(value)


def _key_json(name: str) -> str:
    """A JSON string for an output name that cannot contain ': ' (so ': nan' only ever is a value)."""
    return json.dumps(name).replace(":", "\\u003a")


#: Number text that is already a JSON number (what C++ streams print for a finite float).
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def _number_text(value: float) -> str:
    """A float as kept text: the text Caffe printed when it is known and a JSON number (as the fast
    path keeps it), else repr; nan/inf/-inf for the others."""
    if not math.isfinite(value):
        if math.isnan(value) and getattr(value, "text", None) is None:
            return "null"  # missing: no line printed it (a printed nan carries its text)
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    text = getattr(value, "text", None)
    return text if text is not None and _JSON_NUMBER.fullmatch(text) else repr(value)


def _nonfinite_to_null(text: str) -> str:
    """Kept row text as JSON: nan and inf values become null."""
    if "nan" in text or "inf" in text:
        for old, new in _NONFINITE_TO_NULL:
            text = text.replace(old, new)
    return text


def _nonfinite_to_null_bytes(data: bytes) -> bytes:
    """``_nonfinite_to_null`` of kept rows' UTF-8 bytes (in one pass in C where it is built: four
    ``bytes.replace`` passes made SSD's 1 GiB log, nan in many rows, cost 1 s more as JSON)."""
    nulls = getattr(compiled.SCAN, "nulls", None)
    if nulls is not None:
        return nulls(data)  # type: ignore[no-any-return]
    if b"nan" in data or b"inf" in data:
        for old, new in _NONFINITE_TO_NULL_BYTES:
            if old in data:
                data = data.replace(old, new)
    return data


def _parseable(text: str) -> str:
    if "nan" in text or "inf" in text:
        for old, new in _NONFINITE_FOR_JSON:
            text = text.replace(old, new)
    return text


_TEMPLATES: dict[tuple[str, ...], list[str]] = {}


def _template(names: tuple[str, ...]) -> list[str]:
    """Row pieces around the values: iteration at 1, micros 3, loss 5, lr 7, outputs 9, 11, ..."""
    template = _TEMPLATES.get(names)
    if template is None:
        template = ['{"iteration": ', "", ', "seconds": ', "", 'e-6, "loss": ', "", ', "lr": ', ""]
        tail = ', "outputs": {'
        for k, name in enumerate(names):
            template += [tail + (", " if k else "") + _key_json(name) + ": ", ""]
            tail = ""
        template.append(tail + "}},\n")
        if len(_TEMPLATES) > 1000:
            _TEMPLATES.clear()
        _TEMPLATES[names] = template
    return template


def render_rows(names: list[str], iterations: list[str], micros: list[str], lrs: list[str], losses: list[str],
                outputs: list[list[str]]) -> str:
    """The table's own encoding of rows given as JSON number text, with outputs ``names`` (the
    columns in that order), for ``Table.extend_rendered``: the caller (the fast
    path) passes the text on without looking inside it.

    One join: the template's pieces and the columns interleaved by slice assignment, no object
    per row. A pure function, so another process can render rows for a table it does not hold.
    """
    template = _template(tuple(names))
    width = len(template)
    flat = template * len(iterations)
    flat[1::width] = iterations
    flat[3::width] = micros
    flat[5::width] = losses
    flat[7::width] = lrs
    for k, column in enumerate(outputs):
        flat[9 + 2 * k::width] = column
    return "".join(flat)


ScanValue = tuple[float, bytes, int]
"""A value lent to the compiled scanner: the float, its kept text, and flags (1 NaN, 2 not
finite, 4 a non-finite value Caffe printed)."""
ScanRow = tuple[int, int, int, ScanValue, ScanValue, tuple[ScanValue | None, ...]]
"""A pending row lent to the compiled scanner: iteration, micros, net, lr, loss, outputs."""


def scan_value(value: float) -> ScanValue:
    """``value`` as the compiled scanner takes it: what ``_pending_text`` would write, and what it is."""
    finite = math.isfinite(value)
    flags = (0 if finite else 2) | (1 if math.isnan(value) else 0) | (4 if not finite and _any_printed((value,)) else 0)
    return value, _number_text(value).encode("ascii"), flags


def _from_scan(value: object) -> float:
    """A value back from the compiled scanner: the float lent, the text of a number it read, or None."""
    if value is None:
        return math.nan
    if isinstance(value, str):
        from caffemem.logs.grammar import to_float  # the parser's module: loaded only by log reading

        return to_float(value)
    assert isinstance(value, float)
    return value


class Pending:
    """The last row, as values the line path can still change."""

    __slots__ = ("iteration", "micros", "lr", "loss", "net", "outputs")

    def __init__(self, iteration: int, micros: int, lr: float, loss: float, net: int) -> None:
        self.iteration = iteration
        self.micros = micros
        self.lr = lr
        self.loss = loss
        self.net = net
        self.outputs: dict[str, float] = {}


class Table:
    """A training-curve table: iteration, seconds, lr, loss, net (test tables) and named outputs.

    Missing values are NaN in ``records()``/``rows()`` and null in ``write_json_rows``.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self._rows = 0  # rendered rows
        self._parts: list[str] = []
        self._chars = 0
        self._spill: IO[bytes] | None = None  # this table's own spill file (appended to only)
        self._spill_in_memory = False  # whether it is a memory file (see _spill_file)
        self._spilled = 0  # bytes written to it: the rows before those in memory
        self._pending: Pending | None = None
        self._names_at_first_row: int | None = None  # outputs the first rendered row was written with
        self.nonfinite = False  # whether some kept value is the word nan/inf (then writers must replace them)
        self.printed_nonfinite = False  # whether Caffe printed some value as nan/inf (not merely missing)

    # ------------------------------------------------------------------ size and last row

    def __len__(self) -> int:
        return self._rows + (self._pending is not None)

    @property
    def outputs(self) -> dict[str, None]:
        """Output names in first-seen order (a dict, for ``name in table.outputs``)."""
        return dict.fromkeys(self.names)

    def last_iteration(self) -> int | None:
        return None if self._pending is None else self._pending.iteration

    def last_lr(self) -> float:
        return math.nan if self._pending is None else self._pending.lr

    def set_last_lr(self, lr: float) -> None:
        assert self._pending is not None
        self._pending.lr = lr

    # ------------------------------------------------------------------ adding rows

    def add_row(self, iteration: int, micros: int, lr: float = math.nan, loss: float = math.nan,
                net: int = 0) -> None:
        """A new last row; ``micros`` is the time since the run's Solving line in microseconds."""
        self._render_pending()
        self._pending = Pending(iteration, micros, lr, loss, net)

    def set_output(self, name: str, value: float) -> None:
        """Set output ``name`` on the last row (earlier rows show it as missing)."""
        assert self._pending is not None
        if name not in self._pending.outputs and name not in self.names:
            self.names.append(name)
        self._pending.outputs[name] = value

    def extend_rendered(self, rows: str, count: int, last: Pending, nonfinite: bool) -> None:
        """Append ``count`` rows rendered by ``render_rows`` with this table's outputs, then ``last``."""
        self._render_pending()
        if count:
            self._append(rows, count)
            self.nonfinite |= nonfinite
            self.printed_nonfinite |= nonfinite  # bulk rows hold every value: non-finite ones were printed
        self._pending = last

    def lend_pending(self) -> tuple[int, ScanRow | None]:
        """(rendered rows, pending row) for the compiled scanner (fast/_scan.c), the pending row
        taken off the table until ``take_scanned`` gives it back (maybe rendered, maybe changed).

        The row is (iteration, micros, net, lr, loss, outputs in ``names`` order, None where
        missing); each value is ``scan_value(v)``: the float with the text this table keeps for it.
        """
        row, self._pending = self._pending, None
        if row is None:
            return self._rows, None
        outputs = tuple(None if name not in row.outputs else scan_value(row.outputs[name]) for name in self.names)
        return self._rows, (row.iteration, row.micros, row.net, scan_value(row.lr), scan_value(row.loss), outputs)

    def take_scanned(self, rows: str, count: int, nonfinite: bool, printed: bool,
                     pending: tuple[int, int, int, object, object, tuple[object, ...]] | None) -> None:
        """Rows the compiled scanner rendered as ``_pending_text`` would, and the pending row back
        (its values: a float lent to it, a number's text it read, or None for missing)."""
        if count:
            self._append(rows, count)
            self.nonfinite |= nonfinite
            self.printed_nonfinite |= printed
        if pending is None:
            self._pending = None
            return
        iteration, micros, net, lr, loss, outputs = pending
        row = Pending(iteration, micros, _from_scan(lr), _from_scan(loss), net)
        row.outputs = {name: _from_scan(value) for name, value in zip(self.names, outputs, strict=True)
                       if value is not None}
        self._pending = row

    def has_printed_nonfinite(self) -> bool:
        """Whether Caffe printed some value of the table (the last row's too) as nan or inf."""
        row = self._pending
        return self.printed_nonfinite or row is not None and _any_printed((row.lr, row.loss, *row.outputs.values()))

    def _render_pending(self) -> None:
        text = self._pending_text()
        self._pending = None
        if text:
            self._append(text, 1)

    def _pending_text(self) -> str:
        row = self._pending
        if row is None:
            return ""
        if _any_printed((row.lr, row.loss, *row.outputs.values())):
            # written as the words nan/inf (a missing value is written null: nothing to replace,
            # so a table whose only gaps are missing values is copied out as it is)
            self.nonfinite = self.printed_nonfinite = True
        outputs = ", ".join(_key_json(name) + ": " + _number_text(row.outputs.get(name, math.nan))
                            for name in self.names)
        net = f'"net": {row.net}, ' if row.net else ""
        return (f'{{"iteration": {row.iteration}, {net}"seconds": {row.micros}e-6, "loss": {_number_text(row.loss)}, '
                f'"lr": {_number_text(row.lr)}, "outputs": {{{outputs}}}}},\n')

    def _note_rows(self, rows: int) -> None:
        if self._names_at_first_row is None:
            self._names_at_first_row = len(self.names)
        self._rows += rows

    def _append(self, text: str, rows: int) -> None:
        self._note_rows(rows)
        self._parts.append(text)
        self._chars += len(text)
        if self._chars > MEMORY_CHARS:
            self._spill_parts()

    def _spill_parts(self) -> None:
        """Move the rows held in memory to the end of the spilled rows."""
        if not self._parts:
            return
        global _in_memory_files
        data = "".join(self._parts).encode("utf-8")
        if self._spill is None:
            self._spill, self._spill_in_memory = _spill_file(in_memory=_in_memory_files < MEMORY_FILE_BYTES)
        elif self._spill_in_memory and _in_memory_files + len(data) > MEMORY_FILE_BYTES:
            self._move_spill_to_disk()
        self._spill.seek(self._spilled)  # reading without pread moves the position
        self._spill.write(data)
        self._spilled += len(data)
        if self._spill_in_memory:
            _in_memory_files += len(data)
        self._parts = []
        self._chars = 0

    def _move_spill_to_disk(self) -> None:
        """The rows spilled so far copied from their memory file to a temporary file on disk."""
        global _in_memory_files
        assert self._spill is not None
        disk, _ = _spill_file(in_memory=False)
        self._spill.flush()
        offset = 0
        while offset < self._spilled:
            block = _read_at(self._spill, min(READ_BYTES, self._spilled - offset), offset)
            if not block:
                break
            disk.write(block)
            offset += len(block)
        self._spill.close()
        _in_memory_files -= self._spilled
        self._spill, self._spill_in_memory = disk, False

    # ------------------------------------------------------------------ reading

    @property
    def uniform(self) -> bool:
        """Whether every row was written with all of the table's outputs (then the text is final)."""
        return self._names_at_first_row in (None, len(self.names))

    def _flush_spill(self) -> None:
        if self._spill is not None:
            self._spill.flush()

    def _spilled_pieces(self, leave_off: int = 0) -> Iterator[tuple[IO[bytes], int, int]]:
        """(file, start, end) of the spilled bytes in order, the last ``leave_off`` bytes left off."""
        self._flush_spill()
        if self._spill is not None and self._spilled > leave_off:
            yield self._spill, 0, self._spilled - leave_off

    def _spilled_bytes(self) -> Iterator[bytes]:
        """The spilled rows' bytes in blocks of whole rows of about READ_BYTES."""
        held: list[bytes] = []
        size = 0
        for source, start, end in self._spilled_pieces():
            rest = b""
            while start < end:
                data = _read_at(source, min(READ_BYTES, end - start), start)
                if not data:
                    break
                start += len(data)
                data = rest + data
                cut = data.rfind(b"\n") + 1
                rest = data[cut:]
                held.append(data[:cut])
                size += cut
                if size >= READ_BYTES:
                    yield b"".join(held)
                    held, size = [], 0
            if rest:
                held.append(rest)
                size += len(rest)
        if held:
            yield b"".join(held)

    def text_chunks(self) -> Iterator[str]:
        """The kept rows' text in pieces of whole rows, the (unrendered) last row included."""
        for data in self._spilled_bytes():
            yield data.decode("utf-8")
        yield "".join(self._parts) + self._pending_text()

    def tail_text(self) -> str:
        """The rows kept in memory, the (unrendered) last row included: what follows the spilled bytes."""
        return "".join(self._parts) + self._pending_text()

    def copy_spilled(self, sink: BinaryIO, leave_off: int = 0) -> None:
        """Copy the spilled rows' UTF-8 bytes to ``sink`` as they are, but for the last ``leave_off`` bytes.

        The caller must have flushed anything it wrote to ``sink``'s file before. The kernel copies
        (``os.sendfile``) where it can; otherwise the bytes go through ``sink.write`` in pieces.
        """
        try:
            target = sink.fileno()
            sink.flush()
        except (OSError, ValueError, AttributeError):
            target = -1
        kernel = target >= 0 and hasattr(os, "sendfile")
        held: list[bytes] = []
        size = 0
        for source, start, end in self._spilled_pieces(leave_off):
            if kernel and end - start >= SENDFILE_BYTES:
                if held:
                    sink.write(b"".join(held))
                    sink.flush()
                    held, size = [], 0
                try:
                    while start < end:
                        sent = os.sendfile(target, source.fileno(), start, min(end - start, 1 << 30))
                        if not sent:
                            break
                        start += sent
                except BrokenPipeError:
                    raise
                except OSError:
                    kernel = False  # a sink sendfile cannot write to: copy the rest below
            while start < end:  # short rows, or no sendfile: through write
                data = _read_at(source, min(READ_BYTES, end - start), start)
                if not data:
                    break
                held.append(data)
                size += len(data)
                start += len(data)
                if size >= READ_BYTES:
                    sink.write(b"".join(held))
                    held, size = [], 0
        if held:
            sink.write(b"".join(held))

    def records(self) -> Iterator[CurveRow]:
        """The rows in order, decoded from the kept text a piece at a time (a table may be huge)."""
        for text in self._row_pieces():
            # (nonfinite is settled only once the last row has been rendered, by text_chunks)
            yield from self._decode(text)

    def _decode(self, text: str) -> list[CurveRow]:
        """Kept rows (whole lines, each ending ",\n") as CurveRows."""
        names = self.names
        rows = []
        for row in json.loads("[" + (_parseable(text) if self.nonfinite else text)[:-2] + "]",
                              parse_constant=_PRINTED.__getitem__):
            values = row["outputs"]
            rows.append(CurveRow(row["iteration"], row["seconds"], _as_float(row["lr"]), _as_float(row["loss"]),
                                 row.get("net", 0), tuple(_as_float(values.get(name, math.nan)) for name in names)))
        return rows

    def records_at(self, indices: Iterable[int]) -> list[CurveRow]:
        """The rows at these places (0 = first; each once, in order; places past the end are left
        out), decoding only them: a summary of a curve of millions of rows picks a few, and
        decoding every row to find them cost more than reading the log (each kept row is one line,
        so a row is found by counting line ends, which ``str.count`` does in C)."""
        wanted = sorted({index for index in indices if 0 <= index < len(self)})
        picked: list[str] = []
        first = 0  # the place of the chunk's first row
        for text in self.text_chunks():
            if not wanted:
                break
            rows = text.count("\n")
            if wanted[0] >= first + rows:
                first += rows
                continue
            lines = text.split("\n")
            while wanted and wanted[0] < first + rows:
                picked.append(lines[wanted.pop(0) - first] + "\n")
            first += rows
        return self._decode("".join(picked)) if picked else []

    def csv_chunks(self) -> Iterator[str] | None:
        """The rows as csv lines (iteration, seconds to 6 decimals, lr, outputs; each value as
        ``repr`` of its float, ``nan`` where Caffe printed a NaN, empty where missing; parse_log.py's
        cells), rewritten from the kept text by the compiled scanner; None where it cannot (not
        built, or the table is not uniform): then decode ``records()``."""
        return self._rewritten(0)

    def test_json_chunks(self) -> Iterator[str] | None:
        """The rows as the JSON writer's test passes (``{"iteration", "net", "seconds", "lr",
        "outputs"}``, values as ``json.dumps`` writes their floats, null for NaN and infinities),
        each ending ",\n"; None where the compiled scanner cannot (see ``csv_chunks``)."""
        return self._rewritten(1)

    def _rewritten(self, mode: int) -> Iterator[str] | None:
        rewrite = getattr(compiled.SCAN, "rewrite", None)
        if rewrite is None or not self.uniform:
            return None
        keys = tuple(_key_json(name).encode("ascii") for name in self.names)
        json_keys = tuple(json.dumps(name).encode("ascii") for name in self.names)
        # one piece first: a row the C code does not know makes the whole table go the Python way
        pieces = self._row_pieces()
        first = next(pieces, "")
        done = rewrite(first, mode, keys, json_keys)
        if done is None:
            return None

        def chunks() -> Iterator[str]:
            yield done
            for text in pieces:
                again = rewrite(text, mode, keys, json_keys)
                if again is None:
                    raise ValueError("curve: a kept row the compiled writer does not know")
                yield again

        return chunks()

    def rows(self) -> Iterator[tuple[float | int, ...]]:
        """Rows as flat tuples (iteration, seconds, lr, loss, net, *outputs in ``names`` order)."""
        for row in self.records():
            yield (*row[:5], *row.outputs)

    def _row_pieces(self) -> Iterator[str]:
        """The kept text in pieces of whole rows of about PARSE_CHARS: parsing a piece makes a
        dict per row, so a 4 MiB piece would cost tens of MB at once."""
        for text in self.text_chunks():
            start = 0
            while start < len(text):
                cut = text.find("\n", start + PARSE_CHARS) + 1 or len(text)
                yield text[start:cut]
                start = cut

    # ------------------------------------------------------------------ columns

    def column(self, index: int) -> list[float | int]:
        """One column of ``rows()`` by its place in the tuple."""
        return [row[index] for row in self.rows()]

    @property
    def iteration(self) -> list[float | int]:
        return self.column(0)

    @property
    def seconds(self) -> list[float | int]:
        return self.column(1)

    @property
    def lr(self) -> list[float | int]:
        return self.column(2)

    @property
    def loss(self) -> list[float | int]:
        return self.column(3)

    @property
    def net(self) -> list[float | int]:
        return self.column(4)

    def output(self, name: str) -> list[float]:
        """The column of output ``name`` (NaN where a row lacks it)."""
        return self.column(5 + self.names.index(name))  # type: ignore[return-value]

    # ------------------------------------------------------------------ JSON

    def write_json_rows(self, out: TextIO, sink: BinaryIO | None = None) -> None:
        """The rows as the items of a JSON array, separated by ",\\n" (no brackets): objects with
        iteration, seconds, loss, lr and outputs; NaN and infinities as null.

        Mostly a copy of the kept text. ``sink``, when given, is the binary stream under ``out``
        (its UTF-8 bytes are what writing text to ``out`` would give): the rows spilled to files
        then go there as they are, copied by the kernel where it can, without decoding them.
        """
        if not self.uniform:
            self._write_json_slowly(out)
            return
        if sink is not None:
            tail = self.tail_text()  # also settles self.nonfinite (the last row may hold a nan)
            out.flush()
            if not self.nonfinite:
                self.copy_spilled(sink, 0 if tail else 2)
            else:  # the words made null in the bytes as read: no decoding, no encoding again
                held = b""
                for data in self._spilled_bytes():
                    sink.write(held)
                    held = _nonfinite_to_null_bytes(data)
                sink.write(held if tail else held[:-2])
                sink.flush()
            out.write(_nonfinite_to_null(tail)[:-2] if self.nonfinite else tail[:-2])  # each row ends ",\n"
            return
        held = ""
        for text in self.text_chunks():
            if text:
                out.write(held)
                held = _nonfinite_to_null(text) if self.nonfinite else text
        out.write(held[:-2])  # every kept row ends with ",\n"

    def _write_json_slowly(self, out: TextIO) -> None:
        """Rows kept without outputs first seen later: decoded and written again with all of them."""
        keys = [_key_json(name) for name in self.names]
        first = True
        for row in self.records():
            outputs = ", ".join(f"{key}: {_json_value(value)}" for key, value in zip(keys, row.outputs, strict=True))
            out.write(("" if first else ",\n") + f'{{"iteration": {row.iteration}, "seconds": '
                      f'{_json_value(row.seconds)}, "loss": {_json_value(row.loss)}, "lr": {_json_value(row.lr)}, '
                      f'"outputs": {{{outputs}}}}}')
            first = False

    def close(self) -> None:
        global _in_memory_files
        if self._spill is not None:
            self._spill.close()
            if self._spill_in_memory:
                _in_memory_files -= self._spilled
            self._spill = None

"""Stream a log file into Events in one pass and bounded memory.

Bytes are decoded as UTF-8 with replacement (logs hold binary junk from custom data layers) and
with universal newlines (CRLF logs from Windows). The file is read in pieces of whole lines
(fast/pieces.py); a file that stops mid-line yields that partial line as the last one.

The echoed NetParameter/SolverParameter after ``Initializing net/solver from parameters:``
continues on lines without a glog prefix. Those lines are gathered (up to MAX_TEXT_CHARS) into
one ``net_text``/``solver_text`` event instead of being classified one by one.

Stretches of plain training lines are handed over in bulk (see fast/bulk.py) as ``train_batch``
events; every other line is classified on its own by lines.py. Feeding the events to a run
builder is fast/feed.py's ``Feeder``, the one loop both ways of reading a file use.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from itertools import chain
from typing import BinaryIO

from caffemem.errors import CaffememError
from caffemem.logs.events import Event
from caffemem.logs.fast.bulk import TrainBatch, split_piece
from caffemem.logs.fast.pieces import PIECE_BYTES, FileCutter, iter_stream
from caffemem.logs.fast.plain import NO_PREFIX, SourceGetter
from caffemem.logs.fast.plain import runs as plain_runs
from caffemem.logs.lines import PREFIX_RE, classify
from caffemem.logs.model import LAST_LINES, MAX_TEXT_CHARS
from caffemem.sniff import compression, looks_binary

ProgressCallback = Callable[[int, int | None], None]
"""Called now and then with (bytes read so far, total bytes or None when unknown)."""
Feed = Callable[[int, Event], None]
"""Takes the event of a line (1-based line number, event)."""
Offer = Callable[[int, TrainBatch, str], None]
"""Takes a bulk-read stretch: the number of its first line, its batch and its text (whole lines)."""
Skip = Callable[[int, int, set[str], list[str], bool], bool]
"""Takes a run of lines of unknown kinds (fast/plain.py): the number of its first line, how many,
their thread ids (none: lines without a glog prefix), last lines and whether they come from a data
layer's source file; False when they must be fed one by one (``RunBuilder.take_unknown``)."""


# A line of protobuf text format as DebugString writes it: `field: value`, `field {`, `}`, or a
# lone lower-case word (the start of such a line where the file was cut). Shell and runtime
# lines ("Killed", "terminate called ...", "*** ...") never look like this.
_PROTO_LINE = re.compile(r"\s*(?:[A-Za-z_][\w.]*\s*(?::|\{)|[a-z_][\w.]*\s*$|\}|$)")
_BLOCK_START = {"net_init": "net_text", "solver_init": "solver_text"}


# What a paste puts before each line of a log: a Markdown code indent or quote ("    ", "> "), or
# the rank tag of mpirun ("[1,0]<stderr>:" from Open MPI's --tag-output, "[0] " from Intel MPI's -l).
_INDENT = re.compile(r"^([ \t]*>[ \t>]*|[ \t]+)(?=[IWEF]\d{4} \d\d:\d\d:\d\d)", re.M)
_RANK_TAG = re.compile(r"^(?:\[\d+,\d+\]<std(?:out|err)>:|\[\d+\] )", re.M)
_RANK_TAGGED_GLOG = re.compile(_RANK_TAG.pattern + r"[IWEF]\d{4} \d\d:\d\d:\d\d", re.M)
_GLOG_ANYWHERE = re.compile(r"^[^\n]{0,24}?[IWEF]\d{4} \d\d:\d\d:\d\d", re.M)
_SAMPLE_CHARS = 1 << 16


def paste_prefix(text: str) -> tuple[str, re.Pattern[str] | None] | None:
    """How the lines of a pasted or tagged log are prefixed, judged on its first 64 KiB: an exact
    indent or quote that most glog lines share (str, stripped where a line starts with it, so the
    echoed net keeps its own indentation), or rank tags (a pattern, stripped wherever it starts a
    line: the ranks' lines interleave). None for a plain log."""
    sample = text[:_SAMPLE_CHARS]
    glog = len(_GLOG_ANYWHERE.findall(sample))
    if not glog:
        return None
    tagged = len(_RANK_TAGGED_GLOG.findall(sample))
    if tagged * 5 >= glog * 4:
        return "", _RANK_TAG
    indents = _INDENT.findall(sample)
    if not indents:
        return None
    prefix = max(set(indents), key=indents.count)
    return (prefix, None) if indents.count(prefix) * 5 >= glog * 4 else None


def _unprefixed(pieces: Iterator[str]) -> Iterator[str]:
    """The pieces with a paste's line prefix taken off (see :func:`paste_prefix`), unchanged otherwise."""
    first = next(pieces, None)
    if first is None:
        return
    found = paste_prefix(first)
    if found is None:
        yield first
        yield from pieces
        return
    prefix, tags = found
    for text in chain((first,), pieces):
        if tags is not None:
            yield tags.sub("", text)
        else:
            text = text.replace("\n" + prefix, "\n")
            yield text[len(prefix):] if text.startswith(prefix) else text


def read_pieces(stream: BinaryIO, progress: ProgressCallback | None, total: int | None,
                piece_bytes: int = PIECE_BYTES, unprefix: bool = True) -> Iterator[str]:
    """Decoded text in pieces of whole lines (each ends with a newline, except a cut-off last line).

    The pieces of fast/pieces.py: a regular file is cut with ``pread``; anything else (a pipe, or
    any file where there is no ``pread``) is read front to back into the same pieces. With
    ``unprefix``, a log pasted as a Markdown indent or quote, or tagged by mpirun, reads as the log
    Caffe wrote (users often have only what they pasted into an issue).
    """
    report = None if progress is None else (lambda done: progress(done, total))
    try:
        fd = stream.fileno()
        regular = stat.S_ISREG(os.fstat(fd).st_mode) and hasattr(os, "pread")
    except (OSError, ValueError, AttributeError):
        regular = False
    if regular:
        pieces = FileCutter(fd, os.fstat(fd).st_size, piece_bytes).pieces(report)
    else:
        pieces = iter_stream(stream, piece_bytes, progress=report)
    yield from _unprefixed(iter(pieces)) if unprefix else pieces


def split_lines(text: str) -> list[str]:
    """Lines of a piece from read_pieces, without their newlines."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class LineEvents:
    """Line-by-line classification, with the net/solver text blocks gathered into one event.

    Numbers the lines as it goes (``number``: lines so far), so a bulk stretch must pass through
    ``feed_stretch`` to be counted.
    """

    def __init__(self) -> None:
        self.number = 0
        self.block_kind: str | None = None
        self.block: list[str] = []
        self.block_size = 0
        self.block_line = 0
        self.truncated = False

    def close_block(self) -> Iterator[tuple[int, Event]]:
        if self.block_kind is not None:
            yield self.block_line, Event(self.block_kind, ("\n".join(self.block), self.truncated))
            self.block_kind = None
            self.block = []

    def lines(self, lines: list[str]) -> Iterator[tuple[int, Event]]:
        for line in lines:
            self.number += 1
            if self.block_kind is not None:
                if not PREFIX_RE.match(line) and _PROTO_LINE.match(line):
                    if self.block_size < MAX_TEXT_CHARS:
                        self.block.append(line)
                        self.block_size += len(line) + 1
                    else:
                        self.truncated = True
                    continue
                yield from self.close_block()
            event = classify(line)
            yield self.number, event
            kind = _BLOCK_START.get(event.kind)
            if kind is not None:
                self.block_kind, self.block, self.block_size = kind, [], 0
                self.block_line, self.truncated = self.number + 1, False

    def feed_stretch(self, batch: TrainBatch, text: str, feed: Feed, offer: Offer) -> None:
        """A bulk-read stretch (``text``: its whole lines) to ``offer`` under the number of its
        first line, after ``feed`` got the text block it ends, if any; its lines counted after."""
        for number, event in self.close_block():
            feed(number, event)
        offer(self.number + 1, batch, text)
        self.number += batch.lines

    def feed_text(self, text: str, feed: Feed, skip: Skip) -> None:
        """Whole lines: each run of lines of unknown kinds (fast/plain.py) to ``skip``, the other
        lines' events (and the runs ``skip`` refuses) to ``feed``."""
        if not text:
            return
        lines = split_lines(text)
        for start, end, getter in plain_runs(lines, text):
            chunk = lines[start:end]
            if getter is NO_PREFIX:
                if self.block_kind is None and skip(self.number + 1, end - start, set(), chunk[-LAST_LINES:]):
                    self.number += end - start
                    continue
            elif getter is not False:
                for number, event in self.close_block():  # a glog line ends a text block
                    feed(number, event)
                if skip(self.number + 1, end - start, set(map(getter, chunk)), chunk[-LAST_LINES:],
                        isinstance(getter, SourceGetter)):
                    self.number += end - start
                    continue
            for number, event in self.lines(chunk):
                feed(number, event)

    def feed_piece(self, piece: str, bulk: bool, feed: Feed, offer: Offer, skip: Skip | None = None) -> None:
        """A piece of whole lines: the events of its lines to ``feed``; with ``bulk``, each of its
        stretches of plain training lines to ``offer`` instead (see ``feed_stretch``), and with
        ``skip`` too, the runs of lines of unknown kinds between them to ``skip`` (``feed_text``).

        Callbacks rather than a generator: this is the loop every line of a log passes through.
        """
        if not bulk:
            for number, event in self.lines(split_lines(piece)):
                feed(number, event)
            return
        for before, batch, text in split_piece(piece):
            if skip is not None:
                self.feed_text(before, feed, skip)
            else:
                for number, event in self.lines(split_lines(before)):
                    feed(number, event)
            if batch is not None:
                self.feed_stretch(batch, text, feed, offer)


def iter_events(stream: BinaryIO, progress: ProgressCallback | None = None,
                total: int | None = None, bulk: bool = True,
                piece_bytes: int = PIECE_BYTES) -> Iterator[tuple[int, Event]]:
    """(1-based line number, Event) for every line, in file order.

    Text blocks come as one ``net_text``/``solver_text`` event (numbered by their first line).
    The last event is ``end_of_file`` with the number of lines read.
    With ``bulk``, stretches of plain training lines come as one ``train_batch`` event whose
    values are (TrainBatch, the stretch's text: whole lines); the consumer may take it whole or, if it does
    not fit its state, classify the lines itself (as fast/feed.py's ``Feeder`` does).
    """
    events = LineEvents()
    held: list[tuple[int, Event]] = []

    def offer(number: int, batch: TrainBatch, text: str) -> None:
        held.append((number, Event("train_batch", (batch, text))))

    for piece in read_pieces(stream, progress, total, piece_bytes):
        events.feed_piece(piece, bulk, lambda number, event: held.append((number, event)), offer)
        yield from held
        held.clear()
    yield from events.close_block()
    yield events.number, Event("end_of_file", (events.number,))


def open_log(path: str | os.PathLike[str]) -> tuple[BinaryIO, int | None]:
    """The file opened for reading in binary, and its size when it has one; ``-`` is standard input."""
    if os.fspath(path) == "-":
        stream: BinaryIO = sys.stdin.buffer  # type: ignore[assignment]
    else:
        stream = open(path, "rb")  # noqa: SIM115 - the caller closes it
    try:
        size: int | None = os.fstat(stream.fileno()).st_size
    except OSError:
        size = None
    head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""
    packed = compression(head)
    if packed is not None:
        stream.close()
        raise CaffememError(f"a compressed file ({packed}): decompress it first", os.fspath(path))
    if len(head) >= 64 and looks_binary(head, tolerance=0.05):
        stream.close()  # a stray NUL from a data layer is fine; mostly control bytes is not a log
        raise CaffememError("binary data, not a text log", os.fspath(path))
    return stream, size

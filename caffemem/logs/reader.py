"""Stream a log file into Events in one pass and bounded memory.

Bytes are decoded as UTF-8 with replacement (logs hold binary junk from custom data layers) and
with universal newlines (CRLF logs from Windows). The file is read in large chunks; the last
partial line of a chunk waits for the next, and a file that stops mid-line yields that partial
line as the last one.

The echoed NetParameter/SolverParameter after ``Initializing net/solver from parameters:``
continues on lines without a glog prefix. Those lines are gathered (up to MAX_TEXT_CHARS) into
one ``net_text``/``solver_text`` event instead of being classified one by one.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from typing import BinaryIO

from caffemem.logs.events import Event
from caffemem.logs.lines import PREFIX_RE, classify
from caffemem.logs.model import MAX_TEXT_CHARS

ProgressCallback = Callable[[int, int | None], None]
"""Called now and then with (bytes read so far, total bytes or None when unknown)."""

READ_CHARS = 1 << 20

# A line of protobuf text format as DebugString writes it: `field: value`, `field {`, `}`, or a
# lone lower-case word (the start of such a line where the file was cut). Shell and runtime
# lines ("Killed", "terminate called ...", "*** ...") never look like this.
_PROTO_LINE = re.compile(r"\s*(?:[A-Za-z_][\w.]*\s*(?::|\{)|[a-z_][\w.]*\s*$|\}|$)")
_BLOCK_START = {"net_init": "net_text", "solver_init": "solver_text"}


def _lines(stream: BinaryIO, progress: ProgressCallback | None, total: int | None) -> Iterator[str]:
    """Decoded lines without their line endings."""
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
    raw = getattr(stream, "raw", None)
    pending = ""
    while True:
        chunk = text.read(READ_CHARS)
        if not chunk:
            break
        if progress is not None:
            try:
                done = raw.tell() if raw is not None else stream.tell()
            except (OSError, ValueError):
                done = 0
            progress(done, total)
        chunk = pending + chunk
        cut = chunk.rfind("\n")
        if cut < 0:
            pending = chunk
            continue
        pending = chunk[cut + 1:]
        yield from chunk[:cut].split("\n")
    if pending:
        yield pending
    text.detach()


def iter_events(stream: BinaryIO, progress: ProgressCallback | None = None,
                total: int | None = None) -> Iterator[tuple[int, Event]]:
    """(1-based line number, Event) for every line; text blocks come as one event each.

    A block event carries the line number of its first text line.
    """
    block_kind: str | None = None
    block: list[str] = []
    block_size = 0
    block_line = 0
    truncated = False
    number = 0
    for line in _lines(stream, progress, total):
        number += 1
        if block_kind is not None:
            if not PREFIX_RE.match(line) and _PROTO_LINE.match(line):
                if block_size < MAX_TEXT_CHARS:
                    block.append(line)
                    block_size += len(line) + 1
                else:
                    truncated = True
                continue
            yield block_line, Event(block_kind, ("\n".join(block), truncated))
            block_kind = None
        event = classify(line)
        yield number, event
        kind = _BLOCK_START.get(event.kind)
        if kind is not None:
            block_kind, block, block_size, block_line, truncated = kind, [], 0, number + 1, False
    if block_kind is not None:
        yield block_line, Event(block_kind, ("\n".join(block), truncated))


def open_log(path: str | os.PathLike[str]) -> tuple[BinaryIO, int | None]:
    """The file opened for reading in binary, and its size when it has one."""
    stream = open(path, "rb")  # noqa: SIM115 - the caller closes it
    try:
        size: int | None = os.fstat(stream.fileno()).st_size
    except OSError:
        size = None
    return stream, size

"""Cut a log into pieces of whole lines, the same pieces whether it is read front to back or at random.

Where a piece starts does not depend on the pieces before it (any piece can be read on its own,
and a pipe read front to back gives the same pieces as a file read at random). Piece ``k`` is
the bytes ``[B(k * size), B((k + 1) * size))`` for a fixed piece size, where ``B(t)`` is

- one past the last newline in ``[t - MAX_LINE_BYTES, t]`` (the start of the line holding
  byte ``t``, or the next line if byte ``t`` is the newline), else
- 0 when that window reaches back to the start of the file (a first line still short enough), else
- ``t`` itself, moved back to the start of a UTF-8 character: a "line" longer than
  MAX_LINE_BYTES is binary junk from a data layer, and is cut rather than held whole. The
  piece before such a cut gets a newline added, so that every piece is whole lines.

``B`` never goes backwards as ``t`` grows, so the pieces tile the file; some are empty (inside
a long line). ``FileCutter`` computes ``B`` for any piece with ``os.pread``; ``iter_stream``
gets the same pieces from a stream that can only be read front to back (a pipe).

Text is UTF-8 with undecodable bytes replaced, and universal newlines ("\\r\\n" and a lone
"\\r" end a line), as Python's text files read it; a newline never splits between pieces.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

PIECE_BYTES = 1 << 20
MAX_LINE_BYTES = 16 << 20
_FIRST_WINDOW = 1 << 12


def decode(data: bytes | memoryview) -> str:
    """Bytes of whole lines as text: UTF-8 with replacement, universal newlines."""
    text = str(data, "utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _char_start(byte_at: Callable[[int], int], t: int) -> int:
    """``t`` moved back over at most three UTF-8 continuation bytes."""
    for _ in range(3):
        if t <= 0 or not 0x80 <= byte_at(t) < 0xC0:
            break
        t -= 1
    return t


def _piece_text(data: bytes | memoryview, cut: bool) -> str:
    text = decode(data)
    if cut and text and not text.endswith("\n"):
        text += "\n"  # a cut inside an overlong line
    return text


class FileCutter:
    """Pieces of a regular file by number, read with ``os.pread`` (no shared file position)."""

    def __init__(self, fd: int, size: int, piece_bytes: int = PIECE_BYTES, max_line_bytes: int | None = None) -> None:
        max_line_bytes = MAX_LINE_BYTES if max_line_bytes is None else max_line_bytes
        if piece_bytes < 8 or max_line_bytes < piece_bytes:
            raise ValueError("piece size must be at least 8 bytes and at most the longest line")
        self.fd = fd
        self.size = size
        self.piece_bytes = piece_bytes
        self.max_line_bytes = max_line_bytes
        self.count = -(-size // piece_bytes)  # pieces 0 .. count - 1

    def _byte_at(self, t: int) -> int:
        data = os.pread(self.fd, 1, t)
        return data[0] if data else 0

    def boundary(self, t: int) -> int:
        """B(t): where the piece that starts near byte ``t`` starts."""
        if t <= 0:
            return 0
        if t >= self.size:
            return self.size
        floor = max(0, t - self.max_line_bytes)
        window = _FIRST_WINDOW
        high = t + 1  # byte t itself may be the newline
        while high > floor:
            low = max(floor, high - window)
            data = os.pread(self.fd, high - low, low)
            found = data.rfind(b"\n")
            if found >= 0:
                return low + found + 1
            high = low
            window *= 4
        if t < self.max_line_bytes:
            return 0
        return _char_start(self._byte_at, t)

    def span(self, index: int) -> tuple[int, int]:
        """Byte range of piece ``index``."""
        return self.boundary(index * self.piece_bytes), self.boundary((index + 1) * self.piece_bytes)

    def piece(self, index: int) -> str:
        """The text of piece ``index`` ("" for an empty one)."""
        start, end = self.span(index)
        if end <= start:
            return ""
        data = os.pread(self.fd, end - start, start)
        return _piece_text(data, end < self.size and data[-1:] != b"\n")

    def pieces(self, progress: Callable[[int], None] | None = None) -> Iterator[str]:
        """Every non-empty piece in order; ``progress`` gets the bytes done after each."""
        for index in range(self.count):
            text = self.piece(index)
            if progress is not None:
                progress(min(self.size, (index + 1) * self.piece_bytes))
            if text:
                yield text


def iter_stream(stream: BinaryIO, piece_bytes: int = PIECE_BYTES, max_line_bytes: int | None = None,
                progress: Callable[[int], None] | None = None) -> Iterator[str]:
    """The same pieces as ``FileCutter`` gives, read front to back (non-empty ones only).

    ``progress`` is called with the bytes read so far after each piece.
    """
    max_line_bytes = MAX_LINE_BYTES if max_line_bytes is None else max_line_bytes
    if piece_bytes < 8 or max_line_bytes < piece_bytes:
        raise ValueError("piece size must be at least 8 bytes and at most the longest line")
    buf = bytearray()
    start = 0  # file offset of buf[0]: the start of the next piece
    after_newline = False  # whether byte start - 1 is a newline
    eof = False
    index = 1
    while True:
        t = index * piece_bytes
        while not eof and start + len(buf) <= t:
            data = stream.read(max(piece_bytes, t + 1 - start - len(buf)))
            if not data:
                eof = True
            buf += data
        end_of_data = start + len(buf)
        if t >= end_of_data:  # the last piece
            if buf:
                yield decode(buf)
                if progress is not None:
                    progress(end_of_data)
            return
        floor = max(0, t - max_line_bytes)
        found = buf.rfind(b"\n", max(0, floor - start), t + 1 - start)
        cut = False
        if found >= 0:
            end = start + found + 1
        elif after_newline and start - 1 >= floor:
            end = start
        elif t < max_line_bytes:
            end = 0
        else:
            end = _char_start(lambda i, buf=buf, start=start: buf[i - start], t)
            cut = True
        if end > start:
            piece = buf[:end - start]
            yield _piece_text(piece, cut)
            del buf[:end - start]
            start = end
            after_newline = not cut
            if progress is not None:
                progress(start)
        index += 1


MAX_HAND_BACK = 1 << 12  # lines read the Python way at most between two tries of a compiled reader


def hand_back_end(piece: str | bytes, pos: int, misses: int) -> int:
    """Where the stretch a compiled reader hands back to Python ends: ``2 ** misses`` whole lines
    from ``pos`` (at most MAX_HAND_BACK), ``misses`` being how many tries in a row took nothing.
    A log the C code cannot read costs it little: each failed try hands back twice as many lines."""
    newline = "\n" if isinstance(piece, str) else b"\n"
    end = pos
    for _ in range(min(1 << misses, MAX_HAND_BACK)):
        end = piece.find(newline, end) + 1  # type: ignore[arg-type]
        if not end:
            return len(piece)
    return end

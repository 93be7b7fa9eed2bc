"""Columns of numbers that spill to a temporary file, so a training curve of any length fits.

A gigabyte log holds millions of iterations; as Python objects they would take hundreds of MB,
so each column is a typed ``array`` kept in memory up to a chunk and appended to an anonymous
temporary file after that. Reading back streams the chunks in order.
"""

from __future__ import annotations

import math
import tempfile
from array import array
from collections.abc import Iterator
from typing import IO

CHUNK = 1 << 16  # values kept in memory per column before spilling (512 KiB of doubles)


class Column:
    """An append-only sequence of int64 ('q') or double ('d') values, spilled past CHUNK."""

    __slots__ = ("typecode", "buf", "spill", "length")

    def __init__(self, typecode: str = "d") -> None:
        self.typecode = typecode
        self.buf: array = array(typecode)  # type: ignore[type-arg]
        self.spill: IO[bytes] | None = None
        self.length = 0

    def append(self, value: float | int) -> None:
        self.buf.append(value)
        self.length += 1
        if len(self.buf) > CHUNK:
            self._flush()

    def extend(self, values: array) -> None:  # type: ignore[type-arg]
        """Append many values at once (same typecode)."""
        self.buf.extend(values)
        self.length += len(values)
        self._flush()

    def set_last(self, value: float | int) -> None:
        """Overwrite the most recent value (it is always still in memory)."""
        self.buf[-1] = value

    def last(self) -> float | int:
        return self.buf[-1]

    def fill(self, value: float | int, count: int) -> None:
        """Append ``count`` copies of ``value`` (used to back-fill a column that starts late)."""
        while count > 0:
            step = min(count, CHUNK)
            self.buf.extend(array(self.typecode, [value]) * step)
            self.length += step
            count -= step
            self._flush()

    def _flush(self) -> None:
        # Write whole CHUNKs only, and keep at least the last value in memory: then set_last()
        # never touches the file, and every column of a table splits at the same row numbers.
        while len(self.buf) > CHUNK:
            if self.spill is None:
                self.spill = tempfile.TemporaryFile(prefix="caffemem-col-")
            self.buf[:CHUNK].tofile(self.spill)
            del self.buf[:CHUNK]

    def chunks(self) -> Iterator[array]:  # type: ignore[type-arg]
        """The values in order, as arrays of at most CHUNK values."""
        if self.spill is not None:
            self.spill.flush()
            self.spill.seek(0)
            itemsize = array(self.typecode).itemsize
            while True:
                data = self.spill.read(CHUNK * itemsize)
                if not data:
                    break
                part = array(self.typecode)
                part.frombytes(data)
                yield part
            self.spill.seek(0, 2)
        if self.buf:
            yield self.buf

    def __iter__(self) -> Iterator[float | int]:
        for part in self.chunks():
            yield from part

    def __len__(self) -> int:
        return self.length

    def close(self) -> None:
        if self.spill is not None:
            self.spill.close()
            self.spill = None


class Table:
    """A training-curve table: fixed leading columns plus one float column per named output.

    Missing values are NaN; writers show them as empty/null.
    """

    def __init__(self) -> None:
        self.iteration = Column("q")
        self.seconds = Column("d")
        self.lr = Column("d")
        self.loss = Column("d")
        self.net = Column("q")  # test-net index (test tables) or 0
        self.outputs: dict[str, Column] = {}

    def __len__(self) -> int:
        return len(self.iteration)

    def add_row(self, iteration: int, seconds: float, lr: float = math.nan, loss: float = math.nan,
                net: int = 0) -> None:
        self.iteration.append(iteration)
        self.seconds.append(seconds)
        self.lr.append(lr)
        self.loss.append(loss)
        self.net.append(net)
        for column in self.outputs.values():
            column.append(math.nan)

    def extend_rows(self, iterations: array, seconds: array, lrs: array, losses: array,  # type: ignore[type-arg]
                    outputs: dict[str, array]) -> None:  # type: ignore[type-arg]
        """Append many train rows at once; the same as add_row + set_output row by row."""
        n = len(iterations)
        before = len(self)
        self.iteration.extend(iterations)
        self.seconds.extend(seconds)
        self.lr.extend(lrs)
        self.loss.extend(losses)
        self.net.extend(array("q", [0]) * n)
        for name, column in self.outputs.items():
            if name not in outputs:
                column.fill(math.nan, n)
        for name, values in outputs.items():
            column = self.outputs.get(name)
            if column is None:
                column = Column("d")
                column.fill(math.nan, before)
                self.outputs[name] = column
            column.extend(values)

    def set_output(self, name: str, value: float) -> None:
        """Set output ``name`` on the last row (creating the column, back-filled, on first use)."""
        column = self.outputs.get(name)
        if column is None:
            column = Column("d")
            column.fill(math.nan, len(self) - 1)
            column.append(value)
            self.outputs[name] = column
        else:
            column.set_last(value)

    def columns(self) -> list[Column]:
        return [self.iteration, self.seconds, self.lr, self.loss, self.net, *self.outputs.values()]

    def rows(self) -> Iterator[tuple[float | int, ...]]:
        """Rows as tuples (iteration, seconds, lr, loss, net, *outputs in self.outputs order)."""
        iterators = [iter(c) for c in self.columns()]
        return zip(*iterators, strict=False)

    def row_chunks(self) -> Iterator[list[array]]:  # type: ignore[type-arg]
        """Column chunks side by side, for writers that format many rows at once."""
        chunkers = [c.chunks() for c in self.columns()]
        yield from (list(parts) for parts in zip(*chunkers, strict=False))

    def close(self) -> None:
        for column in self.columns():
            column.close()

"""Read a big log with a second process doing part of the work.

On a big log nearly all the time goes into the bulk path: cutting training stretches into
columns (bulk.py) and encoding them as the curve table's rows (render.py ``render_batch``). Both
are pure functions of the text and of four numbers of the builder's state, so a forked worker
can do them for some of the pieces while this process does the others:

- the file is cut into numbered pieces that either process can read on its own (pieces.py
  ``FileCutter``: the same pieces the serial reader gets). The worker takes a share of them,
  spread evenly, and reads, decodes and cuts only those; this process only the others. This
  process also feeds every piece's line-by-line part, so the share follows how long it waits
  for the worker's answers (``_Balance``; a change applies from a piece the worker cannot have
  reached, so both processes always agree on who does which piece);
- for each of its pieces the worker answers with the piece's text in order: the plain text
  between bulk stretches (to be read line by line) and, per stretch, its span and the rendered
  batch (or None when it could not render it). The rows of a rendered batch go into the
  worker's rows file, not through the pipe: the run's table only records where they are, and
  the JSON writer copies them from there;
- this process feeds the plain text to the builder with the serial path's feeder (feed.py) and
  applies the worker's batches in file order. The worker renders with the builder's state as this process
  last sent it (it changes only where a run starts or its clock is set), and waits while it is
  more than LEAD pieces ahead. A batch rendered for another state, one the builder refuses, or
  a missing one is done here instead, from the piece read here, exactly as the serial path
  does it; a worker that fails or dies leaves the rest of the file to the serial path. The
  result is the serial path's, byte for byte (tests/logs check it).

Memory stays bounded: the worker is at most LEAD pieces ahead. Only on Linux (``fork``;
spawning would re-run the command line in the child) and only for regular files of at least
PARALLEL_MIN_BYTES.
"""

from __future__ import annotations

import os
import queue
import signal
import stat
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Connection, Pipe
from typing import IO, BinaryIO

from caffemem.logs.fast.bulk import split_spans
from caffemem.logs.fast.feed import Feeder
from caffemem.logs.fast.pieces import PIECE_BYTES, FileCutter
from caffemem.logs.fast.render import RenderedBatch, RenderState, render_batch, tail_lines
from caffemem.logs.reader import ProgressCallback

PARALLEL_MIN_BYTES = 64 << 20  # smaller files are read by one process
SHARE = (6, 11)  # the worker's first share of the pieces (see _takes): this process also applies its answers
# The worker's share moves along these (see _Balance): this process does the line-by-line part of
# every piece, so on logs where that is heavy (frequent test passes) the worker takes more.
SHARES = ((1, 3), (2, 5), (1, 2), (6, 11), (3, 5), (2, 3), (3, 4), (4, 5), (7, 8), (9, 10))
BALANCE_EVERY = 32  # pieces between two looks at the balance (fewer make it wander on noise)
WAIT_LOW, WAIT_HIGH = 0.01, 0.05  # share of the time this process waits for answers: less -> worker takes more
AHEAD = 8  # answers the worker may hold beyond the one in the pipe
LEAD = 8  # pieces the worker may be ahead of this process
KEEP_FREED_BYTES = 16 << 20  # see keep_freed_memory
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h

Span = tuple[int, int, RenderedBatch | None]
Answer = list[str | Span]  # a worker piece in order: plain text, and (start, end, batch) per stretch


def keep_freed_memory(limit: int = KEEP_FREED_BYTES) -> None:
    """Have glibc's malloc keep up to ``limit`` freed bytes instead of handing them back at once.

    Reading a big log allocates and frees pieces of a few MiB (the text read, its translation,
    rendered rows, spill buffers) over and over. By default glibc maps blocks of those sizes
    afresh or trims them off its heap each time, and the kernel faults every page in again: on
    a 300 MB log 144 k page faults and 0.6 s of system time (20 k and 0.2-0.4 s with this). With both thresholds at
    ``limit`` they stay on the heap, at most ``limit`` of free memory more per process. For a
    process that does little else (the command line); no effect with another C library.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        if not hasattr(libc, "gnu_get_libc_version"):
            return
        libc.mallopt(_M_MMAP_THRESHOLD, limit)
        libc.mallopt(_M_TRIM_THRESHOLD, limit)
    except (OSError, AttributeError, ValueError, ImportError):
        return


def can_fork(stream: BinaryIO, size: int | None, min_bytes: int) -> bool:
    """Whether to read this file with a worker process."""
    if size is None or size < min_bytes or not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return False
    if threading.active_count() > 1:
        return False  # forking a process that runs other threads is unsafe
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError):
        return False


def _takes(index: int, share: tuple[int, int]) -> bool:
    """Whether the worker takes piece ``index``: ``share[0]`` of every ``share[1]`` pieces, spread evenly."""
    taken, period = share
    return ((index + 1) * taken) // period > (index * taken) // period


class _Schedule:
    """Which pieces the worker takes: a share, changed from a given piece on.

    Both processes hold one and apply the same changes; a change is announced for a piece the
    worker cannot have reached (more than LEAD pieces past what this process has finished), so
    both decide every piece the same way.
    """

    def __init__(self, share: tuple[int, int]) -> None:
        self.changes: list[tuple[int, tuple[int, int]]] = [(0, share)]

    def change(self, first: int, share: tuple[int, int]) -> None:
        self.changes.append((first, share))

    def takes(self, index: int) -> bool:
        while len(self.changes) > 1 and self.changes[1][0] <= index:
            self.changes.pop(0)  # pieces are asked for in order
        return _takes(index, self.changes[0][1])


class _Balance:
    """Moves the worker's share up when this process hardly waits for its answers (this process
    is the slower one), down when it waits much (the worker is)."""

    def __init__(self, share: tuple[int, int]) -> None:
        self.level = SHARES.index(share) if share in SHARES else None
        self.waited = 0.0
        self.since = time.perf_counter()
        self.pieces = 0

    def after_piece(self, index: int) -> tuple[int, tuple[int, int]] | None:
        """A change to announce after piece ``index``, if any."""
        self.pieces += 1
        if self.level is None or self.pieces < BALANCE_EVERY:
            return None
        now = time.perf_counter()
        waiting = self.waited / max(now - self.since, 1e-9)
        self.waited, self.since, self.pieces = 0.0, now, 0
        level = self.level
        if waiting < WAIT_LOW:
            level = min(level + 1, len(SHARES) - 1)
        elif waiting > WAIT_HIGH:
            level = max(level - 1, 0)
        if level == self.level:
            return None
        self.level = level
        return index + LEAD + 1, SHARES[level]


def _send(results: Connection, answers: queue.Queue[object]) -> None:
    """The worker's sending thread, so that it can work on while this process is busy."""
    while True:
        answer = answers.get()
        if answer is None:
            return
        results.send(answer)


def _answer(piece: str, state: RenderState | None, cache: dict[str, int], rows_fd: int,
            written: int) -> tuple[Answer, int]:
    """A piece as the worker answers it, and the rows file's new size."""
    answer: Answer = []
    pos = 0
    for first, last, batch in split_spans(piece):
        if first > pos:
            answer.append(piece[pos:first])
        rendered = None
        if state is not None:
            rendered = render_batch(batch, tail_lines(piece, first, last), state, cache)
        if rendered is not None and rendered.rows:
            data = rendered.rows.encode("utf-8")
            os.pwrite(rows_fd, data, written)
            rendered.rows = ""
            rendered.spilled = (written, written + len(data))
            written += len(data)
        answer.append((first, last, rendered))
        pos = last
    if pos < len(piece):
        answer.append(piece[pos:])
    return answer, written


def _work(cutter: FileCutter, share: tuple[int, int], results: Connection, control: Connection,
          rows_fd: int) -> None:
    """The worker: its pieces, the stretches rendered for the newest state it was sent.

    The rendered rows go into the rows file (``rows_fd``, at offsets this process keeps), not
    through the pipe: the parent then only records where they are, and copies them out from
    there when it writes its output.
    """
    state: RenderState | None = None
    done = -1  # the last piece the parent has finished
    written = 0
    cache: dict[str, int] = {}
    schedule = _Schedule(share)
    answers: queue.Queue[object] = queue.Queue(AHEAD)
    sender = threading.Thread(target=_send, args=(results, answers), daemon=True)
    sender.start()
    for index in range(cutter.count):
        # Wait until the parent is at most LEAD pieces behind, so that the state is one it had
        # near this piece (a worker far ahead would render for a stale state), and so that
        # every change of the share for this piece has come.
        while control.poll() or done < index - LEAD:
            done, state, change = control.recv()
            if change is not None:
                schedule.change(*change)
        if not schedule.takes(index):
            continue
        answer, written = _answer(cutter.piece(index), state, cache, rows_fd, written)
        if not sender.is_alive():
            return
        answers.put((index, answer))
    answers.put(None)
    sender.join()


class _Worker:
    """The forked worker process and its two pipes."""

    def __init__(self, cutter: FileCutter, share: tuple[int, int]) -> None:
        # Where the worker writes its rendered rows; the tables that take them close it.
        self.rows: IO[bytes] = tempfile.TemporaryFile(prefix="caffemem-rows-")
        self.rows_taken = False
        self.results, results_w = Pipe(duplex=False)
        control_r, self.control = Pipe(duplex=False)
        for out in (sys.stdout, sys.stderr):
            try:
                out.flush()
            except (OSError, ValueError, AttributeError):
                pass
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns
            code = 0
            try:
                self.results.close()
                self.control.close()
                _work(cutter, share, results_w, control_r, self.rows.fileno())
            except BaseException:  # noqa: BLE001 - any failure: the parent reads on alone
                code = 1
            finally:
                os._exit(code)
        results_w.close()
        control_r.close()

    def answer(self, index: int, balance: _Balance | None = None) -> Answer | None:
        """The worker's answer for piece ``index``, or None (and the worker stopped) if it has none."""
        try:
            if balance is not None and not self.results.poll():
                start = time.perf_counter()
                self.results.poll(None)
                balance.waited += time.perf_counter() - start
            got_index, answer = self.results.recv()
        except Exception:  # noqa: BLE001 - a dead or garbled worker: read on alone
            got_index, answer = -1, None
        if got_index != index or not isinstance(answer, list):
            self.close()
            return None
        return answer

    def send_progress(self, index: int, state: RenderState | None,
                      change: tuple[int, tuple[int, int]] | None = None) -> bool:
        """Tell the worker that piece ``index`` is done, the builder's state after it, and a
        change of its share (from which piece on), if any."""
        try:
            self.control.send((index, state, change))
        except OSError:
            return False
        return True

    def close(self) -> None:
        if not self.rows_taken:
            self.rows.close()
        if self.pid <= 0:
            return
        self.results.close()
        self.control.close()
        done, _ = os.waitpid(self.pid, os.WNOHANG)
        if not done:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        self.pid = 0


def _worker_piece(feeder: Feeder, answer: Answer, worker: _Worker, cutter: FileCutter, index: int) -> None:
    """Apply the worker's answer for a piece; what it could not do is done here from the piece's text."""
    piece = None
    local = None
    for item in answer:
        if isinstance(item, str):
            feeder.text(item)
            continue
        first, last, rendered = item
        if rendered is not None and feeder.rendered(rendered, worker.rows):
            worker.rows_taken |= rendered.spilled is not None
            continue
        if piece is None:
            piece = cutter.piece(index)
            local = {(start, end): batch for start, end, batch in split_spans(piece)}
        batch = local.get((first, last)) if local is not None else None
        if batch is not None:
            feeder.stretch(batch, piece[first:last])
        else:  # cannot happen for the same piece; the line path is right for any text
            feeder.text(piece[first:last])


def read_parallel(stream: BinaryIO, feeder: Feeder, progress: ProgressCallback | None,
                  size: int | None, piece_bytes: int = PIECE_BYTES, share: tuple[int, int] | None = None) -> None:
    """Feed the whole file to ``feeder`` with a worker's help (then ``feeder.finish()`` as after
    feeding it serially).

    ``share``: (pieces the worker takes, of how many); default SHARE.
    """
    share = SHARE if share is None else share
    fd = stream.fileno()
    cutter = FileCutter(fd, os.fstat(fd).st_size if size is None else size, piece_bytes)
    worker: _Worker | None = None
    schedule = _Schedule(share)
    balance = _Balance(share)
    try:
        try:
            worker = _Worker(cutter, share)
        except OSError:
            worker = None
        for index in range(cutter.count):
            answer = None
            if worker is not None and schedule.takes(index):
                answer = worker.answer(index, balance)
                if answer is None:
                    worker = None
            if answer is None:
                feeder.piece(cutter.piece(index))
            else:
                assert worker is not None
                _worker_piece(feeder, answer, worker, cutter, index)
            if progress is not None:
                progress(min(cutter.size, (index + 1) * cutter.piece_bytes), size)
            change = balance.after_piece(index)
            if change is not None:
                schedule.change(*change)
            if worker is not None and not worker.send_progress(index, feeder.builder.render_state(), change):
                worker.close()
                worker = None
    finally:
        if worker is not None:
            worker.close()

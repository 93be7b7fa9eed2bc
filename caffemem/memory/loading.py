"""Loading a ``.caffemodel``: what the file holds against the net, and what parsing it costs.

``Net::CopyTrainedLayersFromBinaryProto`` parses the whole file into a local NetParameter, copies
the values into the blobs the net already has, and frees the parse before the first forward pass.
So the run peaks at ``max(set-up + the parse's own peak, the forward peak)``; the parsed copy is
never alive during the forward pass (``shared/docs/weights-loading.md``, measured within 0.2 %).

The parse's own peak depends on where each packed value array lies in the file: protobuf 3.21
reads the file in 8 KiB chunks and never reserves an array's size up front, so each array grows by
doubling (``RepeatedField::Reserve``: ``max(2c + 2, need)``) from what is left of the chunk that
holds its key, the old buffer and the copy both resident at each growth; glibc serves small steps
from the heap (which keeps them resident after they are freed, for later steps to reuse) and large
ones by mmap, raising its mmap threshold to each mmapped chunk it frees.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from functools import lru_cache

from caffemem.categories import Category as C
from caffemem.memory.model import RunFootprint
from caffemem.net.build import BuiltNet

CHUNK = 8192  # protobuf's FileInputStream block size
SLOP = 16  # bytes the parser may read past a buffer's end (the patch buffer between chunks)
REP_HEADER = 8  # RepeatedField's arena pointer before the elements
PAGE = 4096
MMAP_THRESHOLD = 128 * 1024  # glibc's initial (dynamic) mmap threshold
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
TOP_PAD = 128 * 1024  # glibc's M_TOP_PAD: slack sbrk adds past each extension of the heap
KEY_SHIFT = 48  # free chunks are sorted by one int, size << KEY_SHIFT | start (starts stay below 2**48)
KEY_MASK = (1 << KEY_SHIFT) - 1
#: [measured, weights-loading.md] ``caffe test`` when it starts reading the weights: the process
#: (no solver, OpenBLAS not used yet) plus 14 KiB per layer Caffe set up, before the net's blobs.
LOAD_PROCESS_BYTES = int(11.69 * 2**20)
LOAD_LAYER_BYTES = 14 * 1024


def _varint_len(n: int) -> int:
    length = 1
    while n >= 0x80:
        n >>= 7
        length += 1
    return length


def growth_ladder(offset: int, values: int, width: int = 4) -> list[tuple[int, int, int]]:
    """(capacity, values held when it is reserved, values read right after) for each allocation of
    one packed array.

    ``offset`` is the payload's byte offset in the file. The first buffer holds what is left of the
    chunk holding the field's key; later reads add the 16-byte patch and the next chunk, by turns.
    """
    if values <= 0:
        return []
    key = offset - 1 - _varint_len(width * values)
    end = CHUNK * (key // CHUNK + 1)
    if key % CHUNK >= CHUNK - SLOP:
        end += SLOP
    steps: list[tuple[int, int, int]] = []
    cap, held, patch = 0, 0, True
    while True:
        need = min(values, max(0, (end - offset) // width))
        if need > cap:
            cap = max(2 * cap + REP_HEADER // width, need, 2)
            steps.append((cap, held, need))
        held = max(held, need)
        if need >= values:
            return steps
        end += SLOP if patch else CHUNK - SLOP
        patch = not patch


class _Seg:
    """One heap chunk, linked to its neighbours in address order (coalescing needs them)."""

    __slots__ = ("start", "size", "free", "touched", "prev", "next")

    def __init__(self, start: int, size: int, free: bool, touched: int) -> None:
        self.start = start
        self.size = size
        self.free = free
        self.touched = touched
        self.prev: _Seg | None = None
        self.next: _Seg | None = None


class _Malloc:
    """glibc 2.36's malloc as far as the parse's large buffers need it: best fit in the heap, mmap
    above the (moving) threshold, freed heap pages kept resident.

    A net of a thousand layers makes tens of thousands of allocations, so each step must not look
    at the whole heap: chunks are a linked list in address order, the free ones also sit in a list
    sorted by (size, start) (best fit is the first at least as big: the lowest address among equal
    sizes, as a scan in address order finds it), and the resident bytes are a running total.
    """

    def __init__(self, trim: bool = False) -> None:
        self.first: _Seg | None = None
        self.last: _Seg | None = None
        self.free_keys: list[int] = []  # size << KEY_SHIFT | start of every free heap chunk, sorted
        self.free_at: dict[int, _Seg] = {}  # start -> free heap chunk
        self.heap_touched = 0
        self.mmapped: dict[int, list[int]] = {}  # id -> [size, touched]
        self.mmap_touched = 0  # whole pages
        self.threshold = MMAP_THRESHOLD
        self.trim_threshold = 2 * MMAP_THRESHOLD
        #: Give the heap's free top back past trim_threshold. Off for the parse, whose many small
        #: allocations (one LayerParameter per layer, names, shapes) pin the top in practice.
        self.trim = trim
        self._next = 0

    def resident(self) -> int:
        return self.heap_touched + self.mmap_touched

    def _index_free(self, seg: _Seg) -> None:
        insort(self.free_keys, seg.size << KEY_SHIFT | seg.start)
        self.free_at[seg.start] = seg

    def _unindex_free(self, seg: _Seg) -> None:
        keys = self.free_keys
        del keys[bisect_left(keys, seg.size << KEY_SHIFT | seg.start)]
        del self.free_at[seg.start]

    def _link_after(self, seg: _Seg, new: _Seg) -> None:
        new.prev, new.next = seg, seg.next
        if seg.next is None:
            self.last = new
        else:
            seg.next.prev = new
        seg.next = new

    def _unlink(self, seg: _Seg) -> None:
        if seg.prev is None:
            self.first = seg.next
        else:
            seg.prev.next = seg.next
        if seg.next is None:
            self.last = seg.prev
        else:
            seg.next.prev = seg.prev

    def alloc(self, nbytes: int) -> _Seg | int:
        """A heap chunk, or the number of an mmapped one."""
        size = max(32, (nbytes + 8 + 15) // 16 * 16)
        keys = self.free_keys
        at = bisect_left(keys, size << KEY_SHIFT)
        if at < len(keys):
            seg = self.free_at.pop(keys.pop(at) & KEY_MASK)
            if seg.size - size >= 32:
                rest = _Seg(seg.start + size, seg.size - size, True, max(0, seg.touched - size))
                self._link_after(seg, rest)
                self._index_free(rest)
                seg.size, seg.touched = size, min(seg.touched, size)  # the touched total is unchanged
            seg.free = False
            return seg
        if size >= self.threshold:
            self._next += 1
            self.mmapped[self._next] = [-(-(nbytes + 8) // PAGE) * PAGE, 0]  # whole pages, header included
            return self._next
        last = self.last
        if last is not None and last.free:  # the top chunk grows from the free chunk before it
            self._unindex_free(last)
            last.size, last.free = size, False
            return last
        seg = _Seg(last.start + last.size if last is not None else 0, size, False, 0)
        if last is None:
            self.first = self.last = seg
        else:
            self._link_after(last, seg)
        return seg

    def touch(self, block: _Seg | int, nbytes: int) -> None:
        if type(block) is int:
            entry = self.mmapped[block]
            if nbytes > entry[1]:
                self.mmap_touched += -(-nbytes // PAGE) * PAGE - -(-entry[1] // PAGE) * PAGE
                entry[1] = nbytes
        elif nbytes > block.touched:  # type: ignore[union-attr]
            self.heap_touched += nbytes - block.touched  # type: ignore[union-attr]
            block.touched = nbytes  # type: ignore[union-attr]

    def free(self, block: _Seg | int) -> None:
        if type(block) is int:
            size, touched = self.mmapped.pop(block)
            self.mmap_touched -= -(-touched // PAGE) * PAGE
            if self.threshold < size <= MMAP_THRESHOLD_MAX:
                self.threshold = size
                self.trim_threshold = 2 * size
            return
        seg: _Seg = block  # type: ignore[assignment]
        seg.free = True
        after = seg.next
        if after is not None and after.free:  # coalesce with the free chunk after it
            self._unindex_free(after)
            self._unlink(after)
            seg.size += after.size
            seg.touched += after.touched
        before = seg.prev
        if before is not None and before.free:  # and with the one before it
            self._unindex_free(before)
            self._unlink(seg)
            before.size += seg.size
            before.touched += seg.touched
            seg = before
        self._index_free(seg)
        # the top chunk also holds the slack sbrk added past the last allocation (M_TOP_PAD)
        top = self.last
        if self.trim and top is not None and top.free and top.size + TOP_PAD >= self.trim_threshold:
            self._unindex_free(top)  # systrim: the free top goes back to the system
            self._unlink(top)
            self.heap_touched -= top.touched


@lru_cache(maxsize=4096)
def append_ladder(values: int) -> tuple[tuple[int, int, int], ...]:
    """The growth steps of a RepeatedField filled one ``Add`` at a time (``Blob::ToProto``): each
    step doubles a full buffer (``max(2c + 2, c + 1)``), from 2. (Cached: a net's blobs repeat a
    few sizes, and ``--mem`` prices the same weights at every probe.)"""
    steps: list[tuple[int, int, int]] = []
    cap = 0
    while cap < values:
        new = max(2 * cap + 2, cap + 1)
        steps.append((new, cap, min(values, new)))
        cap = new
    return tuple(steps)


def _fill(m: _Malloc, ladders: Iterable[tuple[Sequence[tuple[int, int, int]], int, int]]) -> tuple[int, list]:
    """Grow each array (its ladder, values, bytes per value) in order; return the peak resident and
    the arrays' final buffers (still alive).

    The inner loop runs once per growth step, tens of thousands of times for a big net, so the
    allocator's methods are bound once here."""
    alloc, touch, free = m.alloc, m.touch, m.free
    peak, alive = 0, []
    for steps, values, width in ladders:
        old: _Seg | int | None = None
        for cap, held, read in steps:
            new = alloc(REP_HEADER + width * cap)
            if old is not None:
                touch(old, REP_HEADER + width * held)
                touch(new, REP_HEADER + width * held)
                resident = m.heap_touched + m.mmap_touched
                if resident > peak:
                    peak = resident
                free(old)
            touch(new, REP_HEADER + width * read)
            old = new
        if old is not None:
            touch(old, REP_HEADER + width * values)  # the appends fill the last buffer
            alive.append(old)
        peak = max(peak, m.heap_touched + m.mmap_touched)
    return peak, alive


def parse_peak(arrays: list[tuple[int, int, int]]) -> int:
    """The most the parse's value arrays hold resident at once: ``(offset, values, width)`` each,
    in file order. The growth steps and glibc's placement decide it."""
    return _fill(_Malloc(), [(growth_ladder(o, n, w), n, w) for o, n, w in arrays])[0]


def serialize_peak(passes: Sequence[Sequence[int]]) -> int:
    """The most a sequence of ``ToProto`` passes holds at once: each pass copies its blobs (float
    counts) into one message, which is freed before the next pass starts. glibc keeps what the
    first pass freed in the heap and has raised its mmap threshold for the next."""
    return _serialize_peak(tuple(map(tuple, passes)))


@lru_cache(maxsize=64)
def _serialize_peak(passes: tuple[tuple[int, ...], ...]) -> int:
    """``serialize_peak`` remembered: ``--mem``'s probes price the same weights each time."""
    m, peak = _Malloc(trim=True), 0
    for blobs in passes:
        top, alive = _fill(m, [(append_ladder(n), n, 4) for n in blobs if n > 0])
        peak = max(peak, top)
        for block in alive:
            m.free(block)
    return peak


def file_arrays(info: object) -> list[tuple[int, int, int]]:
    """Every packed value array of a read caffemodel, in file order."""
    out = [a for layer in info.layers for blob in layer.details for a in blob.arrays]  # type: ignore[attr-defined]
    return sorted(out)


def weights_loading(nets: Sequence[BuiltNet], path: str) -> tuple[object, int]:
    """(match of the file against the nets, the parse's own peak while loading it)."""
    from caffemem.net.caffemodel import read_caffemodel
    from caffemem.net.weights import loading_estimate, match_weights

    info = read_caffemodel(path)
    match = None
    for net in nets:
        match = match_weights(net, info)  # raises NetError on a shape mismatch, as Caffe does
    parse = parse_peak(file_arrays(info))
    if info.format in ("V1", "V0"):
        # [estimate] UpgradeNetAsNeeded then copies the parsed layers into the current format
        parse = max(parse, loading_estimate(info).peak_bytes)
    return match, parse


def load_setup_bytes(nets: Sequence[BuiltNet], setup_bytes: int) -> int:
    """What the process holds when the weights file starts to be read: the process, the layers Caffe
    set up (``*_split`` included) and every net's parameters and set-up buffers (``setup_bytes``)."""
    layers = sum(len(net.layers) for net in nets)
    return LOAD_PROCESS_BYTES + LOAD_LAYER_BYTES * layers + setup_bytes


def loading_extra(nets: Sequence[BuiltNet], fp: RunFootprint, parse: int) -> int:
    """What loading adds to the run's peak: the set-up plus the parse's own peak, beyond the steady
    state (the parsed file is freed before the first forward pass)."""
    at_load = load_setup_bytes(nets, sum(n.setup_bytes for n in fp.nets) + fp.by_category.get(C.PREFETCH, 0))
    return max(0, at_load + parse - fp.total_bytes)

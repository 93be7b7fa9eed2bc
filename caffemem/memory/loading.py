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

from collections.abc import Sequence
from dataclasses import dataclass

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


@dataclass
class _Seg:
    start: int
    size: int
    free: bool
    touched: int


class _Malloc:
    """glibc 2.36's malloc as far as the parse's large buffers need it: best fit in the heap, mmap
    above the (moving) threshold, freed heap pages kept resident."""

    def __init__(self, trim: bool = False) -> None:
        self.heap: list[_Seg] = []
        self.mmapped: dict[int, list[int]] = {}  # id -> [size, touched]
        self.threshold = MMAP_THRESHOLD
        self.trim_threshold = 2 * MMAP_THRESHOLD
        #: Give the heap's free top back past trim_threshold. Off for the parse, whose many small
        #: allocations (one LayerParameter per layer, names, shapes) pin the top in practice.
        self.trim = trim
        self._next = 0

    def resident(self) -> int:
        heap = sum(s.touched for s in self.heap)
        return heap + sum(-(-t // PAGE) * PAGE for _, t in self.mmapped.values())

    def alloc(self, nbytes: int) -> tuple[str, object]:
        size = max(32, (nbytes + 8 + 15) // 16 * 16)
        fits = [s for s in self.heap if s.free and s.size >= size]
        if fits:
            seg = min(fits, key=lambda s: s.size)
            if seg.size - size >= 32:
                i = self.heap.index(seg)
                rest = _Seg(seg.start + size, seg.size - size, True, max(0, seg.touched - size))
                self.heap.insert(i + 1, rest)
                seg.size, seg.touched = size, min(seg.touched, size)
            seg.free = False
            return "heap", seg
        if size >= self.threshold:
            self._next += 1
            self.mmapped[self._next] = [-(-(nbytes + 8) // PAGE) * PAGE, 0]  # whole pages, header included
            return "mmap", self._next
        if self.heap and self.heap[-1].free:  # the top chunk grows from the free chunk before it
            seg = self.heap[-1]
            seg.size, seg.free = size, False
            return "heap", seg
        start = self.heap[-1].start + self.heap[-1].size if self.heap else 0
        seg = _Seg(start, size, False, 0)
        self.heap.append(seg)
        return "heap", seg

    def touch(self, block: tuple[str, object], nbytes: int) -> None:
        kind, ref = block
        if kind == "mmap":
            entry = self.mmapped[ref]  # type: ignore[index]
            entry[1] = max(entry[1], nbytes)
        else:
            ref.touched = max(ref.touched, nbytes)  # type: ignore[union-attr]

    def free(self, block: tuple[str, object]) -> None:
        kind, ref = block
        if kind == "mmap":
            size, _ = self.mmapped.pop(ref)  # type: ignore[arg-type]
            if self.threshold < size <= MMAP_THRESHOLD_MAX:
                self.threshold = size
                self.trim_threshold = 2 * size
            return
        seg: _Seg = ref  # type: ignore[assignment]
        seg.free = True
        i = self.heap.index(seg)
        for j in (i + 1, i):  # coalesce with free neighbours
            if 0 < j < len(self.heap) and self.heap[j].free and self.heap[j - 1].free:
                a, b = self.heap[j - 1], self.heap.pop(j)
                a.size += b.size
                a.touched += b.touched
        # the top chunk also holds the slack sbrk added past the last allocation (M_TOP_PAD)
        if self.trim and self.heap and self.heap[-1].free and self.heap[-1].size + TOP_PAD >= self.trim_threshold:
            self.heap.pop()  # systrim: the free top goes back to the system


def append_ladder(values: int) -> list[tuple[int, int, int]]:
    """The growth steps of a RepeatedField filled one ``Add`` at a time (``Blob::ToProto``): each
    step doubles a full buffer (``max(2c + 2, c + 1)``), from 2."""
    steps: list[tuple[int, int, int]] = []
    cap = 0
    while cap < values:
        new = max(2 * cap + 2, cap + 1)
        steps.append((new, cap, min(values, new)))
        cap = new
    return steps


def _fill(m: _Malloc, ladders: list[tuple[list[tuple[int, int, int]], int, int]]) -> tuple[int, list]:
    """Grow each array (its ladder, values, bytes per value) in order; return the peak resident and
    the arrays' final buffers (still alive)."""
    peak, alive = 0, []
    for steps, values, width in ladders:
        old: tuple[str, object] | None = None
        for cap, held, read in steps:
            new = m.alloc(REP_HEADER + width * cap)
            if old is not None:
                m.touch(old, REP_HEADER + width * held)
                m.touch(new, REP_HEADER + width * held)
                peak = max(peak, m.resident())
                m.free(old)
            m.touch(new, REP_HEADER + width * read)
            old = new
        if old is not None:
            m.touch(old, REP_HEADER + width * values)  # the appends fill the last buffer
            alive.append(old)
        peak = max(peak, m.resident())
    return peak, alive


def parse_peak(arrays: list[tuple[int, int, int]]) -> int:
    """The most the parse's value arrays hold resident at once: ``(offset, values, width)`` each,
    in file order. The growth steps and glibc's placement decide it."""
    return _fill(_Malloc(), [(growth_ladder(o, n, w), n, w) for o, n, w in arrays])[0]


def serialize_peak(passes: list[list[int]]) -> int:
    """The most a sequence of ``ToProto`` passes holds at once: each pass copies its blobs (float
    counts) into one message, which is freed before the next pass starts. glibc keeps what the
    first pass freed in the heap and has raised its mmap threshold for the next."""
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

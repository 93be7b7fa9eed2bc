"""Seed inputs for the fuzzer: small ones of our own (always), and real ones from ../shared/corpus.

Caffemodels are written here from nets with the protobuf schema: the tiny seed net with real-sized
blobs (current and V1 layers), and corpus nets as definition-only binaries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent / "seeds"
_ROOT = Path(__file__).resolve().parents[2]
#: ../shared beside the checkout (as tests/conftest.py), else the one above a worktree folder.
SHARED = next((p for p in (_ROOT.parent / "shared", _ROOT.parent.parent / "shared") if p.is_dir()),
              _ROOT.parent / "shared")
MAX_SEED_BYTES = 120_000


@dataclass
class Seed:
    name: str
    data: bytes
    companions: dict[str, bytes] = field(default_factory=dict)


def own_net() -> bytes:
    return (HERE / "tiny_net.prototxt").read_bytes()


def own_log() -> bytes:
    return (HERE / "tiny_crash.log").read_bytes()


def _count(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def tiny_caffemodel(legacy_v1: bool = False) -> bytes:
    """Weights for tiny_net.prototxt: conv1 (8,3,3,3)+(8,), bn1 (8,)(8,)(1,), ip1 (10,512)+(10,)."""
    from caffemem.proto import caffe_pb2

    net = caffe_pb2.NetParameter(name="FuzzTiny")
    shapes = {"conv1": ("Convolution", caffe_pb2.V1LayerParameter.CONVOLUTION, [(8, 3, 3, 3), (8,)]),
              "bn1": ("BatchNorm", None, [(8,), (8,), (1,)]),
              "ip1": ("InnerProduct", caffe_pb2.V1LayerParameter.INNER_PRODUCT, [(10, 512), (10,)])}
    for name, (type_name, v1_type, blobs) in shapes.items():
        if legacy_v1 and v1_type is None:
            continue
        layer = net.layers.add(name=name, type=v1_type) if legacy_v1 else net.layer.add(name=name, type=type_name)
        for shape in blobs:
            blob = layer.blobs.add()
            if legacy_v1:
                blob.num, blob.channels, blob.height, blob.width = (1,) * (4 - len(shape)) + shape
            else:
                blob.shape.dim.extend(shape)
            blob.data.extend([0.5] * _count(shape))
    return net.SerializeToString()


def _definition_only(text: bytes, source: str) -> bytes | None:
    from caffemem.errors import CaffememError
    from caffemem.net.load import net_from_text

    try:
        return net_from_text(text.decode("utf-8", "replace"), source, upgrade=False).param.SerializeToString()
    except (CaffememError, RecursionError, ValueError):
        return None


def _shared_files(folder: str, patterns: tuple[str, ...], max_bytes: int) -> list[Path]:
    root = SHARED / "corpus" / folder
    if not root.is_dir():
        return []
    files = sorted(p for pat in patterns for p in root.rglob(pat) if p.is_file())
    return [p for p in files if p.stat().st_size <= max_bytes]


@functools.cache
def pool(kind: str, shared: bool = True, max_bytes: int = MAX_SEED_BYTES) -> list[Seed]:
    """The seeds of one kind: ours, plus the corpus files of at most ``max_bytes`` when ``shared``."""
    own_net_seed = Seed("tiny_net.prototxt", own_net())
    if kind == "prototxt":
        out = [own_net_seed,
               Seed("tiny_solver.prototxt", (HERE / "tiny_solver.prototxt").read_bytes(),
                    {"tiny_net.prototxt": own_net()}),
               Seed("legacy_v1.prototxt", (HERE / "legacy_v1.prototxt").read_bytes())]
        if shared:
            for p in _shared_files("nets", ("*.prototxt", "*.pt"), max_bytes) + _shared_files("legacy", ("*.prototxt",),
                                                                                          max_bytes):
                out.append(Seed(str(p.relative_to(SHARED)), p.read_bytes()))
        return out
    if kind == "log":
        out = [Seed("tiny_crash.log", own_log())]
        if shared:
            for p in _shared_files("logs", ("*",), max_bytes):
                out.append(Seed(str(p.relative_to(SHARED)), p.read_bytes()))
        return out
    if kind == "caffemodel":
        out = [Seed("tiny.caffemodel", tiny_caffemodel()), Seed("tiny_v1.caffemodel", tiny_caffemodel(True))]
        if shared:
            for p in _shared_files("nets", ("*.prototxt",), max_bytes)[::3]:
                binary = _definition_only(p.read_bytes(), str(p))
                if binary:
                    out.append(Seed(str(p.relative_to(SHARED)) + ".bin", binary))
        return out
    raise ValueError(f"unknown kind {kind!r} (prototxt, log, caffemodel)")

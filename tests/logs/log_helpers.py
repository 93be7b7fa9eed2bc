"""Helpers the log tests share: a big log made from the shipped sample, and float-aware equality."""

from __future__ import annotations

import math
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "sample_logs" / "imagedata-conv-fc-killed.log"
_ITERATION = re.compile(r"Iteration \d+")


def big_log(path: Path, blocks: int, test_every: int | None = None, killed: bool = False) -> Path:
    """The seed log with its training block repeated ``blocks`` times, the iteration growing (as
    bench_log.py does); its test pass before every ``test_every``-th block, "Killed" at the end."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    setup = [line for line in lines if "Iteration" not in line and "net output" not in line
             and line.strip() != "Killed"]
    training = [line for line in lines if "Iteration" in line or "net output" in line]
    test_lines = [line for line in training if "Testing net" in line or "Test net output" in line]
    train_lines = [line for line in training if line not in test_lines]
    out = list(setup)
    for iteration in range(blocks):
        if test_every is not None and iteration % test_every == 0:
            out.extend(_ITERATION.sub(f"Iteration {iteration}", line) for line in test_lines)
        out.extend(_ITERATION.sub(f"Iteration {iteration}", line) for line in train_lines)
    if killed:
        out.append("Killed")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def same(a: object, b: object) -> bool:
    """Equal, NaN equal to NaN, also inside tuples (parsed log values)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def log_output(path: Path, bulk: bool, piece_bytes: int = 1 << 16) -> str:
    """Everything ``caffemem log`` writes for ``path`` (every format, in turn), read in bulk or line by
    line: what the fast path's byte-for-byte contract compares."""
    import io

    from caffemem.commands.log import LogResult
    from caffemem.logs import read_log
    from caffemem.report import formats, write

    report = read_log(path, bulk=bulk, piece_bytes=piece_bytes)
    try:
        out = io.StringIO()
        for fmt in formats("log"):
            write("log", fmt, LogResult(report, report.runs), out)
        return out.getvalue()
    finally:
        report.close()

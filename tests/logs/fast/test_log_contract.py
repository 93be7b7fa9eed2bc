"""The fast path's contract, byte for byte: every log reads to the same ``caffemem log`` output
(json, csv and table) in bulk as line by line, number text included."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, SHARED
from log_helpers import log_output


def _logs() -> list[Path]:
    found = sorted(p for p in (SHARED / "corpus" / "logs").rglob("*") if p.is_file())
    found += sorted((SHARED / "oracle").glob("*/caffe.log"))
    return found + sorted((ROOT / "sample_logs").glob("*.log"))


def _output(path: Path, bulk: bool) -> str:
    return log_output(path, bulk, 1 << 16)


@pytest.mark.parametrize("path", _logs(), ids=lambda p: p.name)
def test_bulk_and_line_paths_write_the_same_bytes(path: Path) -> None:
    assert _output(path, bulk=True) == _output(path, bulk=False)


def test_a_value_read_line_by_line_keeps_caffes_text(tmp_path: Path) -> None:
    """Caffe prints ``0`` and ``1.5e+06``; the curve keeps that, not Python's ``0.0``/``1500000.0``."""
    log = tmp_path / "one.log"
    log.write_text("I0101 00:00:00.000000  1 solver.cpp:228] Iteration 0, loss = 0\n"
                   "I0101 00:00:00.000001  1 solver.cpp:244]     Train net output #0: loss = 1.5e+06 (* 1 = 0 loss)\n"
                   "I0101 00:00:00.000002  1 sgd_solver.cpp:106] Iteration 0, lr = 1\n")
    text = _output(log, bulk=False)
    assert '"loss": 0,' in text and '"loss": 1.5e+06' in text and '"lr": 1,' in text

"""`caffemem log --format json` to standard output copies the spilled rows' bytes; same output as writing text."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from log_helpers import SEED, big_log

import caffemem.logs.curve as columns
from caffemem.cli import main
from caffemem.logs import keep_freed_memory, read_log
from caffemem.report.log_json import write_log_json

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).parent / "fixtures"
NAN_ROWS = """\
I0101 10:00:00.000000  1234 solver.cpp:48] Initializing solver from parameters:
I0101 10:00:00.100000  1234 solver.cpp:279] Solving N
I0101 10:00:01.000000  1234 solver.cpp:228] Iteration 0, loss = 2.5
I0101 10:00:01.000000  1234 solver.cpp:244]     Train net output #0: loss = 2.5 (* 1 = 2.5 loss)
I0101 10:00:01.000000  1234 sgd_solver.cpp:106] Iteration 0, lr = 0.01
I0101 10:00:02.000000  1234 solver.cpp:228] Iteration 1, loss = nan
I0101 10:00:02.000000  1234 solver.cpp:244]     Train net output #0: loss = nan (* 1 = nan loss)
I0101 10:00:02.000000  1234 sgd_solver.cpp:106] Iteration 1, lr = 0.01
"""


def _text_json(path: Path) -> str:
    report = read_log(path)
    try:
        out = io.StringIO()
        write_log_json(report, out)
        return out.getvalue()
    finally:
        report.close()


def _logs(tmp_path: Path) -> list[Path]:
    nan = tmp_path / "nan.log"
    nan.write_text(NAN_ROWS, encoding="utf-8")
    return [*sorted(FIXTURES.glob("*.log")), SEED, big_log(tmp_path / "big.log", 3000), nan]


@pytest.mark.parametrize("memory_chars", [0, 300, 1 << 22])
def test_stdout_copy_equals_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, memory_chars: int) -> None:
    monkeypatch.setattr(columns, "MEMORY_CHARS", memory_chars)
    for path in _logs(tmp_path):
        result = CliRunner().invoke(main, ["log", "--format", "json", "--no-progress", str(path)])
        assert result.exit_code == 0, result.output
        assert result.stdout_bytes == _text_json(path).encode("utf-8"), path.name


_RUN_LOG = "from caffemem.cli import main\nmain(['log', '--format', 'json', '--no-progress', sys.argv[1]])\n"


def _stdout_file_equals_text(tmp_path: Path, setup: str) -> None:
    """``caffemem log --format json`` in a fresh process (after ``setup``) writing to a real file
    gives what the text writer gives in this process, for every test log."""
    for path in _logs(tmp_path):
        target = tmp_path / "out.json"
        with open(target, "wb") as out:
            subprocess.run([sys.executable, "-c", setup + _RUN_LOG, str(path)], stdout=out, check=True, cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert target.read_bytes() == _text_json(path).encode("utf-8"), path.name


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="os.sendfile to any file: Linux")
def test_stdout_file_copy_equals_text(tmp_path: Path) -> None:
    """A real standard output (a file): the kernel copies the spilled rows."""
    _stdout_file_equals_text(tmp_path, "import sys, caffemem.logs.curve as c; c.MEMORY_CHARS = 300\n")


@pytest.mark.parametrize("leave_off", [0, 2])
@pytest.mark.parametrize("memory_file_bytes", [1 << 30, 100, 0])  # memory files; one moved to disk; disk only
def test_copy_spilled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, leave_off: int, memory_file_bytes: int) -> None:
    monkeypatch.setattr(columns, "MEMORY_CHARS", 10)
    monkeypatch.setattr(columns, "READ_BYTES", 7)
    monkeypatch.setattr(columns, "MEMORY_FILE_BYTES", memory_file_bytes)
    monkeypatch.setattr(columns, "_in_memory_files", 0)
    table = columns.Table()
    for k in range(50):
        table.add_row(k, k * 1000, 0.5, 1.25)
    kept = "".join(table.text_chunks())
    spilled = kept[:len(kept) - len(table.tail_text())].encode()
    assert spilled
    with open(tmp_path / "copy", "wb") as sink:
        sink.write(b"head ")  # buffered: copy_spilled flushes it first
        table.copy_spilled(sink, leave_off)
        sink.write(b" tail")
    assert (tmp_path / "copy").read_bytes() == b"head " + spilled[:len(spilled) - leave_off] + b" tail"
    memory = io.BytesIO()  # no file descriptor: copied through write
    table.copy_spilled(memory, leave_off)
    assert memory.getvalue() == spilled[:len(spilled) - leave_off]
    assert "".join(table.text_chunks()) == kept  # still readable after copying
    assert table._spill_in_memory == (memory_file_bytes > len(spilled) and hasattr(os, "memfd_create"))
    table.close()
    assert columns._in_memory_files == 0


def test_keep_freed_memory_is_harmless() -> None:
    keep_freed_memory()
    assert bytearray(1 << 25)[-1] == 0


def test_rows_parsed_back_in_small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    table = columns.Table()
    for k in range(200):
        table.add_row(k, k * 1000, 0.5, float("nan") if k == 7 else 1.25)
        table.set_output("acc", k / 200)
    whole = list(table.rows())
    monkeypatch.setattr(columns, "PARSE_CHARS", 50)  # a few rows per json.loads
    assert list(map(repr, table.rows())) == list(map(repr, whole))
    assert len(whole) == 200 and whole[199][0] == 199
    table.close()

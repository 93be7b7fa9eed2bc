"""Streaming: encodings, line endings, cut-off files, interleaved threads, embedded net/solver text."""

from __future__ import annotations

from pathlib import Path

import pytest

from caffemem.errors import CaffememError
from caffemem.logs import read_log

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "sample_logs" / "imagedata-conv-fc-killed.log"


def _write(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "caffe.log"
    path.write_bytes(data)
    return path


def test_crlf_reads_like_lf(tmp_path: Path) -> None:
    lf = read_log(SEED)
    crlf = read_log(_write(tmp_path, SEED.read_bytes().replace(b"\n", b"\r\n")))
    assert crlf.counts == lf.counts
    assert crlf.runs[0].nets[0].memory_required_for_data == 401481860
    assert crlf.runs[0].end.crash_kind == "killed"


def test_invalid_utf8_is_replaced_not_fatal(tmp_path: Path) -> None:
    data = SEED.read_bytes().replace(b"Opening file", b"Opening \xff\xfe\x80 file", 1)
    data = b"\xc3\x28 junk from a data layer \x00\n" + data
    report = read_log(_write(tmp_path, data))
    assert report.counts["top_shape"] == 5
    assert report.runs[-1].end.crash_kind == "killed"


def test_file_cut_mid_line(tmp_path: Path) -> None:
    text = SEED.read_bytes()
    cut = text.index(b"Memory required for data: 401481860") + len(b"Memory requi")
    report = read_log(_write(tmp_path, text[:cut]))
    assert report.runs[0].end.status == "cut_off"
    # The partial last line is kept (as an unknown line), not dropped or fatal.
    assert report.runs[0].end.last_lines[-1].endswith("Memory requi")


def test_cut_inside_net_text(tmp_path: Path) -> None:
    data = (FIXTURES / "two_runs.log").read_bytes()
    cut = data.index(b"num_output: 4")
    report = read_log(_write(tmp_path, data[:cut + 5]))
    net = report.runs[0].nets[0]
    assert net.text is not None and net.text.endswith("num_o")
    assert net.phase == "TRAIN" and net.layers == []


def test_net_and_solver_text_are_exposed() -> None:
    run = read_log(FIXTURES / "two_runs.log").runs[0]
    assert run.solver_text is not None and run.solver_text.startswith("test_iter: 2")
    assert run.solver["lr_policy"] == "fixed" and run.solver["max_iter"] == "4"
    net = run.nets[0]
    assert net.text is not None and net.text.startswith('name: "Tiny"')
    assert 'type: "InnerProduct"' in net.text and not net.text_truncated


def test_interleaved_threads_and_shell_output(tmp_path: Path) -> None:
    lines = SEED.read_text().splitlines()
    mixed = []
    for i, line in enumerate(lines):
        mixed.append(line)
        if i % 5 == 0:
            mixed.append("I0817 21:33:00.000000 11399 blocking_queue.cpp:50] Waiting for data")
        if i % 7 == 0:
            mixed.append("+ echo shell trace")
    report = read_log(_write(tmp_path, ("\n".join(mixed) + "\n").encode()))
    assert len(report.runs) == 1
    assert report.counts["top_shape"] == 5
    assert report.runs[0].end.crash_kind == "killed"


def test_progress_callback(tmp_path: Path) -> None:
    calls: list[tuple[int, int | None]] = []
    read_log(SEED, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][1] == SEED.stat().st_size
    assert all(done <= (total or done) for done, total in calls)


def test_empty_and_binary_files(tmp_path: Path) -> None:
    assert read_log(_write(tmp_path, b"")).runs == []
    with pytest.raises(CaffememError, match="binary data, not a text log"):
        read_log(_write(tmp_path, bytes(range(256)) * 50))
    import gzip

    with pytest.raises(CaffememError, match="compressed"):
        read_log(_write(tmp_path, gzip.compress(SEED.read_bytes())))


def test_huge_line_without_newline_is_cut(tmp_path: Path, monkeypatch: object) -> None:
    from caffemem.logs.fast import pieces

    monkeypatch.setattr(pieces, "MAX_LINE_BYTES", 1000)  # type: ignore[attr-defined]
    data = b"x" * 5000 + b"\n" + SEED.read_bytes()
    report = read_log(_write(tmp_path, data), piece_bytes=256)
    assert report.counts["top_shape"] == 5 and report.runs[-1].end.crash_kind == "killed"

"""Pieces of a log: the same whether cut at random (pread) or front to back, whole lines, nothing lost."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest

from caffemem.logs.fast.pieces import FileCutter, decode, iter_stream

ALPHABET = [b"a", b"b", b"0", b" ", b"\n", b"\n", b"\r", b"\r\n", "é".encode(), "漢".encode(), b"\xff", b"\xc3"]


def _random_log(rng: random.Random, size: int, long_lines: bool) -> bytes:
    parts = []
    while sum(map(len, parts)) < size:
        if long_lines and rng.random() < 0.02:
            parts.append(rng.choice([b"x", "é".encode()]) * rng.randrange(50, 400))
        parts.append(rng.choice(ALPHABET))
    return b"".join(parts)


def _file_pieces(path: Path, piece: int, max_line: int) -> list[str]:
    with open(path, "rb") as stream:
        cutter = FileCutter(stream.fileno(), os.fstat(stream.fileno()).st_size, piece, max_line)
        return [text for text in map(cutter.piece, range(cutter.count)) if text]


@pytest.mark.parametrize("seed", range(40))
def test_random_access_and_stream_cut_the_same_pieces(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    long_lines = seed % 2 == 1
    data = _random_log(rng, rng.randrange(0, 3000), long_lines)
    path = tmp_path / "log"
    path.write_bytes(data)
    piece, max_line = rng.choice([8, 13, 64, 256]), rng.choice([64, 100, 1000])
    max_line = max(max_line, piece)
    pieces = _file_pieces(path, piece, max_line)
    done: list[int] = []
    assert list(iter_stream(io.BytesIO(data), piece, max_line, done.append)) == pieces
    assert done == sorted(done) and (not data or done[-1] == len(data))
    # Whole lines: every piece but the last ends a line; nothing is lost or reordered.
    assert all(text.endswith("\n") for text in pieces[:-1])
    whole = decode(data)
    if not long_lines or max_line >= len(data):
        assert "".join(pieces) == whole
    else:  # only newlines added where an overlong line was cut
        assert "".join(pieces).replace("\n", "") == whole.replace("\n", "")


def test_overlong_line_is_cut_at_a_character_start(tmp_path: Path) -> None:
    data = "é".encode() * 500 + b"\nend\n"
    path = tmp_path / "log"
    path.write_bytes(data)
    pieces = _file_pieces(path, 64, 256)
    assert "\ufffd" not in "".join(pieces)  # no character split in two
    assert max(map(len, pieces)) <= 256 + 64
    assert pieces[-1].endswith("end\n")


def test_crlf_is_never_split(tmp_path: Path) -> None:
    data = b"".join(b"line %d\r\n" % k for k in range(200))
    path = tmp_path / "log"
    path.write_bytes(data)
    for piece in (8, 9, 10, 11, 16):
        pieces = _file_pieces(path, piece, 1 << 12)
        assert "".join(pieces) == data.decode().replace("\r\n", "\n")
        assert list(iter_stream(io.BytesIO(data), piece, 1 << 12)) == pieces


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_log_read_from_a_pipe_equals_the_file(tmp_path: Path) -> None:
    """A pipe is read front to back (iter_stream), a file at random (FileCutter): same report."""
    import threading

    from caffemem.logs import read_log
    from caffemem.report.log_json import write_log_json

    seed = Path(__file__).resolve().parents[3] / "sample_logs" / "imagedata-conv-fc-killed.log"
    data = seed.read_bytes().replace(b"\n", b"\r\n")
    path = tmp_path / "log"
    path.write_bytes(data)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as out:
            out.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    texts = []
    for source in (fifo, path):
        report = read_log(source, piece_bytes=256)
        out = io.StringIO()
        write_log_json(report, out)
        report.close()
        texts.append(out.getvalue().replace(str(source), "LOG"))
    writer.join()
    assert texts[0] == texts[1]
    assert '"crash_kind": "killed"' in texts[0]


def test_without_pread_the_same_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where os has no pread (Windows), files are read front to back and spilled rows with seek."""
    import caffemem.logs.curve as columns
    from caffemem.logs import read_log
    from caffemem.report.log_json import write_log_json

    monkeypatch.setattr(columns, "MEMORY_CHARS", 300)  # spill, then read back

    def json_of(path: Path) -> str:
        report = read_log(path, piece_bytes=512)
        out = io.StringIO()
        write_log_json(report, out)
        rows = list(report.runs[-1].train.rows())
        report.close()
        return out.getvalue() + repr(rows)

    seed = Path(__file__).resolve().parents[3] / "sample_logs" / "imagedata-conv-fc-killed.log"
    lines = seed.read_text(encoding="utf-8").splitlines()
    train = [line for line in lines if ("Iteration" in line or "net output" in line) and "Test" not in line]
    setup = [line for line in lines if line not in train and line.strip() != "Killed"]
    body = [line.replace("Iteration 0,", f"Iteration {k},") for k in range(300) for line in train]
    path = tmp_path / "log"
    path.write_text("\n".join(setup + body) + "\n", encoding="utf-8")
    expected = json_of(path)
    monkeypatch.delattr(os, "pread")
    assert json_of(path) == expected
    assert expected.count('"iteration"') >= 300

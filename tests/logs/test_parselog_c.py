"""The compiled drop-in reader (caffemem/logs/_parselog.c) against parselog.py's Python loop.

parselog.py is the definition; the C code must give the same bytes in both files, the same row
counts and the same left-out outputs on every shared log, on randomly mutated logs, in small
pieces (so that hand-backs and piece ends fall everywhere), and on the lines it must hand back.
test_parselog.py runs all of its tests both ways as well. Skipped where the extension is not built.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SHARED
from fuzz.mutate import mutate
from fuzz.seeds import pool

import caffemem.logs.parselog as parselog
from caffemem.commands.log import ParseLogResult
from caffemem.logs.reader import open_log, read_pieces
from caffemem.report.log_csv import write_parse_log_files

C = parselog._parselog
pytestmark = pytest.mark.skipif(C is None, reason="caffemem.logs._parselog is not built")

YEAR = 2026


def shared_logs() -> list[Path]:
    """Every log the project shares: the corpus, the oracle runs' logs, the sample logs."""
    logs = sorted(p for p in (SHARED / "corpus" / "logs").rglob("*") if p.is_file())
    logs += sorted((SHARED / "oracle").glob("*/caffe.log"))
    return logs + sorted((ROOT / "sample_logs").glob("*.log"))


Outcome = tuple[dict[str, bytes | None], list[int], dict[str, dict[str, int]], bool]


def drop_in(path: Path, scan: object, tmp: Path, piece_bytes: int = 1 << 20, delimiter: str = ",",
            raw: bool = False) -> Outcome:
    """The two files (None: not written), row counts, left-out outputs and start of one log; its
    pieces as text (read_pieces) or, ``raw``, as bytes where they can be (file_pieces)."""
    parselog.SCAN = scan  # type: ignore[assignment]
    try:
        stream, size = open_log(path)
        assert size is not None
        pieces = (parselog.file_pieces(stream.fileno(), size, None, piece_bytes) if raw
                  else read_pieces(stream, None, size, piece_bytes, unprefix=False))
        parse = parselog.ParseLog(None, YEAR, pieces=pieces)
        paths = (str(tmp / "out.train"), str(tmp / "out.test"))
        with ParseLogResult(str(path), YEAR, parse, stream) as result:
            written = write_parse_log_files(result, paths, force=True, delimiter=delimiter)
        files = {}
        for name in paths:
            file = Path(name)
            files[file.suffix] = file.read_bytes() if file.exists() else None
            file.unlink(missing_ok=True)
        dropped = {name: dict(table.dropped) for name, table in parse.tables.items()}
        return files, [table.rows for table in written], dropped, parse.started
    finally:
        parselog.SCAN = C


def same_both_ways(path: Path, tmp: Path, **options: object) -> Outcome:
    """The Python loop on the text, C on the text and C on the bytes: the same outcome."""
    python = drop_in(path, None, tmp, **options)  # type: ignore[arg-type]
    compiled = drop_in(path, C, tmp, **options)  # type: ignore[arg-type]
    assert compiled == python, path
    assert drop_in(path, C, tmp, raw=True, **options) == python, path  # type: ignore[arg-type]
    return compiled


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not beside the checkout")
def test_every_shared_log_gives_the_same_files_with_and_without_c(tmp_path: Path) -> None:
    logs = shared_logs()
    assert len(logs) > 20
    for log in logs:
        same_both_ways(log, tmp_path)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not beside the checkout")
def test_small_pieces_and_other_delimiters_give_the_same_files(tmp_path: Path) -> None:
    for log in shared_logs()[::3]:
        same_both_ways(log, tmp_path, piece_bytes=4096)
    for log in shared_logs()[1::5]:
        same_both_ways(log, tmp_path, delimiter="\t")
        same_both_ways(log, tmp_path, delimiter="|")
        same_both_ways(log, tmp_path, delimiter="5")  # a delimiter a float holds: the Python writer alone


def test_mutated_logs_give_the_same_files(tmp_path: Path) -> None:
    rng = random.Random(15)
    seeds = [seed for seed in pool("log", SHARED.is_dir(), 60_000) if b"Solving" in seed.data]
    assert seeds
    for case in range(300):
        seed = seeds[case % len(seeds)]
        data, _ = mutate("log", seed.data, rng)
        log = tmp_path / f"case{case}.log"
        log.write_bytes(data)
        same_both_ways(log, tmp_path, piece_bytes=rng.choice([256, 4096, 1 << 20]))
        log.unlink()


def test_the_compiled_reader_takes_the_lines_of_a_training_run(tmp_path: Path) -> None:
    """Not everything handed back: on a plain log C reads nearly every byte."""
    taken = [0]
    scan = C.scan

    class Counting:
        @staticmethod
        def scan(*args: object) -> tuple:
            result = scan(*args)
            taken[0] += result[0]
            return result

    big = tmp_path / "big.log"
    big.write_text(blocks((str(k * 20), "0.01", f"{1 / (k + 1):.6g}") for k in range(3000)))
    assert drop_in(big, Counting, tmp_path)[1][0] == 3000
    assert taken[0] > 0.99 * big.stat().st_size


# --------------------------------------------------------------------------- lines to hand back, numbers


def glog(seconds: float, message: str, day: str = "0101") -> str:
    minutes, secs = divmod(seconds, 60)
    return f"I{day} 10:{int(minutes):02d}:{secs:09.6f}  7 solver.cpp:1] {message}"


def blocks(values: Iterator[tuple[str, str, str]], phase: str = "Train") -> str:
    """A log: Solving, then per (iteration, lr, value) text an iteration line, two outputs, the lr."""
    lines = ["I0101 09:59:59.000000  7 caffe.cpp:1] Starting", glog(0, "Solving TinyNet")]
    for k, (iteration, lr, value) in enumerate(values):
        lines += [glog(k, f"Iteration {iteration}, loss = 1"),
                  glog(k + 0.25, f"    {phase} net output #0: loss = {value} (* 1 = {value} loss)"),
                  glog(k + 0.5, f"    {phase} net output #1: acc = {value}"),
                  glog(k + 0.75, f"Iteration {iteration}, lr = {lr}")]
    return "\n".join(lines) + "\n"


NUMBERS = ["0", "-0", "0.0", "1", "10", "100", "1.5", "-1.5", ".5", "5.", "0.0001", "0.00001", "1e-05", "1E5",
           "1e+16", "1e16", "9999999999999999", "12345678901234567", "0.1234567890123456789", "1e308", "1e309",
           "1e-320", "-1e-400", "2.5e-7", "1.00000000000000000001", "000123.4500", "1.2.3", "1-5", "1e", "e5", ".",
           "+", "-", "nan", "-nan", "inf", "-inf", "NaN", "1.#QNAN", "-1.#INF", "1.#IND", "3.4028235e+38",
           "1e0000001", "7e-0000005", "0.30000000000000004", "123456789012345", "1234567890123456"]


def test_numbers_are_read_and_written_as_python_does(tmp_path: Path) -> None:
    rng = random.Random(7)
    texts = NUMBERS + [rng.choice(["", "-"]) + f"{rng.random() * 10 ** rng.randint(-12, 20):.{rng.randint(0, 18)}g}"
                       for _ in range(400)]
    texts += [f"{rng.random():.{rng.randint(1, 17)}f}" for _ in range(200)]
    rows = [(str(k * 10), rng.choice(texts), text) for k, text in enumerate(texts)]
    log = tmp_path / "numbers.log"
    log.write_text(blocks(iter(rows)))
    files = same_both_ways(log, tmp_path)[0]
    assert files[".train"] and files[".train"].count(b"\r\n") > 500
    log.write_text(blocks(iter(rows), phase="Test"))
    same_both_ways(log, tmp_path, piece_bytes=512)


@pytest.mark.parametrize("line", [
    "Iteration \u0663, loss = 1",  # a Unicode digit: \d takes it
    "Iteration 2\u0663, loss = 1",
    "    Train net output #0: loss = \u0663",
    "    Train net output #\u0663: loss = 2",
    "    Train net output #0: l\u00e9ss = 2",  # a name with a column only Python gives
    "    Train net output #0: loss\u00a0= 2",  # a Unicode space ends \S+
    "    Train net output #0: NumIters = 5",  # overwrites a head column
    "    Train net output #0: top5 = 0.5",  # no column: left out
    "lr = 0.5 \u00e9t\u00e9",
])
def test_lines_c_hands_back_give_what_python_gives(line: str, tmp_path: Path) -> None:
    values = [(str(k * 10), "0.1", f"{k}.5") for k in range(6)]
    text = blocks(iter(values)).splitlines()
    for at in (7, 12, 18, len(text) - 1):
        log = tmp_path / "odd.log"
        log.write_text("\n".join([*text[:at], glog(3.9, line), *text[at:]]) + "\n", encoding="utf-8")
        same_both_ways(log, tmp_path)
        same_both_ways(log, tmp_path, piece_bytes=300)


@pytest.mark.parametrize("lines", [
    # the month goes back: the year moves on
    [glog(1, "Iteration 30, lr = 0.2", day="0301"), glog(2, "    Train net output #0: loss = 1", day="0101")],
    [glog(1, "    Train net output #0: loss = 1", day="0230")],  # no Feb 30: skipped
    [glog(1, "    Train net output #0: loss = 1", day="0229")],  # 2026 has no Feb 29
    ["", "   ", "I0101", "I0101 10:00:02", "base_lr: 0.01", "[0]: train", "\x1cI0101 10:00:00.000000 x] lr = 5"],
    ["I0101 10:00:03.000000\tsolver.cpp:1] lr = 0.7", "I0101 25:00:03.000000 solver.cpp:1] lr = 0.8",
     " I0101 10:00:03.000000 solver.cpp:1] lr = 0.9", "I0101 10:00:03.000000\u00a0solver.cpp:1] lr = 0.6"],
    [glog(1, "Train net output #0: loss = 1 Test net output #0: loss = 2 lr = 3")],
    [glog(1, "Iteration 2 Iteration 40 lr = x lr = 0.3 Train net output #x: a = 1 Train net output #0: loss = 7")],
    ["\u00e9I0101 10:00:03.000000 solver.cpp:1] lr = 0.7", "I\u00e90101 10:00:03.000000 solver.cpp:1] lr = 0.7"],
    [glog(1, "Iteration 99999999999999999999, loss = 1"), glog(2, "    Train net output #0: loss = 1")],
])
def test_odd_lines_give_what_python_gives(lines: list[str], tmp_path: Path) -> None:
    values = [(str(k * 10), "0.1", f"{k}.5") for k in range(5)]
    text = blocks(iter(values)).splitlines()
    log = tmp_path / "odd.log"
    for at in (6, 14, len(text)):
        log.write_text("\n".join([*text[:at], *lines, *text[at:]]) + "\n", encoding="utf-8")
        same_both_ways(log, tmp_path)
        same_both_ways(log, tmp_path, piece_bytes=256)


def test_a_cut_last_line_crlf_and_junk_bytes_give_what_python_gives(tmp_path: Path) -> None:
    values = [(str(k * 10), "0.1", f"{k}.5") for k in range(40)]
    text = blocks(iter(values))
    log = tmp_path / "cut.log"
    log.write_text(text.rstrip("\n"))
    same_both_ways(log, tmp_path)
    log.write_bytes(text.replace("\n", "\r\n").encode())
    same_both_ways(log, tmp_path)
    same_both_ways(log, tmp_path, piece_bytes=256)
    lines = text.encode().split(b"\n")
    junk = [b"\xff", b"\xe2\x80", b"\xc3\x28", b"\xef\xbf\xbd", b"\x00", b"\xe2\x80\x83", b"\xd9\xa3"]
    for k, piece in enumerate(junk):  # in the message, in the stamp, in a name, in a value, at a line end
        for at in (40, 30, 12, 3, 0):
            line = lines[10 + k * 13]
            lines[10 + k * 13] = line[:at] + piece + line[at:] if at else line + piece
            log.write_bytes(b"\n".join(lines))
            same_both_ways(log, tmp_path)
            lines[10 + k * 13] = line
    log.write_bytes(b"\n".join(line + b"\xe9\xff" for line in lines))
    same_both_ways(log, tmp_path, piece_bytes=512)


def test_the_state_goes_back_and_forth(tmp_path: Path) -> None:
    """The state C leaves on the ParseLog is what Python would have left (rows to come included)."""
    values = [(str(k * 10), "0.1", f"{k}.5") for k in range(8)]
    text = blocks(iter(values))
    parse = parselog.ParseLog(None, YEAR, pieces=iter([text]))
    python = parselog.ParseLog(text.splitlines(), YEAR)
    list(parse.csv_rows())
    list(python.rows())
    for name in ("iteration", "lr", "year", "last_month", "same_month"):
        assert getattr(parse, name) == getattr(python, name), name
    for name in ("train", "test"):
        ours, theirs = parse.tables[name], python.tables[name]
        assert (ours.finished, ours.columns, ours.width) == (theirs.finished, theirs.columns, theirs.width)

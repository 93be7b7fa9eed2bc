"""The compiled scanner (fast/_scan.c through fast/scan.py): the same bytes as the pure-Python bulk
path and the line path on every shared log, the lines it takes itself, and the places where it
must hand a line back to Python (new threads, odd numbers, names, cut lines, CRLF, junk bytes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, SHARED
from log_helpers import log_output

from caffemem.logs.fast import compiled, plain
from caffemem.logs.fast.feed import Feeder
from caffemem.logs.runs import RunBuilder

C = compiled.SCAN
needs_c = pytest.mark.skipif(C is None, reason="the C scanner is not built here (CAFFEMEM_NO_C or no compiler)")


@pytest.fixture
def pure_python() -> Iterator[None]:
    compiled.SCAN = None
    yield
    compiled.SCAN = C


def _logs() -> list[Path]:
    found = sorted(p for p in (SHARED / "corpus" / "logs").rglob("*") if p.is_file())
    found += sorted((SHARED / "oracle").glob("*/caffe.log"))
    return found + sorted((ROOT / "sample_logs").glob("*.log"))


def _three_ways(path: Path, piece_bytes: int = 1 << 16) -> tuple[str, str, str]:
    """(C path, pure-Python bulk path, line path) output of every format."""
    with_c = log_output(path, True, piece_bytes)
    compiled.SCAN = None
    try:
        python = log_output(path, True, piece_bytes)
        lines = log_output(path, False, piece_bytes)
    finally:
        compiled.SCAN = C
    return with_c, python, lines


@needs_c
@pytest.mark.parametrize("path", _logs(), ids=lambda p: p.name)
def test_c_path_python_bulk_path_and_line_path_write_the_same_bytes(path: Path) -> None:
    with_c, python, lines = _three_ways(path, 1 << 13)  # small pieces: many piece boundaries
    assert with_c == python
    assert with_c == lines


# ---------------------------------------------------------------------------- hand-back cases

SETUP = """I0101 00:00:00.000000   904 solver.cpp:44] Initializing solver from parameters:
base_lr: 0.01
I0101 00:00:00.100000   904 solver.cpp:280] Solving SqueezeNet
I0101 00:00:00.100001   904 solver.cpp:281] Learning Rate Policy: poly
"""


def _block(it: int, loss: str = "2.5", out: str = "2.4", lr: str = "0.01", name: str = "loss", tid: str = "904",
           second: int = 1) -> str:
    return (f"I0101 00:00:{second:02d}.000001   {tid} solver.cpp:229] Iteration {it}, loss = {loss}\n"
            f"I0101 00:00:{second:02d}.000002   {tid} solver.cpp:245]     Train net output #0: {name} = {out}"
            f" (* 1 = {out} loss)\n"
            f"I0101 00:00:{second:02d}.000003   {tid} sgd_solver.cpp:106] Iteration {it}, lr = {lr}\n")


def _test_pass(it: int, second: int = 30) -> str:
    return (f"I0101 00:00:{second:02d}.000000   904 solver.cpp:338] Iteration {it}, Testing net (#0)\n"
            f"I0101 00:00:{second:02d}.000001   904 net.cpp:748] Ignoring source layer loss\n"
            f"I0101 00:00:{second:02d}.000002   904 blocking_queue.cpp:50] Data layer prefetch queue empty\n"
            f"I0101 00:00:{second:02d}.000003   904 solver.cpp:406]     Test net output #0: accuracy = 0.35\n"
            f"I0101 00:00:{second:02d}.000004   904 solver.cpp:406]     Test net output #1: top5 = 0.6\n")


def _run(blocks: int = 3) -> str:
    return SETUP + "".join(_block(k * 10, second=k + 1) for k in range(blocks)) + _test_pass(blocks * 10)


def _state_after(text: str) -> tuple[RunBuilder, Feeder]:
    """A builder that read ``text`` the Python way (line by line)."""
    builder = RunBuilder("test")
    feeder = Feeder(builder)
    feeder.piece(text, bulk=False)
    return builder, feeder


def _taken(prefix: str, text: str) -> str:
    """The part of ``text`` the scanner takes in one call, after a run that read ``prefix``."""
    assert C is not None
    builder, feeder = _state_after(prefix)
    state = builder.lend_scan()
    assert state is not None
    result = C.scan(text, 0, *state, plain._SHAPES)
    builder.take_scan(feeder.events.number + 1, result)
    return text.encode("utf-8")[:result[0]].decode("utf-8")


@needs_c
def test_the_scanner_takes_the_lines_a_training_run_repeats() -> None:
    text = (_block(40, second=5) + "I0101 00:00:06.000000   904 solver.cpp:456] Snapshotting to x.caffemodel\n"
            + _test_pass(50, second=7) + _block(50, loss="nan", out="-nan", second=8)
            + "I0101 00:00:09.000000   904 solver.cpp:281] Learning Rate Policy: poly\n")
    assert _taken(_run(), text) == text


@needs_c
@pytest.mark.parametrize(("case", "odd_line"), [
    ("a thread the run has not seen", _block(40, tid="77").split("\n")[0]),
    ("a fatal line", "F0101 00:00:05.000000   904 solver.cpp:229] Iteration 40, loss = 1"),
    ("a new output name", _block(40, name="loss2").split("\n")[1]),
    ("a number with a leading zero", "I0101 00:00:05.000000   904 solver.cpp:229] Iteration 40, loss = 01.5"),
    ("a float past float's range", "I0101 00:00:05.000000   904 solver.cpp:229] Iteration 40, loss = 1e+400"),
    ("NaN in capitals", "I0101 00:00:05.000000   904 solver.cpp:229] Iteration 40, loss = NaN"),
    ("a signed iteration", "I0101 00:00:05.000000   904 solver.cpp:229] Iteration +40, loss = 1"),
    ("an lr line with more after it, untagged",
     "I0101 00:00:05.000000   904 sgd_solver.cpp:106] Iteration 40, lr = 0.01, m = 0.9"),
    ("a set-up line", "I0101 00:00:05.000000   904 net.cpp:100] Creating Layer conv1"),
    ("a policy with more words", "I0101 00:00:05.000000   904 solver.cpp:281] Learning Rate Policy: poly 2"),
    ("non-ASCII white space before the message",
     "I0101 00:00:05.000000   904 solver.cpp:229] \u00a0Iteration 40, loss = 1"),
    ("a no-date stamp", "I1301 00:00:05.000000   904 solver.cpp:229] Iteration 40, loss = 1"),
    ("a line without a prefix the grammar knows", "Killed"),
])
def test_the_scanner_hands_back_what_it_is_not_sure_of(case: str, odd_line: str) -> None:
    good = _block(30, second=4)
    assert _taken(_run(), good + odd_line + "\n" + good) == good, case


@needs_c
def test_a_cut_last_line_is_left_to_python() -> None:
    good = _block(30, second=4)
    assert _taken(_run(), good + good.split("\n")[0]) == good


@needs_c
def test_names_with_digits_and_tagged_lines_are_taken() -> None:
    prefix = SETUP + "".join(_block(k, name="loss1/loss", second=k + 1) for k in range(3))
    text = _block(5, name="loss1/loss", second=6)
    assert _taken(prefix, text) == text
    tagged = ("I0101 00:00:07.000000   904 solver.cpp:337]     [0.0] Iteration 6 (151.4 iter/s, 0.0066s/1 iter),"
              " loss = 2.26\n"
              "I0101 00:00:07.000001   904 sgd_solver.cpp:180] [0.0] Iteration 6, lr = 0.001, m = 0.9, wd = 0.004\n"
              "I0101 00:00:07.100000   904 solver.cpp:337]     [0.0] Iteration 7 (0.065498 s), loss = 2.25\n"
              "I0101 00:00:07.200000   904 solver.cpp:337] Iteration 8 (0.06 s), loss = nan\n")
    assert _taken(prefix, tagged) == tagged


def _write(tmp_path: Path, name: str, text: str, newline: str = "\n", junk: bytes = b"") -> Path:
    path = tmp_path / name
    data = text.replace("\n", newline).encode("utf-8")
    if junk:  # binary bytes inside a few lines, as a data layer of 2014 printed them
        lines = data.split(b"\n")
        for k in range(5, len(lines), 7):
            lines[k] = lines[k] + junk
        data = b"\n".join(lines)
    path.write_bytes(data)
    return path


@needs_c
@pytest.mark.parametrize("case", ["plain", "crlf", "junk", "cut", "threads", "nan", "digits", "restart"])
def test_odd_logs_read_the_same_three_ways(tmp_path: Path, case: str) -> None:
    blocks = "".join(_block(k * 10, second=k % 50 + 1) + (_test_pass(k * 10, second=k % 50 + 1) if k % 7 == 6 else "")
                     for k in range(60))
    text = _run() + blocks
    newline, junk = "\n", b""
    if case == "crlf":
        newline = "\r\n"
    elif case == "junk":
        junk = b" \xff\xfe\x00\xe9\r\xc3"
    elif case == "cut":
        text = text[:-25]
    elif case == "threads":
        text += _block(700, tid="905", second=58) + _block(710, second=59) + _block(720, tid="906", second=59)
    elif case == "nan":
        text = text.replace("loss = 2.5", "loss = nan").replace("lr = 0.01", "lr = -nan", 3)
    elif case == "digits":
        text = text.replace("output #0: loss =", "output #0: loss1/loss =")
    elif case == "restart":
        text += _run().replace("   904 ", " 12345 ")
    path = _write(tmp_path, f"{case}.log", text, newline, junk)
    for piece_bytes in (1 << 16, 1 << 9):
        with_c, python, lines = _three_ways(path, piece_bytes)
        assert with_c == python == lines, (case, piece_bytes)


def test_the_pure_python_path_is_selectable(pure_python: None, tmp_path: Path) -> None:
    assert compiled.SCAN is None
    path = _write(tmp_path, "one.log", _run())
    assert log_output(path, True) == log_output(path, False)


@needs_c
def test_two_test_nets_keep_their_numbers_in_the_stdout_csv(tmp_path: Path) -> None:
    """The csv writer copies rewritten test rows only when all are test net #0; a second test net
    goes the decoded way, and both ways give the same bytes, TestNet 1 included."""
    lines = [SETUP.rstrip("\n")]
    for it in range(0, 400, 20):
        stamp = f"I0101 00:00:{1 + it // 20:02d}"
        if it % 100 == 0:
            for net in (0, 1):
                lines += [f"{stamp}.000000   904 solver.cpp:337] Iteration {it}, Testing net (#{net})",
                          f"{stamp}.000100   904 solver.cpp:404]     Test net output #0: accuracy = 0.{net + 1}"]
        lines += [f"{stamp}.100000   904 solver.cpp:228] Iteration {it}, loss = 1.5",
                  f"{stamp}.100001   904 solver.cpp:244]     Train net output #0: loss = 1.5 (* 1 = 1.5 loss)",
                  f"{stamp}.100002   904 sgd_solver.cpp:106] Iteration {it}, lr = 0.01"]
    log = tmp_path / "two_test_nets.log"
    log.write_text("\n".join(lines) + "\n")
    with_c, python, by_line = _three_ways(log)
    assert with_c == python == by_line
    assert "1,TEST,1,100," in with_c and "1,TEST,0,100," in with_c

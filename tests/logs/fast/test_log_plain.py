"""Lines of unknown kinds read in bulk by their shape (fast/plain.py): shape and line agree, and
runs of them give the line path's result in the awkward places (new threads, text blocks, lines
without a prefix, fatal lines, data layers' source files)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, SHARED
from log_helpers import log_output

from caffemem.logs.events import UNKNOWN
from caffemem.logs.fast.bulk import digit_shape
from caffemem.logs.fast.plain import NO_PREFIX, SourceGetter, runs, skippable
from caffemem.logs.lines import classify


def _corpus() -> list[Path]:
    found = sorted(p for p in (SHARED / "corpus" / "logs").rglob("*") if p.is_file())
    return found + sorted((ROOT / "sample_logs").glob("*.log"))


def test_a_line_and_its_shape_are_the_same_kind_on_every_corpus_line() -> None:
    """What the shape-keyed skip relies on: lines.py and the grammar treat every digit alike, so
    whether a line is unknown never depends on which digits it holds."""
    checked = 0
    for path in _corpus():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            shape = digit_shape(line)
            if shape != line:
                assert (classify(line).kind == UNKNOWN) == (classify(shape).kind == UNKNOWN), line
                checked += 1
    assert checked > 100_000


def test_digit_shape_is_the_same_for_ascii_and_other_text() -> None:
    text = "I0101 12:34:56.789012 42 x.cpp:9] Data: 0012_n345.JPEG\ufffd\u00e9, Cost: 7\n"
    assert digit_shape(text) == "I0000 00:00:00.000000 00 x.cpp:0] Data: 0000_n000.JPEG\ufffd\u00e9, Cost: 0\n"
    assert digit_shape(text) == text.translate(str.maketrans("123456789", "000000000"))


def test_what_is_skippable() -> None:
    line = "I0101 00:00:00.000000  100 blocking_queue.cpp:50] Data layer prefetch queue empty"
    getter = skippable(digit_shape(line))
    assert getter not in (False, NO_PREFIX) and getter(line) == "100"
    assert skippable(digit_shape("F" + line[1:])) is False  # a crash
    source = skippable(digit_shape(line.replace("blocking_queue", "image_data_layer")))  # may show a layer's type
    assert isinstance(source, SourceGetter) and source(line) == "100"  # so: only while no layer is set up
    assert skippable(digit_shape("I0101 00:00:00.000000  100 solver.cpp:228] Iteration 1, loss = 2")) is False
    assert skippable(digit_shape("Killed")) is False  # a shell line the grammar knows
    assert skippable("") is False
    assert skippable(digit_shape(", Cost: 0")) is NO_PREFIX


def test_runs_cover_the_lines_in_order() -> None:
    text = ("I0101 00:00:00.000000  100 a.cpp:1] one\nI0101 00:00:00.000000  100 a.cpp:1] two\n"
            "I0101 00:00:00.000000  100 solver.cpp:228] Iteration 1, loss = 2\n, Cost: 0\n")
    lines = text.split("\n")[:-1]
    assert [(start, end, mark is not False) for start, end, mark in runs(lines, text)] == [
        (0, 2, True), (2, 3, False), (3, 4, True)]


def _output(path: Path, bulk: bool) -> str:
    return log_output(path, bulk, 1 << 12)


P = "I0101 00:00:{s:02d}.000000 {tid} {where}] {message}"
SOLVE = [P.format(s=0, tid=7, where="caffe.cpp:1", message="Using GPUs 0"),
         P.format(s=0, tid=7, where="solver.cpp:48", message="Initializing solver from parameters:"),
         "base_lr: 0.01", "display: 1",
         P.format(s=1, tid=7, where="solver.cpp:279", message="Solving X")]


OUTPUT = "    Train net output #0: loss = 0.5 (* 1 = 0.5 loss)"


def _train(it: int, s: int) -> list[str]:
    return [P.format(s=s, tid=7, where="solver.cpp:228", message=f"Iteration {it}, loss = 0.5"),
            P.format(s=s, tid=7, where="solver.cpp:244", message=OUTPUT),
            P.format(s=s, tid=7, where="sgd_solver.cpp:106", message=f"Iteration {it}, lr = 0.01")]


@pytest.mark.parametrize("case", ["new_thread", "no_prefix_first", "fatal", "data_source", "text_block", "junk"])
def test_unknown_runs_read_as_line_by_line(tmp_path: Path, case: str) -> None:
    noise = {
        "new_thread": [P.format(s=2, tid=99, where="blocking_queue.cpp:50", message="Data layer prefetch queue empty")],
        "no_prefix_first": [", Cost: 0", "  more junk 12"],
        "fatal": [P.format(s=2, tid=7, where="x.cpp:3", message="something odd 42").replace("I0101", "F0101", 1)],
        "data_source": [P.format(s=2, tid=7, where="image_data_layer.cpp:38", message="Opening file x 3")],
        "text_block": [P.format(s=2, tid=7, where="net.cpp:51", message="Initializing net from parameters:"),
                       "name: \"x\"", P.format(s=2, tid=7, where="lmdb.cpp:1", message="Opened lmdb 3")],
        "junk": ["I0101 00:00:02.000000 7 solver.cpp:201] Data: 001_n0/n0.JPEG\ufffd", ", Cost: 0"],
    }[case]
    lines = ([", Cost: 0"] if case == "no_prefix_first" else []) + list(SOLVE)
    for k in range(60):
        lines += noise * (1 + k % 3) + _train(k, 2 + k // 10)
    log = tmp_path / "x.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _output(log, bulk=True) == _output(log, bulk=False)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b and type(a) is type(b)


def test_tagged_solver_lines_by_regex_agree_with_the_grammar_on_the_corpus() -> None:
    """NVCaffe's "[0.0] Iteration ..." lines read by lines.py's regexes give the grammar's result."""
    from caffemem.logs.grammar import parse_message
    from caffemem.logs.lines import PREFIX_RE, fast_tagged_solver_line

    checked = 0
    for path in _corpus():
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            prefix = PREFIX_RE.match(line)
            if prefix is None or "[" not in line:
                continue
            message = line[prefix.end():]
            fast = fast_tagged_solver_line(message)
            if fast is not None:
                assert _same(fast, parse_message(message)), line
                checked += 1
    assert checked > 300
    assert fast_tagged_solver_line("[0.1] Iteration 10, lr = 0.01, m = 0.9, wd = 5e-4") == ("iteration_lr", (10, 0.01))
    assert fast_tagged_solver_line("[0.1] Creating layer x") is None

"""`caffemem log --format csv --csv-prefix`: Caffe's tools/extra/parse_log.py's two files, byte for byte.

The expected files in fixtures/parse_log/ were written by BVLC's parse_log.py itself (run once by
hand on the corpus logs, with Python 3 and the logs' ctime year 2026); the tests never run it. The
small hand-written logs below pin each of its quirks, and what caffemem does where it stops.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import need_shared

import caffemem.logs.parselog as parselog
from caffemem.cli import main
from caffemem.logs.parselog import ParseLog, log_year, stamp


@pytest.fixture(autouse=True, params=["python", "c"])
def reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test twice: with parselog.py's Python loop alone, and with the compiled reader
    (caffemem/logs/_parselog.c) where it is built."""
    if request.param == "c":
        if parselog._parselog is None:
            pytest.skip("caffemem.logs._parselog is not built")
        monkeypatch.setattr(parselog, "SCAN", parselog._parselog)
    else:
        monkeypatch.setattr(parselog, "SCAN", None)
    return str(request.param)


EXPECTED = Path(__file__).parent / "fixtures" / "parse_log"
TWO_RUNS = Path(__file__).parent / "fixtures" / "two_runs.log"
YEAR = 2026  # the corpus files' ctime year when parse_log.py wrote the expected files


def g(seconds: float, message: str, day: str = "0101", hour: int = 10) -> str:
    """A glog line ``seconds`` after hour:00 on day MMDD."""
    minutes, secs = divmod(seconds, 60)
    return f"I{day} {hour:02d}:{int(minutes):02d}:{secs:09.6f}  7 solver.cpp:1] {message}"


SOLVING = g(0, "Solving TinyNet")


def block(at: float, iteration: int, outputs: dict[str, str], lr: str | None = None, phase: str = "Train") -> list[str]:
    """One display of Caffe: the iteration line, the outputs, then (training) the lr line."""
    lines = [g(at, f"Iteration {iteration}, loss = 1")]
    lines += [g(at + 0.5 + k / 10, f"    {phase} net output #{k}: {name} = {value} (* 1 = {value} loss)")
              for k, (name, value) in enumerate(outputs.items())]
    if lr is not None:
        lines.append(g(at + 0.9, f"Iteration {iteration}, lr = {lr}"))
    return lines


def write_log(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(["I0101 09:59:59.000000  7 caffe.cpp:1] Starting Optimization", SOLVING, *lines])
                    + "\n", encoding="utf-8")
    return path


def drop_in(log: Path | str, prefix: Path | str, *extra: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["log", str(log), "--format", "csv", "--csv-prefix", str(prefix),
                                       "--year", str(YEAR), *extra], input=stdin)
    assert "Traceback" not in result.stderr
    return result.exit_code, result.stderr


def rows_of(path: Path) -> list[str]:
    return path.read_bytes().decode().split("\r\n")[:-1]


# --------------------------------------------------------------------------- real logs, byte for byte

SAME = [  # (corpus log, what parse_log.py wrote: "train"/"test"; a table it did not write is left out)
    ("lifeng14_caffe/lenet_train_complete.log", ("train", "test")),  # BVLC, test passes
    ("caffe_regression_qiexing/caffe.log", ("train", "test")),
    ("digits_healthcare/caffe_output.log", ("train", "test")),  # DIGITS' Caffe
    ("nvcaffe/alexnet_mfp16.log", ("train", "test")),  # NVCaffe: top-1, top-5, loss
    ("intel_caffe_bobhuynh/caffe.log", ("train",)),  # Intel Caffe, GoogLeNet's three losses; no test row finished
    ("joint_hashing/cifar10_log.txt", ("test",)),  # training outputs never printed
]


@pytest.mark.parametrize(("name", "tables"), SAME, ids=[name for name, _ in SAME])
def test_the_files_are_parse_logs_byte_for_byte(name: str, tables: tuple[str, ...], tmp_path: Path) -> None:
    log = need_shared() / "corpus" / "logs" / name
    code, err = drop_in(log, tmp_path)
    assert code == 0, err
    stem = name.replace("/", "_")
    for table in ("train", "test"):
        ours = tmp_path / f"{log.name}.{table}"
        if table in tables:
            assert ours.read_bytes() == (EXPECTED / f"{stem}.{table}").read_bytes(), table
            assert f"caffemem: wrote {ours}" in err
        else:
            assert not ours.exists() and f"{ours} not written: no {table} rows" in err


def test_a_diverged_ssd_run_keeps_its_nan_rows_where_parse_log_drops_them(tmp_path: Path) -> None:
    """SSD's mbox_loss went nan at iteration 150: parse_log.py's pattern skips the value, so those
    rows never fill up and vanish. Ours are parse_log.py's rows plus exactly those, with nan."""
    log = need_shared() / "corpus" / "logs" / "ssd_qiangxie" / "VGG_VOC0712_SSD_300x300.log"
    assert drop_in(log, tmp_path)[0] == 0
    ours = rows_of(tmp_path / f"{log.name}.train")
    theirs = rows_of(EXPECTED / "ssd_qiangxie_VGG_VOC0712_SSD_300x300.log.train")
    assert [row for row in ours if not row.endswith(",nan")] == theirs
    assert [row.split(",")[0] for row in ours if row.endswith(",nan")][:3] == ["150.0", "170.0", "200.0"]


def test_an_output_the_first_row_lacks_is_left_out_where_parse_log_stops(tmp_path: Path) -> None:
    """caffenet_299's test passes gain a top5 output after the first: DictWriter raised ValueError
    there, leaving parse_log.py's .test file cut after the rows before. Ours goes on without it."""
    log = need_shared() / "corpus" / "logs" / "caffenet_benchmark" / "caffenet_299.log"
    code, err = drop_in(log, tmp_path)
    assert code == 0
    cut = (EXPECTED / "caffenet_benchmark_caffenet_299.log.test").read_bytes()
    ours = (tmp_path / f"{log.name}.test").read_bytes()
    assert ours.startswith(cut) and len(ours) > len(cut)
    assert "output 'top5' is not in the first row, so it has no column: left out of 12 row(s)" in err


# --------------------------------------------------------------------------- the quirks, one by one


def test_iterations_are_floats_and_each_row_takes_the_lr_printed_before_it(tmp_path: Path) -> None:
    log = write_log(tmp_path / "caffe.INFO", [
        *block(1, 0, {"loss": "2", "acc": "0.1"}, lr="0.1"),
        *block(3, 20, {"loss": "1.5", "acc": "0.2"}, lr="0.09"),
        *block(5, 40, {"loss": "1.25", "acc": "0.3"}, lr="0.08"),
        *block(7, 60, {"loss": "1"}),  # short of the first row's outputs, and the last: dropped
    ])
    assert drop_in(log, tmp_path / "out")[0] == 0
    assert rows_of(tmp_path / "out.train") == [
        "NumIters,Seconds,LearningRate,loss,acc",
        "0.0,1.5,0.1,2.0,0.1",  # row 0's lr (not printed yet: NaN) replaced by row 1's
        "20.0,3.5,0.1,1.5,0.2",  # the lr printed at iteration 0, not this row's own 0.09
        "40.0,5.5,0.09,1.25,0.3",  # seconds: this row's first output line since Solving
    ]


def test_own_pairing_gives_each_row_its_own_lr_and_keeps_every_row(tmp_path: Path) -> None:
    log = write_log(tmp_path / "caffe.INFO", [
        *block(1, 0, {"loss": "2", "acc": "0.1"}, lr="0.1"),
        *block(3, 20, {"loss": "1.5", "acc": "0.2"}, lr="0.09"),
        *block(5, 40, {"loss": "1.25"}, lr="0.08"),
    ])
    result = CliRunner().invoke(main, ["log", str(log), "--format", "csv", "--csv-prefix", str(tmp_path / "own"),
                                       "--own-pairing"])
    assert result.exit_code == 0, result.stderr
    rows = (tmp_path / "own.train").read_text().splitlines()
    assert rows[0] == "NumIters,Seconds,LearningRate,loss,acc"
    assert [row.split(",")[0] for row in rows[1:]] == ["0", "20", "40"]
    assert [row.split(",")[2] for row in rows[1:]] == ["0.1", "0.09", "0.08"]
    assert rows[3].endswith(",1.25,")  # the row short of an output is kept, the cell empty
    assert "--own-pairing" in CliRunner().invoke(main, ["log", "--help"]).stdout


def test_a_row_short_of_outputs_waits_for_the_next_iteration_and_a_lone_row_is_never_written(tmp_path: Path) -> None:
    log = write_log(tmp_path / "caffe.INFO", [
        *block(1, 0, {"loss": "2", "acc": "0.1"}, lr="0.1"),
        *block(3, 20, {"loss": "1.5", "acc": "0.2"}, lr="0.1"),
        *block(5, 40, {"loss": "1.25"}, lr="0.1"),  # finished only when iteration 60 starts
        *block(7, 60, {"loss": "1", "acc": "0.4"}, lr="0.1"),
        *block(9, 60, {"accuracy": "0.5"}, phase="Test"),  # one test pass: its row is never finished
    ])
    code, err = drop_in(log, tmp_path / "out")
    assert code == 0
    assert rows_of(tmp_path / "out.train")[3:] == ["40.0,5.5,0.1,1.25,", "60.0,7.5,0.1,1.0,0.4"]
    assert not (tmp_path / "out.test").exists()
    assert f"caffemem: {tmp_path / 'out.test'} not written: no test rows" in err


def test_files_have_crlf_line_ends_and_the_delimiter_asked_for(tmp_path: Path) -> None:
    log = write_log(tmp_path / "caffe.INFO", [*block(1, 0, {"loss": "2"}, lr="0.1"),
                                              *block(3, 20, {"loss": "1"}, lr="0.1")])
    assert drop_in(log, tmp_path / "out", "--delimiter", ";")[0] == 0
    data = (tmp_path / "out.train").read_bytes()
    assert data == b"NumIters;Seconds;LearningRate;loss\r\n0.0;1.5;0.1;2.0\r\n20.0;3.5;0.1;1.0\r\n"
    code, err = drop_in(log, tmp_path / "bad", "--delimiter", ";;")
    assert code == 2 and "--delimiter" in err and not (tmp_path / "bad.train").exists()


def test_nan_and_inf_caffe_printed_are_kept(tmp_path: Path) -> None:
    """parse_log.py drops ``nan`` (the row then never fills up) and stops on ``-nan``; ours keeps them."""
    log = write_log(tmp_path / "caffe.INFO", [
        *block(1, 0, {"loss": "2", "acc": "0.5"}, lr="0.1"),
        *block(3, 20, {"loss": "nan", "acc": "-nan"}, lr="0.1"),
        *block(5, 40, {"loss": "inf", "acc": "-inf"}, lr="0.1"),
        *block(7, 60, {"loss": "1.#QNAN", "acc": "1.#INF"}, lr="0.1"),  # MSVC's
        *block(9, 80, {"loss": "1", "acc": "1"}, lr="0.1"),
    ])
    assert drop_in(log, tmp_path / "out")[0] == 0
    assert [row.split(",", 3)[3] for row in rows_of(tmp_path / "out.train")[2:]] == [
        "nan,nan", "inf,-inf", "nan,inf", "1.0,1.0"]


def test_a_directory_prefix_names_the_files_after_the_log_as_parse_log_does(tmp_path: Path) -> None:
    log = write_log(tmp_path / "caffe.host.log.INFO.20260101", [*block(1, 0, {"loss": "2"}, lr="0.1"),
                                                                *block(3, 20, {"loss": "1"}, lr="0.1")])
    out = tmp_path / "curves"
    out.mkdir()
    code, err = drop_in(log, out)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["caffe.host.log.INFO.20260101.train"]
    assert f"caffemem: wrote {out / log.name}.train" in err
    code, err = drop_in("-", out, stdin=log.read_text())  # standard input has no name to give them
    assert code == 2 and "standard input" in err
    code, err = drop_in("-", out / "stdin", stdin=log.read_text())
    assert code == 0 and (out / "stdin.train").read_bytes() == (out / f"{log.name}.train").read_bytes()


def test_existing_files_are_refused_before_anything_is_written_unless_forced(tmp_path: Path) -> None:
    log = write_log(tmp_path / "caffe.INFO", [*block(1, 0, {"loss": "2"}, lr="0.1"),
                                              *block(3, 20, {"loss": "1"}, lr="0.1")])
    mine = tmp_path / "out.test"
    mine.write_text("precious\n")
    code, err = drop_in(log, tmp_path / "out")
    assert code == 2 and err.count("\n") == 1 and "out.test already exists; use --force" in err
    assert mine.read_text() == "precious\n" and not (tmp_path / "out.train").exists()
    code, err = drop_in(log, tmp_path / "out", "--force")
    assert code == 0 and (tmp_path / "out.train").exists()
    assert mine.read_text() == "precious\n"  # no test rows: as parse_log.py, not written (so not emptied)
    assert not list(tmp_path.glob(".out.*"))  # no temporary left behind


def test_lines_parse_log_crashes_on_are_skipped(tmp_path: Path) -> None:
    """A blank line after the first iteration (IndexError in parse_log.py), a lone word, a cut
    stamp, a number that is none: skipped, the rest read as parse_log.py would."""
    log = write_log(tmp_path / "caffe.INFO", [
        *block(1, 0, {"loss": "2"}, lr="0.1"), "", "I0101", "I0101 10:00:02", "   ",
        g(2.5, "    Train net output #0: loss = 1.2.3"), g(2.6, "Iteration 20, lr = 1-5"),
        *block(3, 20, {"loss": "1"}, lr="0.1"),
        "I0230 10:00:04.000000  7 solver.cpp:1]     Train net output #0: loss = 9",  # no Feb 30: skipped
    ])
    code, err = drop_in(log, tmp_path / "out")
    assert code == 0, err
    assert rows_of(tmp_path / "out.train")[1:] == ["0.0,1.5,0.1,2.0", "20.0,3.5,0.1,1.0"]


def test_a_log_without_solving_has_no_rows(tmp_path: Path) -> None:
    log = tmp_path / "caffe.INFO"
    log.write_text("\n".join(block(1, 0, {"loss": "2"}, lr="0.1") + block(3, 20, {"loss": "1"})) + "\n")
    code, err = drop_in(log, tmp_path / "out")
    assert code == 0 and "no 'Solving' line" in err and not list(tmp_path.glob("out.*"))


def test_run_needs_own_pairing_and_the_year_needs_the_drop_in(tmp_path: Path) -> None:
    code, err = drop_in(TWO_RUNS, tmp_path / "out", "--run", "1")
    assert code == 2 and "--own-pairing" in err
    result = CliRunner().invoke(main, ["log", str(TWO_RUNS), "--format", "csv", "--year", "2020"])
    assert result.exit_code == 2 and "--year" in result.stderr
    result = CliRunner().invoke(main, ["log", str(TWO_RUNS), "--csv-prefix", "x"])
    assert result.exit_code == 2 and "--csv-prefix goes with --format csv" in result.stderr


def test_own_pairing_writes_a_pair_per_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["log", str(TWO_RUNS), "--format", "csv", "--csv-prefix", str(tmp_path / "P"),
                                       "--own-pairing"])
    assert result.exit_code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P.run1.test", "P.run1.train", "P.run2.test",
                                                          "P.run2.train"]


# --------------------------------------------------------------------------- the year, and streaming


def _lines(*blocks: list[str], solving: str = SOLVING) -> list[str]:
    return [solving, *(line for lines in blocks for line in lines)]


def test_the_year_moves_on_when_the_month_goes_back() -> None:
    solving = g(0, "Solving TinyNet", day="1231", hour=23)
    lines = _lines([g(3598, "Iteration 0, lr = 0.1", day="1231", hour=23),
                    g(3599, "    Train net output #0: loss = 2", day="1231", hour=23),
                    g(1, "Iteration 20, loss = 1", day="0101", hour=0),
                    g(2, "    Train net output #0: loss = 1", day="0101", hour=0)], solving=solving)
    rows = [row for _, row in ParseLog(lines, 2025).rows()]
    assert [row[1] for row in rows] == [3599.0, 3602.0]


def test_the_year_decides_whether_feb_29_exists() -> None:
    lines = _lines([g(0, "Iteration 0, lr = 0.1", day="0229"), g(1, "    Train net output #0: loss = 2", day="0229"),
                    g(2, "Iteration 20, loss = 1", day="0229"), g(3, "    Train net output #0: loss = 1", day="0229")],
                   solving=g(0, "Solving TinyNet", day="0228"))
    assert [row[1] for _, row in ParseLog(lines, 2024).rows()] == [86401.0, 86403.0]
    assert list(ParseLog(lines, 2023).rows()) == []  # parse_log.py skips every line of a day it cannot make


def test_the_default_year_is_the_files_ctime_year(tmp_path: Path) -> None:
    path = tmp_path / "caffe.INFO"
    path.write_text("")
    assert log_year(path) == datetime.datetime.fromtimestamp(path.stat().st_ctime).year
    assert log_year("-") == datetime.date.today().year
    assert stamp("I0210 13:39:22.381027 25210 solver.cpp:204] x", 2015) == datetime.datetime(2015, 2, 10, 13, 39, 22,
                                                                                             381027)


def test_rows_stream_out_as_they_are_finished() -> None:
    """Constant memory: a row leaves while the log is still being read (parse_log.py keeps them all)."""
    read = [0]

    def lines() -> Iterator[str]:
        yield SOLVING
        for k in range(10_000):
            for line in block(1, k * 10, {"loss": "1", "acc": "0.5"}, lr="0.1"):
                read[0] += 1
                yield line

    rows = ParseLog(lines(), YEAR).rows()
    for expected in range(5):
        _, row = next(rows)
        assert row[0] == expected * 10.0
    assert read[0] < 50
    _, row = next(rows)
    assert math.isclose(row[1], 1.5)


def test_the_drop_in_reads_the_log_once_without_the_main_reader(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import caffemem.commands.log as command

    def no_reader(*args: object, **kwargs: object) -> None:
        raise AssertionError("the drop-in must not build runs")

    monkeypatch.setattr(command, "read_log", no_reader)
    log = write_log(tmp_path / "caffe.INFO", [*block(1, 0, {"loss": "2"}, lr="0.1"),
                                              *block(3, 20, {"loss": "1"}, lr="0.1")])
    assert drop_in(log, tmp_path / "out")[0] == 0 and (tmp_path / "out.train").exists()


def test_an_interrupted_drop_in_leaves_no_half_written_file(tmp_path: Path) -> None:
    from caffemem.commands.log import run_parse_log
    from caffemem.report.log_csv import write_parse_log_files

    log = write_log(tmp_path / "caffe.INFO", [line for k in range(10)
                                              for line in block(1 + 2 * k, 20 * k, {"loss": "1"}, lr="0.1")])
    paths = (str(tmp_path / "out.train"), str(tmp_path / "out.test"))
    with run_parse_log(log, YEAR) as result:
        rows = result.parse.csv_rows()

        def interrupted(*args: object) -> Iterator:
            yield from (next(rows) for _ in range(2))  # (the first two rows: the file is begun)
            raise KeyboardInterrupt

        result.parse.csv_rows = interrupted  # type: ignore[method-assign]
        with pytest.raises(KeyboardInterrupt):
            write_parse_log_files(result, paths)
    assert not (tmp_path / "out.train").exists()

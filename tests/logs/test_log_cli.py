"""`caffemem log`: the JSON contract, parse_log-style CSV, the table, and errors without tracebacks."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from caffemem.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
SEED = Path(__file__).resolve().parents[2] / "sample_logs" / "imagedata-conv-fc-killed.log"


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["log", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_contract_seed() -> None:
    code, out, _ = _run(str(SEED), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) >= {"runs", "counts"}
    assert doc["counts"]["top_shape"] == 5 and doc["counts"]["memory_required_for_data"] == 4
    run = doc["runs"][0]
    net = run["nets"][0]
    assert net["phase"] is None and net["memory_required_for_data"] == 401481860
    assert net["layers"][0]["name"] == "Layer1" and net["layers"][0]["tops"][0]["shape"] == [32, 3, 224, 224]
    assert net["layers"][3]["tops"][0]["shape"] == []
    assert run["iterations"] == [{**run["iterations"][0], "iteration": 0, "loss": 87.3365, "lr": 0.0001}]
    end = run["end"]
    assert {k: end[k] for k in ("status", "crash_kind", "iteration", "phase", "layer")} == {
        "status": "crashed", "crash_kind": "killed", "iteration": 0, "phase": "train", "layer": None}
    assert end["message"] == "Killed"


def test_json_two_runs_nan_is_null() -> None:
    code, out, _ = _run(str(FIXTURES / "two_runs.log"), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert [r["end"]["status"] for r in doc["runs"]] == ["crashed", "finished"]
    assert doc["runs"][0]["end"]["crash_kind"] == "cuda_out_of_memory"
    assert doc["runs"][0]["nets"][0]["phase"] == "TRAIN"
    its = doc["runs"][1]["iterations"]
    assert [i["iteration"] for i in its] == [0, 1, 2]
    assert its[1]["loss"] is None and its[2]["lr"] is None
    assert doc["runs"][0]["iterations"][0]["outputs"] == {"ip": 2.5}


def test_json_single_run() -> None:
    code, out, _ = _run(str(FIXTURES / "two_runs.log"), "--format", "json", "--run", "2")
    assert code == 0 and len(json.loads(out)["runs"]) == 1


def test_csv_on_stdout_is_one_rectangular_table() -> None:
    code, out, _ = _run(str(FIXTURES / "two_runs.log"), "--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["Run", "Phase", "TestNet", "NumIters", "Seconds", "LearningRate", "ip"]
    assert rows[1] == ["1", "TRAIN", "", "0", "1.000100", "0.01", "2.5"]
    assert {len(row) for row in rows} == {7} and "" not in out.split("\n")[:-1]  # one table, no blank line
    assert [row[:2] for row in rows[1:]] == [["1", "TRAIN"]] * 2 + [["1", "TEST"]] + [["2", "TRAIN"]] * 3
    assert rows[3][2:4] == ["0", "2"]  # run 1's test pass at iteration 2 (the one it crashed in), test net #0
    assert rows[-1][:4] == ["2", "TRAIN", "", "2"] and rows[-1][6] == ""  # run 2 printed no ip


def test_csv_on_stdout_puts_train_outputs_before_test_outputs() -> None:
    code, out, _ = _run(str(Path(__file__).resolve().parents[1] / "fuzz" / "seeds" / "tiny_crash.log"),
                        "--format", "csv", "--delimiter", "\t")
    assert code == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0][6:] == ["loss", "accuracy"]  # loss once: the Phase column tells train and test apart
    test = [row for row in rows if row[1] == "TEST"]
    assert test == [["1", "TEST", "0", "2", test[0][4], "0.01", "2.1", "0.25"]]
    assert all(row[2] == "" for row in rows[1:] if row[1] == "TRAIN")


def test_csv_prefix_files(tmp_path: Path) -> None:
    prefix = str(tmp_path / "seed")
    code, _, err = _run(str(SEED), "--format", "csv", "--csv-prefix", prefix, "--own-pairing")
    assert code == 0
    assert (tmp_path / "seed.train").read_text().startswith("NumIters,Seconds,LearningRate,loss\n0,")
    assert (tmp_path / "seed.test").exists() and "wrote" in err
    code, _, err = _run(str(SEED), "--format", "csv", "--csv-prefix", str(tmp_path / "dropin"))
    assert code == 0 and not list(tmp_path.glob("dropin*"))  # parse_log.py finishes no row of a one-iteration run
    assert "dropin.train not written: no train rows" in err


def test_table_names_crash_and_place() -> None:
    code, out, _ = _run(str(FIXTURES / "two_runs.log"), "--layers")
    assert code == 0
    assert "2 run(s)" in out
    assert "CRASHED (cuda_out_of_memory) during a test pass at iteration 2" in out
    assert "ended: finished" in out and "Memory required for data: 56 bytes" in out


def test_errors_are_one_line() -> None:
    code, _, err = _run("/nonexistent/caffe.log")
    assert code == 2 and "Traceback" not in err
    code, _, err = _run(str(SEED), "--run", "3")
    assert code == 2 and err.startswith("caffemem: error:") and "Traceback" not in err
    code, _, err = _run(str(SEED), "--csv-prefix", "x")
    assert code == 2 and "--csv-prefix" in err


def test_json_output_names_with_percent_and_colon(tmp_path: Path) -> None:
    lines = SEED.read_text().splitlines()[:-1]
    lines.append("I0817 21:48:47.000000 11306 solver.cpp:228] Iteration 1, loss = 2.5")
    lines.append("I0817 21:48:47.000001 11306 solver.cpp:244]     Train net output #0: loss: 50%-fire-rate = nan")
    lines.append("I0817 21:48:47.000002 11306 solver.cpp:244]     Train net output #1: a: nan = 1")
    path = tmp_path / "pct.log"
    path.write_text("\n".join(lines) + "\n")
    code, out, _ = _run(str(path), "--format", "json")
    assert code == 0
    rows = json.loads(out)["runs"][0]["iterations"]
    assert rows[-1]["outputs"] == {"loss": None, "loss: 50%-fire-rate": None, "a: nan": 1.0}
    assert rows[0]["outputs"]["loss"] == 87.3365


def test_the_stdout_csv_holds_each_runs_train_rows_then_its_test_rows(tmp_path) -> None:  # noqa: ANN001
    """One rectangular table; per run its TRAIN rows, then its TEST rows, as parse_log.py's two files."""
    import csv as _csv
    import io

    from click.testing import CliRunner

    from caffemem.cli import main

    log = tmp_path / "run.log"
    lines = ["I0101 00:00:00.000000  1 solver.cpp:1] Solving N"]
    for it in (0, 100, 200):
        if it % 200 == 0:
            lines += [f"I0101 00:00:0{it // 100}.000000  1 solver.cpp:2] Iteration {it}, Testing net (#0)",
                      f"I0101 00:00:0{it // 100}.100000  1 solver.cpp:3]     Test net output #0: accuracy = 0.5"]
        lines += [f"I0101 00:00:0{it // 100}.200000  1 solver.cpp:4] Iteration {it}, loss = 1",
                  f"I0101 00:00:0{it // 100}.300000  1 solver.cpp:5]     Train net output #0: loss = 1 (* 1 = 1 loss)",
                  f"I0101 00:00:0{it // 100}.400000  1 sgd_solver.cpp:6] Iteration {it}, lr = 0.01"]
    log.write_text("\n".join(lines) + "\n")
    done = CliRunner().invoke(main, ["log", str(log), "--format", "csv"])
    assert done.exit_code == 0, done.output
    table = list(_csv.reader(io.StringIO(done.output)))
    assert table[0] == ["Run", "Phase", "TestNet", "NumIters", "Seconds", "LearningRate", "loss", "accuracy"]
    assert [(r[1], r[3]) for r in table[1:]] == [("TRAIN", "0"), ("TRAIN", "100"), ("TRAIN", "200"),
                                                 ("TEST", "0"), ("TEST", "200")]
    assert table[1][6:] == ["1.0", ""] and table[4][6:] == ["", "0.5"]


def test_nvcaffes_tagged_test_outputs_fill_the_test_table(tmp_path) -> None:  # noqa: ANN001
    """NVCaffe tags its train outputs "[0.0]" and its test outputs "(0.0)": both are outputs."""
    from caffemem.commands.log import run_log

    log = tmp_path / "nvcaffe.log"
    log.write_text(
        "I0519 23:35:49.000000 215053 solver.cpp:1] Solving NV\n"
        "I0519 23:35:49.700000 215053 solver.cpp:471] Iteration 0, Testing net (#0)\n"
        "I0519 23:35:49.767159 215053 solver.cpp:581]     (0.0)    Test net output #0: accuracy = 0.0882353\n"
        "I0519 23:35:49.767199 215053 solver.cpp:581]     (0.0)    Test net output #1: loss = 2.3027 "
        "(* 1 = 2.3027 loss)\n"
        "I0519 23:35:50.068370 215053 solver.cpp:357] Iteration 0 (1.6 s), loss = 2.30193\n"
        "I0519 23:35:50.068375 215053 solver.cpp:358]     [0.0]     Train net output #0: loss = 2.30193 "
        "(* 1 = 2.30193 loss)\n")
    with run_log(log) as result:
        test = result.runs[0].test
        assert test.names == ["accuracy", "loss"]
        row = next(iter(test.records()))
        assert row.outputs == (0.0882353, 2.3027)
        assert result.runs[0].train.names == ["loss"]

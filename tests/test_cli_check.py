"""``caffemem check`` end to end: the JSON contract, the verdict and its exit codes, every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, need_shared

from caffemem.cli import main

NET = str(EXAMPLES / "small_train_val.prototxt")
SOLVER = str(EXAMPLES / "small_solver.prototxt")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_contract_keys() -> None:
    code, out, _ = run("check", SOLVER, "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert {"caffemem", "source", "nets", "footprint"} <= set(data)
    assert [n["phase"] for n in data["nets"]] == ["TRAIN", "TEST"]
    for net in data["nets"]:
        assert {"name", "phase", "memory_required_for_data", "params", "layers", "footprint"} <= set(net)
        for layer in net["layers"]:
            assert {"name", "type", "bottoms", "tops", "params", "bytes"} <= set(layer)
            assert all({"name", "shape"} <= set(t) for t in layer["tops"])
            assert all("shape" in p for p in layer["params"])
    fp = data["footprint"]
    # the example solver says solver_mode: GPU, which `caffe train` honours: so does caffemem
    assert fp["mode"] == "gpu" and fp["total_bytes"] == sum(fp["by_category"].values())
    assert fp["solver_type"] == "Adam"  # the solver's own type wins over --solver-type
    assert data["max_batch"] is None  # no budget given


def test_solver_type_changes_history() -> None:
    sizes = {}
    for stype in ("SGD", "Adam", "AdaDelta"):
        _, out, _ = run("check", NET, "--solver-type", stype, "--format", "json")
        sizes[stype] = json.loads(out)["footprint"]["by_category"]["solver_history"]
    assert sizes["Adam"] == 3 * sizes["SGD"] and sizes["AdaDelta"] == 4 * sizes["SGD"]  # CPU paths


def test_budget_verdict_exit_code_and_max_batch() -> None:
    code, out, _ = run("check", NET, "--batch", "512", "--mem", "40MiB", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["budget"]["fits"] is False
    best = data["max_batch"]
    assert best is not None and best >= 1
    # the batch it names fits, and one more does not
    code_ok, out_ok, _ = run("check", NET, "--batch", str(best), "--mem", "40MiB", "--format", "json")
    assert code_ok == 0 and json.loads(out_ok)["footprint"]["total_bytes"] <= 40 * 2**20
    code_no, _, _ = run("check", NET, "--batch", str(best + 1), "--mem", "40MiB")
    assert code_no == 1


def test_device_budget_headline() -> None:
    code, out, _ = run("check", NET, "--mode", "gpu", "--device", "GTX 1080 Ti")
    assert code == 0
    assert "on a GeForce GTX 1080 Ti (11.0 GiB): fits" in out


@pytest.mark.parametrize("fmt", ["table", "csv", "md", "html"])
def test_other_formats(fmt: str) -> None:
    code, out, _ = run("check", NET, "--format", fmt)
    assert code == 0
    marker = {"table": "Memory required for data", "csv": "memory_required_for_data",
              "md": "| category | bytes | size |", "html": "<!doctype html>"}[fmt]
    assert marker in out and "conv2" in out
    if fmt == "html":
        assert "http" not in out  # self-contained


def test_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.prototxt"
    bad.write_text('layer {\n  name: "x"\n  type: "ReLU"\n  bottom: "y"\n  top: "y"\n')
    code, out, err = run("check", str(bad))
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and f"{bad}:6:1" in err and "Traceback" not in err
    code, _, err = run("check", str(tmp_path / "missing.prototxt"))
    assert code == 2 and "no such file" in err
    code, _, err = run("check", NET, "--input", "data=3,a")
    assert code == 2 and "--input" in err


def test_seed_net_does_not_fit_in_2gib_and_says_what_would() -> None:
    shared = need_shared()
    seed = str(shared / "seed_logs" / "imagedata-conv-fc.prototxt")
    code, out, _ = run("check", seed, "--batch", "32", "--mem", "2GiB")
    assert code == 1
    assert "will not fit" in out and "not even at batch 1" in out
    assert "191,103,040" in out  # the InnerProduct's weights are named in the table


def test_mode_flag_overrides_the_solver() -> None:
    _, out, _ = run("check", SOLVER, "--mode", "cpu", "--format", "json")
    assert json.loads(out)["footprint"]["mode"] == "cpu"
    _, out, _ = run("check", NET, "--format", "json")  # no solver: the CPU, as `caffe train` defaults
    assert json.loads(out)["footprint"]["mode"] == "cpu"


def test_snapshot_copy_counts_in_cpu_mode_unless_the_solver_never_snapshots(tmp_path: Path) -> None:
    _, out, _ = run("check", NET, "--format", "json")
    data = json.loads(out)
    cats = data["footprint"]["by_category"]
    params = data["nets"][0]["params"]
    # SGD: the weights copy (the history copy is the same size), each array grown by doubling
    assert 4 * params <= cats["snapshot"] <= 3 * 4 * params  # small arrays: heap steps stay resident
    solver = tmp_path / "s.prototxt"
    solver.write_text(f'net: "{NET}"\nsnapshot_after_train: false\nsolver_mode: CPU\n')
    _, out, _ = run("check", str(solver), "--format", "json")
    assert "snapshot" not in json.loads(out)["footprint"]["by_category"]
    _, out, _ = run("check", NET, "--mode", "gpu", "--format", "json")
    assert "snapshot" not in json.loads(out)["footprint"]["by_category"]  # host side only


def test_a_log_given_to_check_says_what_it_is() -> None:
    code, _, err = run("check", str(EXAMPLES.parent / "sample_logs" / "imagedata-conv-fc-killed.log"))
    assert code == 2 and "this is a Caffe log" in err and "caffemem postmortem" in err


def test_no_verdict_on_a_net_that_could_not_be_analysed(tmp_path: Path) -> None:
    net = tmp_path / "py.prototxt"
    net.write_text('layer { name: "py" type: "Python" top: "data" python_param { module: "m" layer: "L" } }\n'
                   'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
                   'inner_product_param { num_output: 2 } }\n')
    code, out, _ = run("check", str(net))
    assert code == 0 and "INCOMPLETE" in out
    code, out, err = run("check", str(net), "--mem", "1GiB")
    assert code == 2 and "cannot say whether the run fits" in err and "'py' (Python)" in err
    code, out, _ = run("check", str(net), "--input", "data=8", "--batch", "4", "--mem", "1GiB")
    assert code == 0 and "fits" in out


def test_device_names_and_modes() -> None:
    code, out, _ = run("check", NET, "--device", "a100 80gb")
    assert code == 0 and "on an A100 80GB (80.0 GiB)" in out and "GPU" in out  # --device implies GPU mode
    code, _, err = run("check", NET, "--mode", "cpu", "--device", "T4")
    assert code == 2 and "needs GPU mode" in err
    code, _, err = run("check", NET, "--mode", "gpu", "--mem", "host")
    assert code == 2 and "--mem host" in err


def test_input_typos_are_errors() -> None:
    code, _, err = run("check", NET, "--input", "nope=1,28,28")
    assert code == 2 and "names no top" in err
    code, _, err = run("check", NET, "--input", "data=3,,227")
    assert code == 2 and "--input expects" in err


def test_largest_batch_respects_int_max() -> None:
    code, out, _ = run("check", NET, "--mem", "10TiB", "--format", "json")
    best = json.loads(out)["max_batch"]
    code, _, err = run("check", NET, "--batch", str(best))
    assert code == 0, err
    code, _, err = run("check", NET, "--batch", str(best + 1))
    assert code == 2 and "INT_MAX" in err

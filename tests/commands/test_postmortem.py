"""The post-mortem and the reconciler, end to end on the seed log and the oracle runs."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ROOT, SHARED, need_shared

from caffemem.cli import main

SEED_LOG = str(ROOT / "sample_logs" / "imagedata-conv-fc-killed.log")
IP_WEIGHTS = 64 * 64 * 216 * 216 + 64  # Layer3: InnerProduct 64 outputs over 64x216x216


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_seed_postmortem_from_the_log_alone() -> None:
    code, out, _ = run("postmortem", SEED_LOG)
    assert code == 0
    assert "killed by the system" in out and "no error line" in out and "iteration 0" in out
    assert "rebuilt from the log's shapes" in out
    assert f"Layer3 (InnerProduct, {IP_WEIGHTS:,} weights)" in out
    assert "weights 729.0 MiB + their gradient 729.0 MiB + solver history 729.0 MiB" in out
    assert "at batch 1 the same run needs" in out


def test_seed_postmortem_json_and_what_would_fit() -> None:
    code, out, _ = run("postmortem", SEED_LOG, "--mem", "2GiB", "--format", "json")
    data = json.loads(out)
    assert data["end"]["crash_kind"] == "killed" and data["end"]["iteration"] == 0
    big = data["consumers"][0]
    assert big["layer"] == "Layer3" and big["params"] == IP_WEIGHTS
    assert {k: big["bytes"][k] for k in ("weights", "weight_gradients", "solver_history")} == \
        {"weights": IP_WEIGHTS * 4, "weight_gradients": IP_WEIGHTS * 4, "solver_history": IP_WEIGHTS * 4}
    assert data["fits"] is False and data["max_batch"] is None  # 2 GiB is below even batch 1
    code, out, _ = run("postmortem", SEED_LOG, "--mem", "4GiB", "--format", "json")
    data = json.loads(out)
    assert data["fits"] is True and data["max_batch"] >= 32


def test_seed_postmortem_with_the_net_is_exact() -> None:
    shared = need_shared()
    net = str(shared / "seed_logs" / "imagedata-conv-fc.prototxt")
    code, out, _ = run("postmortem", SEED_LOG, "--net", net, "--format", "json")
    data = json.loads(out)
    assert data["net_origin"] == "given"
    # the net given is the one the oracle ran (with an ImageData layer: prefetch included)
    assert data["footprint"]["by_category"]["prefetch"] > 0


def test_cuda_out_of_memory_names_where_and_the_device() -> None:
    shared = need_shared()
    log = str(shared / "corpus" / "logs" / "ssd_jazzseow" / "VGG_VOC0712_SSD_300x300_test120000_gt750m_oom.log")
    code, out, _ = run("postmortem", log, "--device", "GTX 750 Ti")
    assert code == 0
    assert "CUDA ran out of GPU memory" in out and "during a test pass" in out
    assert "GPU memory" in out and "GeForce GTX 750 Ti (2.0 GiB)" in out and "does not fit" in out


ORACLE = sorted(glob.glob(str(SHARED / "oracle" / "*" / "caffe.log")))


@pytest.mark.parametrize("log", ORACLE, ids=[Path(p).parent.name for p in ORACLE])
def test_reconcile_finds_no_mismatch_on_oracle_runs(log: str) -> None:
    need_shared()
    solver = glob.glob(os.path.join(os.path.dirname(log), "*solver.prototxt"))[0]
    code, out, _ = run("reconcile", solver, log)
    assert code == 0, out
    assert "no mismatches" in out


def test_reconcile_marks_a_different_batch() -> None:
    shared = need_shared()
    case = shared / "oracle" / "lenet-b64-sgd"
    solver = glob.glob(str(case / "*solver.prototxt"))[0]
    code, out, _ = run("reconcile", solver, str(case / "caffe.log"), "--batch", "32", "--format", "json")
    assert code == 1
    data = json.loads(out)
    statuses = {c["name"]: c["status"] for c in data["nets"][0]["layers"]}
    assert statuses["conv1"] == "shape mismatch"


def test_big_net_with_cut_echo_falls_back_to_logged_shapes(tmp_path: Path) -> None:
    shared = need_shared()
    log = tmp_path / "caffe.log"  # alone: the net its solver names is not beside it
    log.write_bytes((shared / "oracle" / "googlenet-b8-sgd" / "caffe.log").read_bytes())
    code, out, err = run("postmortem", str(log))
    assert code == 0, err
    assert "rebuilt from the log's shapes" in out and "could not be read" in out


def test_wrong_net_is_flagged() -> None:
    shared = need_shared()
    caffenet = glob.glob(str(shared / "oracle" / "caffenet-b16-sgd" / "*.runnable.prototxt"))[0]
    code, out, _ = run("postmortem", str(shared / "oracle" / "googlenet-b8-sgd" / "caffe.log"), "--net", caffenet)
    assert code == 0 and "does not match the log's TRAIN net" in out


def test_reconcile_needs_a_net_set_up_in_the_log(tmp_path: Path) -> None:
    log = tmp_path / "empty.log"
    log.write_text("I0101 00:00:00.000000  1 caffe.cpp:1] Use CPU.\n")
    code, _, err = run("reconcile", str(ROOT / "examples" / "small_train_val.prototxt"), str(log))
    assert code == 2 and "no net set-up" in err


def test_seed_log_alone_recognises_imagedata_and_the_test_pass() -> None:
    code, out, _ = run("postmortem", SEED_LOG, "--format", "json")
    data = json.loads(out)
    assert any("Layer1: ImageData" in g for g in data["guesses"])
    assert data["footprint"]["by_category"]["prefetch"] > 0  # ImageData's prefetch batches
    assert any("test passes" in g for g in data["guesses"])

"""caffemem against the real Caffe: every Top shape and Memory required for data, and the peak RSS."""

from __future__ import annotations

import glob
import json
import os
import statistics
from pathlib import Path

import pytest
from conftest import SHARED, need_shared

from caffemem.commands.check import run_check

CASES = sorted(glob.glob(str(SHARED / "oracle" / "*" / "case.json")))
INFERENCE = sorted(glob.glob(str(SHARED / "oracle-inference" / "*" / "case.json")))


def _solver(case_json: str) -> str:
    found = glob.glob(os.path.join(os.path.dirname(case_json), "*solver.prototxt"))
    assert len(found) == 1
    return found[0]


def _check_training(case_json: str):
    case = json.load(open(case_json))
    return case, run_check(_solver(case_json), mode="cpu")


@pytest.mark.parametrize("case_json", CASES, ids=[Path(c).parent.name for c in CASES])
def test_shapes_and_data_memory_match_caffe_exactly(case_json: str) -> None:
    need_shared()
    case, result = _check_training(case_json)
    nets = result.analysis.nets
    assert [n.phase_name for n in nets] == [n["phase"] for n in case["nets"]]
    for net, want in zip(nets, case["nets"], strict=True):
        got = [(layer.name, [list(s) for s in layer.top_shapes]) for layer in net.layers]
        assert got == [(layer["name"], layer["tops"]) for layer in want["layers"]]
        assert net.memory_required_for_data == want["memory_required_for_data"]


@pytest.mark.parametrize("case_json", CASES, ids=[Path(c).parent.name for c in CASES])
def test_cpu_footprint_within_3_percent_of_measured_peak(case_json: str) -> None:
    need_shared()
    case, result = _check_training(case_json)
    error = (result.footprint.total_bytes - case["peak_rss_bytes"]) / case["peak_rss_bytes"]
    assert abs(error) <= 0.03, f"{error:+.2%}"


def test_median_footprint_error_is_at_most_1_5_percent() -> None:
    need_shared()
    errors = []
    for case_json in CASES:
        case, result = _check_training(case_json)
        errors.append(abs(result.footprint.total_bytes - case["peak_rss_bytes"]) / case["peak_rss_bytes"])
    assert statistics.median(errors) <= 0.015


@pytest.mark.parametrize("case_json", INFERENCE, ids=[Path(c).parent.name for c in INFERENCE])
def test_forward_only_run_with_weights_within_3_percent(case_json: str, tmp_path: Path) -> None:
    need_shared()
    import subprocess
    import sys

    case = json.load(open(case_json))
    shapes = tmp_path / "shapes.json"
    shapes.write_text(json.dumps(case["weights_layers"]))
    weights = tmp_path / "w.caffemodel"
    subprocess.run([sys.executable, str(SHARED / "tools" / "standin_weights.py"), str(shapes), str(weights)],
                   check=True)
    net = glob.glob(os.path.join(os.path.dirname(case_json), "*.prototxt"))[0]
    result = run_check(net, phase="TEST", mode="cpu", weights=str(weights))
    assert [n.memory_required_for_data for n in result.analysis.nets] == \
        [n["memory_required_for_data"] for n in case["nets"]]
    error = (result.footprint.total_bytes - case["peak_rss_bytes"]) / case["peak_rss_bytes"]
    assert abs(error) <= 0.03, f"{error:+.2%}"

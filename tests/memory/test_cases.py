"""caffemem against small runs of the real Caffe, kept as case folders (net, solver, case.json).

Each ``tests/memory/cases/NAME/case.json`` records what one real ``caffe train``/``caffe test`` run
showed (``bench/run_caffe.sh`` then ``bench/save_case.py``): its peak RSS and each net's last
"Memory required for data". caffemem must give the latter exactly and the former within a few
percent (small nets: within 1 MiB plus the run-to-run noise).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from caffemem.commands.check import run_check
from caffemem.memory.loading import loading_extra, parse_peak

CASES = Path(__file__).parent / "cases"
ALL = sorted(p.name for p in CASES.iterdir() if (p / "case.json").is_file())
#: Relative tolerance on the peak, and the absolute floor for small nets.
REL, ABS = 0.02, 1.2 * 2**20


def load(name: str) -> dict:
    return json.loads((CASES / name / "case.json").read_text())


def _unpacked(name: str) -> Path:
    """The case folder, or a scratch copy with its gzipped nets unpacked (big corpus nets)."""
    folder = CASES / name
    if not any(p.suffix == ".gz" for p in folder.iterdir()):
        return folder
    import gzip
    import shutil
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix=f"case-{name}-"))
    for p in folder.iterdir():
        if p.suffix == ".gz":
            (scratch / p.stem).write_bytes(gzip.decompress(p.read_bytes()))
        else:
            shutil.copy(p, scratch / p.name)
    return scratch


def check(name: str):
    case = load(name)
    folder = _unpacked(name)
    if case["command"] == "test":
        return case, run_check(str(folder / case["files"][0]), phase="TEST", mode="cpu")
    return case, run_check(str(folder / "solver.prototxt"), mode="cpu")


def predicted_peak(case: dict, result) -> int:
    """The run's peak; for ``caffe test -weights`` the weights file's parse as its arrays lie."""
    total = result.footprint.total_bytes
    if case.get("weights_arrays"):
        arrays = [tuple(a) for a in case["weights_arrays"]]
        total += loading_extra(result.analysis.nets, result.footprint, parse_peak(arrays))
    return total


@pytest.mark.parametrize("name", ALL)
def test_memory_required_for_data_exact(name):
    case, result = check(name)
    got = [(net.phase_name, net.memory_required_for_data) for net in result.analysis.nets]
    assert got == [(n["phase"], n["memory_required_for_data"]) for n in case["nets"]]


@pytest.mark.parametrize("name", ALL)
def test_peak_within_tolerance(name):
    case, result = check(name)
    want, got = case["peak_rss_bytes"], predicted_peak(case, result)
    assert abs(got - want) <= max(REL * want, ABS), f"{name}: caffemem {got:,} vs Caffe {want:,} ({case['note']})"


@pytest.mark.parametrize("name", [n for n in ALL if "roles" in load(n)])
def test_roles(name):
    case, result = check(name)
    assert [fp.role for fp in result.footprint.nets] == case["roles"]
    assert all(fp.role_reason for fp in result.footprint.nets)


def test_force_backward_net_file_is_trained_unless_test_phase_asked():
    net = str(CASES / "deploy-fb-state-test" / "net.prototxt")  # force_backward, state { phase: TEST }, no loss
    assert [fp.role for fp in run_check(net, mode="cpu").footprint.nets] == ["train"]
    assert [fp.role for fp in run_check(net, phase="TEST", mode="cpu").footprint.nets] == ["inference"]


def test_infogain_softmax_axis_does_not_count_labels():
    # The real Caffe fails this net (softmax_param.axis 2, infogain axis 1): 10 predictions vs 6 labels
    from caffemem.errors import CaffememError

    with pytest.raises(CaffememError, match="infogain axis"):
        run_check(str(CASES / "infogain-axis" / "softmax-axis-refused.prototxt"), mode="cpu")

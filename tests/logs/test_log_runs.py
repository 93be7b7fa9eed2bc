"""Run splitting, nets and phases, the training curve, and the end of each run."""

from __future__ import annotations

import math
from pathlib import Path

from caffemem.logs import read_log
from caffemem.logs.reader import iter_events

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "sample_logs" / "imagedata-conv-fc-killed.log"


def test_seed_log_killed_at_iteration_0() -> None:
    report = read_log(SEED)
    assert len(report.runs) == 1
    run = report.runs[0]
    end = run.end
    assert (end.status, end.crash_kind, end.iteration, end.phase) == ("crashed", "killed", 0, "train")
    assert end.last_lines[-1] == "Killed"
    net = run.nets[0]
    assert [layer.name for layer in net.layers] == ["Layer1", "Layer2", "Layer3", "loss"]
    assert net.layers[0].tops[0].shape == [32, 3, 224, 224]
    assert net.layers[-1].tops[0].shape == [] and net.layers[-1].tops[0].loss_weight == 1.0
    assert net.memory_required_for_data == 401481860
    assert list(run.train.iteration) == [0] and list(run.train.lr) == [0.0001]


def test_two_runs_split_on_new_process() -> None:
    report = read_log(FIXTURES / "two_runs.log")
    assert len(report.runs) == 2
    first, second = report.runs
    assert first.end.status == "crashed" and first.end.crash_kind == "cuda_out_of_memory"
    assert first.end.phase == "test" and first.end.iteration == 2
    assert "out of memory" in (first.end.message or "")
    assert second.end.status == "finished"
    assert second.first_line == first.last_line + 1
    assert [n.phase for n in first.nets] == ["TRAIN"] and first.nets[0].phase_source == "echoed"
    assert [n.phase for n in second.nets] == ["TRAIN"] and second.nets[0].phase_source == "inferred"
    assert first.nets[0].memory_required_for_data == 56
    assert second.nets[0].memory_required_for_data == 12


def test_training_curve() -> None:
    first, second = read_log(FIXTURES / "two_runs.log").runs
    rows = list(first.train.rows())
    assert [r[0] for r in rows] == [0, 1]
    assert [r[3] for r in rows] == [2.5, 2.25]  # smoothed loss
    assert list(first.train.outputs) == ["ip"]
    assert [r[5] for r in rows] == [2.5, 2.0]
    assert abs(rows[1][1] - 2.0001) < 1e-6  # seconds since "Solving"
    test = list(first.test.rows())
    assert [(r[0], r[4]) for r in test] == [(2, 0)]
    losses = list(second.train.loss)
    assert losses[0] == 1.5 and math.isnan(losses[1]) and losses[2] == 1.25
    assert math.isnan(list(second.train.lr)[2])  # the last "Iteration N, loss" has no lr line


def test_2014_memory_form_and_legacy_scalar_shape() -> None:
    report = read_log(FIXTURES / "old_2014.log")
    net = report.runs[0].nets[0]
    assert net.memory_required_for_data == 61834804
    assert net.layers[1].tops[0].shape == [1, 1, 1, 1]
    assert report.counts == {**report.counts, "top_shape": 2, "memory_required_for_data": 1}


def _log(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "x.log"
    path.write_text(text)
    return path


SETUP = """I0101 00:00:00.000000  100 net.cpp:100] Creating Layer data
I0101 00:00:00.000001  100 net.cpp:408] data -> data
I0101 00:00:00.000002  100 net.cpp:150] Setting up data
I0101 00:00:00.000003  100 net.cpp:157] Top shape: 2 3 (6)
I0101 00:00:00.000004  100 net.cpp:165] Memory required for data: 24
I0101 00:00:00.000005  100 net.cpp:100] Creating Layer conv1
I0101 00:00:00.000006  100 net.cpp:434] conv1 <- data
"""


def test_crash_during_layer_setup(tmp_path: Path) -> None:
    text = SETUP + ("F0101 00:00:00.000007  100 conv_layer.cpp:10] Check failed: num_output_ > 0\n"
                    "*** Check failure stack trace: ***\n    @ 0x1 caffe::Net<>::Init()\n"
                    "Aborted (core dumped)\n")
    end = read_log(_log(tmp_path, text)).runs[0].end
    assert (end.status, end.crash_kind, end.phase, end.layer) == ("crashed", "fatal_error", "setup", "conv1")
    assert end.where() == "during set-up of layer conv1"


def test_crash_kinds_from_shell_and_runtime(tmp_path: Path) -> None:
    cases = {
        "Segmentation fault (core dumped)": "segfault",
        "terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc": (
            "host_out_of_memory"),
        "*** Aborted at 1 (unix time) try \"date -d @1\" if you are using GNU date ***\n"
        "*** SIGINT (@0x1) received by PID 1 (TID 0x1) from PID 2; stack trace: ***": "terminated",
        "terminate called after throwing an instance of 'cv::Exception'\nAborted (core dumped)": "aborted",
        "Killed": "killed",
        "F0101 00:00:01.000000  100 syncedmem.cpp:71] Check failed: *ptr host allocation of size 123 failed"
        " std::bad_alloc": "host_out_of_memory",
    }
    for tail, kind in cases.items():
        end = read_log(_log(tmp_path, SETUP + tail + "\n")).runs[0].end
        assert (end.status, end.crash_kind) == ("crashed", kind), tail


def test_no_glog_at_all_is_other_crash(tmp_path: Path) -> None:
    text = "./build/tools/caffe: error while loading shared libraries: libcudart.so.7.5: cannot open\n"
    end = read_log(_log(tmp_path, text)).runs[0].end
    assert (end.status, end.crash_kind) == ("crashed", "other")


def test_ide_banner_before_glog_is_not_a_crash(tmp_path: Path) -> None:
    text = "/usr/bin/caffe train --solver=s.prototxt (error handling: default)\n" + SETUP
    end = read_log(_log(tmp_path, text)).runs[0].end
    assert end.status == "cut_off"


def test_new_header_starts_new_run(tmp_path: Path) -> None:
    header = "Log file created at: 2014/10/25 15:36:57\nRunning on machine: m\n"
    report = read_log(_log(tmp_path, header + SETUP + header + SETUP))
    assert len(report.runs) == 2
    assert report.counts["top_shape"] == 2


def test_phase_from_creating_test_net(tmp_path: Path) -> None:
    text = ("I0101 00:00:00.000000  100 solver.cpp:48] Initializing solver from parameters: \nbase_lr: 0.1\n"
            + SETUP.replace("conv1", "ip")
            + "I0101 00:00:00.000009  100 net.cpp:283] Network initialization done.\n"
            "I0101 00:00:00.000010  100 solver.cpp:190] Creating test net (#0) specified by net file: n\n"
            + SETUP)
    nets = read_log(_log(tmp_path, text)).runs[0].nets
    assert [(n.phase, n.phase_source) for n in nets] == [("TRAIN", "inferred"), ("TEST", "inferred")]


def test_bulk_and_line_paths_agree_around_stretches(tmp_path: Path) -> None:
    """A long stretch of training blocks between a test pass and a crash reads the same both ways."""
    lines = [SETUP.rstrip("\n"),
             "I0101 00:00:00.000010  100 net.cpp:283] Network initialization done.",
             "I0101 00:00:01.000000  100 solver.cpp:279] Solving Tiny"]
    for it in range(40):
        if it == 20:
            lines.append(f"I0101 00:00:02.000000  100 solver.cpp:337] Iteration {it}, Testing net (#0)")
            lines.append("I0101 00:00:02.100000  100 solver.cpp:404]     Test net output #0: acc = 0.5")
        lines.append(f"I0101 00:00:{10 + it:02d}.250000  100 solver.cpp:228] Iteration {it}, loss = {it / 7:.6g}")
        lines.append(f"I0101 00:00:{10 + it:02d}.250001  100 solver.cpp:244]     Train net output #0: "
                     f"loss = {it / 9:.6g} (* 1 = {it / 9:.6g} loss)")
        lines.append(f"I0101 00:00:{10 + it:02d}.250002  100 solver.cpp:244]     Train net output #1: acc = 0.25")
        lines.append(f"I0101 00:00:{10 + it:02d}.250003  100 sgd_solver.cpp:106] Iteration {it}, lr = 0.01")
    lines.append("I0101 00:01:00.000000  100 solver.cpp:337] Iteration 40, Testing net (#0)")
    lines.append("Killed")
    path = _log(tmp_path, "\n".join(lines) + "\n")
    fast, slow = read_log(path), read_log(path, bulk=False)
    with open(path, "rb") as stream:
        kinds = [event.kind for _, event in iter_events(stream)]
    assert kinds.count("train_batch") == 2  # the stretches before and after the test pass

    def rows(table: object) -> list[tuple[object, ...]]:
        return [tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in row)
                for row in table.rows()]  # type: ignore[attr-defined]

    for a, b in ((fast.runs[0], slow.runs[0]),):
        assert rows(a.train) == rows(b.train) and len(a.train) == 40
        assert rows(a.test) == rows(b.test) and len(a.test) == 2
        assert list(a.tail) == list(b.tail) and a.last_line == b.last_line
        assert a.end == b.end and a.end.phase == "test" and a.end.iteration == 40
    assert fast.counts == slow.counts


def test_pre_rc3_memory_line_after_nested_net(tmp_path: Path) -> None:
    """Before rc3 each net logs one total after "Network initialization done." — a nested
    (unrolled LSTM) net's total must not land on the outer net or its layer."""
    p = "I0303 14:57:34.000000 28889 net.cpp:"
    text = "\n".join([
        f"{p}42] Initializing net from parameters: ", "state {", "  phase: TRAIN", "}",
        f"{p}84] Creating Layer lstm1", f"{p}381] lstm1 <- x", f"{p}339] lstm1 -> lstm1",
        f"{p}113] Setting up lstm1",
        f"{p}42] Initializing net from parameters: ", 'input: "x"',
        f"{p}84] Creating Layer inner", f"{p}113] Setting up inner", f"{p}120] Top shape: 2 3 (6)",
        f"{p}218] Network initialization done.", f"{p}219] Memory required for data: 24",
        f"{p}120] Top shape: 5 4 (20)",
        f"{p}218] Network initialization done.", f"{p}219] Memory required for data: 104",
    ]) + "\n"
    nets = read_log(_log(tmp_path, text)).runs[0].nets
    assert [(n.phase, n.nested_in, n.memory_required_for_data) for n in nets] == [
        ("TRAIN", None, 104), (None, "lstm1", 24)]
    assert nets[0].layers[0].tops[0].shape == [5, 4]
    assert nets[0].layers[0].memory_required_for_data is None

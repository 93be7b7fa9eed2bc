"""The grammar (glog.lark) reads every message kind caffemem uses, and the fast paths agree with it."""

from __future__ import annotations

import pytest
from log_helpers import same

from caffemem.logs import grammar
from caffemem.logs.lines import PREFIX_RE, classify, fast_snapshot_line, fast_solver_line

MESSAGES = [
    ("Initializing net from parameters: ", "net_init", ()),
    ("Creating layer conv1", "creating_layer", ("conv1",)),
    ("Creating Layer conv1", "creating_layer_net", ("conv1",)),
    ("conv1 <- data", "bottom", ("conv1", "data")),
    ("conv1 -> conv1", "top", ("conv1", "conv1", False)),
    ("relu1 -> ip1 (in-place)", "top", ("relu1", "ip1", True)),
    ("Setting up conv1", "setting_up", ("conv1",)),
    ("Top shape: 64 1 28 28 (50176)", "top_shape", ((64, 1, 28, 28), 50176)),
    ("Top shape: (1)", "top_shape", ((), 1)),
    ("Top shape: 1 1 1 1 (1)", "top_shape", ((1, 1, 1, 1), 1)),
    ("TRAIN Top shape for layer 0 'mnist' 64 (64)", "top_shape", ((64,), 64, "TRAIN", 0, "mnist")),
    ("Memory required for data: 5169924", "memory_data", (5169924, False)),
    ("Memory required for Data 61834804", "memory_data", (61834804, True)),
    ("    with loss weight 1", "loss_weight", (1.0,)),
    ("loss needs backward computation.", "needs_backward", ("loss",)),
    ("mnist does not need backward computation.", "no_backward", ("mnist",)),
    ("This network produces output accuracy", "produces_output", ("accuracy",)),
    ("Network initialization done.", "net_done", ()),
    ("Sharing parameters 'w' owned by layer 'a', param index 0", "sharing_parameters",
     ("'w' owned by layer 'a', param index 0",)),
    ("Initializing solver from parameters: ", "solver_init", ()),
    ("Creating test net (#0) specified by net file: x.prototxt", "creating_test_net",
     ("(#0) specified by net file: x.prototxt",)),
    ("Solving LeNet", "solving", ("LeNet",)),
    ("Learning Rate Policy: inv", "lr_policy", ("inv",)),
    ("Iteration 100 (9.2 iter/s, 10.8s/100 iters), loss = 0.2", "iteration_loss", (100, 0.2, 9.2, 10.8, 100)),
    ("Iteration 0, loss = 2.3", "iteration_loss", (0, 2.3, None, None, None)),
    ("Iteration 500, Testing net (#0)", "testing_net", (500, 0)),
    ("Iteration 100, lr = 0.00992565", "iteration_lr", (100, 0.00992565)),
    ("    Train net output #0: loss = 0.18 (* 1 = 0.18 loss)", "train_output", (0, "loss", 0.18, 1.0, 0.18)),
    ("    Test net output #1: accuracy/top-5 = 0.9", "test_output", (1, "accuracy/top-5", 0.9, None, None)),
    ("Test score #0: 0.98", "test_score", (0, 0.98)),
    ("Snapshotting to binary proto file x_iter_5000.caffemodel", "snapshot",
     ("to binary proto file x_iter_5000.caffemodel",)),
    ("Optimization Done.", "optimization_done", ()),
    ("Using GPUs 0, 1", "using_gpus", ("0, 1",)),
    ("GPU 1: GeForce GTX 1080", "gpu_name", (1, "GeForce GTX 1080")),
    ("Check failed: error == cudaSuccess (2 vs. 0)  out of memory", "check_failed",
     ("error == cudaSuccess (2 vs. 0)  out of memory",)),
    ("[0.0] Iteration 3 (0.05 s), loss = 2.3", "iteration_loss", (3, 2.3, None, 0.05, 1)),
    ("Loss: 0.25", "test_loss", (0.25,)),
    ("*** Benchmark ends ***", "benchmark_done", ()),
]


@pytest.mark.parametrize(("message", "kind", "values"), MESSAGES)
def test_message_kinds(message: str, kind: str, values: tuple[object, ...]) -> None:
    assert grammar.parse_message(message) == (kind, values)


FOREIGN = [
    ("Log file created at: 2014/10/25 15:36:57", "header_created"),
    ("Running on machine: box", "header_machine"),
    ("Log line format: [IWEF]mmdd hh:mm:ss.uuuuuu threadid file:line] msg", "header_format"),
    ("Killed", "shell_killed"),
    ("Aborted (core dumped)", "shell_aborted"),
    ("Segmentation fault (core dumped)", "shell_segfault"),
    ("*** Check failure stack trace: ***", "stack_trace_start"),
    ("    @     0x7f45f4e87ff0  caffe::SyncedMemory::to_gpu()", "stack_frame"),
    ("*** SIGTERM (@0x3e8) received by PID 1 (TID 0x7f) from PID 2; stack trace: ***", "signal_received"),
    ("terminate called after throwing an instance of 'std::bad_alloc'", "bad_alloc"),
    ("terminate called after throwing an instance of 'cv::Exception'", "terminate_called"),
]


@pytest.mark.parametrize(("line", "kind"), FOREIGN)
def test_foreign_lines(line: str, kind: str) -> None:
    found = grammar.parse_line(line)
    assert found is not None and found[0] == kind


@pytest.mark.parametrize("line", ["", "random shell output", "I0817 no prefix here", "\x00\ufffd\ufffd"])
def test_unknown_lines_are_not_errors(line: str) -> None:
    assert classify(line).kind == "unknown"


@pytest.mark.parametrize("line", [
    "I0817 21:32:48.073011 11306 net.cpp:156] Memory required for data: 19267712",
    "I20261122 16:00:04.391863 26521 net.cpp:139] Top shape: (1)",
    "F0604 20:56:03.521221   844 syncedmem.cpp:56] Check failed: error == cudaSuccess (2 vs. 0) oom",
    "I0525 19:26:05.923441  4407 caffe.cpp:185] Using GPUs 0",
])
def test_prefix_regex_agrees_with_grammar(line: str) -> None:
    m = PREFIX_RE.match(line)
    found = grammar.parse_line(line)
    assert m is not None and found is not None and found[0] == "glog"
    assert found[1][0] == line[:m.end()].rstrip()
    event = classify(line)
    assert event.severity == line[0]
    assert (event.kind, event.values) == found[1][1]


@pytest.mark.parametrize("message", [m for m, kind, _ in MESSAGES if kind in (
    "iteration_loss", "iteration_lr", "testing_net", "train_output", "test_output")] + [
    "Iteration 7, loss = nan", "Iteration 7, loss = -nan",
    "    Test net output #2: loss: x = -1 (* 1 = -1 loss)",
    "Iteration 12 (-0.5 iter/s, 3s/20 iter), loss = -4e-05",
])
def test_fast_path_matches_grammar(message: str) -> None:
    fast = fast_solver_line(message)
    slow = grammar.parse_message(message)
    assert fast is None or same(fast, slow)


@pytest.mark.parametrize("message", [
    "Snapshotting to binary proto file snapshots/net_iter_1000.caffemodel",
    "Snapshotting solver state to binary proto file snapshots/net_iter_1000.solverstate",
    "Snapshotting to HDF5 file x.h5", "  Snapshotting  to  x ", "Snapshotting\tto x", "Snapshotting ",
    "Snapshotting", "Snapshotting \r", "Snapshotting: to x", "Snapshotting to x\r",
])
def test_snapshot_fast_path_matches_grammar(message: str) -> None:
    stripped = message.lstrip()
    if stripped.split(" ", 1)[0] != "Snapshotting":
        return
    assert fast_snapshot_line(stripped) == grammar.parse_message(message)

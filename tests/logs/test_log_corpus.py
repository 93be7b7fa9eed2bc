"""Every shared log reads; captured line counts equal grep's; crashed logs get the right crash kind.

Needs ../shared (the development material beside the repository); skipped without it.
The expected ends were decided by reading each log's tail (see the comments).
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SHARED
from log_helpers import same

from caffemem.logs import grammar, read_log
from caffemem.logs.lines import PREFIX_RE, fast_snapshot_line, fast_solver_line

CORPUS = SHARED / "corpus" / "logs"

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared corpus not present")


def _all_logs() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    found = sorted(p for p in CORPUS.rglob("*") if p.is_file())
    found += sorted((SHARED / "oracle").glob("*/caffe.log"))
    found += sorted((SHARED / "oracle-inference").glob("*/caffe.log"))
    return found


def _grep_count(path: Path, pattern: str) -> int:
    """What a plain `grep -c PATTERN FILE` prints (the real grep when there is one)."""
    grep = shutil.which("grep")
    if grep is not None:
        done = subprocess.run([grep, "-c", pattern, str(path)], capture_output=True, text=True, check=False)
        if done.returncode in (0, 1):
            return int(done.stdout.strip() or 0)
    regex = re.compile(pattern.encode())
    return sum(1 for line in path.read_bytes().split(b"\n") if regex.search(line))


LOGS = _all_logs()


@pytest.mark.parametrize("path", LOGS, ids=[str(p.relative_to(SHARED)) for p in LOGS])
def test_counts_equal_grep(path: Path) -> None:
    report = read_log(path)
    try:
        assert report.counts["top_shape"] == _grep_count(path, "Top shape")
        # Every spelling: "Memory required for data: N", the 2014 "Memory required for Data N" and
        # NVCaffe's "Top memory (TRAIN) required for data: N diff: N" (issue 11 has these counted).
        assert report.counts["memory_required_for_data"] == \
            _grep_count(path, "Memory required for [dD]ata") + _grep_count(path, "Top memory (.*) required for data")
    finally:
        report.close()


# (relative path, [(status, crash_kind, phase, iteration, layer) per run]); None = not checked.
CRASHED = [
    # dies at the first backward of iteration 0 (PoolingLayer Backward_gpu OOM), then a full rerun
    ("caffenet_benchmark/SqueezeNet128_new_solver.log",
     [("crashed", "cuda_out_of_memory", "train", None, None), ("finished", None, None, 170000, None)]),
    # five restarts; the third dies in Solver::Test at iteration 40000 (CuDNNConvolution OOM)
    ("caffenet_benchmark/caffenet_299.log",
     [("finished", None, None, 27520, None), ("finished", None, None, 39620, None),
      ("crashed", "cuda_out_of_memory", "test", 40000, None), ("finished", None, None, 91180, None),
      ("finished", None, None, 103820, None)]),
    # "*** SIGTERM ... received" after iteration 1620
    ("caffenet_benchmark/LAB.log", [("crashed", "terminated", "train", 1620, None)]),
    # the binary never started: "error while loading shared libraries"
    ("caffenet_benchmark/caffenet128_lsuv_adaadam_sharedlib_error.log",
     [("crashed", "other", None, None, None)]),
    # F-line: mean file not found while setting up the data layer
    ("yindaz_caffe_2014/caffe.INFO.20141025-153657.31294",
     [("crashed", "fatal_error", "setup", None, "data")]),
    ("yindaz_caffe_2014/caffe.FATAL.20141025-153657.31294", [("crashed", "fatal_error", None, None, None)]),
    # F-line: NetParameter file does not parse
    ("lstm_cf_deeplab/caffe.bin.INFO.20160303-152018.15941", [("crashed", "fatal_error", None, None, None)]),
    ("lstm_cf_deeplab/caffe.bin.FATAL.20160303-152018.15941", [("crashed", "fatal_error", None, None, None)]),
    # LOG(FATAL) "Cannot write to snapshot prefix" in Solver::Init, before any net
    ("lifeng14_caffe/lenet_train_crash_snapshot_prefix.log",
     [("crashed", "fatal_error", "setup", None, None)]),
    # data-reader thread (other thread id): lmdb open fails while the data layer is set up
    ("ssd_tolotrasamuel/VGG_VOC0712_SSD_300x300.log", [("crashed", "fatal_error", "setup", None, "data")]),
    # Check failed: label < num_classes in the first forward after Solving
    ("ssd_lizh0019/VGG_WIDERFACE_2016_SSD_300x300.log", [("crashed", "fatal_error", "train", None, None)]),
    # cv::Exception in the data thread: terminate called / SIGABRT while the main thread sets up layers
    ("ssd_dakeli/VGG_SSD_300x300.log", [("crashed", "aborted", "setup", None, "conv3_2")]),
    # data_reader.cpp Check failed from another thread, during data layer set-up
    ("ssd_shangzw12/VGG_tbs_HSIL_SSD_300x300_data_reader_crash.log",
     [("crashed", "fatal_error", "setup", None, "data")]),
    # resumed, then OOM in BatchNormLayer Backward_gpu at the first step
    ("ssd_rocksat_resnet/ResNet_VOC0712_SSD_300x300.log",
     [("crashed", "cuda_out_of_memory", "train", None, None)]),
    # OOM in ConvolutionLayer Forward_gpu inside Solver::TestDetection at iteration 0
    ("ssd_jazzseow/VGG_VOC0712_SSD_300x300_test120000_gt750m_oom.log",
     [("crashed", "cuda_out_of_memory", "test", 0, None)]),
    # test-net set-up: DetectionEvaluate cannot open its name size file
    ("ssd_rocksat_mobilenet/caffe.asggpgpu2.asgdemo.log.INFO.20170907-134036.23688",
     [("crashed", "fatal_error", "setup", None, "detection_eval")]),
    # Check failed in SGDSolver::RestoreSolverStateFromBinaryProto (history size), before Solving
    ("ssd_honorpeter/VGG_MELON_SSD_300x300.log", [("crashed", "fatal_error", "setup", None, None)]),
]


@pytest.mark.parametrize(("name", "expected"), CRASHED, ids=[c[0] for c in CRASHED])
def test_crashed_logs(name: str, expected: list[tuple[object, ...]]) -> None:
    report = read_log(CORPUS / name)
    got = [(r.end.status, r.end.crash_kind, r.end.phase, r.end.iteration, r.end.layer) for r in report.runs]
    assert got == expected


def test_rocksat_mobilenet_crash_is_in_the_test_net() -> None:
    end = read_log(CORPUS / CRASHED[15][0]).runs[0].end
    assert end.net_phase == "TEST"


FINISHED = ["lifeng14_caffe/lenet_train_complete.log", "caffenet_benchmark/caffenet128_lsuv_bs1024.log",
            "caffenet_benchmark/SqueezeNet224_2gpu_new_solver.log", "digits_healthcare/caffe_output.log",
            "digits_robotic_inference/caffe_output.log", "joint_hashing/cifar10_log.txt",
            "nvcaffe/alexnet_mfp16.log", "nvcaffe/mnist_train.log", "nvcaffe/train_with_nccl.log",
            "yindaz_caffe_2014/caffe.INFO.20141025-144645.21849", "caffe_regression_qiexing/caffe.log",
            # `caffe test`: ends with "Loss: 0" and the mean outputs
            "lstm_cf_deeplab/caffe.bin.INFO.20160303-152357.20004"]
CUT_OFF = ["caffenet_benchmark/caffenet128_bn_after_tanh_again_05_TRUNCATED16K.log",
           "bvlc_caffe_pr_fork/train_lenet_cpu_truncated.log", "ssd_qiangxie/VGG_VOC0712_SSD_300x300.log",
           "lstm_cf_deeplab/caffe.bin.INFO.20160303-145731.28889",
           "amd_opencl_caffe/caffe.AMD-RESEARCH.yugao.log.INFO.20150906-135805.16515",
           "jirenjin_training_experiments/caffe.jin-PC.jin.log.INFO.20150704-174847.25106"]


@pytest.mark.parametrize("name", FINISHED)
def test_finished_logs(name: str) -> None:
    assert [r.end.status for r in read_log(CORPUS / name).runs] == ["finished"]


@pytest.mark.parametrize("name", CUT_OFF)
def test_cut_off_logs(name: str) -> None:
    assert [r.end.status for r in read_log(CORPUS / name).runs] == ["cut_off"]


def test_oracle_logs_finish_with_train_and_test_nets() -> None:
    for path in sorted((SHARED / "oracle").glob("*/caffe.log")):
        runs = read_log(path).runs
        assert len(runs) == 1 and runs[0].end.status == "finished", path
        assert runs[0].nets[0].phase == "TRAIN" and runs[0].nets[0].phase_source == "echoed"


def test_fast_solver_path_agrees_with_grammar_on_corpus() -> None:
    """Every line the regex fast path takes gets exactly what the lark grammar would give."""
    checked = snapshots = 0
    for path in LOGS:
        for raw in path.read_bytes().split(b"\n"):
            line = raw.decode("utf-8", "replace").rstrip("\r")
            m = PREFIX_RE.match(line)
            if m is None:
                continue
            message = line[m.end():]
            stripped = message.lstrip()
            if stripped.split(" ", 1)[0] == "Snapshotting":
                assert fast_snapshot_line(stripped) == grammar.parse_message(message), line
                snapshots += 1
            fast = fast_solver_line(message)
            if fast is None:
                continue
            assert same(fast, grammar.parse_message(message)), line
            checked += 1
    assert checked > 10000 and snapshots > 10


def _summary(path: Path, bulk: bool) -> list[object]:
    report = read_log(path, bulk=bulk)
    out: list[object] = [report.counts]
    for run in report.runs:
        rows = [tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in row)
                for row in run.train.rows()]
        out.append((run.first_line, run.last_line, list(run.train.outputs), rows, list(run.tail),
                    run.end, len(run.nets), len(run.test)))
    report.close()
    return out


@pytest.mark.parametrize("path", LOGS, ids=[str(p.relative_to(SHARED)) for p in LOGS])
def test_bulk_reading_equals_line_by_line(path: Path) -> None:
    assert _summary(path, bulk=True) == _summary(path, bulk=False)


def test_inference_oracle_logs_finish() -> None:
    for path in sorted((SHARED / "oracle-inference").glob("*/caffe.log")):
        runs = read_log(path).runs
        assert [r.end.status for r in runs] == ["finished"], path
        assert [n.phase for n in runs[0].nets] == ["TEST"]


@pytest.mark.parametrize("path", LOGS, ids=[str(p.relative_to(SHARED)) for p in LOGS])
def test_every_writer_handles_every_log(path: Path) -> None:
    import io
    import json

    from caffemem.commands.log import LogResult
    from caffemem.report import ReportOptions
    from caffemem.report.log_csv import write as write_log_csv
    from caffemem.report.log_json import write_log_json
    from caffemem.report.log_table import render_log

    report = read_log(path)
    try:
        out = io.StringIO()
        write_log_json(report, out)
        doc = json.loads(out.getvalue())
        assert len(doc["runs"]) == len(report.runs)
        assert doc["counts"]["top_shape"] == report.counts["top_shape"]
        write_log_csv(LogResult(report, report.runs), io.StringIO(), ReportOptions())
        assert render_log(report, verbose=True)
    finally:
        report.close()

"""The post-mortem answers every real Caffe log: its ending, cause, place, device and divergence.

The corpus table below was checked by eye against each log's last lines.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import need_shared

from caffemem.cli import main
from caffemem.logs import read_log
from caffemem.memory.devices import lookup_device

# corpus log -> (ending, cause key or None). Checked by eye: the log's last lines say so.
CORPUS_ENDINGS = {
    "amd_opencl_caffe/caffe.AMD-RESEARCH.yugao.log.INFO.20150906-135805.16515": ("cut_off", "cut_off"),
    "bvlc_caffe_pr_fork/train_lenet_cpu_truncated.log": ("cut_off", "cut_off"),
    "caffe_regression_qiexing/caffe.log": ("finished", None),
    "caffenet_benchmark/LAB.log": ("signal", "terminated"),
    "caffenet_benchmark/SqueezeNet128_new_solver.log": ("cuda_out_of_memory", "cuda_out_of_memory"),
    "caffenet_benchmark/SqueezeNet224_2gpu_new_solver.log": ("finished", None),
    "caffenet_benchmark/caffenet128_bn_after_tanh_again_05_TRUNCATED16K.log": ("cut_off", "cut_off"),
    "caffenet_benchmark/caffenet128_lsuv_adaadam_sharedlib_error.log": ("fatal_error", "shared_library_missing"),
    "caffenet_benchmark/caffenet128_lsuv_bs1024.log": ("finished", None),
    "caffenet_benchmark/caffenet_299.log": ("cuda_out_of_memory", "cuda_out_of_memory"),
    "cvjena_cnn_models/ResNet50_cvgj_test.log": ("finished", None),
    "digits_healthcare/caffe_output.log": ("finished", None),
    "digits_robotic_inference/caffe_output.log": ("finished", None),
    "intel_caffe_bobhuynh/caffe.log": ("finished", None),
    "jirenjin_training_experiments/caffe.jin-PC.jin.log.INFO.20150704-174847.25106": ("cut_off", "cut_off"),
    "joint_hashing/cifar10_log.txt": ("finished", None),
    "lifeng14_caffe/lenet_train_complete.log": ("finished", None),
    "lifeng14_caffe/lenet_train_crash_snapshot_prefix.log": ("fatal_error", "snapshot_prefix"),
    "lstm_cf_deeplab/caffe.bin.FATAL.20160303-152018.15941": ("failed_check", "parse_error"),
    "lstm_cf_deeplab/caffe.bin.INFO.20160303-145731.28889": ("cut_off", "cut_off"),
    "lstm_cf_deeplab/caffe.bin.INFO.20160303-152018.15941": ("failed_check", "parse_error"),
    "lstm_cf_deeplab/caffe.bin.INFO.20160303-152357.20004": ("finished", None),
    "nvcaffe/alexnet_mfp16.log": ("finished", None),
    "nvcaffe/mnist_train.log": ("finished", None),
    "nvcaffe/train_with_nccl.log": ("finished", None),
    "ssd_dakeli/VGG_SSD_300x300.log": ("signal", "opencv"),
    "ssd_honorpeter/VGG_MELON_SSD_300x300.log": ("failed_check", "solverstate_mismatch"),
    "ssd_imistyrain/VGG_VOC0712_SSD_300x300.log": ("finished", None),
    "ssd_jazzseow/VGG_VOC0712_SSD_300x300_test120000_gt750m_oom.log": ("cuda_out_of_memory", "cuda_out_of_memory"),
    "ssd_lizh0019/VGG_VOC0712_SSD_300x300_resumed.log": ("cut_off", "cut_off"),
    "ssd_lizh0019/VGG_WIDERFACE_2016_SSD_300x300.log": ("failed_check", "label_out_of_range"),
    "ssd_qiangxie/VGG_VOC0712_SSD_300x300.log": ("diverged", "diverged"),
    "ssd_rocksat_mobilenet/caffe.asggpgpu2.asgdemo.log.INFO.20170907-134036.23688": ("failed_check", "failed_check"),
    "ssd_rocksat_resnet/ResNet_VOC0712_SSD_300x300.log": ("cuda_out_of_memory", "cuda_out_of_memory"),
    "ssd_shangzw12/VGG_tbs_HSIL_SSD_300x300_data_reader_crash.log": ("failed_check", "data_reader"),
    "ssd_tolotrasamuel/VGG_VOC0712_SSD_300x300.log": ("failed_check", "missing_file"),
    "yindaz_caffe_2014/caffe.FATAL.20141025-153657.31294": ("failed_check", "missing_file"),
    "yindaz_caffe_2014/caffe.INFO.20141025-010714.28132": ("cut_off", "cut_off"),
    "yindaz_caffe_2014/caffe.INFO.20141025-012936.29562": ("cut_off", "cut_off"),
    "yindaz_caffe_2014/caffe.INFO.20141025-144645.21849": ("finished", None),
    "yindaz_caffe_2014/caffe.INFO.20141025-153657.31294": ("failed_check", "missing_file"),
}


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def pm_json(path: str | Path, *extra: str) -> dict:
    code, out, err = run("postmortem", str(path), "--format", "json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_the_table_covers_the_corpus() -> None:
    root = need_shared() / "corpus" / "logs"
    found = {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
    assert found == set(CORPUS_ENDINGS)


@pytest.mark.parametrize("name", sorted(CORPUS_ENDINGS))
def test_every_corpus_log_gets_its_ending(name: str) -> None:
    path = need_shared() / "corpus" / "logs" / name
    data = pm_json(path)
    assert (data["ending"], data["cause"] and data["cause"]["key"]) == CORPUS_ENDINGS[name]
    code, out, _ = run("postmortem", str(path))
    assert code == 0 and ("No memory figures" in out) == (data["footprint"] is None)
    if data["cause"] is not None:
        assert "Why:" in out or "Note:" in out


def test_every_oracle_log_finished() -> None:
    for log in sorted((need_shared() / "oracle").glob("*/caffe.log")):
        data = pm_json(log)
        assert data["ending"] == "finished" and data["cause"] is None and data["divergence"] is None, log


def test_the_nan_log_diverged_where_it_did() -> None:
    path = need_shared() / "corpus" / "logs" / "ssd_qiangxie" / "VGG_VOC0712_SSD_300x300.log"
    data = pm_json(path)
    assert data["divergence"] == {"iteration": 140, "output": "loss", "value": "nan", "phase": "TRAIN"}
    assert data["end"]["status"] == "cut_off" and data["end"]["iteration"] == 470
    assert data["end"]["where"] == "at iteration 470"
    assert data["device"] == {"name": "Tesla K80", "bytes": 12 * 1024**3, "count": 4, "from": "log"}
    code, out, _ = run("log", str(path), "--format", "json")
    assert json.loads(out)["runs"][0]["divergence"]["iteration"] == 140
    code, out, _ = run("log", str(path), "--format", "csv")
    rows = [row for row in csv.DictReader(io.StringIO(out)) if row["Phase"] == "TRAIN"]
    assert rows[1]["mbox_loss"] == str(float("nan"))  # a NaN Caffe printed is written nan


def test_corpus_devices_from_the_log() -> None:
    logs = need_shared() / "corpus" / "logs"
    cases = {
        "caffenet_benchmark/caffenet_299.log": ("GeForce GTX 780", 3 * 1024**3, 1),
        "ssd_shangzw12/VGG_tbs_HSIL_SSD_300x300_data_reader_crash.log": ("TITAN X (Pascal)", 12 * 1024**3, 1),
        "digits_healthcare/caffe_output.log": ("GRID K520", 4 * 1024**3, 1),
        "ssd_jazzseow/VGG_VOC0712_SSD_300x300_test120000_gt750m_oom.log": ("GeForce GT 750M", 2 * 1024**3, 1),
        "nvcaffe/train_with_nccl.log": ("Tesla V100S-PCIE-32GB", 34089730048, 3),
    }
    for name, (device, size, count) in cases.items():
        got = pm_json(logs / name)["device"]
        assert (got["name"], got["bytes"], got["count"], got["from"]) == (device, size, count, "log"), name


def test_nvcaffe_memory_lines_are_counted() -> None:
    path = need_shared() / "corpus" / "logs" / "nvcaffe" / "train_with_nccl.log"
    code, out, _ = run("log", str(path), "--format", "json")
    data = json.loads(out)
    assert data["counts"]["memory_required_for_data"] == 2
    nets = [n for n in data["runs"][0]["nets"] if n["nested_in"] is None]
    assert [(n["memory_required_for_data"], n["memory_required_for_diff"]) for n in nets] == \
        [(10872800, 10872800), (10875800, 10875800)]


# ---------------------------------------------------------------- small logs of each ending

HEAD = """I0101 10:00:00.000000  1000 caffe.cpp:217] Using GPUs 0
I0101 10:00:00.100000  1000 caffe.cpp:222] GPU 0: GeForce GTX 1080
I0101 10:00:00.200000  1000 solver.cpp:48] Initializing solver from parameters:
base_lr: 0.01
solver_mode: GPU
I0101 10:00:00.300000  1000 solver.cpp:91] Creating training net from net file: train.prototxt
I0101 10:00:00.400000  1000 net.cpp:100] Creating Layer data
I0101 10:00:00.400000  1000 net.cpp:408] data -> data
I0101 10:00:00.400000  1000 net.cpp:150] Setting up data
I0101 10:00:00.400000  1000 net.cpp:157] Top shape: 32 3 8 8 (6144)
I0101 10:00:00.400000  1000 net.cpp:100] Creating Layer ip
I0101 10:00:00.400000  1000 net.cpp:434] ip <- data
I0101 10:00:00.400000  1000 net.cpp:408] ip -> ip
I0101 10:00:00.400000  1000 net.cpp:150] Setting up ip
I0101 10:00:00.400000  1000 net.cpp:157] Top shape: 32 10 (320)
I0101 10:00:00.500000  1000 net.cpp:283] Network initialization done.
I0101 10:00:00.600000  1000 solver.cpp:75] Solver scaffolding done.
I0101 10:00:00.700000  1000 solver.cpp:294] Solving
I0101 10:00:01.000000  1000 solver.cpp:243] Iteration 0, loss = 2.3
I0101 10:00:01.000000  1000 solver.cpp:259]     Train net output #0: loss = 2.3 (* 1 = 2.3 loss)
I0101 10:00:01.000000  1000 sgd_solver.cpp:138] Iteration 0, lr = 0.01
I0101 10:00:02.000000  1000 solver.cpp:243] Iteration 20, loss = 1.7
I0101 10:00:02.000000  1000 solver.cpp:259]     Train net output #0: loss = 1.7 (* 1 = 1.7 loss)
I0101 10:00:02.000000  1000 sgd_solver.cpp:138] Iteration 20, lr = 0.01
"""
STACK = """*** Check failure stack trace: ***
    @     0x7f0000000001  google::LogMessage::Fail()
    @     0x7f0000000002  caffe::ConvolutionLayer<>::Forward_gpu()
    @     0x7f0000000003  caffe::Net<>::ForwardFromTo()
"""
ENDINGS = {
    "finished": (HEAD + "I0101 10:00:03.000000  1000 solver.cpp:456] Optimization Done.\n", None),
    "cut_off": (HEAD, "cut_off"),
    "killed": (HEAD + "Killed\n", "killed"),
    "host_out_of_memory": (HEAD + "terminate called after throwing an instance of 'std::bad_alloc'\n"
                           "  what():  std::bad_alloc\n", "host_out_of_memory"),
    "cuda_out_of_memory": (HEAD + "F0101 10:00:03.000000  1000 syncedmem.cpp:56] Check failed: error == cudaSuccess "
                           "(2 vs. 0)  out of memory\n" + STACK, "cuda_out_of_memory"),
    "failed_check": (HEAD + "F0101 10:00:03.000000  1000 net.cpp:1] Check failed: history_size() == "
                     "history_.size() (66 vs. 71) Incorrect length of history blobs.\n", "solverstate_mismatch"),
    "fatal_error": (HEAD + "F0101 10:00:03.000000  1000 solver.cpp:438] Cannot write to snapshot prefix "
                    "'snap/x'.  Make sure that the directory exists and is writeable.\n", "snapshot_prefix"),
    "signal": (HEAD + "*** Aborted at 1500000000 (unix time) try \"date -d @1500000000\" if you are using GNU "
               "date ***\n"
               "PC: @     0x7f0000000001 caffe::PoolingLayer<>::Forward_cpu()\n"
               "*** SIGSEGV (@0x0) received by PID 1000 (TID 0x7f00) from PID 0; stack trace: ***\n", "segfault"),
    "diverged": (HEAD + "I0101 10:00:03.000000  1000 solver.cpp:243] Iteration 40, loss = nan\n"
                 "I0101 10:00:03.000000  1000 solver.cpp:259]     Train net output #0: loss = nan (* 1 = nan loss)\n"
                 "I0101 10:00:03.000000  1000 sgd_solver.cpp:138] Iteration 40, lr = 0.01\n", "diverged"),
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_each_ending(tmp_path: Path, ending: str) -> None:
    text, cause = ENDINGS[ending]
    log = tmp_path / "caffe.log"
    log.write_text(text)
    data = pm_json(log)
    assert data["ending"] == ending
    assert (data["cause"] and data["cause"]["key"]) == cause
    assert data["device"]["name"] == "GeForce GTX 1080" and data["device"]["from"] == "log"
    if ending == "cut_off":
        assert data["end"]["iteration"] == 20 and data["end"]["where"] == "at iteration 20"
    if ending == "cuda_out_of_memory":
        assert data["end"]["layer_type"] == "Convolution"
    if ending == "diverged":
        assert data["divergence"] == {"iteration": 40, "output": "loss", "value": "nan", "phase": "TRAIN"}
    else:
        assert data["divergence"] is None
    code, out, _ = run("postmortem", str(log))
    assert code == 0 and out.count("\n") > 2


FRAGMENTS = {
    "shared_library_missing": "./build/tools/caffe: error while loading shared libraries: libcudart.so.8.0: "
                              "cannot open shared object file: No such file or directory\n",
    "parse_error": "[libprotobuf ERROR google/protobuf/text_format.cc:245] Error parsing text-format "
                   "caffe.NetParameter: 12:7: Message type \"caffe.LayerParameter\" has no field named \"foo\".\n"
                   "F0101 10:00:00.000000  1000 upgrade_proto.cpp:79] Check failed: ReadProtoFromTextFile(param_file, "
                   "param) Failed to parse NetParameter file: train.prototxt\n",
    "data_reader": "F0101 10:00:00.000000  1000 data_reader.cpp:98] Check failed: new_queue_pairs_.size() == 0 "
                   "(1 vs. 0)\n",
    "mkldnn": "F0101 10:00:00.000000  1000 mkldnn_conv_layer.cpp:400] Check failed: status == mkldnn_success "
              "(3 vs. 0) mkldnn error\n",
    "driver": "F0101 10:00:00.000000  1000 common.cpp:152] Check failed: error == cudaSuccess (35 vs. 0)  CUDA driver "
              "version is insufficient for CUDA runtime version\n",
    "missing_file": "F0101 10:00:00.000000  1000 io.cpp:54] Check failed: fd != -1 (-1 vs. -1) File not found: "
                    "data/mean.binaryproto\n",
    "label_out_of_range": "F0101 10:00:00.000000  1000 softmax_loss_layer.cpp:120] Check failed: label_value < "
                          "prob_.shape(softmax_axis_) (12 vs. 10)\n",
}


@pytest.mark.parametrize("key", sorted(FRAGMENTS))
def test_fragments_pasted_into_an_issue(tmp_path: Path, key: str) -> None:
    log = tmp_path / "fragment.txt"
    log.write_text(FRAGMENTS[key])
    data = pm_json(log)
    assert data["cause"]["key"] == key
    assert data["footprint"] is None and data["no_net"]
    code, out, _ = run("postmortem", str(log))
    assert code == 0 and "No memory figures" in out and "What to do" in out
    if key == "parse_error":
        assert "line 12, column 7" in out


DEVICE_LINES = {
    "I0101 10:00:00.000000  1000 caffe.cpp:222] GPU 0: GeForce GTX 780\n": ("GeForce GTX 780", 3 * 1024**3, 1),
    "I0101 10:00:00.000000  1000 caffe.cpp:222] GPU 0: TITAN X (Pascal)\n": ("TITAN X (Pascal)", 12 * 1024**3, 1),
    "I0101 10:00:00.000000  1000 caffe.cpp:222] GPU 0: GRID K520\n": ("GRID K520", 4 * 1024**3, 1),
    "I0101 10:00:00.000000  1000 caffe.cpp:217] Using GPUs 1, 3, 4, 8\n"
    "I0101 10:00:00.000000  1000 caffe.cpp:222] GPU 1: Tesla K80\n": ("Tesla K80", 12 * 1024**3, 4),
    "I0101 10:00:00.000000  1000 gpu_memory.cpp:84] Total memory: 11720130560, Free: 10546708480, "
    "dev_info[0]: total=11720130560 free=10546708480\n": ("GPU 0", 11720130560, 1),
    "I0101 10:00:00.000000  1000 common.cpp:470] GPU 0 'Tesla V100S-PCIE-32GB' has compute capability 7.0\n":
        ("Tesla V100S-PCIE-32GB", 32 * 1024**3, 1),
    "I0101 10:00:00.000000  1000 device.cpp:393] \tGlobal mem size:\t16878927872\n": ("GPU 0", 16878927872, 1),
}


@pytest.mark.parametrize("line", sorted(DEVICE_LINES))
def test_device_lines(tmp_path: Path, line: str) -> None:
    log = tmp_path / "caffe.log"
    log.write_text(line + HEAD.split("\n", 2)[2] + "Killed\n")
    data = pm_json(log)
    dev = data["device"]
    assert (dev["name"], dev["bytes"], dev["count"]) == DEVICE_LINES[line] and dev["from"] == "log"
    assert data["fits"] in (True, False)


def test_gpu_mode_from_any_line(tmp_path: Path) -> None:
    for first in ("I0101 10:00:00.000000  1000 caffe.cpp:108] Use GPU with device ID 2\n", "",):
        log = tmp_path / "caffe.log"
        log.write_text(first + HEAD.split("\n", 2)[2] + "Killed\n")
        report = read_log(log)
        assert report.runs[0].device.mode == "GPU"  # solver_mode: GPU in the echoed solver, or the line
        assert pm_json(log)["footprint"]["mode"] == "gpu"


def test_option_device_wins_and_ambiguous_names_say_so(tmp_path: Path) -> None:
    log = tmp_path / "caffe.log"
    log.write_text(ENDINGS["killed"][0])
    data = pm_json(log, "--device", "V100")
    assert data["device"]["from"] == "option" and data["device"]["bytes"] == 16 * 1024**3
    assert any("could also mean Tesla V100 32GB" in n for n in data["notes"])
    match = lookup_device("V100")
    assert match.alternatives == ["Tesla V100 32GB"] and "could also mean" in (match.note or "")
    assert lookup_device("GTX 1060").alternatives == ["GeForce GTX 1060 3GB"]
    assert len(lookup_device("titan").alternatives) >= 5
    for name, size in (("Tesla V100S-PCIE-32GB", 32), ("Jetson TX2", 8), ("H100", 80), ("Tesla K40c", 12),
                       ("GeForce GT 750M", 2), ("Tesla P4", 8), ("A100-SXM4-80GB", 80)):
        assert lookup_device(name).bytes == size * 1024**3, name


def test_cuda_oom_that_fits_says_why_and_caps_the_batch(tmp_path: Path) -> None:
    log = tmp_path / "caffe.log"
    log.write_text(ENDINGS["cuda_out_of_memory"][0])
    data = pm_json(log, "--mem", "64GiB")
    assert data["fits"] is True and data["max_batch"] is not None and data["max_batch"] < 32
    assert any("other processes" in n for n in data["notes"])
    code, out, _ = run("postmortem", str(log), "--mem", "64GiB")
    assert "died of memory" in out and "largest batch that fits is" not in out


def test_2014_test_passes_at_their_iterations(tmp_path: Path) -> None:
    log = tmp_path / "caffe.log"
    log.write_text("I0101 10:00:00.000000  1 solver.cpp:1] Solving CaffeNet\n"
                   "I0101 10:00:00.000000  1 net.cpp:1] Memory required for Data 1234\n"
                   "I0101 10:00:01.000000  1 solver.cpp:1] Iteration 0, Testing net\n"
                   "I0101 10:00:02.000000  1 solver.cpp:1] Test score #0: 0.1\n"
                   "I0101 10:00:03.000000  1 solver.cpp:1] Iteration 100, loss = 1.5\n"
                   "I0101 10:00:04.000000  1 solver.cpp:1] Iteration 1000, Testing net\n"
                   "I0101 10:00:05.000000  1 solver.cpp:1] Test score #0: 0.5\n")
    code, out, _ = run("log", str(log), "--format", "json")
    passes = json.loads(out)["runs"][0]["test_passes"]
    assert [p["iteration"] for p in passes] == [0, 1000]


def test_stdin_is_dash() -> None:
    text = ENDINGS["killed"][0].encode()
    for command in ("postmortem", "log"):
        code, out, err = run(command, "-", "--format", "json", stdin=text)
        assert code == 0, err
        assert json.loads(out)["source"] == "-"


@pytest.mark.parametrize("content", [b"", bytes(range(256)) * 20, b"\x0a\x05caffe\x12\x00" + bytes(4000),
                                     b"just some notes\nnothing of caffe here\n"])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "model.caffemodel"
    path.write_bytes(content)
    code, out, err = run("postmortem", str(path))
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "Traceback" not in err


def test_a_caffemodel_given_as_a_log(tmp_path: Path) -> None:
    from caffemem.proto import caffe_pb2

    param = caffe_pb2.NetParameter(name="LeNet")
    layer = param.layer.add(name="ip", type="InnerProduct")
    blob = layer.blobs.add()
    blob.shape.dim.extend([10, 50])
    blob.data.extend([0.001 * i for i in range(500)])
    path = tmp_path / "lenet.caffemodel"
    path.write_bytes(param.SerializeToString())
    code, out, err = run("postmortem", str(path))
    assert code == 2 and out == "" and err.strip().count("\n") == 0 and "Traceback" not in err


def test_reconcile_reads_stdin() -> None:
    case = need_shared() / "oracle" / "lenet-b64-sgd"
    net = case / "examples_mnist_lenet_train_test.runnable.prototxt"
    code, out, err = run("reconcile", str(net), "-", stdin=(case / "caffe.log").read_bytes())
    assert code == 0, err


def test_table_keeps_a_printed_nan(tmp_path: Path) -> None:
    log = tmp_path / "caffe.log"
    log.write_text(ENDINGS["diverged"][0])
    code, out, _ = run("log", str(log))
    assert code == 0 and "diverged: at iteration 40, TRAIN output loss = nan" in out
    code, out, _ = run("log", str(log), "--format", "json")
    run_ = json.loads(out)["runs"][0]
    assert run_["divergence"]["iteration"] == 40 and run_["device"]["names"] == {"0": "GeForce GTX 1080"}
    assert run_["end"]["iteration"] == 40


@pytest.mark.parametrize(("text", "ending", "layer_type"), [
    ("*** Check failure stack trace: ***\n    @     0x7f  google::LogMessage::Fail()\n"
     "    @     0x7f  caffe::ConvolutionLayer<>::Forward_gpu()\n", "failed_check", "Convolution"),
    ("Killed\n", "killed", None),
    ("terminate called after throwing an instance of 'std::bad_alloc'\n  what():  std::bad_alloc\n"
     "Aborted (core dumped)\n", "host_out_of_memory", None),
    ("F1204 23:34:13.581306 31373 syncedmem.cpp:56] Check failed: error == cudaSuccess (2 vs. 0)  out of memory\n"
     "*** Check failure stack trace: ***\n    @     0x7f  caffe::SyncedMemory::to_gpu()\n"
     "    @     0x7f  caffe::CuDNNConvolutionLayer<>::Forward_gpu()\n", "cuda_out_of_memory", "CuDNNConvolution"),
])
def test_crash_fragments(tmp_path: Path, text: str, ending: str, layer_type: str | None) -> None:
    log = tmp_path / "issue.txt"
    log.write_text(text)
    data = pm_json(log)
    assert data["ending"] == ending and data["end"]["layer_type"] == layer_type and data["cause"] is not None


def test_divergence_is_the_same_line_by_line_and_in_bulk(tmp_path: Path) -> None:
    lines = [HEAD.rstrip("\n")]
    for it in range(40, 4000, 20):
        loss = "nan" if it >= 3000 else f"{1.0 / it:.6g}"
        lines += [f"I0101 10:00:{3 + it // 1000:02d}.{it:06d}  1000 solver.cpp:243] Iteration {it}, loss = {loss}",
                  f"I0101 10:00:{3 + it // 1000:02d}.{it:06d}  1000 solver.cpp:259]     Train net output #0: "
                  f"loss = {loss} (* 1 = {loss} loss)",
                  f"I0101 10:00:{3 + it // 1000:02d}.{it:06d}  1000 sgd_solver.cpp:138] Iteration {it}, lr = 0.01"]
    log = tmp_path / "caffe.log"
    log.write_text("\n".join(lines) + "\n")
    found = {(bulk, piece): read_log(log, bulk=bulk, piece_bytes=piece).runs[0].divergence
             for bulk in (True, False) for piece in (1 << 10, 1 << 20)}
    assert {(d.iteration, d.output, d.value) for d in found.values() if d} == {(3000, "loss", "nan")}
    assert all(found.values())

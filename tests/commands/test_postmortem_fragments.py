"""Fragments pasted into issue threads: a fatal line, glog's stack trace, maybe a shell line.

Users often have nothing else. The stack trace says where Caffe was (set-up, a test pass, the
forward pass of a training iteration); the fatal line's source file names the layer type; the
message names the cause.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from caffemem.cli import main
from caffemem.layers.types import type_of_source_file
from caffemem.logs.causes import place_in_stack
from caffemem.logs.model import Stage
from caffemem.wording import a_or_an

_OOM_IN_TRAINING = """\
F0903 14:31:26.106397 92421 syncedmem.cpp:56] Check failed: error == cudaSuccess (2 vs. 0)  out of memory
*** Check failure stack trace: ***
    @     0x7fd08aa5c5cd  google::LogMessage::Fail()
    @     0x7fd08b2290e0  caffe::SyncedMemory::to_gpu()
    @     0x7fd08b390282  caffe::Blob<>::mutable_gpu_data()
    @     0x7fd08b363928  caffe::BaseConvolutionLayer<>::forward_gpu_gemm()
    @     0x7fd08b3eb296  caffe::ConvolutionLayer<>::Forward_gpu()
    @     0x7fd08b1f15f2  caffe::Net<>::ForwardFromTo()
    @     0x7fd08b1f1717  caffe::Net<>::Forward()
    @     0x7fd08b3a6eca  caffe::Solver<>::Solve()
    @           0x40ada0  train()
    @           0x407590  main
Aborted (core dumped)
"""


def _postmortem(tmp_path: Path, text: str) -> dict:
    log = tmp_path / "pasted.log"
    log.write_text(text)
    done = CliRunner().invoke(main, ["postmortem", str(log), "--format", "json"])
    assert done.exit_code == 0, done.output
    return json.loads(done.output)


def test_the_stack_trace_places_a_crash_the_log_does_not(tmp_path: Path) -> None:
    out = _postmortem(tmp_path, _OOM_IN_TRAINING)
    assert out["ending"] == "cuda_out_of_memory"
    assert out["end"]["phase"] == "train" and out["end"]["step"] == "forward pass"
    assert out["end"]["where"] == "in the forward pass of a training iteration (as its stack trace shows)"
    assert out["end"]["layer_type"] == "Convolution"


def test_a_test_pass_inside_a_training_step_is_a_test_pass() -> None:
    frames = ["caffe::ReLULayer<>::Backward_cpu()", "caffe::Net<>::Backward()", "caffe::Solver<>::Test()",
              "caffe::Solver<>::TestAll()", "caffe::Solver<>::Step()", "caffe::Solver<>::Solve()"]
    assert place_in_stack(frames) == (Stage.TEST, "backward pass")
    assert place_in_stack(["caffe::Net<>::CopyTrainedLayersFrom()", "caffe::Net<>::CopyTrainedLayersFrom()",
                           "caffe::Solver<>::InitTrainNet()"]) == (Stage.SETUP, "loading weights")
    assert place_in_stack(["caffe::Solver<>::Snapshot()", "caffe::Solver<>::Step()"]) == (Stage.TRAIN, "snapshot")
    assert place_in_stack(["(unknown)", "main"]) == (None, None)


def test_a_frame_of_set_up_places_the_crash_in_set_up(tmp_path: Path) -> None:
    text = ("F0101 00:00:00.000000  1 blob.cpp:33] Check failed: shape[i] >= 0 (-3 vs. 0)\n"
            "*** Check failure stack trace: ***\n"
            "    @     0x7f  caffe::Blob<>::Reshape()\n"
            "    @     0x7f  caffe::PoolingLayer<>::Reshape()\n"
            "    @     0x7f  caffe::Layer<>::SetUp()\n"
            "    @     0x7f  caffe::Net<>::Init()\n")
    out = _postmortem(tmp_path, text)
    assert out["end"]["phase"] == "setup" and out["end"]["where"].startswith("during a net's set-up")
    assert out["end"]["layer_type"] == "Pooling"


def test_the_fatal_lines_source_file_names_the_layer_type(tmp_path: Path) -> None:
    text = ("I0607 10:22:11.223456 12345 net.cpp:91] Creating Layer fc8_interp\n"
            "I0607 10:22:11.223460 12345 net.cpp:425] fc8_interp <- fc8_voc12\n"
            "I0607 10:22:11.223461 12345 net.cpp:399] fc8_interp -> fc8_interp\n"
            "F0607 10:22:11.323456 12345 interp_layer.cpp:30] Check failed: height_in_ > 0 (0 vs. 0)\n")
    out = _postmortem(tmp_path, text)
    assert out["end"]["source"] == "interp_layer.cpp:30"
    assert out["end"]["layer"] == "fc8_interp" and out["end"]["layer_type"] == "Interp"
    assert type_of_source_file("cudnn_conv_layer.cpp:53") == "Convolution"
    assert type_of_source_file("src/caffe/layers/softmax_loss_layer.cu:12") == "SoftmaxWithLoss"
    assert type_of_source_file("batch_norm_layer.cpp:40") == "BatchNorm"
    assert type_of_source_file("syncedmem.cpp:56") is None
    assert type_of_source_file("no_such_thing_layer.cpp:1") is None


def test_a_fragment_starting_inside_a_layer_still_gets_figures(tmp_path: Path) -> None:
    """Its first 'Top shape' line has no layer above it: the blob is kept, under a name nothing uses."""
    text = ("I0607 10:22:11.123456 12345 net.cpp:148] Top shape: 1 21 500 500 (5250000)\n"
            "I0607 10:22:11.123459 12345 net.cpp:156] Memory required for data: 1623456789\n"
            "I0607 10:22:11.223456 12345 net.cpp:91] Creating Layer fc8_interp\n"
            "F0607 10:22:11.323456 12345 interp_layer.cpp:30] Check failed: height_in_ > 0 (0 vs. 0)\n")
    out = _postmortem(tmp_path, text)
    assert out["no_net"] is None and out["footprint"]["by_category"]["activations"] >= 21_000_000


def test_cudnn_failures_name_the_failing_status(tmp_path: Path) -> None:
    text = ("F1105 09:12:01.200000  2211 cudnn_conv_layer.cpp:53] Check failed: status == CUDNN_STATUS_SUCCESS "
            "(4 vs. 0)  CUDNN_STATUS_INTERNAL_ERROR\n")
    out = _postmortem(tmp_path, text)
    assert "CUDNN_STATUS_INTERNAL_ERROR" in out["cause"]["cause"] and "SUCCESS" not in out["cause"]["cause"]
    old = _postmortem(tmp_path, "F1105 09:12:01.200000  2211 cudnn_conv_layer.cpp:53] Check failed: status == "
                                "CUDNN_STATUS_SUCCESS (3 vs. 0) \n")
    assert "CUDNN_STATUS_BAD_PARAM" in old["cause"]["cause"]  # old Caffe prints only the number


def test_a_crop_larger_than_the_images_is_said_so(tmp_path: Path) -> None:
    out = _postmortem(tmp_path, "F0118 03:22:43.774000  7132 data_transformer.cpp:168] Check failed: "
                                "height <= datum_height (227 vs. 32)\n*** Check failure stack trace: ***\n")
    assert out["cause"]["key"] == "crop_too_large"
    assert "(227)" in out["cause"]["cause"] and "(32)" in out["cause"]["cause"]
    assert "at most 32" in out["cause"]["advice"][0]


def test_articles() -> None:
    assert [a_or_an(w) for w in ("Interp layer", "ReLU", "LRN", "SSD", "RTX 3090", "GeForce GTX 1080", "8 GB",
                                 "11 GB card", "110 W", "HDF5Data", "Data")] == [
        "an Interp layer", "a ReLU", "an LRN", "an SSD", "an RTX 3090", "a GeForce GTX 1080", "an 8 GB",
        "an 11 GB card", "a 110 W", "an HDF5Data", "a Data"]

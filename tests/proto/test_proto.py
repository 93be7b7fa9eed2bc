"""The compiled schema: it must match proto/caffe.proto, keep BVLC's numbers, and hold the forks'.

The committed ``caffemem/proto/caffe_pb2.py`` is what users run, and ``proto/caffe.proto`` is what
people edit; a stale module would silently parse files with an old schema. Fork fields share the
schema with BVLC's, so a clash of field numbers would misread real caffemodels.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

from caffemem.net.prototxt import parse_text
from caffemem.proto import caffe_pb2

# Loads a freshly generated caffe_pb2 in a child process (so its descriptor never meets the one
# already registered in this process's default pool) and prints its serialized descriptor.
_CHILD = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("fresh_caffe_pb2", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sys.stdout.write(module.DESCRIPTOR.serialized_pb.hex())
"""


def _regenerate_module() -> object:
    spec = importlib.util.spec_from_file_location("caffemem_regenerate", ROOT / "proto" / "regenerate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_module_matches_proto(tmp_path: Path) -> None:
    pytest.importorskip("grpc_tools")
    path = _regenerate_module().generate(str(tmp_path))  # type: ignore[attr-defined]
    out = subprocess.run([sys.executable, "-c", _CHILD, path], capture_output=True, text=True, check=True)
    fresh = bytes.fromhex(out.stdout)
    assert fresh == caffe_pb2.DESCRIPTOR.serialized_pb, \
        "caffemem/proto/caffe_pb2.py is stale: run python proto/regenerate.py"


def _number(message: type, field: str) -> int:
    return message.DESCRIPTOR.fields_by_name[field].number  # type: ignore[attr-defined]


@pytest.mark.parametrize(("message", "field", "number"), [
    (caffe_pb2.LayerParameter, "convolution_param", 106),
    (caffe_pb2.LayerParameter, "recurrent_param", 146),
    (caffe_pb2.LayerParameter, "clip_param", 148),
    (caffe_pb2.V1LayerParameter, "layer", 1),
    (caffe_pb2.NetParameter, "layer", 100),
    (caffe_pb2.NetParameter, "layers", 2),
    (caffe_pb2.SolverParameter, "layer_wise_reduce", 41),
    (caffe_pb2.SolverParameter, "weights", 42),
    (caffe_pb2.PoolingParameter, "round_mode", 13),
    (caffe_pb2.LossParameter, "normalization", 3),
])
def test_bvlc_field_numbers(message: type, field: str, number: int) -> None:
    assert _number(message, field) == number


def test_bvlc_defaults() -> None:
    assert caffe_pb2.PoolingParameter().pool == caffe_pb2.PoolingParameter.MAX
    assert caffe_pb2.SolverParameter().type == "SGD"
    assert caffe_pb2.ConvolutionParameter().bias_term is True
    assert caffe_pb2.LossParameter().normalization == caffe_pb2.LossParameter.VALID
    assert caffe_pb2.BatchNormParameter().eps == pytest.approx(1e-5)


@pytest.mark.parametrize(("field", "number"), [
    # forks' own numbers, kept so that their caffemodels read right
    ("bn_param", 45), ("shuffle_channel_param", 164), ("psroi_pooling_param", 153),
    ("quantization_param", 158), ("reorg_param", 159), ("annotated_data_param", 200),
    ("multibox_loss_param", 201), ("permute_param", 202), ("prior_box_param", 203),
    ("detection_output_param", 204), ("detection_evaluate_param", 205), ("norm_param", 206),
    ("eval_detection_param", 301), ("roi_pooling_param", 8266711), ("smooth_l1_loss_param", 8266712),
    ("correlation_param", 150), ("l1_loss_param", 151), ("resample_param", 155), ("downsample_param", 156),
    ("accum_param", 160),
])
def test_fork_numbers_kept(field: str, number: int) -> None:
    assert _number(caffe_pb2.LayerParameter, field) == number


def test_no_fork_field_takes_a_bvlc_number() -> None:
    """Fork fields of LayerParameter are on numbers BVLC leaves free (1-11, 100-148 are BVLC's)."""
    bvlc = set(range(1, 12)) | set(range(100, 149))
    fork_names = {"bn_param", "upsample_param", "interp_param", "permute_param", "roi_pooling_param",
                  "transpose_param", "mask_param", "convolution_deeplab_param", "cpm_transform_param",
                  "dense_image_data_param", "seg_accuracy_param", "image_seg_data_param"}
    for name in fork_names:
        assert _number(caffe_pb2.LayerParameter, name) not in bvlc, name
    numbers = [f.number for f in caffe_pb2.LayerParameter.DESCRIPTOR.fields]
    assert len(numbers) == len(set(numbers))


def test_fork_text_parses_without_diagnostics() -> None:
    text = """
    layer { name: "p" type: "Pooling" pooling_param { pool: MAX kernel_size: 3 stride: 2 ceil_mode: false } }
    layer { name: "bn" type: "BN" bn_param { bn_mode: INFERENCE scale_filler { type: "constant" value: 1 } } }
    layer { name: "bn2" type: "BN" bn_param { slope_filler { type: "constant" value: 1 } momentum: 0.95 } }
    layer { name: "d" type: "AnnotatedData" annotated_data_param {
        batch_sampler { sampler { min_scale: 0.3 } sample_constraint { min_jaccard_overlap: 0.1 }
                        max_trials: 50 }
        label_map_file: "x" }
      transform_param { resize_param { height: 300 width: 300 resize_mode: WARP interp_mode: LINEAR }
        distort_param { brightness_prob: 0.5 } expand_param { max_expand_ratio: 4 }
        emit_constraint { emit_type: CENTER } } }
    layer { name: "o" type: "DetectionOutput" detection_output_param { num_classes: 21
        nms_param { nms_threshold: 0.45 top_k: 400 } save_output_param { label_map_file: "m" }
        code_type: CENTER_SIZE } }
    layer { name: "l" type: "SoftmaxWithLoss" loss_param { class_weighting: 0.2 class_weighting: 3.1 } }
    layer { name: "i" type: "ImageSegData" image_data_param { label_type: PIXEL source: "s" } }
    """
    net = caffe_pb2.NetParameter()
    assert [str(d) for d in parse_text(text, net)] == []
    assert net.layer[0].pooling_param.ceil_mode is False
    assert net.layer[1].bn_param.bn_mode == caffe_pb2.BNParameter.INFERENCE
    assert net.layer[4].detection_output_param.code_type == caffe_pb2.PriorBoxParameter.CENTER_SIZE
    assert list(net.layer[5].loss_param.class_weighting) == pytest.approx([0.2, 3.1])


def test_ssd_solver_fields() -> None:
    solver = caffe_pb2.SolverParameter()
    assert parse_text('eval_type: "detection" ap_version: "11point" net: "x"', solver) == []
    assert (solver.eval_type, solver.ap_version) == ("detection", "11point")
    assert solver.show_per_class_result is False


def test_committed_module_loads_on_the_oldest_supported_protobuf() -> None:
    """setup.cfg promises protobuf>=4.25: a module from a newer protoc checks the runtime's version
    at import (ValidateProtobufRuntimeVersion) and refuses older ones. Regenerate with
    grpcio-tools 1.62.3, as proto/regenerate.py says."""
    text = (Path(__file__).resolve().parents[2] / "caffemem" / "proto" / "caffe_pb2.py").read_text()
    assert "ValidateProtobufRuntimeVersion" not in text
    assert "# Protobuf Python Version: 4.25" in text

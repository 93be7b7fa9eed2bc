"""Detection heads (layers/detection.py): SSD's PriorBox, DetectionOutput, DetectionEvaluate and
MultiBoxLoss, YOLO's EvalDetection.

The SSD figures at the end are the "Memory required for data" lines of a real SSD training log,
so the whole chain (AnnotatedData, Normalize, Permute, PriorBox, MultiBoxLoss, DetectionOutput,
DetectionEvaluate) is checked against Caffe's own arithmetic.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import SHARED
from layer_helpers import buffers, footprint, grads, make, tops

from caffemem.categories import Category as C
from caffemem.errors import NetError
from caffemem.layers.detection import MULTIBOX_MATCHES_PER_IMAGE
from caffemem.net.analyze import analyze_path
from caffemem.proto import caffe_pb2


def test_priorbox() -> None:
    # ratios 1, 2, 1/2 x one min size, plus one max size: 4 priors per cell
    assert tops('type: "PriorBox" top: "pb" prior_box_param { min_size: 30 max_size: 60 aspect_ratio: 2 '
                'flip: true }', (8, 512, 38, 38), (8, 3, 300, 300)) == [(1, 2, 38 * 38 * 4 * 4)]
    # ratios 1, 2, 1/2, 3, 1/3 (a repeated 2 is ignored) + max size: 6 priors
    assert tops('type: "PriorBox" top: "pb" prior_box_param { min_size: 1 max_size: 2 aspect_ratio: 2 '
                'aspect_ratio: 3 aspect_ratio: 2 }', (1, 1, 10, 19), (1, 3, 300, 300)) == [(1, 2, 190 * 6 * 4)]
    with pytest.raises(NetError, match="min_size"):
        tops('type: "PriorBox" top: "pb"', (1, 1, 2, 2))



def test_detection_layers() -> None:
    loc, conf, prior = (8, 8732 * 4), (8, 8732 * 21), (1, 2, 8732 * 4)
    out = 'type: "DetectionOutput" top: "d" detection_output_param { num_classes: 21 }'
    assert tops(out, loc, conf, prior) == [(1, 1, 1, 7)]
    with pytest.raises(NetError, match="confidence"):
        tops(out, loc, (8, 8732 * 20), prior)
    ev = 'type: "DetectionEvaluate" top: "e" detection_evaluate_param { num_classes: 21 }'
    assert tops(ev, (1, 1, 1, 7), (1, 1, 3, 8)) == [(1, 1, 21, 5)]
    # every (zero-filled) detection row counts as valid at set-up: 2 positive classes + 4 rows
    ev3 = 'type: "DetectionEvaluate" top: "e" detection_evaluate_param { num_classes: 3 }'
    assert tops(ev3, (1, 1, 4, 7), (1, 1, 1, 8)) == [(1, 1, 6, 5)]
    loss = make('type: "MultiBoxLoss" bottom: "a" bottom: "b" bottom: "c" bottom: "d" '
                'multibox_loss_param { num_classes: 21 }')
    assert loss.n_tops == 1 and loss.is_loss
    assert loss.reshape([loc, conf, prior, (1, 1, 5, 8)]) == [()]



def test_eval_detection() -> None:
    # YOLOv2: 17x17 cells, 5 anchors, 20 classes -> 20 + 17*17*5*4
    assert tops('type: "EvalDetection" top: "e" eval_detection_param { side: 17 num_class: 20 num_object: 5 }',
                (8, 125, 17, 17), (1, 1, 1, 8)) == [(8, 20 + 17 * 17 * 5 * 4)]



# data 2x3x8x8; conv1 (3x3, pad 1) -> 2x4x8x8; loc/conf convs over the normalised map; one prior
# per cell (min_size only) -> 64 priors; 3 classes; two ground-truth boxes.
SSD = """
name: "ssd"
layer { name: "d" type: "DummyData" top: "data" top: "label"
        dummy_data_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } shape { dim: 1 dim: 1 dim: 2 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "norm" type: "Normalize" bottom: "conv1" top: "norm" norm_param { across_spatial: false } }
layer { name: "loc" type: "Convolution" bottom: "norm" top: "loc" convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "loc_perm" type: "Permute" bottom: "loc" top: "loc_perm"
        permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "loc_flat" type: "Flatten" bottom: "loc_perm" top: "loc_flat" }
layer { name: "conf" type: "Convolution" bottom: "norm" top: "conf" convolution_param { num_output: 3 kernel_size: 1 } }
layer { name: "conf_perm" type: "Permute" bottom: "conf" top: "conf_perm"
        permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "conf_flat" type: "Flatten" bottom: "conf_perm" top: "conf_flat" }
layer { name: "prior" type: "PriorBox" bottom: "norm" bottom: "data" top: "prior"
        prior_box_param { min_size: 4 } }
layer { name: "mbox_loss" type: "MultiBoxLoss" bottom: "loc_flat" bottom: "conf_flat" bottom: "prior"
        bottom: "label" top: "mbox_loss" propagate_down: true propagate_down: true propagate_down: false
        propagate_down: false multibox_loss_param { num_classes: 3 } }
"""



def test_multibox_loss_internal_blobs_cpu() -> None:
    fp = footprint(SSD)
    # 64 priors per image, so the [estimate] of 100 matches per image is capped at 64: 128 matches.
    assert MULTIBOX_MATCHES_PER_IMAGE >= 64
    # MAX_NEGATIVE, ratio 3: negatives min(3*64, 64-64) = 0, so 64 confidence rows per image: 128.
    # loc_pred_ + loc_gt_: 2 * 4*128 = 1024; loc_pred_ diff (propagate_down[0]): 512;
    # internal SmoothL1 diff_ + errors_: 1024; loss scalars: 2 data + 2 diffs (loss weight) = 4;
    # conf_pred_ [128, 3] = 384 and its diff in backward 384; conf_gt_ 128; internal softmax
    # prob_ 384, Caffe softmax scale_ 128 (one per row) and sum_multiplier_ 3.
    assert buffers(fp, "mbox_loss") == 1024 + 512 + 1024 + 4 + 384 + 384 + 128 + 384 + 128 + 3



def test_multibox_loss_gpu_scratch_and_hard_example_mining() -> None:
    gpu = footprint(SSD, "gpu")
    # GPU (cuDNN softmax: no scale_, host-only sum_multiplier_ not counted as a Caffe-engine buffer):
    # 1024 + 512 + 1024 + 4 + conf_pred_ 384 + conf_gt_ 128 + prob_ 384
    # + prob_ diff 384 (counts scratch) + conf_pred_ diff 384 (loss scratch, in forward).
    assert buffers(gpu, "mbox_loss") == 1024 + 512 + 1024 + 4 + 384 + 128 + 384 + 384 + 384
    hard = SSD.replace("multibox_loss_param { num_classes: 3 }",
                       "multibox_loss_param { num_classes: 3 mining_type: HARD_EXAMPLE sample_size: 8 }")
    # HARD_EXAMPLE keeps at most 8 priors per image, matches included: 16 matches, 16 rows.
    # loc: 2*64 + 64 + 2*64 = 320; scalars 4; conf_pred_ 48 + diff 48; conf_gt_ 16; prob_ 48;
    # scale_ 16; sum_multiplier_ 3.
    assert buffers(footprint(hard), "mbox_loss") == 320 + 4 + 48 + 48 + 16 + 48 + 16 + 3



def test_ssd_normalize_permute_priorbox_memory() -> None:
    fp = footprint(SSD)
    # Normalize over 2x4x8x8, across_spatial false: sum_channel_multiplier_ 4, sum_spatial 64,
    # buffer_ (one image) 4*64 = 256, norm_ [N*H*W] 128, backward buffer_channel_ 4, buffer_spatial_ 64.
    assert buffers(fp, "norm") == 4 + 64 + 256 + 128 + 4 + 64
    # Permute: three int blobs of 4 entries (order, old steps, new steps).
    assert buffers(fp, "loc_perm") == buffers(fp, "conf_perm") == 12
    # PriorBox: nothing of its own, and its Backward is a no-op: its top has no gradient.
    assert buffers(fp, "prior") == 0
    assert grads(fp, "prior") == 0
    # conv1's gradient 2*4*8*8 = 512, which Normalize's Backward takes unconditionally.
    assert grads(fp, "conv1") == 512



def test_detection_output() -> None:
    text = """
    layer { name: "d" type: "DummyData" top: "loc" top: "conf" top: "prior"
            dummy_data_param { shape { dim: 2 dim: 40 } shape { dim: 2 dim: 30 } shape { dim: 1 dim: 2 dim: 40 } } }
    layer { name: "det" type: "DetectionOutput" bottom: "loc" bottom: "conf" bottom: "prior" top: "det"
            detection_output_param { num_classes: 3 keep_top_k: 5 nms_param { nms_threshold: 0.45 } } }
    """
    cpu, gpu = footprint(text, role="inference"), footprint(text, "gpu", role="inference")
    layer = cpu.nets[0].by_layer["det"]
    # The top is [1,1,1,7] at set-up and grows to at most keep_top_k=5 rows per image x 2 images x 7:
    # 70 values, 7 of them already counted by the set-up shape -> 63 more activations.
    assert layer[C.ACTIVATIONS] // 4 == 7 + 63
    assert buffers(cpu, "det") == 0  # the CPU forward works in host vectors it frees
    # GPU: bbox_preds_ (loc, 80) and conf_permute_ (conf, 60); share_location: no bbox_permute_.
    assert buffers(gpu, "det") == 80 + 60






def _memory(path: Path, phase: int) -> int | None:
    analysis = analyze_path(str(path), phase=phase)
    return analysis.nets[0].memory_required_for_data



@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="shared corpus not present")
def test_ssd_memory_matches_caffe_log() -> None:
    """corpus/logs/ssd_honorpeter: TRAIN 3721873124 and TEST 1987774712 bytes, logged by the fork."""
    nets = SHARED / "corpus" / "nets" / "ssd_vgg"
    assert _memory(nets / "SSD_300x300_MELON_train.prototxt", caffe_pb2.TRAIN) == 3721873124
    assert _memory(nets / "SSD_300x300_MELON_test.prototxt", caffe_pb2.TEST) == 1987774712

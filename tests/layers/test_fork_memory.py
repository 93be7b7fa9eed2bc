"""Memory hooks of fork layers, checked against footprints computed by hand.

Every expected figure is derived in the comment next to it from the fork's own source (the file
named in the layer class's docstring), in 4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

from caffemem.categories import Category as C
from caffemem.layers.detection import MULTIBOX_MATCHES_PER_IMAGE
from caffemem.layers.registry import BuildOptions, SetupContext
from caffemem.memory.model import RunFootprint, run_footprint
from caffemem.net.build import build_net
from caffemem.net.prototxt import parse_text
from caffemem.net.state import TEST, TRAIN, compose_state
from caffemem.proto import caffe_pb2


def footprint(text: str, mode: str = "cpu", role: str = "train") -> RunFootprint:
    param = caffe_pb2.NetParameter()
    parse_text(text, param, "fork")
    phase = TRAIN if role == "train" else TEST
    net = build_net(param, compose_state(phase), SetupContext(phase, BuildOptions(mode=mode), "fork"))
    return run_footprint([net], [role], mode)


def buffers(fp: RunFootprint, layer: str) -> int:
    """Layer-buffer elements of one layer."""
    return fp.nets[0].by_layer.get(layer, {}).get(C.LAYER_BUFFERS, 0) // 4


def grads(fp: RunFootprint, layer: str) -> int:
    """Gradient elements of the tops a layer produced."""
    return fp.nets[0].by_layer.get(layer, {}).get(C.ACTIVATION_GRADIENTS, 0) // 4


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


def test_normalize_permute_priorbox() -> None:
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


def test_identity_permute_shares_data_and_diff() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "x" top: "t"
            dummy_data_param { shape { dim: 2 dim: 3 dim: 4 } shape { dim: 2 dim: 3 dim: 6 } } }
    layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y" inner_product_param { num_output: 6 axis: 2 } }
    layer { name: "p" type: "Permute" bottom: "y" top: "z" permute_param { order: 0 order: 1 } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "z" bottom: "t" }
    """
    fp = footprint(net)
    # Natural order: Forward shares y's data and Backward shares the diff, so "p" owns neither;
    # only its 3 int entries per blob (3 axes x 3 blobs = 9).
    layer = fp.nets[0].by_layer["p"]
    assert C.ACTIVATIONS not in layer and C.ACTIVATION_GRADIENTS not in layer
    assert buffers(fp, "p") == 9
    assert grads(fp, "ip") == 2 * 3 * 6


BN_NET = """
layer { name: "d" type: "DummyData" top: "data" top: "t"
        dummy_data_param { shape { dim: 2 dim: 3 dim: 4 dim: 4 } shape { dim: 2 dim: 3 dim: 4 dim: 4 } } }
layer { name: "bn" type: "BN" bottom: "data" top: "bn" BN_PARAM }
layer { name: "loss" type: "EuclideanLoss" bottom: "bn" bottom: "t" }
"""


def test_segnet_bn_buffers_and_unconditional_bottom_diff() -> None:
    fp = footprint(BN_NET.replace("BN_PARAM", "bn_param { bn_mode: LEARN }"))
    # SegNet BN over 2x3x4x4 (96): ones-vectors data+diff 2*16 + 2*2 = 36 at set-up; buffer_blob_ 96;
    # spatial mean/variance [N,C] 2*6 = 12; LEARN: batch mean/variance 2*3 = 6 and x_norm_ 96;
    # CPU backward: diffs of the two [N,C] blobs 12.
    assert buffers(fp, "bn") == 36 + 96 + 12 + 6 + 96 + 12
    # Backward takes the bottom diff unconditionally: the data blob gets a gradient (96).
    assert grads(fp, "d") == 96
    gpu = footprint(BN_NET.replace("BN_PARAM", "bn_param { bn_mode: INFERENCE }"), "gpu")
    # INFERENCE on the GPU: 36 + buffer_blob_ 96 + spatial mean/variance 12; no x_norm_, no diffs.
    assert buffers(gpu, "bn") == 36 + 96 + 12


def test_pspnet_bn_buffers() -> None:
    fp = footprint(BN_NET.replace("BN_PARAM", "bn_param { momentum: 0.95 }"))
    # PSPNet BN: ones-vectors 16 + 2; broadcast_buffer_ 96; spatial_statistic_ 6; batch_statistic_ 3;
    # not frozen: x_norm_ 96 and x_inv_std_ 3.
    assert buffers(fp, "bn") == 16 + 2 + 96 + 6 + 3 + 96 + 3
    # It honours propagate_down: no gradient for the data blob.
    assert grads(fp, "d") == 0
    frozen = footprint(BN_NET.replace("BN_PARAM", "bn_param { frozen: true }"))
    assert buffers(frozen, "bn") == 16 + 2 + 96 + 6 + 3


DW_NET = """
layer { name: "d" type: "DummyData" top: "data" top: "t"
        dummy_data_param { shape { dim: 2 dim: 4 dim: 6 dim: 6 } shape { dim: 2 dim: 4 dim: 6 dim: 6 } } }
layer { name: "dw" type: "TYPE" bottom: "data" top: "dw"
        convolution_param { num_output: 4 group: 4 kernel_size: 3 pad: 1 } }
layer { name: "loss" type: "EuclideanLoss" bottom: "dw" bottom: "t" }
"""


def test_depthwise_convolution_col_buffer_on_cpu_only() -> None:
    net = DW_NET.replace("TYPE", "DepthwiseConvolution")
    # CPU: BaseConvolutionLayer's path: bias_multiplier_ 36 + one-image column 4*9*36 = 1296.
    assert buffers(footprint(net), "dw") == 36 + 1296
    gpu = footprint(net, "gpu")
    # GPU: direct kernels, no column buffer, no cuDNN workspace; only bias_multiplier_ 36.
    assert buffers(gpu, "dw") == 36
    assert C.CUDNN_WORKSPACE not in gpu.by_category
    # Backward takes the data diff whatever propagate_down says: 2*4*6*6 = 288.
    assert grads(gpu, "d") == 288


def test_convolution_depthwise_weight_buffer_on_gpu() -> None:
    net = DW_NET.replace("TYPE", "ConvolutionDepthwise")
    # Reshape fills weight and bias ones-vectors of N*H_out*W_out = 72 each (both modes).
    assert buffers(footprint(net), "dw") == 72 + 72
    # GPU backward: weight_buffer_ C*kh*kw*72 = 2592 and bias_buffer_ C*72 = 288.
    assert buffers(footprint(net, "gpu"), "dw") == 72 + 72 + 2592 + 288


def test_convolution_deeplab_col_buffer() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "data" dummy_data_param { shape { dim: 1 dim: 2 dim: 5 dim: 5 } } }
    layer { name: "c" type: "ConvolutionDeeplab" bottom: "data" top: "c"
            convolution_deeplab_param { num_output: 3 kernel_size: 3 hole: 2 } }
    """
    # Effective kernel 5 -> 1x1 output; column 2*3*3*1 = 18; bias_multiplier_ [H_out*W_out] = 1.
    assert buffers(footprint(net, role="inference"), "c") == 18 + 1


def test_region_pooling_and_smooth_l1() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "feat" top: "rois" top: "t"
            dummy_data_param { shape { dim: 1 dim: 8 dim: 6 dim: 6 } shape { dim: 3 dim: 5 }
                               shape { dim: 3 dim: 2 dim: 2 dim: 2 } } }
    layer { name: "roi" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "roi"
            roi_pooling_param { pooled_h: 2 pooled_w: 2 } }
    layer { name: "psroi" type: "PSROIPooling" bottom: "feat" bottom: "rois" top: "psroi"
            psroi_pooling_param { output_dim: 2 group_size: 2 } }
    layer { name: "l1" type: "SmoothL1Loss" bottom: "psroi" bottom: "t" }
    layer { name: "sink" type: "Silence" bottom: "roi" }
    """
    cpu, gpu = footprint(net, role="inference"), footprint(net, "gpu", role="inference")
    # ROIPooling: int argmax per output, [3, 8, 2, 2] = 96. PSROIPooling: mapping_channel_ [3, 2, 2, 2] = 24.
    assert buffers(cpu, "roi") == buffers(gpu, "roi") == 96
    assert buffers(cpu, "psroi") == 24
    # SmoothL1Loss on 24 values: diff_ + errors_ = 48; Faster R-CNN's GPU version adds ones_ (24).
    assert buffers(cpu, "l1") == 48
    assert buffers(gpu, "l1") == 72


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


def test_reorg_axpy_and_views_without_buffers() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "x" top: "a" top: "y" top: "t"
            dummy_data_param { shape { dim: 2 dim: 4 dim: 4 dim: 4 } shape { dim: 2 dim: 4 dim: 1 dim: 1 }
                               shape { dim: 2 dim: 4 dim: 4 dim: 4 } shape { dim: 2 dim: 16 dim: 2 dim: 2 } } }
    layer { name: "conv" type: "Convolution" bottom: "x" top: "c" convolution_param { num_output: 4 kernel_size: 1 } }
    layer { name: "axpy" type: "Axpy" bottom: "a" bottom: "c" bottom: "y" top: "s" }
    layer { name: "shuffle" type: "ShuffleChannel" bottom: "s" top: "sh" shuffle_channel_param { group: 2 } }
    layer { name: "reorg" type: "Reorg" bottom: "sh" top: "r" reorg_param { stride: 2 } }
    layer { name: "loss" type: "EuclideanLoss" bottom: "r" bottom: "t" }
    """
    fp = footprint(net)
    # Axpy: ones over x's spatial axes, 4*4 = 16. ShuffleChannel: none (temp_blob_ never used).
    assert buffers(fp, "axpy") == 16
    assert buffers(fp, "shuffle") == 0
    # Reorg backward reads its own bottom-shaped diff_ blob's diff: 2*4*4*4 = 128.
    assert buffers(fp, "reorg") == 128


def test_fork_data_layers_copy_into_their_tops() -> None:
    dense = """
    layer { name: "data" type: "DenseImageData" top: "data" top: "label"
            dense_image_data_param { source: "x" batch_size: 2 new_height: 8 new_width: 10 } }
    """
    fp = footprint(dense, role="inference").nets[0].by_layer["data"]
    tops = 2 * 3 * 8 * 10 + 2 * 1 * 8 * 10  # 480 + 160
    # SegNet: one host batch, copied into tops that own their data.
    assert fp[C.PREFETCH] // 4 == tops
    assert fp[C.ACTIVATIONS] // 4 == tops
    seg = """
    layer { name: "data" type: "ImageSegData" top: "data" top: "label" top: "dim"
            image_data_param { source: "x" batch_size: 2 } transform_param { crop_size: 8 } }
    """
    fp = footprint(seg, role="inference").nets[0].by_layer["data"]
    tops = 2 * 3 * 8 * 8 + 2 * 1 * 8 * 8 + 2 * 2  # 384 + 128 + 4
    # PSPNet: PREFETCH_COUNT = 5 batches of image, label and size.
    assert fp[C.PREFETCH] // 4 == 5 * tops
    assert fp[C.ACTIVATIONS] // 4 == tops
    annotated = """
    layer { name: "data" type: "AnnotatedData" top: "data" top: "label" data_param { source: "x" batch_size: 2 }
            transform_param { resize_param { height: 6 width: 6 resize_mode: WARP } } }
    """
    fp = footprint(annotated, role="inference").nets[0].by_layer["data"]
    tops = 2 * 3 * 6 * 6 + 8  # 216 + one 8-value box row
    # SSD: PREFETCH_COUNT = 3, whatever data_param.prefetch says; tops are copies.
    assert fp[C.PREFETCH] // 4 == 3 * tops
    assert fp[C.ACTIVATIONS] // 4 == tops


def test_normalize_writes_the_data_gradient() -> None:
    net = """
    layer { name: "d" type: "DummyData" top: "data" top: "t"
            dummy_data_param { shape { dim: 2 dim: 3 dim: 4 dim: 4 } shape { dim: 2 dim: 3 dim: 4 dim: 4 } } }
    layer { name: "norm" type: "Normalize" bottom: "data" top: "norm" }
    layer { name: "loss" type: "EuclideanLoss" bottom: "norm" bottom: "t" }
    """
    fp = footprint(net)
    # The data needs no gradient, but both Backward paths take its diff first: 2*3*4*4 = 96.
    assert grads(fp, "d") == 96
    # across_spatial (default): norm_ is one value per image (2); buffer_ 48; ones 3 + 16;
    # backward buffer_channel_ 3 and buffer_spatial_ 16.
    assert buffers(fp, "norm") == 2 + 48 + 3 + 16 + 3 + 16

"""Fork layer shapes, each computed by hand from the fork's own Reshape code.

The SSD figures at the end are the "Memory required for data" lines of a real SSD training log,
so the whole chain (AnnotatedData, Normalize, Permute, PriorBox, MultiBoxLoss, DetectionOutput,
DetectionEvaluate) is checked against Caffe's own arithmetic.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from caffemem.errors import NetError
from caffemem.layers.registry import BuildOptions, Layer, SetupContext, Shape, layer_class
from caffemem.net.analyze import analyze_path
from caffemem.net.prototxt import parse_text
from caffemem.proto import caffe_pb2

SHARED = Path(__file__).resolve().parents[2].parent / "shared"


def make(text: str, phase: int = caffe_pb2.TEST, **options: object) -> Layer:
    param = caffe_pb2.LayerParameter()
    assert parse_text(text, param) == []
    cls = layer_class(param.type)
    assert cls is not None, param.type
    layer = cls(param, SetupContext(phase=phase, options=BuildOptions(**options)))  # type: ignore[arg-type]
    layer.n_tops += layer.auto_top_count()
    return layer


def tops(text: str, *bottoms: Shape, **options: object) -> list[Shape | None]:
    layer = make(text, **options)
    layer.check_counts(len(bottoms), layer.n_tops)
    return layer.reshape(list(bottoms))


def test_bn_segnet_and_pspnet() -> None:
    seg = make('type: "BN" top: "y" bn_param { bn_mode: INFERENCE }')
    assert seg.reshape([(2, 64, 10, 12)]) == [(2, 64, 10, 12)]
    assert seg.blobs == [(1, 64, 1, 1)] * 2
    psp = make('type: "BN" top: "y" bn_param { slope_filler { value: 1 } frozen: true }')
    assert psp.reshape([(1, 512, 60, 60)]) == [(1, 512, 60, 60)]
    assert psp.blobs == [(1, 512, 1, 1)] * 4
    assert [s.lr_mult for s in psp.param_specs] == [0, 0, 0, 0]  # type: ignore[attr-defined]
    unfrozen = make('type: "BN" top: "y" param { lr_mult: 1 } param { lr_mult: 1 } param { lr_mult: 0 } '
                    'param { lr_mult: 0 }')
    unfrozen.reshape([(1, 8, 4, 4)])
    assert [s.lr_mult for s in unfrozen.param_specs] == [1, 1, 0, 0]  # type: ignore[attr-defined]


def test_normalize_permute_priorbox() -> None:
    norm = make('type: "Normalize" top: "n" norm_param { channel_shared: false }')
    assert norm.reshape([(8, 512, 38, 38)]) == [(8, 512, 38, 38)] and norm.blobs == [(512,)]
    shared = make('type: "Normalize" top: "n"')
    shared.reshape([(8, 512, 38, 38)])
    assert shared.blobs == [()]
    assert tops('type: "Permute" top: "p" permute_param { order: 0 order: 2 order: 3 order: 1 }',
                (8, 16, 38, 38)) == [(8, 38, 38, 16)]
    assert tops('type: "Permute" top: "p" permute_param { order: 1 }', (2, 3, 4)) == [(3, 2, 4)]
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


def test_region_pooling_and_smooth_l1() -> None:
    assert tops('type: "ROIPooling" top: "p" roi_pooling_param { pooled_h: 7 pooled_w: 6 spatial_scale: 0.0625 }',
                (1, 512, 38, 50), (128, 5)) == [(128, 512, 7, 6)]
    assert tops('type: "PSROIPooling" top: "p" psroi_pooling_param { spatial_scale: 0.0625 output_dim: 21 '
                'group_size: 7 }', (1, 21 * 49, 38, 50), (300, 5)) == [(300, 21, 7, 7)]
    with pytest.raises(NetError, match="output_dim"):
        tops('type: "PSROIPooling" top: "p" psroi_pooling_param { output_dim: 21 group_size: 7 }',
             (1, 1000, 38, 50), (300, 5))
    sl1 = make('type: "SmoothL1Loss" bottom: "a" bottom: "b" bottom: "c" bottom: "d" top: "l"')
    assert sl1.reshape([(1, 36, 14, 14)] * 4) == [()]
    with pytest.raises(NetError, match="inside and outside"):
        make('type: "SmoothL1Loss" top: "l"').reshape([(1, 36, 14, 14)] * 3)


def test_upsample_interp_resampling() -> None:
    assert tops('type: "Upsample" top: "u" upsample_param { scale: 2 }', (4, 64, 23, 30), (4, 64, 23, 30)) \
        == [(4, 64, 46, 60)]
    assert tops('type: "Upsample" top: "u" upsample_param { upsample_h: 45 upsample_w: 60 }',
                (4, 64, 23, 30), (4, 64, 23, 30)) == [(4, 64, 45, 60)]
    assert tops('type: "Upsample" top: "u" upsample_param { scale: 2 pad_out_h: true }',
                (1, 8, 23, 30), (1, 8, 23, 30)) == [(1, 8, 45, 60)]
    with pytest.raises(NetError, match="same shape"):
        tops('type: "Upsample" top: "u"', (1, 8, 23, 30), (1, 8, 16, 16))
    b = (1, 512, 60, 60)
    assert tops('type: "Interp" top: "i" interp_param { zoom_factor: 8 }', b) == [(1, 512, 473, 473)]
    assert tops('type: "Interp" top: "i" interp_param { shrink_factor: 8 }', (1, 3, 426, 426)) == [(1, 3, 54, 54)]
    assert tops('type: "Interp" top: "i" interp_param { height: 60 width: 61 }', (1, 2, 1, 1)) == [(1, 2, 60, 61)]
    # shrink then zoom: (473-1)/8+1 = 60, then 60 + 59*1 = 119
    assert tops('type: "Interp" top: "i" interp_param { shrink_factor: 8 zoom_factor: 2 }',
                (1, 3, 473, 473)) == [(1, 3, 119, 119)]
    # cropping pads shrink the input first: 60-2 = 58 -> 58 + 57*7
    assert tops('type: "Interp" top: "i" interp_param { zoom_factor: 8 pad_beg: -1 pad_end: -1 }', b) \
        == [(1, 512, 457, 457)]
    with pytest.raises(NetError, match="zoom_factor"):
        tops('type: "Interp" top: "i"', b)


def test_shape_ops() -> None:
    assert tops('type: "ShuffleChannel" top: "s" shuffle_channel_param { group: 3 }', (1, 240, 28, 28)) \
        == [(1, 240, 28, 28)]
    assert tops('type: "Axpy" top: "a"', (2, 64, 1, 1), (2, 64, 7, 7), (2, 64, 7, 7)) == [(2, 64, 7, 7)]
    with pytest.raises(NetError):
        tops('type: "Axpy" top: "a"', (2, 64, 7, 7), (2, 64, 7, 7), (2, 64, 7, 7))
    assert tops('type: "Reorg" top: "r" reorg_param { stride: 2 }', (8, 64, 34, 34)) == [(8, 256, 17, 17)]
    assert tops('type: "Reorg" top: "r" reorg_param { stride: 2 reverse: true }', (8, 256, 17, 17)) \
        == [(8, 64, 34, 34)]
    assert tops('type: "Transpose" top: "t" transpose_param { shape { dim: 54 dim: 54 dim: 128 } '
                'transposetype: CONVTOLSTM }', (1, 128, 54, 54)) == [(54, 54, 128)]
    with pytest.raises(NetError, match="elements"):
        tops('type: "Transpose" top: "t" transpose_param { shape { dim: 5 } }', (1, 2, 3))
    assert tops('type: "Mask" top: "m" mask_param { width: 54 height: 27 }') == [(27, 54)]
    assert tops('type: "ReLU6" top: "r"', (1, 32, 112, 112)) == [(1, 32, 112, 112)]
    assert tops('type: "SegAccuracy" top: "a"', (1, 38, 54, 54), (1, 1, 54, 54)) == [(1, 1, 1, 4)]
    # YOLOv2: 17x17 cells, 5 anchors, 20 classes -> 20 + 17*17*5*4
    assert tops('type: "EvalDetection" top: "e" eval_detection_param { side: 17 num_class: 20 num_object: 5 }',
                (8, 125, 17, 17), (1, 1, 1, 8)) == [(8, 20 + 17 * 17 * 5 * 4)]


def test_convolutions() -> None:
    dw = make('type: "ConvolutionDepthwise" top: "c" convolution_param { num_output: 32 group: 32 kernel_size: 3 '
              'stride: 2 pad: 1 }')
    assert dw.reshape([(1, 32, 112, 112)]) == [(1, 32, 56, 56)] and dw.blobs == [(32, 1, 3, 3), (32,)]
    dw2 = make('type: "DepthwiseConvolution" top: "c" convolution_param { num_output: 64 group: 64 kernel_size: 3 '
               'pad: 1 bias_term: false }')
    assert dw2.reshape([(2, 64, 10, 10)]) == [(2, 64, 10, 10)] and dw2.blobs == [(64, 1, 3, 3)]
    # DeepLab hole 4, kernel 3: effective kernel 9; (54 + 2*4 - 9) + 1 = 54
    deeplab = make('type: "ConvolutionDeeplab" top: "c" convolution_deeplab_param { num_output: 1024 pad: 4 '
                   'kernel_size: 3 hole: 4 }')
    assert deeplab.reshape([(1, 512, 54, 54)]) == [(1, 1024, 54, 54)]
    assert deeplab.blobs == [(1024, 512, 3, 3), (1, 1, 1, 1024)]
    with pytest.raises(NetError, match="kernel"):
        make('type: "ConvolutionDeeplab" top: "c" convolution_deeplab_param { num_output: 4 }').reshape(
            [(1, 1, 5, 5)])


def test_data_layers() -> None:
    ad = 'type: "AnnotatedData" top: "data" top: "label" data_param { batch_size: 32 } ' \
         'transform_param { resize_param { height: 300 width: 300 resize_mode: WARP } }'
    assert tops(ad) == [(32, 3, 300, 300), (1, 1, 1, 8)]
    assert tops(ad, batch=4) == [(4, 3, 300, 300), (1, 1, 1, 8)]
    assert tops(ad, inputs={"data": (3, 512, 512)}) == [(32, 3, 512, 512), (1, 1, 1, 8)]
    dense = 'type: "DenseImageData" top: "data" top: "label" dense_image_data_param { batch_size: 4 ' \
            'new_height: 360 new_width: 480 }'
    assert tops(dense) == [(4, 3, 360, 480), (4, 1, 360, 480)]
    dense_crop = 'type: "DenseImageData" top: "data" top: "label" dense_image_data_param { batch_size: 2 ' \
                 'crop_height: 224 crop_width: 200 is_color: false }'
    assert tops(dense_crop) == [(2, 1, 224, 200), (2, 1, 224, 200)]
    seg = make('type: "ImageSegData" top: "data" image_data_param { batch_size: 1 is_color: false } '
               'transform_param { crop_size: 426 }')
    assert seg.n_tops == 3  # two anonymous tops, as Caffe's AutoTopBlobs makes them
    assert seg.reshape([]) == [(1, 1, 426, 426), (1, 1, 426, 426), (1, 1, 1, 2)]
    cpm = 'type: "CPMData" top: "data" top: "label" data_param { batch_size: 10 } ' \
          'cpm_transform_param { stride: 8 crop_size_x: 368 crop_size_y: 368 num_parts: 56 }'
    assert tops(cpm, phase=caffe_pb2.TRAIN) == [(10, 6, 368, 368), (10, 114, 46, 46)]


def _memory(path: Path, phase: int) -> int | None:
    analysis = analyze_path(str(path), phase=phase)
    return analysis.nets[0].memory_required_for_data


@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="shared corpus not present")
def test_ssd_memory_matches_caffe_log() -> None:
    """corpus/logs/ssd_honorpeter: TRAIN 3721873124 and TEST 1987774712 bytes, logged by the fork."""
    nets = SHARED / "corpus" / "nets" / "ssd_vgg"
    assert _memory(nets / "SSD_300x300_MELON_train.prototxt", caffe_pb2.TRAIN) == 3721873124
    assert _memory(nets / "SSD_300x300_MELON_test.prototxt", caffe_pb2.TEST) == 1987774712

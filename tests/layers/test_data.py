"""Fork data layers (layers/data.py): AnnotatedData, DenseImageData, ImageSegData, CPMData.

Shapes are computed by hand from the fork's own Reshape code; memory figures are derived in the
comment next to each from the fork's source (the file named in the layer class's docstring), in
4-byte elements, not read from caffemem's output.
"""

from __future__ import annotations

from layer_helpers import footprint, make, tops

from caffemem.categories import Category as C
from caffemem.proto import caffe_pb2


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


def test_mobilenet_yolos_darknet_labels() -> None:
    """eric612/MobileNet-YOLO's annotated_data_layer.cpp with yolo_data_type 1: labels are
    [batch, 1, 300, 5] (SSD's are [1, 1, boxes, 8])."""
    from layer_helpers import tops as layer_tops

    text = ('type: "AnnotatedData" top: "data" top: "label" data_param { batch_size: 8 source: "x" } '
            'transform_param { resize_param { height: 416 width: 416 resize_mode: WARP } } '
            'annotated_data_param { yolo_data_type: 1 }')
    assert layer_tops(text)[1] == (8, 1, 300, 5)
    seg = text.replace("annotated_data_param { yolo_data_type: 1 }",
                       "annotated_data_param { yolo_data_type: 1 seg_scales: 8 }").replace(
        'top: "label"', 'top: "label" top: "seg"')
    assert layer_tops(seg)[2] == (8, 1, 52, 52)

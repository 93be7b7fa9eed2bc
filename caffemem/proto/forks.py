"""Which fields of caffemem's schema are forks' rather than BVLC Caffe's, and whose.

``proto/caffe.proto`` is BVLC's schema plus the params of widely used forks (marked there with
``// fork field`` comments, on numbers BVLC does not use). The compiled descriptors do not keep
comments, so this table says it again: a net using one of these fields reads in caffemem (and in
that fork's Caffe) but BVLC Caffe's text parser refuses it ("has no field named ..."). Messages
that exist only in forks (``BNParameter``, ``PriorBoxParameter``, ...) are reached only through a
field listed here, so they need no rows of their own. ``tests/proto`` checks the table against
BVLC's compiled schema when ``../shared`` is beside the checkout.
"""

from __future__ import annotations

#: message name -> {field name -> the fork(s) that define it}
FORK_FIELDS: dict[str, dict[str, str]] = {
    "LayerParameter": {
        "bn_param": "SegNet, PSPNet",
        "shuffle_channel_param": "ShuffleNet",
        "psroi_pooling_param": "Intel Caffe, R-FCN",
        "quantization_param": "Intel Caffe, Ristretto",
        "reorg_param": "Intel Caffe (YOLO)",
        "annotated_data_param": "SSD",
        "multibox_loss_param": "SSD",
        "permute_param": "SSD",
        "prior_box_param": "SSD",
        "detection_output_param": "SSD",
        "detection_evaluate_param": "SSD",
        "norm_param": "SSD",
        "eval_detection_param": "Intel Caffe (YOLO)",
        "roi_pooling_param": "Fast/Faster R-CNN",
        "smooth_l1_loss_param": "Fast/Faster R-CNN",
        "upsample_param": "SegNet, YOLOv3 ports",
        "dense_image_data_param": "SegNet",
        "interp_param": "PSPNet, DeepLab, LSTM-CF",
        "seg_accuracy_param": "LSTM-CF, PSPNet",
        "transpose_param": "LSTM-CF",
        "mask_param": "LSTM-CF",
        "convolution_deeplab_param": "LSTM-CF",
        "image_seg_data_param": "LSTM-CF",
        "cpm_transform_param": "OpenPose caffe_train",
        "center_loss_param": "caffe-face",
        "margin_inner_product_param": "SphereFace",
        "ctc_loss_param": "CTC / OCR forks",
        "ctc_decoder_param": "CTC / OCR forks",
        "reverse_param": "CRNN / OCR forks",
        "continuation_indicator_param": "CRNN / OCR forks",
        "box_annotator_ohem_param": "R-FCN, Intel Caffe",
        "region_loss_param": "YOLO ports (Intel Caffe)",
        "yolov3_detection_output_param": "YOLO ports (MobileNet-YOLO)",
        "yolov3_param": "YOLO ports (MobileNet-YOLO)",
        "video_data_param": "C3D",
        "convolution3d_param": "C3D",
        "pooling3d_param": "C3D",
        "mat_write_param": "DeepLab",
        "op_transform_param": "OpenPose openpose_caffe_train",
        "correlation_param": "FlowNet, FlowNet2",
        "l1_loss_param": "FlowNet, FlowNet2",
        "resample_param": "FlowNet, FlowNet2",
        "downsample_param": "FlowNet, FlowNet2",
        "accum_param": "FlowNet2",
        "multi_stage_meanfield_param": "CRF-as-RNN",
        "st_param": "SpatialTransformerLayer",
        "lstm_param": "caffe-lstm (Junhyuk Oh), CTC / OCR forks",
        "denseblock_param": "Tongcheng/caffe, CTC / OCR forks",
        "focal_loss_param": "FocalLoss ports (chuanqi305/FocalLoss)",
    },
    "SolverParameter": {
        "plateau_winsize": "SSD",
        "show_per_class_result": "SSD",
        "eval_type": "SSD",
        "ap_version": "SSD",
    },
    "TransformationParameter": {
        "resize_param": "SSD",
        "noise_param": "SSD",
        "emit_constraint": "SSD",
        "crop_h": "SSD",
        "crop_w": "SSD",
        "distort_param": "SSD",
        "expand_param": "SSD",
    },
    "LossParameter": {"class_weighting": "SegNet", "weight_by_label_freqs": "SegNet"},
    "ConcatParameter": {"per_fla_fuse": "Intel Caffe"},
    "DataParameter": {"side": "YOLO ports"},
    "DropoutParameter": {"scale_train": "Fast/Faster R-CNN", "sample_weights_test": "SegNet"},
    "ImageDataParameter": {"min_height": "DeepLab, PSPNet, LSTM-CF", "min_width": "DeepLab, PSPNet, LSTM-CF",
                           "ignore_label": "DeepLab, PSPNet, LSTM-CF", "label_type": "DeepLab, PSPNet, LSTM-CF",
                           "new_length": "C3D", "show_data": "C3D", "use_image": "C3D", "sampling_rate": "C3D",
                           "use_label": "C3D", "use_temporal_jitter": "C3D"},
    "PoolingParameter": {"ceil_mode": "several forks", "kernel_depth": "C3D", "temporal_stride": "C3D"},
    "ConvolutionParameter": {"kernel_depth": "C3D", "temporal_stride": "C3D", "filter_group": "C3D",
                             "temporal_pad": "C3D"},
}


def fork_of(message: str, field: str) -> str | None:
    """The fork(s) that define ``message.field``, or None for a BVLC field (or one caffemem does not know)."""
    return FORK_FIELDS.get(message, {}).get(field)

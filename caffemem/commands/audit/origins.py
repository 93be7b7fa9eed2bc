"""Where a Caffe layer type comes from: BVLC Caffe itself, a known fork, or someone's own code.

Why it matters for an audit: a net that uses only BVLC types builds with any Caffe and is what
converters were written against; a fork type needs that fork's ``caffe.proto`` and source, and a
type nobody publishes needs its author. The BVLC set is the list of ``REGISTER_LAYER_CLASS`` /
``REGISTER_LAYER_CREATOR`` names at BVLC/caffe 9b89154 (61 types). The fork table names, for each
type string seen in published nets, the fork that introduced it; where several forks carry the same
string (``BN``, ``Upsample``), the name says so.
"""

from __future__ import annotations

#: Every layer type BVLC Caffe registers (master at 9b89154), ``Python`` included.
BVLC_TYPES: frozenset[str] = frozenset({
    "AbsVal", "Accuracy", "ArgMax", "BNLL", "BatchNorm", "BatchReindex", "Bias", "Clip", "Concat",
    "ContrastiveLoss", "Convolution", "Crop", "Data", "Deconvolution", "Dropout", "DummyData", "ELU",
    "Eltwise", "Embed", "EuclideanLoss", "Exp", "Filter", "Flatten", "HDF5Data", "HDF5Output", "HingeLoss",
    "Im2col", "ImageData", "InfogainLoss", "InnerProduct", "Input", "LRN", "LSTM", "LSTMUnit", "Log", "MVN",
    "MemoryData", "MultinomialLogisticLoss", "PReLU", "Parameter", "Pooling", "Power", "Python", "RNN",
    "ReLU", "Reduction", "Reshape", "SPP", "Scale", "Sigmoid", "SigmoidCrossEntropyLoss", "Silence",
    "Slice", "Softmax", "SoftmaxWithLoss", "Split", "Swish", "TanH", "Threshold", "Tile", "WindowData",
})

SSD = "SSD (weiliu89/caffe)"
FASTER_RCNN = "Fast/Faster R-CNN (rbgirshick/caffe-fast-rcnn)"
RFCN = "R-FCN (daijifeng001/caffe-rfcn, also in Intel Caffe)"
SEGNET = "SegNet (alexgkendall/caffe-segnet)"
SEGNET_PSPNET = "SegNet / PSPNet (alexgkendall/caffe-segnet, hszhao/PSPNet)"
DEEPLAB = "DeepLab (deeplab-public)"
DEEPLAB_PSPNET = "DeepLab / PSPNet (deeplab-public, hszhao/PSPNet)"
MOBILENET = "MobileNet ports (depthwise convolution forks)"
SHUFFLENET = "ShuffleNet (farmingyard/ShuffleNet)"
SENET = "SENet (hujie-frank/SENet)"
INTEL = "Intel Caffe (intel/caffe)"
YOLO = "YOLO ports (Intel Caffe, caffe-yolo forks)"
OPENPOSE = "OpenPose training (CMU-Perceptual-Computing-Lab/caffe_train)"
LSTM_CF = "LSTM-CF (Winstonxu123/LSTM-CF)"
MASK_RCNN = "Mask R-CNN / detection ports"
FACE = "face recognition forks (caffe-face, SphereFace, ...)"
OCR = "CTC / OCR forks (warp-ctc ports)"

#: Fork layer type -> the fork that defines it. Types caffemem can size are all here; a few more
#: that are common in published models are listed so that they are named rather than called custom.
FORK_TYPES: dict[str, str] = {
    # SSD
    "Normalize": SSD, "Permute": SSD, "PriorBox": SSD, "DetectionOutput": SSD, "DetectionEvaluate": SSD,
    "MultiBoxLoss": SSD, "AnnotatedData": SSD, "VideoData": SSD,
    # Fast/Faster R-CNN (the C++ Proposal layer comes from ports of the Python one)
    "ROIPooling": FASTER_RCNN, "SmoothL1Loss": FASTER_RCNN, "Proposal": FASTER_RCNN,
    # R-FCN
    "PSROIPooling": RFCN,
    # SegNet / PSPNet / DeepLab
    "Upsample": SEGNET, "DenseImageData": SEGNET, "BN": SEGNET_PSPNET,
    "Interp": DEEPLAB_PSPNET, "ImageSegData": DEEPLAB, "SegAccuracy": DEEPLAB,
    "ConvolutionDeeplab": DEEPLAB, "MaxUnpool": SEGNET, "Unpooling": SEGNET,
    # MobileNet / ShuffleNet / SENet ports
    "ConvolutionDepthwise": MOBILENET, "DepthwiseConvolution": MOBILENET, "ReLU6": MOBILENET,
    "ShuffleChannel": SHUFFLENET, "Axpy": SENET,
    # Intel Caffe and YOLO
    "Reorg": YOLO, "EvalDetection": YOLO, "Region": YOLO, "RegionLoss": YOLO, "Yolo": YOLO,
    "DetectionLoss": YOLO, "Quantize": INTEL,
    # OpenPose
    "CPMData": OPENPOSE,
    # LSTM-CF
    "Transpose": LSTM_CF, "Mask": LSTM_CF,
    # other families seen in model zoos
    "ROIAlign": MASK_RCNN, "PSROIAlign": MASK_RCNN,
    "NormalizeFace": FACE, "CenterLoss": FACE, "MarginInnerProduct": FACE,
    "CTCLoss": OCR, "WarpCTCLoss": OCR,
}

ORIGIN_BVLC = "bvlc"
ORIGIN_FORK = "fork"
ORIGIN_CUSTOM = "custom"
ORIGIN_PYTHON = "python"


def origin_of(layer_type: str) -> tuple[str, str | None]:
    """(origin, fork name or None) of a layer type string as written in a V2 ``layer { type }``.

    ``Python`` is BVLC code but runs the user's module, so it gets its own origin: the net depends on
    code outside any Caffe release.
    """
    if layer_type == "Python":
        return ORIGIN_PYTHON, None
    if layer_type in BVLC_TYPES:
        return ORIGIN_BVLC, None
    fork = FORK_TYPES.get(layer_type)
    if fork is not None:
        return ORIGIN_FORK, fork
    return ORIGIN_CUSTOM, None

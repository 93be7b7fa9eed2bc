"""Type cards: every fact about a Caffe layer type that is not a shape or memory rule, in one row.

The rules themselves are the ``@register`` classes in the modules of their kind. What the rest of
caffemem needs to *know* about a type sits here, one :class:`TypeCard` per type string:

- its **origin**: BVLC Caffe, a named fork, or Python (BVLC code running the user's module). A net
  of BVLC types builds with any Caffe and is what converters were written against; a fork type
  needs that fork's ``caffe.proto`` and source; a type nobody publishes needs its author.
- its **converter support** in each migration target (:data:`TARGETS`), so the audit can say what
  blocks moving a net off Caffe without installing three converters (two of them unmaintained).
  The entries were taken from each converter's layer dispatch as surveyed for this project:
  ``onnx`` is supported when caffe2onnx (asiryan/caffe2onnx, last commit 2021-11) *or* MMdnn
  (microsoft/MMdnn, functional commits end in 2020) has a handler, and the note says which (one
  missing type blocks the whole conversion in both); ``opencv`` is ``cv2.dnn.readNetFromCaffe``'s
  layer registry, partial where a layer of that name exists but its parameter mapping was not
  verified; ``pytorch`` is our own judgement of whether a *direct* ``torch.nn`` / ``torch`` /
  ``torchvision.ops`` operation reproduces the layer ("partial": a one-line composition or a
  restriction on the Caffe parameters; "no": it has to be written by hand).
- whether it is **training-only**: data, loss and evaluation layers, which a deployed model drops,
  so they never block a migration;
- its **log sources**: the Caffe source files whose lines, printed while the layer is set up, reveal
  that a data layer of this type is being built (how the log reader names data layers).

Adding a layer type is one class in ``layers/<kind>.py`` and one ``_card`` row below;
``tests/layers/test_types.py`` fails until both exist and agree. Types caffemem cannot size but that
are common in published models also get a row, so that the audit names them rather than calling
them custom. Anything else is answered by :func:`card` as a custom type, unsupported everywhere.
This module imports nothing else of caffemem's, so the log reader can use it without the protobuf schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from caffemem._strenum import StrEnum


class Origin(StrEnum):
    """Where a type comes from; the values are the audit's JSON ``origin`` strings."""

    BVLC = "bvlc"
    FORK = "fork"
    CUSTOM = "custom"
    PYTHON = "python"


class Fork(StrEnum):
    """The forks that define published types. Where several forks carry one type string (``BN``,
    ``Interp``), the name says so. The values are the audit's JSON ``fork`` strings."""

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
    OPENPOSE = "OpenPose training (CMU-Perceptual-Computing-Lab/caffe_train, openpose_caffe_train)"
    LSTM_CF = "LSTM-CF (Winstonxu123/LSTM-CF)"
    MASK_RCNN = "Mask R-CNN / detection ports"
    FACE = "face recognition forks (caffe-face, SphereFace, ...)"
    C3D = "C3D (facebookarchive/C3D)"
    HED = "HED (s9xie/hed)"
    C3D_SSD = "C3D (facebookarchive/C3D) / SSD (weiliu89/caffe)"
    OCR = "CTC / OCR forks (warp-ctc ports)"
    FLOWNET = "FlowNet / FlowNet2 (lmb-freiburg/flownet, lmb-freiburg/flownet2)"
    FLOWNET2 = "FlowNet2 (lmb-freiburg/flownet2)"
    CRFASRNN = "CRF-as-RNN (torrvision/crfasrnn)"
    STN = "spatial transformer (daerduoCarey/SpatialTransformerLayer)"
    RISTRETTO = "Ristretto (pmgysel/caffe)"
    JUNHYUK_LSTM = "Junhyuk Oh's LSTM (junhyukoh/caffe-lstm, senlinuc/caffe_ocr)"
    DENSEBLOCK = "memory-efficient DenseBlock (Tongcheng/caffe, senlinuc/caffe_ocr)"
    FOCAL_LOSS = "focal loss ports (chuanqi305/FocalLoss)"


#: Every layer type BVLC Caffe registers (``REGISTER_LAYER_CLASS`` / ``REGISTER_LAYER_CREATOR`` at
#: BVLC/caffe 9b89154, 61 types, ``Python`` included). Kept as Caffe's own list, independent of the
#: cards, so that the tests can check each card's origin against it.
BVLC_TYPES: frozenset[str] = frozenset({
    "AbsVal", "Accuracy", "ArgMax", "BNLL", "BatchNorm", "BatchReindex", "Bias", "Clip", "Concat",
    "ContrastiveLoss", "Convolution", "Crop", "Data", "Deconvolution", "Dropout", "DummyData", "ELU",
    "Eltwise", "Embed", "EuclideanLoss", "Exp", "Filter", "Flatten", "HDF5Data", "HDF5Output", "HingeLoss",
    "Im2col", "ImageData", "InfogainLoss", "InnerProduct", "Input", "LRN", "LSTM", "LSTMUnit", "Log", "MVN",
    "MemoryData", "MultinomialLogisticLoss", "PReLU", "Parameter", "Pooling", "Power", "Python", "RNN",
    "ReLU", "Reduction", "Reshape", "SPP", "Scale", "Sigmoid", "SigmoidCrossEntropyLoss", "Silence",
    "Slice", "Softmax", "SoftmaxWithLoss", "Split", "Swish", "TanH", "Threshold", "Tile", "WindowData",
})

#: The migration targets, in the order reports list them.
TARGETS: tuple[str, ...] = ("onnx", "pytorch", "opencv")


class Status(StrEnum):
    """How one target handles one type; the values are the audit's JSON strings."""

    YES = "yes"
    PARTIAL = "partial"
    NO = "no"
    TRAINING_ONLY = "training-only"


@dataclass(frozen=True)
class Support:
    """One (layer type, target) verdict; ``note`` says what is missing or which converter does it."""

    status: str
    note: str = ""

    @property
    def blocking(self) -> bool:
        return self.status == Status.NO


@dataclass(frozen=True)
class TypeCard:
    """Every non-rule fact about one layer type string."""

    type_name: str
    origin: Origin
    #: The fork that defines the type (``origin`` is FORK), else None.
    fork: Fork | None
    #: Target name -> verdict, one for each of :data:`TARGETS`.
    converters: Mapping[str, Support]
    #: Why a deployed model leaves this type out, or None when it is part of the model.
    training_only: str | None
    #: Caffe source files whose set-up log lines reveal a layer of this type (data layers only).
    log_sources: tuple[str, ...] = ()


DATA_LAYER = "data layer; replaced by the model's input"
LOSS_LAYER = "loss layer; needed only for training"
EVALUATION_LAYER = "evaluation layer; scores predictions during training/testing"
_CUSTOM_NOTE = "custom layer type: no converter or framework op knows it"
_NOT_LISTED = "n: not in the converter's layer table"
_STATUS = {"y": Status.YES, "~": Status.PARTIAL, "n": Status.NO}
BVLC = Origin.BVLC


def _support(entry: str) -> Support:
    """``"y"``, ``"~"`` or ``"n"``, then an optional ``": note"``: the table's shorthand."""
    code, _, note = entry.partition(":")
    return Support(_STATUS[code.strip()], note.strip())


def _card(type_name: str, origin: Origin | Fork, *, onnx: str | None = None, pytorch: str | None = None,
          opencv: str | None = None, training_only: str | None = None,
          log_sources: tuple[str, ...] = ()) -> TypeCard:
    """One table row. ``origin`` is an :class:`Origin`, or the :class:`Fork` that defines the type.
    A training-only type is training-only for every target, so it names no converter entries; every
    other type must name all three, so that no verdict is left to a default."""
    entries = (onnx, pytorch, opencv)
    if training_only is not None:
        if any(e is not None for e in entries):
            raise ValueError(f"type card {type_name}: a training-only type takes no converter entries")
        converters = {t: Support(Status.TRAINING_ONLY, training_only) for t in TARGETS}
    else:
        if any(e is None for e in entries):
            raise ValueError(f"type card {type_name}: give onnx, pytorch and opencv")
        converters = {t: _support(e) for t, e in zip(TARGETS, entries, strict=True)}  # type: ignore[arg-type]
    fork = origin if isinstance(origin, Fork) else None
    return TypeCard(type_name, Origin.FORK if fork else Origin(origin), fork, MappingProxyType(converters),
                    training_only, log_sources)


_ROWS: tuple[TypeCard, ...] = (
    # --- data.py ---------------------------------------------------------------------------------
    _card("Data", BVLC, training_only=DATA_LAYER, log_sources=("data_layer.cpp", "db_lmdb.cpp", "db_leveldb.cpp")),
    _card("ImageData", BVLC, training_only=DATA_LAYER, log_sources=("image_data_layer.cpp",)),
    _card("WindowData", BVLC, training_only=DATA_LAYER, log_sources=("window_data_layer.cpp",)),
    _card("MemoryData", BVLC, training_only=DATA_LAYER, log_sources=("memory_data_layer.cpp",)),
    _card("HDF5Data", BVLC, training_only=DATA_LAYER, log_sources=("hdf5_data_layer.cpp",)),
    _card("DummyData", BVLC, training_only=DATA_LAYER),
    _card("Input", BVLC, onnx="y", pytorch="y: the model's forward() argument", opencv="y"),
    _card("Python", Origin.PYTHON,
          onnx="n: user Python code; no converter runs it", pytorch="n: port the named Python class by hand",
          opencv='n: no layer ("Can\'t create layer ... of type Python")'),
    _card("AnnotatedData", Fork.SSD, training_only=DATA_LAYER, log_sources=("annotated_data_layer.cpp",)),
    _card("DenseImageData", Fork.SEGNET, training_only=DATA_LAYER, log_sources=("dense_image_data_layer.cpp",)),
    _card("ImageSegData", Fork.DEEPLAB, training_only=DATA_LAYER),
    _card("CPMData", Fork.OPENPOSE, training_only=DATA_LAYER),
    _card("OPData", Fork.OPENPOSE, training_only=DATA_LAYER),
    _card("VideoData", Fork.C3D_SSD, training_only=DATA_LAYER, log_sources=("video_data_layer.cpp",)),
    _card("ImageLabelmapData", Fork.HED, training_only=DATA_LAYER, log_sources=("image_labelmap_data_layer.cpp",)),
    _card("BoxData", Fork.YOLO, training_only=DATA_LAYER, log_sources=("box_data_layer.cpp",)),
    # --- conv.py ---------------------------------------------------------------------------------
    _card("Convolution", BVLC, onnx="y", pytorch="y: nn.Conv2d", opencv="y"),
    _card("Deconvolution", BVLC, onnx="y", pytorch="y: nn.ConvTranspose2d", opencv="y"),
    _card("Im2col", BVLC, onnx="n: neither caffe2onnx nor MMdnn", pytorch="y: nn.Unfold", opencv="n: no layer"),
    _card("ConvolutionDepthwise", Fork.MOBILENET,
          onnx="y: caffe2onnx", pytorch="y: nn.Conv2d(groups=channels)", opencv="y: read as Convolution"),
    _card("DepthwiseConvolution", Fork.MOBILENET,
          onnx="n: neither caffe2onnx nor MMdnn (rename to ConvolutionDepthwise)",
          pytorch="y: nn.Conv2d(groups=channels)", opencv="n: no layer (rename to ConvolutionDepthwise)"),
    _card("ConvolutionDeeplab", Fork.DEEPLAB,
          onnx=_NOT_LISTED, pytorch="y: nn.Conv2d(dilation=hole)", opencv=_NOT_LISTED),
    _card("Convolution3D", Fork.C3D, onnx=_NOT_LISTED, pytorch="y: nn.Conv3d", opencv=_NOT_LISTED),
    _card("Correlation", Fork.FLOWNET,
          onnx=_NOT_LISTED, pytorch="n: no torch op (spatial-correlation-sampler or a hand-written kernel)",
          opencv=_NOT_LISTED),
    _card("Correlation1D", Fork.FLOWNET2,
          onnx=_NOT_LISTED, pytorch="n: no torch op; shifted products along the width by hand", opencv=_NOT_LISTED),
    _card("ConvolutionRistretto", Fork.RISTRETTO,
          onnx=_NOT_LISTED, pytorch="~: nn.Conv2d with fake quantization of inputs, weights and outputs",
          opencv=_NOT_LISTED),
    _card("DeconvolutionRistretto", Fork.RISTRETTO,
          onnx=_NOT_LISTED, pytorch="~: nn.ConvTranspose2d with fake quantization", opencv=_NOT_LISTED),
    _card("DenseBlock", Fork.DENSEBLOCK,
          onnx=_NOT_LISTED,
          pytorch="~: a torchvision DenseNet _DenseBlock (BN-ReLU-[1x1]-3x3 convs, torch.cat); unpack the blobs",
          opencv=_NOT_LISTED),
    # --- inner_product.py ------------------------------------------------------------------------
    _card("InnerProduct", BVLC, onnx="y", pytorch="y: nn.Linear (after flattening from the Caffe axis)", opencv="y"),
    _card("Embed", BVLC, onnx="n: neither caffe2onnx nor MMdnn", pytorch="y: nn.Embedding", opencv="n: no layer"),
    _card("MarginInnerProduct", Fork.FACE,
          onnx=_NOT_LISTED, pytorch="n: margin-based classifier written by hand", opencv=_NOT_LISTED),
    _card("FcRistretto", Fork.RISTRETTO,
          onnx=_NOT_LISTED, pytorch="~: nn.Linear with fake quantization", opencv=_NOT_LISTED),
    # --- pooling.py ------------------------------------------------------------------------------
    _card("Pooling", BVLC,
          onnx="y", pytorch="~: nn.MaxPool2d/AvgPool2d with ceil_mode=True; STOCHASTIC pooling has no op", opencv="y"),
    _card("SPP", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="~: a stack of nn.AdaptiveMaxPool2d + torch.cat",
          opencv="n: no layer"),
    _card("ROIPooling", Fork.FASTER_RCNN,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="y: torchvision.ops.roi_pool", opencv="y"),
    _card("Pooling3D", Fork.C3D,
          onnx=_NOT_LISTED, pytorch="~: nn.MaxPool3d/AvgPool3d(ceil_mode=True); no temporal padding",
          opencv=_NOT_LISTED),
    _card("PSROIPooling", Fork.RFCN, onnx=_NOT_LISTED, pytorch="y: torchvision.ops.ps_roi_pool", opencv=_NOT_LISTED),
    # --- normalization.py ------------------------------------------------------------------------
    _card("BatchNorm", BVLC,
          onnx="y", pytorch="y: nn.BatchNorm2d(affine=False), dividing the stats by Caffe's scale factor blob",
          opencv="y: (use_global_stats false becomes MVN)"),
    _card("LRN", BVLC,
          onnx="y", pytorch="~: nn.LocalResponseNorm (ACROSS_CHANNELS only; WITHIN_CHANNEL has no op)", opencv="y"),
    _card("MVN", BVLC,
          onnx="~: caffe2onnx only with normalize_variance true and across_channels false",
          pytorch="~: nn.InstanceNorm2d / nn.GroupNorm(1, C) without affine, depending on across_channels", opencv="y"),
    _card("Scale", BVLC,
          onnx="y", pytorch="~: the affine part of nn.BatchNorm2d, or a broadcast multiply by a parameter", opencv="y"),
    _card("Bias", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="~: a broadcast add of a parameter", opencv="n: no layer"),
    _card("BN", Fork.SEGNET_PSPNET,
          onnx=_NOT_LISTED, pytorch="y: nn.BatchNorm2d (SegNet: scale and shift only)", opencv=_NOT_LISTED),
    _card("Normalize", Fork.SSD,
          onnx="y: caffe2onnx", pytorch="~: F.normalize(dim=1) times a learned per-channel scale", opencv="y"),
    _card("ChannelNorm", Fork.FLOWNET2,
          onnx=_NOT_LISTED, pytorch="y: torch.linalg.vector_norm(dim=1, keepdim=True)", opencv=_NOT_LISTED),
    _card("LRNRistretto", Fork.RISTRETTO,
          onnx=_NOT_LISTED, pytorch="~: nn.LocalResponseNorm with minifloat fake quantization", opencv=_NOT_LISTED),
    # --- neuron.py -------------------------------------------------------------------------------
    _card("ReLU", BVLC, onnx="y", pytorch="y: nn.ReLU / nn.LeakyReLU (negative_slope)", opencv="y"),
    _card("Sigmoid", BVLC, onnx="y", pytorch="y: nn.Sigmoid", opencv="y"),
    _card("TanH", BVLC, onnx="y", pytorch="y: nn.Tanh", opencv="y"),
    _card("BNLL", BVLC, onnx="n: neither caffe2onnx nor MMdnn", pytorch="y: nn.Softplus", opencv="y"),
    _card("ELU", BVLC, onnx="y: MMdnn only (caffe2onnx has none)", pytorch="y: nn.ELU", opencv="y"),
    _card("Exp", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="~: torch.exp / torch.pow with Caffe's base, scale, shift",
          opencv="~: a layer of that name exists; base/scale/shift mapping unverified"),
    _card("Log", BVLC,
          onnx="~: caffe2onnx, partial", pytorch="~: torch.log with Caffe's base, scale, shift",
          opencv="~: a layer of that name exists; base/scale/shift mapping unverified"),
    _card("Power", BVLC,
          onnx="y: caffe2onnx only (MMdnn has none)", pytorch="~: torch.pow((shift + scale * x), power)", opencv="y"),
    _card("Threshold", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="~: (x > threshold).float(); nn.Threshold differs",
          opencv="n: no layer"),
    _card("Clip", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="y: torch.clamp / nn.Hardtanh", opencv="n: no layer"),
    _card("Dropout", BVLC, onnx="y", pytorch="y: nn.Dropout (identity at inference)", opencv="y"),
    _card("Swish", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="~: nn.SiLU (beta = 1 only)",
          opencv="~: a layer of that name exists; beta mapping unverified"),
    _card("AbsVal", BVLC, onnx="y: MMdnn only (caffe2onnx has none)", pytorch="y: torch.abs", opencv="y"),
    _card("PReLU", BVLC, onnx="y", pytorch="y: nn.PReLU", opencv="y"),
    _card("ReLU6", Fork.MOBILENET, onnx="y: caffe2onnx", pytorch="y: nn.ReLU6", opencv="y"),
    # --- shape_ops.py ----------------------------------------------------------------------------
    _card("Split", BVLC,
          onnx="y: MMdnn (caffe2onnx drops explicit Split layers)", pytorch="y: reuse the tensor", opencv="y"),
    _card("Concat", BVLC, onnx="y", pytorch="y: torch.cat", opencv="y"),
    _card("Slice", BVLC,
          onnx="y: caffe2onnx (MMdnn cannot infer its shape)", pytorch="y: torch.split / tensor_split", opencv="y"),
    _card("Flatten", BVLC, onnx="y", pytorch="y: nn.Flatten", opencv="y"),
    _card("Reshape", BVLC, onnx="y", pytorch="y: torch.reshape", opencv="y"),
    _card("Crop", BVLC,
          onnx="y: caffe2onnx (MMdnn cannot infer its shape)", pytorch="y: tensor slicing with Caffe's offsets",
          opencv="y"),
    _card("Eltwise", BVLC,
          onnx="y", pytorch="y: torch.add / torch.mul / torch.maximum (with coefficients)", opencv="y"),
    _card("Silence", BVLC,
          onnx="y: dropped (MMdnn removes it; it has no outputs)", pytorch="y: dropped (no outputs)",
          opencv="y: a blank layer"),
    _card("HDF5Output", BVLC, training_only="writes blobs to disk during a run; not part of the model"),
    _card("MatWrite", Fork.DEEPLAB, training_only="writes blobs to .mat files during a run; not part of the model"),
    _card("Tile", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="y: Tensor.repeat",
          opencv="~: a layer of that name exists; tile_param mapping unverified"),
    _card("Reduction", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="y: torch.sum / mean / abs().sum() / pow(2).sum()",
          opencv="n: no layer"),
    _card("ArgMax", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="~: torch.argmax / topk (out_max_val needs both)",
          opencv="n: no layer"),
    _card("BatchReindex", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="y: torch.index_select", opencv="n: no layer"),
    _card("Filter", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="~: boolean-mask indexing (data-dependent shape)",
          opencv="n: no layer"),
    _card("Parameter", BVLC, onnx="n: neither caffe2onnx nor MMdnn", pytorch="y: nn.Parameter", opencv="n: no layer"),
    _card("ContinuationIndicator", Fork.OCR,
          onnx=_NOT_LISTED, pytorch="~: not needed: PyTorch's RNNs take no continuation blob", opencv=_NOT_LISTED),
    _card("Axpy", Fork.SENET,
          onnx="y: caffe2onnx", pytorch="y: torch.addcmul(y, a, x) with broadcasting", opencv="y: as Scale + Eltwise"),
    # --- rearrange.py ----------------------------------------------------------------------------
    _card("Upsample", Fork.SEGNET,
          onnx="~: caffe2onnx converts the scale-factor Upsample; SegNet's mask form is a max-unpool",
          pytorch="y: nn.MaxUnpool2d (SegNet) / nn.Upsample (scale-factor forks)", opencv="n: no layer"),
    _card("Interp", Fork.DEEPLAB_PSPNET,
          onnx="y: caffe2onnx", pytorch="y: F.interpolate(mode='bilinear', align_corners=True)", opencv="y"),
    _card("ShuffleChannel", Fork.SHUFFLENET, onnx="y: caffe2onnx", pytorch="y: nn.ChannelShuffle", opencv="y"),
    _card("Permute", Fork.SSD, onnx="y: caffe2onnx", pytorch="y: Tensor.permute", opencv="y"),
    _card("Transpose", Fork.LSTM_CF,
          onnx=_NOT_LISTED, pytorch="~: Tensor.permute + reshape to LSTM-CF's layout", opencv=_NOT_LISTED),
    _card("Reorg", Fork.YOLO,
          onnx=_NOT_LISTED, pytorch="~: nn.PixelUnshuffle (YOLOv2's channel order differs)", opencv=_NOT_LISTED),
    _card("Reverse", Fork.OCR,
          onnx=_NOT_LISTED, pytorch="~: torch.flip (the indicator form reverses each sequence within its length)",
          opencv=_NOT_LISTED),
    _card("Resample", Fork.FLOWNET,
          onnx=_NOT_LISTED, pytorch="~: F.interpolate (FlowNet's antialiasing differs)", opencv=_NOT_LISTED),
    _card("Downsample", Fork.FLOWNET,
          onnx=_NOT_LISTED, pytorch="~: F.interpolate / F.adaptive_avg_pool2d (area filter)", opencv=_NOT_LISTED),
    _card("FlowWarp", Fork.FLOWNET2,
          onnx=_NOT_LISTED, pytorch="~: F.grid_sample on a base grid plus the flow", opencv=_NOT_LISTED),
    _card("Accum", Fork.FLOWNET2,
          onnx=_NOT_LISTED, pytorch="~: nearest F.interpolate of each input, then torch.cat", opencv=_NOT_LISTED),
    _card("SpatialTransformer", Fork.STN,
          onnx=_NOT_LISTED, pytorch="y: F.affine_grid + F.grid_sample (mind the fork's x/y order)",
          opencv=_NOT_LISTED),
    # --- recurrent.py ----------------------------------------------------------------------------
    _card("LSTM", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn",
          pytorch="~: nn.LSTM; Caffe feeds time-major input plus a continuation blob and orders gates i,f,o,g",
          opencv="~: an LSTM layer is registered; Caffe parameter compatibility unverified"),
    _card("RNN", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="~: nn.RNN; Caffe's continuation blob has no equivalent",
          opencv="n: no layer"),
    _card("LSTMUnit", BVLC,
          onnx="n: neither caffe2onnx nor MMdnn", pytorch="~: nn.LSTMCell with Caffe's gate order",
          opencv="n: no layer"),
    _card("Lstm", Fork.JUNHYUK_LSTM,
          onnx=_NOT_LISTED, pytorch="~: nn.LSTM (gate order i,f,o,g; the clip input resets the state)",
          opencv=_NOT_LISTED),
    _card("Mask", Fork.LSTM_CF,
          onnx=_NOT_LISTED, pytorch="~: a constant continuation tensor for the LSTM", opencv=_NOT_LISTED),
    _card("MultiStageMeanfield", Fork.CRFASRNN,
          onnx=_NOT_LISTED, pytorch="n: no op; a permutohedral-lattice CRF (e.g. a CRF-RNN port) by hand",
          opencv=_NOT_LISTED),
    # --- loss.py ---------------------------------------------------------------------------------
    _card("Softmax", BVLC, onnx="y", pytorch="y: nn.Softmax", opencv="y"),
    _card("SoftmaxWithLoss", BVLC, training_only=LOSS_LAYER),
    _card("InfogainLoss", BVLC, training_only=LOSS_LAYER),
    _card("EuclideanLoss", BVLC, training_only=LOSS_LAYER),
    _card("SigmoidCrossEntropyLoss", BVLC, training_only=LOSS_LAYER),
    _card("HingeLoss", BVLC, training_only=LOSS_LAYER),
    _card("MultinomialLogisticLoss", BVLC, training_only=LOSS_LAYER),
    _card("ContrastiveLoss", BVLC, training_only=LOSS_LAYER),
    _card("Accuracy", BVLC, training_only=EVALUATION_LAYER),
    _card("SmoothL1Loss", Fork.FASTER_RCNN, training_only=LOSS_LAYER),
    _card("SegAccuracy", Fork.DEEPLAB, training_only=EVALUATION_LAYER),
    _card("CenterLoss", Fork.FACE, training_only=LOSS_LAYER),
    _card("SoftmaxWithLossOHEM", Fork.RFCN, training_only=LOSS_LAYER),
    _card("SmoothL1LossOHEM", Fork.RFCN, training_only=LOSS_LAYER),
    _card("CTCLoss", Fork.OCR, training_only=LOSS_LAYER),
    _card("WarpCTCLoss", Fork.OCR, training_only=LOSS_LAYER),
    _card("L1Loss", Fork.FLOWNET, training_only=LOSS_LAYER),
    _card("FocalLoss", Fork.FOCAL_LOSS, training_only=LOSS_LAYER),
    _card("CTCGreedyDecoder", Fork.OCR,
          onnx=_NOT_LISTED, pytorch="~: argmax over classes, then drop repeats and blanks by hand",
          opencv=_NOT_LISTED),
    # --- detection.py ----------------------------------------------------------------------------
    _card("PriorBox", Fork.SSD,
          onnx="y: caffe2onnx", pytorch="n: no op; compute the default boxes once as a constant tensor", opencv="y"),
    _card("DetectionOutput", Fork.SSD,
          onnx="y: caffe2onnx", pytorch="~: box decoding by hand, then torchvision.ops.batched_nms", opencv="y"),
    _card("DetectionEvaluate", Fork.SSD, training_only=EVALUATION_LAYER),
    _card("MultiBoxLoss", Fork.SSD, training_only=LOSS_LAYER),
    _card("EvalDetection", Fork.YOLO, training_only=EVALUATION_LAYER),
    _card("RegionLoss", Fork.YOLO, training_only=LOSS_LAYER),
    _card("Yolov3", Fork.YOLO, training_only=LOSS_LAYER),
    _card("Yolov3DetectionOutput", Fork.YOLO,
          onnx=_NOT_LISTED, pytorch="n: no op; YOLOv3 box decoding by hand, then torchvision.ops.nms",
          opencv=_NOT_LISTED),
    _card("BoxAnnotatorOHEM", Fork.RFCN, training_only="hard example selection; needed only for training"),
    # --- known types caffemem cannot size: named, so the audit does not call them custom ---------
    _card("Proposal", Fork.FASTER_RCNN,
          onnx="n: neither caffe2onnx nor MMdnn",
          pytorch="n: no op; anchors + decoding by hand, then torchvision.ops.nms", opencv="y"),
    _card("MaxUnpool", Fork.SEGNET, onnx="y: caffe2onnx", pytorch="y: nn.MaxUnpool2d", opencv="y"),
    _card("Unpooling", Fork.SEGNET, onnx="y: MMdnn", pytorch="y: nn.MaxUnpool2d", opencv=_NOT_LISTED),
    _card("Region", Fork.YOLO, onnx=_NOT_LISTED, pytorch="n: no op; YOLO box decoding by hand", opencv=_NOT_LISTED),
    _card("Yolo", Fork.YOLO, onnx=_NOT_LISTED, pytorch="n: no op; YOLO box decoding by hand", opencv=_NOT_LISTED),
    _card("DetectionLoss", Fork.YOLO, training_only=LOSS_LAYER),
    _card("Quantize", Fork.INTEL,
          onnx=_NOT_LISTED, pytorch="~: torch.ao.quantization observers / fake-quant", opencv=_NOT_LISTED),
    _card("ROIAlign", Fork.MASK_RCNN, onnx=_NOT_LISTED, pytorch="y: torchvision.ops.roi_align", opencv=_NOT_LISTED),
    _card("PSROIAlign", Fork.MASK_RCNN,
          onnx=_NOT_LISTED, pytorch="y: torchvision.ops.ps_roi_align", opencv=_NOT_LISTED),
    _card("NormalizeFace", Fork.FACE, onnx=_NOT_LISTED, pytorch="y: F.normalize", opencv=_NOT_LISTED),
)


def _index(rows: tuple[TypeCard, ...]) -> dict[str, TypeCard]:
    out: dict[str, TypeCard] = {}
    for row in rows:
        if row.type_name in out:
            raise RuntimeError(f"type card {row.type_name} given twice")
        out[row.type_name] = row
    return out


#: Type string -> its card, for every type caffemem knows (registered or only named).
CARDS: Mapping[str, TypeCard] = MappingProxyType(_index(_ROWS))


def card(type_name: str) -> TypeCard:
    """The card of a type string; a type nobody registered is custom: its author's code, which no
    converter or framework knows. Never raises, because audits meet types no table will ever list."""
    found = CARDS.get(type_name)
    if found is not None:
        return found
    return TypeCard(type_name, Origin.CUSTOM, None,
                    MappingProxyType({t: Support(Status.NO, _CUSTOM_NOTE) for t in TARGETS}), None)


def data_layer_sources() -> dict[str, str]:
    """Caffe source file -> the data layer type whose set-up lines that file prints."""
    return {source: c.type_name for c in CARDS.values() for source in c.log_sources}


#: Caffe's source files whose names do not spell their type (``conv_layer.cpp`` is Convolution).
_FILE_STEMS = {"conv": "Convolution", "deconv": "Deconvolution", "softmax_loss": "SoftmaxWithLoss",
               "lcn": "LRN", "st": "SpatialTransformer", "conv_ristretto": "ConvolutionRistretto",
               "deconv_ristretto": "DeconvolutionRistretto"}
_ENGINE_PREFIXES = ("cudnn_", "mkldnn_", "mkl_", "nccl_")


def type_of_source_file(where: str) -> str | None:
    """The layer type a Caffe source file implements, from a glog place such as
    ``cudnn_conv_layer.cpp:53`` or ``interp_layer.cu:30`` (None for other files).

    Caffe and its forks keep one type per ``<snake_name>_layer.cpp``: a fatal line's place names
    the layer that failed when the log does not (a fragment pasted without the set-up lines).
    """
    found = re.match(r"(?:.*/)?(\w+?)_layer\.(?:cpp|cu|hpp)\b", where)
    if found is None:
        return None
    stem = found.group(1)
    for prefix in _ENGINE_PREFIXES:
        stem = stem.removeprefix(prefix)
    if stem in _FILE_STEMS:
        return _FILE_STEMS[stem]
    wanted = stem.replace("_", "").lower()
    return next((name for name in CARDS if name.lower() == wanted), None)

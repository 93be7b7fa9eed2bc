"""Whether each Caffe layer type has an equivalent in the usual migration targets, and what is missing.

Why a table and not a converter run: the audit must answer "what blocks moving this net off Caffe"
without installing three converters (two of them unmaintained). The entries were taken from each
converter's layer dispatch as surveyed for this project:

- ``onnx``: supported when caffe2onnx (asiryan/caffe2onnx, last commit 2021-11) *or* MMdnn
  (microsoft/MMdnn, functional commits end in 2020) has a handler for the type; the note says which.
  caffe2onnx stops at the first layer it cannot handle, MMdnn fails in its shape inference, so one
  missing type blocks the whole conversion.
- ``opencv``: ``cv2.dnn.readNetFromCaffe``'s layer registry (it upgrades V0/V1 files itself). Where
  OpenCV registers a layer of the same name but the parameter mapping was not verified, the entry
  is partial.
- ``pytorch``: our own judgement of whether a *direct* ``torch.nn`` / ``torch`` / ``torchvision.ops``
  operation reproduces the layer; "partial" means a one-line composition or a restriction on the
  Caffe parameters, "no" means it has to be written by hand.

Data, loss and evaluation layers are "training-only": a deployed model drops them, so they are listed
but never block a migration. Anything not in the table (custom types) is unsupported everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

TARGETS: tuple[str, ...] = ("onnx", "pytorch", "opencv")

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
        return self.status == NO


#: Layers a deployed net does not contain: feeding data, computing losses, scoring during training.
TRAINING_ONLY_TYPES: dict[str, str] = {
    **{t: "data layer; replaced by the model's input" for t in (
        "Data", "ImageData", "HDF5Data", "WindowData", "DummyData", "MemoryData", "AnnotatedData",
        "DenseImageData", "ImageSegData", "CPMData", "VideoData")},
    "HDF5Output": "writes blobs to disk during a run; not part of the model",
    **{t: "loss layer; needed only for training" for t in (
        "SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss", "ContrastiveLoss", "HingeLoss",
        "InfogainLoss", "MultinomialLogisticLoss", "MultiBoxLoss", "SmoothL1Loss", "CenterLoss", "CTCLoss",
        "WarpCTCLoss", "RegionLoss", "DetectionLoss")},
    **{t: "evaluation layer; scores predictions during training/testing" for t in (
        "Accuracy", "DetectionEvaluate", "EvalDetection", "SegAccuracy")},
}

_NOT_LISTED = "n: not in the converter's layer table"

# type: (onnx, pytorch, opencv). "y", "~" or "n", then ": note".
_TABLE: dict[str, tuple[str, str, str]] = {
    "Input": ("y", "y: the model's forward() argument", "y"),
    "Convolution": ("y", "y: nn.Conv2d", "y"),
    "Deconvolution": ("y", "y: nn.ConvTranspose2d", "y"),
    "InnerProduct": ("y", "y: nn.Linear (after flattening from the Caffe axis)", "y"),
    "Pooling": ("y", "~: nn.MaxPool2d/AvgPool2d with ceil_mode=True; STOCHASTIC pooling has no op", "y"),
    "LRN": ("y", "~: nn.LocalResponseNorm (ACROSS_CHANNELS only; WITHIN_CHANNEL has no op)", "y"),
    "ReLU": ("y", "y: nn.ReLU / nn.LeakyReLU (negative_slope)", "y"),
    "PReLU": ("y", "y: nn.PReLU", "y"),
    "ELU": ("y: MMdnn only (caffe2onnx has none)", "y: nn.ELU", "y"),
    "Sigmoid": ("y", "y: nn.Sigmoid", "y"),
    "TanH": ("y", "y: nn.Tanh", "y"),
    "AbsVal": ("y: MMdnn only (caffe2onnx has none)", "y: torch.abs", "y"),
    "BNLL": ("n: neither caffe2onnx nor MMdnn", "y: nn.Softplus", "y"),
    "Power": ("y: caffe2onnx only (MMdnn has none)", "~: torch.pow((shift + scale * x), power)", "y"),
    "Exp": ("n: neither caffe2onnx nor MMdnn", "~: torch.exp / torch.pow with Caffe's base, scale, shift",
            "~: a layer of that name exists; base/scale/shift mapping unverified"),
    "Log": ("~: caffe2onnx, partial", "~: torch.log with Caffe's base, scale, shift",
            "~: a layer of that name exists; base/scale/shift mapping unverified"),
    "Threshold": ("n: neither caffe2onnx nor MMdnn", "~: (x > threshold).float(); nn.Threshold differs",
                  "n: no layer"),
    "Swish": ("n: neither caffe2onnx nor MMdnn", "~: nn.SiLU (beta = 1 only)",
              "~: a layer of that name exists; beta mapping unverified"),
    "Clip": ("n: neither caffe2onnx nor MMdnn", "y: torch.clamp / nn.Hardtanh", "n: no layer"),
    "BatchNorm": ("y", "y: nn.BatchNorm2d(affine=False), dividing the stats by Caffe's scale factor blob",
                  "y: (use_global_stats false becomes MVN)"),
    "Scale": ("y", "~: the affine part of nn.BatchNorm2d, or a broadcast multiply by a parameter", "y"),
    "Bias": ("n: neither caffe2onnx nor MMdnn", "~: a broadcast add of a parameter", "n: no layer"),
    "MVN": ("~: caffe2onnx only with normalize_variance true and across_channels false",
            "~: nn.InstanceNorm2d / nn.GroupNorm(1, C) without affine, depending on across_channels", "y"),
    "Eltwise": ("y", "y: torch.add / torch.mul / torch.maximum (with coefficients)", "y"),
    "Concat": ("y", "y: torch.cat", "y"),
    "Slice": ("y: caffe2onnx (MMdnn cannot infer its shape)", "y: torch.split / tensor_split", "y"),
    "Split": ("y: MMdnn (caffe2onnx drops explicit Split layers)", "y: reuse the tensor", "y"),
    "Crop": ("y: caffe2onnx (MMdnn cannot infer its shape)", "y: tensor slicing with Caffe's offsets", "y"),
    "Flatten": ("y", "y: nn.Flatten", "y"),
    "Reshape": ("y", "y: torch.reshape", "y"),
    "Reduction": ("n: neither caffe2onnx nor MMdnn", "y: torch.sum / mean / abs().sum() / pow(2).sum()",
                  "n: no layer"),
    "ArgMax": ("n: neither caffe2onnx nor MMdnn", "~: torch.argmax / topk (out_max_val needs both)",
               "n: no layer"),
    "Tile": ("n: neither caffe2onnx nor MMdnn", "y: Tensor.repeat",
             "~: a layer of that name exists; tile_param mapping unverified"),
    "Softmax": ("y", "y: nn.Softmax", "y"),
    "Dropout": ("y", "y: nn.Dropout (identity at inference)", "y"),
    "Silence": ("y: dropped (MMdnn removes it; it has no outputs)", "y: dropped (no outputs)",
                "y: a blank layer"),
    "Embed": ("n: neither caffe2onnx nor MMdnn", "y: nn.Embedding", "n: no layer"),
    "LSTM": ("n: neither caffe2onnx nor MMdnn",
             "~: nn.LSTM; Caffe feeds time-major input plus a continuation blob and orders gates i,f,o,g",
             "~: an LSTM layer is registered; Caffe parameter compatibility unverified"),
    "RNN": ("n: neither caffe2onnx nor MMdnn", "~: nn.RNN; Caffe's continuation blob has no equivalent",
            "n: no layer"),
    "LSTMUnit": ("n: neither caffe2onnx nor MMdnn", "~: nn.LSTMCell with Caffe's gate order", "n: no layer"),
    "SPP": ("n: neither caffe2onnx nor MMdnn", "~: a stack of nn.AdaptiveMaxPool2d + torch.cat", "n: no layer"),
    "Im2col": ("n: neither caffe2onnx nor MMdnn", "y: nn.Unfold", "n: no layer"),
    "BatchReindex": ("n: neither caffe2onnx nor MMdnn", "y: torch.index_select", "n: no layer"),
    "Filter": ("n: neither caffe2onnx nor MMdnn", "~: boolean-mask indexing (data-dependent shape)",
               "n: no layer"),
    "Parameter": ("n: neither caffe2onnx nor MMdnn", "y: nn.Parameter", "n: no layer"),
    "Python": ("n: user Python code; no converter runs it", "n: port the named Python class by hand",
               "n: no layer (\"Can't create layer ... of type Python\")"),
    # --- forks ---------------------------------------------------------------------------------
    "ConvolutionDepthwise": ("y: caffe2onnx", "y: nn.Conv2d(groups=channels)", "y: read as Convolution"),
    "DepthwiseConvolution": ("n: neither caffe2onnx nor MMdnn (rename to ConvolutionDepthwise)",
                             "y: nn.Conv2d(groups=channels)", "n: no layer (rename to ConvolutionDepthwise)"),
    "ShuffleChannel": ("y: caffe2onnx", "y: nn.ChannelShuffle", "y"),
    "Interp": ("y: caffe2onnx", "y: F.interpolate(mode='bilinear', align_corners=True)", "y"),
    "Upsample": ("~: caffe2onnx converts the scale-factor Upsample; SegNet's mask form is a max-unpool",
                 "y: nn.MaxUnpool2d (SegNet) / nn.Upsample (scale-factor forks)", "n: no layer"),
    "ReLU6": ("y: caffe2onnx", "y: nn.ReLU6", "y"),
    "Normalize": ("y: caffe2onnx", "~: F.normalize(dim=1) times a learned per-channel scale", "y"),
    "Permute": ("y: caffe2onnx", "y: Tensor.permute", "y"),
    "PriorBox": ("y: caffe2onnx", "n: no op; compute the default boxes once as a constant tensor", "y"),
    "DetectionOutput": ("y: caffe2onnx",
                        "~: box decoding by hand, then torchvision.ops.batched_nms", "y"),
    "ROIPooling": ("n: neither caffe2onnx nor MMdnn", "y: torchvision.ops.roi_pool", "y"),
    "Proposal": ("n: neither caffe2onnx nor MMdnn",
                 "n: no op; anchors + decoding by hand, then torchvision.ops.nms", "y"),
    "PSROIPooling": (_NOT_LISTED, "y: torchvision.ops.ps_roi_pool", _NOT_LISTED),
    "ROIAlign": (_NOT_LISTED, "y: torchvision.ops.roi_align", _NOT_LISTED),
    "PSROIAlign": (_NOT_LISTED, "y: torchvision.ops.ps_roi_align", _NOT_LISTED),
    "Axpy": ("y: caffe2onnx", "y: torch.addcmul(y, a, x) with broadcasting", "y: as Scale + Eltwise"),
    "MaxUnpool": ("y: caffe2onnx", "y: nn.MaxUnpool2d", "y"),
    "Unpooling": ("y: MMdnn", "y: nn.MaxUnpool2d", _NOT_LISTED),
    "BN": (_NOT_LISTED, "y: nn.BatchNorm2d (SegNet: scale and shift only)", _NOT_LISTED),
    "ConvolutionDeeplab": (_NOT_LISTED, "y: nn.Conv2d(dilation=hole)", _NOT_LISTED),
    "Transpose": (_NOT_LISTED, "~: Tensor.permute + reshape to LSTM-CF's layout", _NOT_LISTED),
    "Mask": (_NOT_LISTED, "~: a constant continuation tensor for the LSTM", _NOT_LISTED),
    "Reorg": (_NOT_LISTED, "~: nn.PixelUnshuffle (YOLOv2's channel order differs)", _NOT_LISTED),
    "Region": (_NOT_LISTED, "n: no op; YOLO box decoding by hand", _NOT_LISTED),
    "Yolo": (_NOT_LISTED, "n: no op; YOLO box decoding by hand", _NOT_LISTED),
    "Quantize": (_NOT_LISTED, "~: torch.ao.quantization observers / fake-quant", _NOT_LISTED),
    "NormalizeFace": (_NOT_LISTED, "y: F.normalize", _NOT_LISTED),
    "MarginInnerProduct": (_NOT_LISTED, "n: margin-based classifier written by hand", _NOT_LISTED),
}

_STATUS = {"y": YES, "~": PARTIAL, "n": NO}


def _parse(entry: str) -> Support:
    code, _, note = entry.partition(":")
    return Support(_STATUS[code.strip()], note.strip())


def support(layer_type: str, target: str) -> Support:
    """How ``target`` handles ``layer_type`` (raises ValueError for a target not in :data:`TARGETS`)."""
    index = TARGETS.index(target)
    reason = TRAINING_ONLY_TYPES.get(layer_type)
    if reason is not None:
        return Support(TRAINING_ONLY, reason)
    row = _TABLE.get(layer_type)
    if row is None:
        return Support(NO, "custom layer type: no converter or framework op knows it")
    return _parse(row[index])


def is_training_only(layer_type: str) -> bool:
    return layer_type in TRAINING_ONLY_TYPES


def gaps(layer_types: Iterable[str],
         training_only: frozenset[str] = frozenset()) -> dict[str, dict[str, list[str]]]:
    """Per target, the types it cannot convert ("unsupported": these block), converts only in part
    ("partial"), or that a deployed model leaves out anyway ("training_only"). ``training_only``
    adds types known to be training-only in this particular net (Python layers that only feed data)."""
    types = sorted(set(layer_types))
    out: dict[str, dict[str, list[str]]] = {}
    for target in TARGETS:
        buckets: dict[str, list[str]] = {"unsupported": [], "partial": [], "training_only": []}
        for layer_type in types:
            status = TRAINING_ONLY if layer_type in training_only else support(layer_type, target).status
            if status == NO:
                buckets["unsupported"].append(layer_type)
            elif status == PARTIAL:
                buckets["partial"].append(layer_type)
            elif status == TRAINING_ONLY:
                buckets["training_only"].append(layer_type)
        out[target] = buckets
    return out

"""What the common endings of a Caffe run mean in plain words, and what to change.

Facts about Caffe, its forks and the libraries they load, read from the message Caffe printed,
the lines around it and the stack trace: the endings people ask about in BVLC/caffe's and the
forks' issue trackers. Each rule gives a short cause and the advice that usually fixes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from caffemem.logs.model import CrashKind, EndStatus, Run, Stage


@dataclass
class Cause:
    """Why a run ended, in plain words, and what to do about it."""

    key: str  # a stable name for tools: "missing_file", "snapshot_prefix", ...
    cause: str
    advice: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, "cause": self.cause, "advice": self.advice}


_FRAME_LAYER = re.compile(r"caffe::(\w+?)Layer<[^>]*>::(\w+)")
_FRAME_ANY = re.compile(r"(caffe::[\w:<>]+(?:\(\))?)")


def layer_in_stack(lines: list[str]) -> tuple[str, str] | None:
    """(layer type, method) of the first Caffe layer frame in a stack trace, e.g. ('Convolution', 'Forward_gpu')."""
    for line in lines:
        found = _FRAME_LAYER.search(line)
        if found and found.group(1) and not found.group(1).startswith("Base"):
            return found.group(1), found.group(2)
    return None


#: Frames that tell what Caffe was doing, innermost first wins: (pattern, stage or None, step or None).
_FRAME_PLACES: list[tuple[re.Pattern[str], Stage | None, str | None]] = [
    (re.compile(r"::Snapshot|SnapshotTo|SnapshotSolverState|ToProto\("), Stage.TRAIN, "snapshot"),
    (re.compile(r"CopyTrainedLayersFrom|ReadNetParamsFromBinaryFile|ReadProtoFromBinaryFile"), Stage.SETUP,
     "loading weights"),
    (re.compile(r"Solver<[^>]*>::(?:Init|Solver|CheckSnapshotWritePermissions)\(|Solver<[^>]*>::Restore|"
                r"SolverRegistry"), Stage.SETUP, "solver set-up"),
    (re.compile(r"::(?:LayerSetUp|SetUp|Init|InitTrainNet|InitTestNets?)\(|caffe::Net<[^>]*>::Net\("), Stage.SETUP,
     "set-up"),
    (re.compile(r"::(?:ApplyUpdate|ComputeUpdateValue|Update|Regularize|Normalize|ClipGradients)\("), None, "update"),
    (re.compile(r"::Backward(?:_gpu|_cpu|FromTo|From|To)?\("), None, "backward pass"),
    (re.compile(r"::Forward(?:_gpu|_cpu|FromTo|From|To|Prefilled|Backward)?\(|forward_gpu_gemm|forward_cpu_gemm"),
     None, "forward pass"),
    (re.compile(r"::(?:TestAll|Test|TestDetection|TestClassification)\("), Stage.TEST, None),
    (re.compile(r"::(?:Step|Solve)\(|P2PSync|NCCL<[^>]*>::Run|\btrain\(\)"), Stage.TRAIN, None),
    (re.compile(r"\btest\(\)|\btime\(\)"), Stage.TEST, None),  # `caffe test` / `caffe time`: forward passes
]


def place_in_stack(frames: list[str]) -> tuple[Stage | None, str | None]:
    """(stage, step) a stack trace shows, e.g. (TRAIN, 'forward pass') for Solver::Step -> Net::Forward.

    A pasted fragment often holds only the fatal line and glog's stack trace: the frames still say
    whether Caffe was setting a net up, testing or training, and in which pass. The innermost frame
    that names a step gives the step; the innermost that names a stage gives the stage (a test
    pass runs inside Solver::Step, so Test is met before Step).
    """
    stage: Stage | None = None
    step: str | None = None
    for frame in frames:
        for pattern, its_stage, its_step in _FRAME_PLACES:
            if pattern.search(frame):
                if step is None and its_step is not None:
                    step = its_step
                if stage is None and its_stage is not None:
                    stage = its_stage
                break
        if stage is not None:
            break
    return stage, step


def first_caffe_frame(lines: list[str]) -> str | None:
    for line in lines:
        found = _FRAME_ANY.search(line)
        if found:
            return found.group(1)
    return None


Rule = Callable[[re.Match[str]], Cause]

_RULES: list[tuple[re.Pattern[str], Rule]] = [
    (re.compile(r"error while loading shared libraries: (\S+?): cannot open shared object file"),
     lambda m: Cause("shared_library_missing", f"a shared library Caffe was built against is missing: {m.group(1)}",
                     [f"install the library Caffe was linked with ({m.group(1)}: the CUDA/cuDNN/BLAS version of the "
                      "build), "
                      "or add the folder that holds it to LD_LIBRARY_PATH (e.g. /usr/local/cuda/lib64)",
                      "or rebuild Caffe against the versions installed now (make clean; make all)"])),
    (re.compile(r"Cannot write to snapshot prefix '([^']*)'"),
     lambda m: Cause("snapshot_prefix", f"the folder of snapshot_prefix '{m.group(1)}' does not exist or is not "
                                        "writable",
                     [f"create the folder first (mkdir -p \"$(dirname '{m.group(1)}')\") or point snapshot_prefix in "
                      "the "
                      "solver at a folder you can write; paths are relative to where caffe was started"])),
    (re.compile(r"Error parsing text-format caffe\.(\w+): (\d+):(\d+): (.*)"),
     lambda m: Cause("parse_error", f"the {m.group(1)} file does not parse: line {m.group(2)}, column {m.group(3)}: "
                                    f"{m.group(4).strip()}",
                     [f"fix the file at line {m.group(2)}:{m.group(3)}; 'has no field named' usually means this Caffe "
                      "build lacks that layer or parameter (it belongs to a fork such as SSD, DeepLab or NVCaffe): "
                      "run it with the fork that defines it, or remove the field",
                      "an old (V0/V1) net or solver can be brought up to date with `caffemem upgrade`"])),
    (re.compile(r"ReadProtoFromBinaryFile.*?(?:file: (\S+))?$|Failed to parse NetParameter file: (\S+\.caffemodel\S*)"),
     lambda m: Cause("weights_unreadable", "the weights file is not a readable .caffemodel"
                                           + (f" ({m.group(1) or m.group(2)})" if m.group(1) or m.group(2) else "")
                                           + ": a missing or partial download, a Git LFS pointer or an HTML page "
                                             "saved under its name",
                     ["check the file's size against the model's page and download it again (a Git LFS pointer is "
                      "a few hundred bytes of text: `git lfs pull`)", "`caffemem audit FILE` tells what the file is"])),
    (re.compile(r"K_ == new_K \((\d+) vs\. (\d+)\)"),
     lambda m: Cause("input_size_changed", f"an InnerProduct layer gets {m.group(2)} inputs per sample but its "
                                           f"weights were made for {m.group(1)}: the image size before it changed",
                     ["use the input (crop) size the weights were trained with (227 or 224 for the ImageNet nets), or "
                      "rename the InnerProduct layer so it is learned afresh instead of copied",
                      "`caffemem check NET --input data=C,H,W` shows the size reaching each layer"])),
    (re.compile(r"Number of labels must match number of predictions|outer_num_ \* inner_num_ == bottom\[1\]->count\(\)"
                r" \((\d+) vs\. (\d+)\)"),
     lambda m: Cause("label_count", "the loss or accuracy layer got a different number of labels than predictions"
                                    + (f" ({m.group(2)} for {m.group(1)} predictions)" if m.group(1) else ""),
                     ["a label per sample (N) for N x C predictions, or per pixel (N*H*W) for segmentation: check the "
                      "label blob's shape, the layer's axis, and that both data layers have the same batch size"])),
    (re.compile(r"data_mean_\.(?:channels|height|width|count)\(\)|mean_values?_?\.size\(\)"),
     lambda m: Cause("mean_mismatch", "the mean file or mean_value does not fit the images: another size or number "
                                      "of channels",
                     ["compute the mean file from this dataset (compute_image_mean), or use mean_value per channel, "
                      "which fits any image size"])),
    (re.compile(r"Unknown solver type: (\S+)"),
     lambda m: Cause("unknown_solver_type", f"this Caffe build has no solver type {m.group(1)}",
                     ["use a newer Caffe (Adam, RMSProp, AdaDelta came with 1.0-era builds), or set type: \"SGD\""])),
    (re.compile(r"blob size exceeds INT_MAX|count_ <= INT_MAX|\(\d+ vs\. 2147483647\)"),
     lambda m: Cause("blob_too_large", "a blob would hold more than 2^31 - 1 values, Caffe's limit",
                     ["lower the batch size or the input size; `caffemem check NET` names the largest blobs"])),
    (re.compile(r"shape\[i\] >= 0 \((-\d+) vs\. 0\)|(?:height|width)_out_? > 0|top_shape\[\w+\] >= 0"),
     lambda m: Cause("negative_size", "a layer's output would be smaller than one pixel: the input is too small for "
                                      "its kernel and stride (too many poolings for this image size)",
                     ["feed larger images, or pad/shrink the kernels; `caffemem check NET --input data=C,H,W` shows "
                      "the size reaching each layer"])),
    (re.compile(r"CUBLAS_STATUS_(?!SUCCESS\b|ALLOC_FAILED\b)(\w+)"),  # ALLOC_FAILED: out of GPU memory
     lambda m: Cause("cublas", f"cuBLAS failed (CUBLAS_STATUS_{m.group(1)})"
                               + (": Caffe was probably built without code for this GPU, or the GPU's memory is "
                                  "exhausted" if m.group(1) in ("EXECUTION_FAILED", "ARCH_MISMATCH", "NOT_INITIALIZED")
                                  else ""),
                     ["add this GPU's compute capability to CUDA_ARCH in Makefile.config and rebuild",
                      "check nvidia-smi for other processes holding the GPU's memory"])),
    (re.compile(r"Failed to parse (\w+) file: (\S+)"),
     lambda m: Cause("parse_error", f"the {m.group(1)} file {m.group(2)} does not parse (a typo, or a field this "
                                    "Caffe build does not know)",
                     ["protobuf printed the line:column of the error just before this (`[libprotobuf ERROR ...] "
                      "Error parsing text-format`); check that spot", "`caffemem check FILE` reads the file and "
                      "names the line"])),
    (re.compile(r"history_size\(\) == history_\.size\(\) \((\d+) vs\. (\d+)\)"),
     lambda m: Cause("solverstate_mismatch", f"the solverstate resumed from was written by a different net or solver: "
                                             f"it holds {m.group(1)} history blobs, this net has {m.group(2)}",
                     ["resume (--snapshot) only from a .solverstate of this same net and solver type",
                      "to start a changed net from old weights, pass the .caffemodel with --weights instead"])),
    (re.compile(r"Cannot copy param \d+ weights from layer '([^']+)'; shape mismatch"),
     lambda m: Cause("weights_mismatch", f"the weights file has a layer '{m.group(1)}' of another shape than this "
                                         "net's",
                     [f"when fine-tuning with a new number of outputs, rename layer '{m.group(1)}' so its weights are "
                      "initialised afresh instead of copied"])),
    (re.compile(r"Unknown layer type: (\S+)"),
     lambda m: Cause("unknown_layer_type", f"this Caffe build has no layer type {m.group(1)}",
                     ["the layer comes from a fork (SSD, DeepLab, NVCaffe, ...) or a newer Caffe: build that one, or "
                      "check the layer's spelling; GPU-only layers also need a build with CUDA/cuDNN"])),
    (re.compile(r"Unknown bottom blob '([^']+)'"),
     lambda m: Cause("unknown_bottom", f"a layer reads blob '{m.group(1)}', which no earlier layer produces "
                                       "(in this phase)",
                     ["check the bottom's spelling and the include/exclude phases of the layer that should make it"])),
    (re.compile(r"(?:mdb_status == 0|mdb_env_open).*?(No such file or directory|Permission denied)?$"),
     lambda m: Cause("missing_file", "the LMDB database of a data layer could not be opened"
                                     + (f" ({m.group(1)})" if m.group(1) else ""),
                     ["check the data layer's data_param.source path (relative paths count from where caffe was "
                      "started) and that the folder holds data.mdb; create the LMDB first (e.g. create_data.sh)"])),
    (re.compile(r"Failed to open leveldb (\S+)|leveldb.*(?:does not exist|IO error)"),
     lambda m: Cause("missing_file", "the LevelDB database of a data layer could not be opened",
                     ["check data_param.source, and backend: LEVELDB vs LMDB in the data layer"])),
    (re.compile(r"File not found: (\S+)|Could not open or find file (\S+)|(?:Failed to|Could not) open file (\S+)"
                r"|Cannot open (?:file )?(\S+)|No such file or directory"),
     lambda m: Cause("missing_file", "a file Caffe needs is not there: "
                                     + (next((g for g in m.groups() if g), None) or "see the message above"),
                     ["check the path (relative paths count from the folder caffe was started in) and that the file "
                      "exists and is readable: mean files, list files, image folders, weights, solverstates"])),
    (re.compile(r"new_queue_pairs_\.size\(\) == 0"),
     lambda m: Cause("data_reader", "the data reader thread failed: a data layer's reader was set up twice for the "
                                    "same source (a known DataReader problem of Caffe 1.0-era builds and SSD)",
                     ["give the TRAIN and TEST data layers different sources, or update Caffe (the DataReader was "
                      "rewritten), or start the run without a test net to confirm"])),
    (re.compile(r"(?:label|label_value) < (?:num_classes|num_labels|prob_\.shape|bottom).*?\((-?\d+) vs\. (\d+)\)"),
     lambda m: Cause("label_out_of_range", f"a label ({m.group(1)}) is not below the number of classes ({m.group(2)})",
                     ["labels must run from 0 to num_classes-1: set num_output / num_classes to the number of classes "
                      "(plus background for SSD), or fix the label map / list file"])),
    (re.compile(r"(height|width) <= (?:datum_|img_|input_)?(?:height|width) \((\d+) vs\. (\d+)\)"),
     lambda m: Cause("crop_too_large", f"the crop ({m.group(2)}) is larger than the images' {m.group(1)} "
                                       f"({m.group(3)})",
                     [f"set crop_size in transform_param to at most {m.group(3)}, or build the dataset with larger "
                      "images (convert_imageset --resize_height/--resize_width)",
                      "check that the data layer's source is the dataset you meant (a 32x32 CIFAR or 28x28 MNIST "
                      "database under an ImageNet net is the usual mix-up)"])),
    (re.compile(r"(?:datum_|img_|cv_img\.)?(height|width|rows|cols)(?:\(\))? >= crop_(?:size|h|w) "
                r"\((\d+) vs\. (\d+)\)"),
     lambda m: Cause("crop_too_large", f"the crop ({m.group(3)}) is larger than the images ({m.group(2)})",
                     [f"set crop_size in transform_param to at most {m.group(2)}, or build the dataset with larger "
                      "images (convert_imageset --resize_height/--resize_width)"])),
    (re.compile(r"All inputs must have the same shape, except at concat_axis|"
                r"bottom\[\d+\]->shape\(\) == bottom\[0\]->shape\(\)"),
     lambda m: Cause("join_mismatch", "the blobs a Concat or Eltwise layer joins differ in a dimension they must "
                                      "share: most often an odd height or width halved by a stride-2 layer on one "
                                      "path and doubled back on the other (or two data layers' batch sizes)",
                     ["choose an input size divisible by 2 for every stride-2 layer (32 for five of them, as U-Nets "
                      "and FPNs need), or add a Crop layer before the join",
                      "`caffemem check NET --input data=C,H,W` prints every layer's shape at a given size"])),
    (re.compile(r"SerializeToOstream|Check failed: .*WriteProtoToBinaryFile|Snapshot.*failed"),
     lambda m: Cause("snapshot_write", "writing a snapshot failed: the disk is full, or the file cannot be written",
                     ["check the free space where snapshot_prefix points (df -h): every snapshot writes the weights "
                      "and the solver state", "snapshot less often, or delete old snapshots"])),
    (re.compile(r"CUDA driver version is insufficient|cudaSuccess \(35 vs\. 0\)"),
     lambda m: Cause("driver", "the NVIDIA driver is older than the CUDA runtime Caffe was built with",
                     ["update the driver, or build Caffe with an older CUDA toolkit"])),
    (re.compile(r"no CUDA-capable device|cudaSuccess \(38 vs\. 0\)|cudaSuccess \(100 vs\. 0\)"),
     lambda m: Cause("driver", "CUDA found no usable GPU (driver not loaded, or CUDA_VISIBLE_DEVICES hides them)",
                     ["check nvidia-smi and CUDA_VISIBLE_DEVICES, or run with solver_mode: CPU"])),
    (re.compile(r"invalid device ordinal|cudaSuccess \(10 vs\. 0\)|cudaSuccess \(101 vs\. 0\)"),
     lambda m: Cause("driver", "the GPU id asked for does not exist on this machine",
                     ["pass an id nvidia-smi lists (-gpu 0), mindful of CUDA_VISIBLE_DEVICES renumbering"])),
    (re.compile(r"invalid device function|no kernel image is available|cudaSuccess \((?:8|98|209) vs\. 0\)"),
     lambda m: Cause("driver", "Caffe was built without code for this GPU's compute capability",
                     ["add the GPU's architecture to CUDA_ARCH in Makefile.config (e.g. -gencode arch=compute_61,"
                      "code=sm_61) and rebuild"])),
    (re.compile(r"all CUDA-capable devices are busy|cudaSuccess \(46 vs\. 0\)"),
     lambda m: Cause("driver", "the GPU is in exclusive mode and another process holds it",
                     ["stop the other process or pick another GPU (nvidia-smi shows who holds it)"])),
    (re.compile(r"unspecified launch failure|illegal memory access|cudaSuccess \((?:4|77|700|719) vs\. 0\)"),
     lambda m: Cause("driver", "a GPU kernel crashed (an illegal memory access or launch failure)",
                     ["often a layer reading past a blob (a label or index out of range, a fork layer's bug); run "
                      "in CPU mode to get a clearer error, or update the driver"])),
    (re.compile(r"CUDNN_STATUS_SUCCESS \((\d+) vs\. 0\)(?:\s+CUDNN_STATUS_(\w+))?"
                r"|CUDNN_STATUS_(?!SUCCESS\b|ALLOC_FAILED\b)(\w+)"),
     lambda m: _cudnn_cause(m.group(2) or m.group(3) or _CUDNN_STATUS.get(int(m.group(1) or -1), ""))),
    (re.compile(r"mkldnn|MKLDNN|MKL-DNN|MLSL|mlsl"),
     lambda m: Cause("mkldnn", "Intel Caffe's MKL-DNN/MLSL layer or communication library failed",
                     ["try engine: \"CAFFE\" for the failing layer (or the whole net) to bypass MKL-DNN; check the "
                      "MKL-DNN/MLSL versions match the build; for multi-node runs check the MLSL/MPI set-up"])),
    (re.compile(r"cv::Exception|OpenCV Error|opencv"),
     lambda m: Cause("opencv", "OpenCV failed on an image (a missing, empty or corrupt image, or bad "
                                "resize/crop sizes)",
                     ["check the image paths in the list file or database, and the resize/crop parameters"])),
    (re.compile(r"bottom\[\d\]->(?:count|num|shape)\(.*\) == bottom\[\d\]->|Incompatible|shape mismatch|"
                r"Check failed: .*(?:num_axes|count\(\)|shape\(\))"),
     lambda m: Cause("shape_mismatch", "the shapes of two blobs a layer combines do not agree",
                     ["check the layer's inputs: batch sizes of the data layers, crop/resize sizes, num_output of the "
                      "layer before; `caffemem check NET` prints each layer's shapes"])),
]

#: cudnnStatus_t's numbers (cudnn.h): old Caffe prints only "(4 vs. 0)".
_CUDNN_STATUS = {1: "NOT_INITIALIZED", 2: "ALLOC_FAILED", 3: "BAD_PARAM", 4: "INTERNAL_ERROR", 5: "INVALID_VALUE",
                 6: "ARCH_MISMATCH", 7: "MAPPING_ERROR", 8: "EXECUTION_FAILED", 9: "NOT_SUPPORTED",
                 10: "LICENSE_ERROR"}


def _cudnn_cause(status: str) -> Cause:
    """What each cuDNN failure usually means for a Caffe user."""
    name = f"CUDNN_STATUS_{status}" if status else "a cuDNN call"
    if status == "ALLOC_FAILED":
        return _KIND_CAUSES[CrashKind.CUDA_OUT_OF_MEMORY]  # cuDNN could not allocate GPU memory
    if status in ("ALLOC_FAILED", "INTERNAL_ERROR", "NOT_INITIALIZED", "EXECUTION_FAILED"):
        return Cause("cudnn", f"cuDNN failed ({name}): at start-up this almost always means cuDNN could not get GPU "
                              "memory or the GPU (another process holds it, or the driver and cuDNN do not match)",
                     ["check nvidia-smi for other processes on the GPU; lower the batch size if the run itself "
                      "fills the GPU (cuDNN's workspace comes on top of the blobs)",
                      "check that the cuDNN version matches what Caffe was built for and the driver supports it",
                      "to test without cuDNN, set engine: CAFFE on the failing layer or build with USE_CUDNN off"])
    if status in ("BAD_PARAM", "NOT_SUPPORTED"):
        return Cause("cudnn", f"cuDNN failed ({name}): a layer setting this cuDNN version cannot do (dilation, "
                              "group, a pooling or padding mode, an odd shape)",
                     ["set engine: CAFFE on that layer, or update cuDNN (and the Caffe build that uses it)"])
    if status == "ARCH_MISMATCH":
        return Cause("cudnn", f"cuDNN failed ({name}): the GPU is too old for this cuDNN",
                     ["use a cuDNN release that supports the GPU's compute capability, or build without cuDNN"])
    return Cause("cudnn", f"cuDNN failed ({name})",
                 ["check that the cuDNN version matches what Caffe was built for; try engine: CAFFE on that layer"])


_KIND_CAUSES = {
    CrashKind.CUDA_OUT_OF_MEMORY: Cause("cuda_out_of_memory", "the GPU ran out of memory (cudaMalloc failed)",
                                        ["lower the batch size (use iter_size to keep the effective batch)",
                                         "make sure no other process holds the GPU (nvidia-smi)",
                                         "the test net comes up beside the train net: a smaller test batch helps"]),
    CrashKind.HOST_OUT_OF_MEMORY: Cause("host_out_of_memory", "an allocation of host memory failed (std::bad_alloc)",
                                        ["lower the batch size or the data layers' prefetch, free host memory, or "
                                         "(32-bit builds, huge blobs) check that a blob stays under 2^31 elements"]),
    CrashKind.KILLED: Cause("killed", "the process was killed (SIGKILL): usually the kernel's out-of-memory killer",
                            ["check `dmesg | grep -i oom`; lower the batch size or prefetch, or give the machine more "
                             "memory or swap"]),
    CrashKind.TERMINATED: Cause("terminated", "the process was stopped by a signal someone or something sent "
                                              "(SIGTERM/SIGINT: Ctrl-C, kill, a cluster's time limit)",
                                ["resume from the last snapshot with --snapshot"]),
    CrashKind.SEGFAULT: Cause("segfault", "the process crashed with a segmentation fault",
                              ["the stack trace names the function; common causes are a layer reading past a blob, "
                               "a library mismatch (protobuf/OpenCV/Python versions), or a corrupt data file"]),
    CrashKind.ABORTED: Cause("aborted", "the process aborted (SIGABRT), usually an uncaught C++ exception",
                             ["the 'what():' line or the stack trace names the library that threw"]),
}

_DIVERGED = Cause("diverged", "training diverged: the loss or an output became NaN or infinite",
                  ["lower base_lr (try 10x smaller), or warm up; add clip_gradients to the solver",
                   "check the data and labels (an empty image, a label out of range, a NaN in an HDF5 file)",
                   "normalise the input (scale: 0.00390625 or mean subtraction) and check the loss layers' weights",
                   "add BatchNorm or a sane weight_filler to very deep nets"])

_CUT_OFF = Cause("cut_off", "the log stops without an ending",
                 ["the run was still going when the log was copied, or the file was cut; a glog file (caffe.INFO) "
                  "does not record being killed: a run killed by the kernel's OOM killer also ends like this "
                  "(check `dmesg | grep -i oom`)"])


def _fatal_default(message: str) -> Cause:
    if message.startswith("Check failed"):
        return Cause("failed_check", "a CHECK in Caffe's code failed: one of its assumptions about the net, the data "
                                     "or the files did not hold", ["the condition in the message says which; "
                                                                   "the stack trace names the function"])
    return Cause("fatal_error", "Caffe stopped on a fatal error (LOG(FATAL))", ["the message says why"])


def explain(run: Run) -> Cause | None:
    """The cause of the run's ending, or None for a run that finished without diverging."""
    end = run.end
    evidence = [end.message or "", *end.last_lines, *end.frames]
    if end.status == EndStatus.CRASHED:
        for pattern, rule in _RULES:  # the most telling rule first, wherever its evidence is
            for text in evidence:
                found = pattern.search(text)
                if found:
                    return rule(found)
        if end.crash_kind in _KIND_CAUSES:
            return _KIND_CAUSES[end.crash_kind]
        if run.divergence is not None:
            return _DIVERGED
        if end.crash_kind == CrashKind.FATAL_ERROR:
            return _fatal_default(end.message or "")
        return Cause("other", "the run crashed: " + (end.message or "no message"), [])
    if run.divergence is not None:
        return _DIVERGED
    if end.status == EndStatus.CUT_OFF:
        return _CUT_OFF
    return None


def ending(run: Run) -> str:
    """One word for how the run ended: finished, cut_off, diverged, killed, host_out_of_memory,
    cuda_out_of_memory, failed_check, fatal_error, signal."""
    end = run.end
    if end.status == EndStatus.CRASHED:
        kind = end.crash_kind
        if kind in (CrashKind.KILLED, CrashKind.HOST_OUT_OF_MEMORY, CrashKind.CUDA_OUT_OF_MEMORY):
            return str(kind)
        if kind == CrashKind.FATAL_ERROR:
            return "failed_check" if (end.message or "").startswith("Check failed") else "fatal_error"
        if kind in (CrashKind.TERMINATED, CrashKind.SEGFAULT, CrashKind.ABORTED):
            return "signal"
        if run.divergence is not None:
            return "diverged"
        # other evidence: an unusual signal (SIGFPE, SIGBUS...), or an error before Caffe ran (the loader's)
        message = end.message or ""
        return "signal" if "SIG" in message or "exception" in message.lower() else "fatal_error"
    if run.divergence is not None:
        return "diverged"
    return str(end.status)

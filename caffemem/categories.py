"""Memory categories: the keys of every ``by_category`` caffemem reports.

A ``StrEnum`` so that a typo is an ``AttributeError`` rather than a silent new key, while every
member still *is* its string: JSON keys, CSV columns and text output are the plain values, exactly
as when these were bare strings. This sits on the lowest floor because layer rules (which file
their buffers under a category), the memory model and the writers all name categories.
"""

from __future__ import annotations

from caffemem._strenum import StrEnum


class Category(StrEnum):
    """One kind of memory; members are declared in the order reports list them (see :data:`ORDER`)."""

    ACTIVATIONS = "activations"  # forward data of tops (views and in-place tops counted once)
    ACTIVATION_GRADIENTS = "activation_gradients"  # diffs Caffe really allocates
    WEIGHTS = "weights"  # learnable parameter data (shared parameters once)
    WEIGHT_GRADIENTS = "weight_gradients"  # parameter diffs (ClearParamDiffs touches every owner)
    SOLVER_HISTORY = "solver_history"  # history/update/temp blobs of the solver
    LAYER_BUFFERS = "layer_buffers"  # im2col columns, masks, BatchNorm temporaries, multipliers...
    CUDNN_WORKSPACE = "cudnn_workspace"  # GPU only, an estimate
    PREFETCH = "prefetch"  # data-layer prefetch batches
    MULTI_GPU = "multi_gpu"  # GPU only, an estimate: NCCL's buffers on each GPU of a multi-GPU run
    WEIGHTS_LOADING = "weights_loading"  # the parsed .caffemodel held while copying weights in
    SNAPSHOT = "snapshot"  # CPU mode: the protobuf copy of weights or solver state while a snapshot is written
    RUNTIME = "runtime"  # the process itself (binary, libraries, allocator, CUDA context on GPU)


#: The order in which reports list categories (the declaration order of :class:`Category`).
ORDER: tuple[Category, ...] = tuple(Category)

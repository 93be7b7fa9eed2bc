"""The names of memory categories: the keys of every ``by_category`` caffemem reports."""

ACTIVATIONS = "activations"  # forward data of tops (views and in-place tops counted once)
ACTIVATION_GRADIENTS = "activation_gradients"  # diffs Caffe really allocates
WEIGHTS = "weights"  # learnable parameter data (shared parameters once)
WEIGHT_GRADIENTS = "weight_gradients"  # parameter diffs (ClearParamDiffs touches every owner)
SOLVER_HISTORY = "solver_history"  # history/update/temp blobs of the solver
LAYER_BUFFERS = "layer_buffers"  # im2col columns, masks, BatchNorm temporaries, multipliers...
CUDNN_WORKSPACE = "cudnn_workspace"  # GPU only, an estimate
PREFETCH = "prefetch"  # data-layer prefetch batches
WEIGHTS_LOADING = "weights_loading"  # the parsed .caffemodel held while copying weights in
MULTI_GPU = "multi_gpu"  # GPU only, an estimate: NCCL's buffers on each GPU of a multi-GPU run
SNAPSHOT = "snapshot"  # CPU mode: the protobuf copy of weights or solver state while a snapshot is written
RUNTIME = "runtime"  # the process itself (binary, libraries, allocator, CUDA context on GPU)

ORDER = (ACTIVATIONS, ACTIVATION_GRADIENTS, WEIGHTS, WEIGHT_GRADIENTS, SOLVER_HISTORY, LAYER_BUFFERS,
         CUDNN_WORKSPACE, PREFETCH, MULTI_GPU, WEIGHTS_LOADING, SNAPSHOT, RUNTIME)

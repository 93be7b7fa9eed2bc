"""GPU mode, checked against footprints computed by hand from Caffe's allocation rules.

No GPU is available here, so these examples are the evidence: each figure below is derived in the
comments from caffe-memory-model.md / Caffe's source, not from caffemem's output.
"""

from __future__ import annotations

from caffemem.categories import Category as C
from caffemem.layers.registry import BuildOptions, SetupContext
from caffemem.memory.model import (
    CPU_RUNTIME_BYTES,
    GPU_RUNTIME_BYTES,
    LAYER_OBJECT_BYTES,
    MATH_CODE_BYTES,
    PARAM_OBJECT_BYTES,
    TOP_OBJECT_BYTES,
    TYPE_CODE_BYTES,
    run_footprint,
)
from caffemem.memory.solvers import history_blobs
from caffemem.net.build import build_net
from caffemem.net.prototxt import parse_text
from caffemem.net.state import TRAIN, compose_state
from caffemem.proto import caffe_pb2

TINY = """
name: "tiny"
layer { name: "d" type: "DummyData" top: "data" top: "label"
        dummy_data_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } shape { dim: 2 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip" inner_product_param { num_output: 10 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
"""


def tiny(mode: str, solver: str = "SGD"):
    param = caffe_pb2.NetParameter()
    parse_text(TINY, param, "tiny")
    net = build_net(param, compose_state(TRAIN), SetupContext(TRAIN, BuildOptions(), "tiny"))
    return run_footprint([net], ["train"], mode, solver)


def test_gpu_training_footprint_by_hand() -> None:
    fp = tiny("gpu").by_category
    # activations: data 2*3*8*8=384, label 2, conv 2*4*6*6=288 (relu in place: no more), ip 20, loss 1
    assert fp[C.ACTIVATIONS] == (384 + 2 + 288 + 20 + 1) * 4
    # gradients: loss top 1, ip 20, conv/relu shared 288; cuDNN conv does not write the data gradient
    assert fp[C.ACTIVATION_GRADIENTS] == (1 + 20 + 288) * 4
    params = (4 * 3 * 3 * 3 + 4) + (10 * 4 * 6 * 6 + 10)
    assert fp[C.WEIGHTS] == fp[C.WEIGHT_GRADIENTS] == params * 4
    assert fp[C.SOLVER_HISTORY] == params * 4  # SGD: one history blob on the GPU
    # cuDNN conv: no column buffer; workspace estimate 3 calls x group 1 x column size (3*9*36)
    assert fp[C.CUDNN_WORKSPACE] == 3 * (3 * 9 * 36) * 4
    # bias multipliers: conv 36 (output pixels), ip 2 (batch); SoftmaxWithLoss prob_ data 20 and
    # its diff 20 (loss weight 1 inherited by the internal softmax); cuDNN softmax has no scale_
    assert fp[C.LAYER_BUFFERS] == (36 + 2 + 20 + 20) * 4
    assert fp[C.RUNTIME] == GPU_RUNTIME_BYTES


def test_cpu_mode_uses_column_buffers_and_leaves_the_data_gradient_unwritten() -> None:
    fp = tiny("cpu").by_category
    # Caffe-engine conv: col buffer 3*9*36 per image; its Backward allocates the data diff (384) but
    # never writes it (data does not propagate down), so it is never resident
    assert fp[C.ACTIVATION_GRADIENTS] == (1 + 20 + 288) * 4
    # col 972 + bias mult 36 + ip bias mult 2 + prob 20 + prob diff 20 + softmax scale 2 + sum_mult 10
    assert fp[C.LAYER_BUFFERS] == (972 + 36 + 2 + 20 + 20 + 2 + 10) * 4
    # the process, plus its 5 layers' objects (5 tops of their own: relu is in place; 4 parameter
    # blobs) and the code of its 5 layer types, SoftmaxWithLoss bringing in libm's exp/log
    assert fp[C.RUNTIME] == (CPU_RUNTIME_BYTES + 5 * LAYER_OBJECT_BYTES + 5 * TOP_OBJECT_BYTES
                             + 4 * PARAM_OBJECT_BYTES + 5 * TYPE_CODE_BYTES + MATH_CODE_BYTES)


def test_solver_history_blobs_per_mode() -> None:
    assert [history_blobs(s, "gpu") for s in ("SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam")] == \
        [1, 1, 1, 1, 2, 2]
    assert [history_blobs(s, "cpu") for s in ("SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam")] == \
        [1, 2, 2, 2, 4, 3]
    params = tiny("gpu", "Adam").by_category[C.WEIGHTS]
    assert tiny("gpu", "Adam").by_category[C.SOLVER_HISTORY] == 2 * params


def test_gpu_host_memory_holds_pinned_parameter_copies() -> None:
    fp = tiny("gpu")
    params = fp.by_category[C.WEIGHTS]
    assert fp.host_bytes == params + CPU_RUNTIME_BYTES + fp.objects_bytes  # no prefetching data layer here
    assert tiny("cpu").host_bytes == tiny("cpu").total_bytes


def test_multi_gpu_replica_adds_only_nccl_buffers() -> None:
    from caffemem.memory.model import NCCL_BUFFER_BYTES

    param = caffe_pb2.NetParameter()
    parse_text(TINY, param, "tiny")
    net = build_net(param, compose_state(TRAIN), SetupContext(TRAIN, BuildOptions(), "tiny"))
    one = run_footprint([net], ["train"], "gpu", "SGD", gpus=1)
    four = run_footprint([net], ["train"], "gpu", "SGD", gpus=4)
    # each GPU: the full replica at the full batch; weights and gradients move into NCCL's flat
    # buffers (same size), plus NCCL's own communication buffers
    assert four.total_bytes == one.total_bytes + NCCL_BUFFER_BYTES
    assert four.by_category[C.MULTI_GPU] == NCCL_BUFFER_BYTES


def test_unwritten_allocations_cost_on_the_gpu_only(tmp_path) -> None:
    """cudaMalloc commits what Caffe allocates; the CPU's unwritten pages are never resident."""
    from caffemem.commands.check import run_check

    net = tmp_path / "n.prototxt"
    net.write_text('''
name: "u"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "label" type: "DummyData" top: "label" dummy_data_param { shape { dim: 2 } } }
layer { name: "c" type: "Convolution" bottom: "data" top: "c"
        convolution_param { num_output: 4 kernel_size: 3 engine: CAFFE } }
layer { name: "p" type: "Convolution" bottom: "c" top: "p"
        convolution_param { num_output: 4 kernel_size: 1 engine: CAFFE } }
layer { name: "ip" type: "InnerProduct" bottom: "p" top: "ip" inner_product_param { num_output: 10 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
''')
    solver = tmp_path / "s.prototxt"
    solver.write_text(f'net: "{net}"\nmax_iter: 2\nsnapshot_after_train: false\n')

    def layer_bytes(mode: str, name: str) -> dict:
        result = run_check(str(solver), mode=mode)
        fp = result.footprint.nets[0]
        return fp.by_layer.get(name, {})

    # Input's top: never written by caffe train on the CPU; committed on the GPU
    assert C.ACTIVATIONS not in layer_bytes("cpu", "data")
    assert layer_bytes("gpu", "data")[C.ACTIVATIONS] == 2 * 3 * 8 * 8 * 4
    # the Caffe-engine convolution's data gradient (weights learn, data does not propagate)
    assert C.ACTIVATION_GRADIENTS not in layer_bytes("cpu", "data")
    assert layer_bytes("gpu", "data")[C.ACTIVATION_GRADIENTS] == 2 * 3 * 8 * 8 * 4
    # the 1x1 convolution's column buffer: bias multiplier only on the CPU, plus the column on the GPU
    assert layer_bytes("cpu", "p")[C.LAYER_BUFFERS] == 36 * 4
    assert layer_bytes("gpu", "p")[C.LAYER_BUFFERS] == (36 + 4 * 36) * 4

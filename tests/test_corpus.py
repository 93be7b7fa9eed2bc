"""Every real net and solver in the shared corpus either analyses or fails with a clean error.

A clean error (:class:`caffemem.errors.CaffememError`) is expected only where real Caffe fails
too, listed in ``EXPECTED_ERRORS`` with the reason; anything else escaping is a bug. Layers left
unanalysed must say why (Python layers need ``--input``; layers downstream of them inherit it).
``KNOWN_BUGS`` lists files that fail because of open problems outside the layer catalogue's fork
modules, so that a fix shows up as an unexpected pass.
"""

from __future__ import annotations

import re

import pytest
from conftest import SHARED

from caffemem.errors import CaffememError
from caffemem.layers.registry import BuildOptions
from caffemem.net.analyze import analyze_path
from caffemem.proto import caffe_pb2

ROOTS = ("corpus/nets", "corpus/legacy", "corpus-runnable")

_MISSING_NET = "named in the solver (was found neither|does not exist)|no such file"
_NO_DATA = r"Unknown bottom blob '(data|scaled)'"

#: file -> pattern of the error, where real Caffe fails as well (and why).
EXPECTED_ERRORS: dict[str, str] = {
    # A V1 net inside a solver's net_param: Caffe does not upgrade it and builds an empty net.
    "corpus/nets/bvlc_caffe/examples_mnist_lenet_consolidated_solver.prototxt": "old V1 'layers' format",
    # Solvers naming their nets by paths relative to a Caffe checkout or absolute paths on the
    # author's machine: Caffe cannot open them either outside that checkout.
    **{name: _MISSING_NET for name in (
        "corpus/nets/bvlc_caffe/bvlc_alexnet_solver.prototxt",
        "corpus/nets/bvlc_caffe/bvlc_googlenet_quick_solver.prototxt",
        "corpus/nets/bvlc_caffe/bvlc_googlenet_solver.prototxt",
        "corpus/nets/bvlc_caffe/bvlc_reference_caffenet_solver.prototxt",
        "corpus/nets/bvlc_caffe/examples_cifar10_cifar10_quick_solver.prototxt",
        "corpus/nets/bvlc_caffe/examples_mnist_lenet_solver.prototxt",
        "corpus/nets/cvjena_cnn_models/ResNet50_cvgj_test.solver",
        "corpus/nets/cvjena_cnn_models/ResNet50_cvgj_train.solver",
        "corpus/nets/digits_jobs/robotic_inference_solver.prototxt",
        "corpus/nets/fcn/voc-fcn8s_solver.prototxt",
        "corpus/nets/lstm_cf/solver.prototxt",
        "corpus/nets/mobilenet_ssd/solver.prototxt",
        "corpus/nets/py_faster_rcnn/pascal_voc_VGG16_faster_rcnn_end2end_solver.prototxt",
        "corpus/nets/py_faster_rcnn/pascal_voc_ZF_faster_rcnn_alt_opt_stage1_rpn_solver60k80k.pt",
        "corpus/nets/segnet/segnet_solver.prototxt",
        "corpus/nets/squeezenet/SqueezeNet_v1.1_solver.prototxt",
        "corpus/nets/ssd_resnet_rocksat/solver.prototxt",
        "corpus/nets/ssd_vgg/SSD_300x300_MELON_solver.prototxt",
        "corpus/legacy/bvlc_caffe_2014-03/v0era_imagenet_imagenet_solver.prototxt",
        "corpus/legacy/bvlc_caffe_2014-03/v0era_lenet_lenet_solver.prototxt",
        "corpus/legacy/bvlc_caffe_2015-09/lenet_solver_adam_solver_type_enum.prototxt",
        "corpus/legacy/bvlc_caffe_2015-09/mnist_autoencoder_solver_adagrad_solver_type_enum.prototxt",
        "corpus/legacy/vgg16_logoretrieval/vgg_16_solver.prototxt",
    )},
    # A 2013 solver from before solvers named their nets (train_net was given on the command line).
    "corpus/legacy/bvlc_caffe_2013-10/imagenet_solver_2013.prototxt": "must name exactly one of|names no net",
    # 'layer {' MemoryData mixed with V1 'layers {': Caffe's UpgradeV1Net refuses it (LOG(FATAL)
    # "Refusing to upgrade inconsistent NetParameter input", upgrade_proto.cpp).
}

#: Data layers only for one phase or stage: a net built for the other phase/stage has no input, and
#: Caffe stops there with the same "Unknown bottom blob" (``caffe time``/``test`` on that phase).
#: caffemem may instead build only the phase that has data; either outcome is accepted.
PHASE_ONLY: dict[str, str] = {
    "corpus/nets/bvlc_caffe/examples_mnist_mnist_autoencoder.prototxt": _NO_DATA,  # TEST needs a stage
    "corpus/nets/digits/lenet.prototxt": _NO_DATA,  # DIGITS stages
    "corpus-runnable/digits-lenet-b64-sgd.prototxt": _NO_DATA,
    "corpus-runnable/mnist-autoencoder-b100-sgd.prototxt": _NO_DATA,
    "corpus/nets/intel_caffe/yolo_deploy.prototxt": _NO_DATA,  # TEST-only DummyData
    "corpus/nets/mobilenet_ssd/MobileNetSSD_test.prototxt": _NO_DATA,  # TEST-only AnnotatedData
    "corpus/nets/mobilenet_ssd/MobileNetSSD_train.prototxt": _NO_DATA,  # TRAIN-only AnnotatedData
    "corpus/nets/ssd_resnet_rocksat/ResNet_SSD_300x300_train.prototxt": _NO_DATA,
    "corpus/nets/ssd_vgg/SSD_300x300_MELON_test.prototxt": _NO_DATA,
    "corpus/nets/ssd_vgg/SSD_300x300_MELON_train.prototxt": _NO_DATA,
}

#: Clean errors caused only by a per-sample shape caffemem had to assume (the data holds the real
#: one): Caffe with the real data builds these; ``RUNS`` gives the inputs that make them analyse.
ASSUMED_SHAPE = "a data shape was assumed|must have the same shape|do not cut axis"
ASSUMED: set[str] = {
    "corpus/nets/segnet/segnet_train.prototxt",
    "corpus/nets/segnet/segnet_inference.prototxt",
    "corpus/nets/segnet/bayesian_segnet_basic_train.prototxt",
    "corpus/nets/bvlc_caffe/examples_siamese_mnist_siamese_train_test.prototxt",
    "corpus/legacy/bvlc_caffe_2015-02/v1_siamese_mnist_siamese_train_test.prototxt",
}

#: file -> why it fails today although Caffe (or the fork it was written for) would build it.
KNOWN_BUGS: dict[str, str] = {}

#: file -> (phase, per-sample inputs) that make it analysable: the phase its data layers exist in,
#: or the input size its data layer reads from the data (which caffemem does not read).
RUNS: dict[str, tuple[int | None, dict[str, tuple[int, ...]]]] = {
    "corpus/nets/intel_caffe/yolo_deploy.prototxt": (caffe_pb2.TEST, {}),
    "corpus/nets/mobilenet_ssd/MobileNetSSD_test.prototxt": (caffe_pb2.TEST, {}),
    "corpus/nets/mobilenet_ssd/MobileNetSSD_train.prototxt": (caffe_pb2.TRAIN, {}),
    "corpus/nets/ssd_resnet_rocksat/ResNet_SSD_300x300_train.prototxt": (caffe_pb2.TRAIN, {}),
    "corpus/nets/ssd_vgg/SSD_300x300_MELON_test.prototxt": (caffe_pb2.TEST, {}),
    "corpus/nets/ssd_vgg/SSD_300x300_MELON_train.prototxt": (caffe_pb2.TRAIN, {}),
    "corpus/nets/bvlc_caffe/examples_mnist_mnist_autoencoder.prototxt": (caffe_pb2.TRAIN, {}),
    # SegNet reads 360x480 CamVid images; MNIST siamese pairs are 2-channel.
    "corpus/nets/segnet/segnet_train.prototxt": (None, {"data": (3, 360, 480)}),
    "corpus/nets/segnet/segnet_inference.prototxt": (None, {"data": (3, 360, 480)}),
    "corpus/nets/segnet/bayesian_segnet_basic_train.prototxt": (None, {"data": (3, 360, 480)}),
    "corpus/nets/bvlc_caffe/examples_siamese_mnist_siamese_train_test.prototxt":
        (None, {"pair_data": (2, 28, 28)}),
    "corpus/legacy/bvlc_caffe_2015-02/v1_siamese_mnist_siamese_train_test.prototxt":
        (None, {"pair_data": (2, 28, 28)}),
}


def _corpus_files() -> list[str]:
    files: list[str] = []
    for root in ROOTS:
        base = SHARED / root
        if base.is_dir():
            files += sorted(str(p.relative_to(SHARED)) for p in base.rglob("*") if p.is_file())
    return files


FILES = _corpus_files()
pytestmark = pytest.mark.skipif(not FILES, reason="shared corpus not present")


def _check_layers(rel: str, phase: int | None = None, inputs: dict[str, tuple[int, ...]] | None = None) -> None:
    analysis = analyze_path(str(SHARED / rel), phase=phase, options=BuildOptions(inputs=inputs or {}))
    assert analysis.nets, rel
    for net in analysis.nets:
        shapes_known = {b for layer in net.layers for b, s in zip(layer.tops, layer.top_shapes, strict=False)
                        if s is not None}
        for layer in net.layers:
            if layer.analysed:
                continue
            assert layer.unknown, f"{rel}: layer '{layer.name}' unanalysed without a reason"
            if all(b in shapes_known for b in layer.bottoms):  # the root cause, not a follower
                assert layer.type in layer.unknown or "Python" in layer.unknown or "--input" in layer.unknown, \
                    f"{rel}: layer '{layer.name}' ({layer.type}): reason does not name it: {layer.unknown}"


@pytest.mark.parametrize("rel", FILES or ["(none)"])
def test_corpus_file_analyses_or_fails_cleanly(rel: str) -> None:
    problem = _outcome_problem(rel)
    if problem is not None and rel in KNOWN_BUGS:
        pytest.xfail(KNOWN_BUGS[rel])
    assert problem is None, problem


def _outcome_problem(rel: str) -> str | None:
    """What is wrong with analysing ``rel`` (None: the outcome is the expected one)."""
    try:
        _check_layers(rel)
    except CaffememError as err:
        expected = EXPECTED_ERRORS.get(rel) or PHASE_ONLY.get(rel) or (ASSUMED_SHAPE if rel in ASSUMED else None)
        if expected is None:
            return f"unexpected error for {rel}: {err}"
        if not re.search(expected, str(err)):
            return f"{rel}: error differs from Caffe's: {err}"
        return None
    if rel in EXPECTED_ERRORS:
        return f"{rel} analysed although Caffe fails on it"
    return None


@pytest.mark.parametrize("rel", sorted(RUNS))
def test_corpus_file_with_its_phase_or_inputs(rel: str) -> None:
    if not (SHARED / rel).is_file():
        pytest.skip("file not in this corpus")
    phase, inputs = RUNS[rel]
    _check_layers(rel, phase, inputs)


def test_expectations_name_real_files() -> None:
    listed = set(EXPECTED_ERRORS) | set(PHASE_ONLY) | ASSUMED | set(KNOWN_BUGS) | set(RUNS)
    assert listed <= set(FILES), sorted(listed - set(FILES))

"""The two vocabularies every byte rule is keyed on: where Caffe runs, and what a net does in the run."""

from __future__ import annotations

from caffemem._strenum import StrEnum


class Mode(StrEnum):
    """Caffe's ``Caffe::mode()``: it decides which buffers exist (cuDNN, GPU copies) and the runtime's size."""

    CPU = "cpu"
    GPU = "gpu"


class Role(StrEnum):
    """What a net does in the run: the solver's train net learns, its test nets share the weights,
    a net run forward only (``caffe test``, pycaffe) is inference; a net built but never run (a test
    net the solver never tests, the train net of a ``max_iter: 0`` run with ``display: 0``) is idle."""

    TRAIN = "train"
    TEST = "test"
    INFERENCE = "inference"
    IDLE = "idle"

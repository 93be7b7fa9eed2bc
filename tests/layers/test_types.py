"""The type cards: every registered layer type has one with every fact filled, and the cards agree
with the rules (the registry's classes), with Caffe's own list of BVLC types and with the log reader.
"""

from __future__ import annotations

import re

import pytest

import caffemem.layers.catalogue  # noqa: F401  (registers every layer type)
from caffemem.layers.registry import LAYERS
from caffemem.layers.types import (
    BVLC_TYPES,
    CARDS,
    TARGETS,
    Fork,
    Origin,
    Status,
    TypeCard,
    _card,
    card,
    data_layer_sources,
)
from caffemem.logs.lines import DATA_LAYER_SOURCES


def test_every_registered_type_has_a_card() -> None:
    assert sorted(set(LAYERS) - set(CARDS)) == []


@pytest.mark.parametrize("name", sorted(CARDS))
def test_every_card_has_every_fact(name: str) -> None:
    c = CARDS[name]
    assert c.type_name == name
    assert isinstance(c.origin, Origin) and c.origin != Origin.CUSTOM  # custom is what the table is not
    assert (c.origin == Origin.FORK) == (c.fork is not None)
    assert c.fork is None or isinstance(c.fork, Fork)
    assert tuple(c.converters) == TARGETS
    for verdict in c.converters.values():
        assert isinstance(verdict.status, Status)
        if verdict.status != Status.YES:  # whatever is missing is said
            assert verdict.note
    if c.training_only is not None:
        assert c.training_only
        assert {v.status for v in c.converters.values()} == {Status.TRAINING_ONLY}
    else:
        assert Status.TRAINING_ONLY not in {v.status for v in c.converters.values()}
    assert isinstance(c.log_sources, tuple)
    assert all(re.fullmatch(r"[a-z0-9_]+\.cpp", s) for s in c.log_sources)


def test_origins_agree_with_bvlc_caffe() -> None:
    assert len(BVLC_TYPES) == 61
    bvlc_cards = {n for n, c in CARDS.items() if c.origin in (Origin.BVLC, Origin.PYTHON)}
    assert bvlc_cards == BVLC_TYPES
    assert CARDS["Python"].origin == Origin.PYTHON  # BVLC code, but it runs the user's module
    assert [n for n, c in CARDS.items() if c.origin == Origin.PYTHON] == ["Python"]


def test_caffemem_sizes_every_bvlc_type() -> None:
    assert sorted(BVLC_TYPES - set(LAYERS)) == []


def test_fork_types_are_not_bvlc() -> None:
    forks = {n for n, c in CARDS.items() if c.origin == Origin.FORK}
    assert forks and not forks & BVLC_TYPES
    assert {c.fork for c in CARDS.values() if c.fork} == set(Fork)  # no fork named for nothing


def test_data_layers_and_their_log_sources() -> None:
    with_sources = {n for n, c in CARDS.items() if c.log_sources}
    # only registered data layers print set-up lines that name them
    assert {n for n in with_sources if not (n in LAYERS and LAYERS[n].is_data)} == set()
    for name in with_sources:
        # each names the file Caffe's layer of that type lives in (ImageData -> image_data_layer.cpp)
        own = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower() + "_layer.cpp"
        assert own in CARDS[name].log_sources, name
    # the BVLC and fork data layers whose set-up lines Caffe logs from their own file
    assert {"Data", "ImageData", "WindowData", "HDF5Data", "MemoryData", "AnnotatedData",
            "DenseImageData"} <= with_sources
    # a source file names one type only
    sources = [s for c in CARDS.values() for s in c.log_sources]
    assert len(sources) == len(set(sources))


def test_the_log_reader_reads_the_cards() -> None:
    assert DATA_LAYER_SOURCES == data_layer_sources()
    assert DATA_LAYER_SOURCES["db_lmdb.cpp"] == "Data"


def test_training_only_agrees_with_the_rules() -> None:
    for name, cls in LAYERS.items():
        c = CARDS[name]
        if cls.is_loss:
            assert c.training_only is not None, name
        if cls.is_data and name != "Input":  # Input is the deployed model's own input
            assert c.training_only is not None, name
    assert CARDS["Input"].training_only is None
    assert CARDS["Accuracy"].training_only is not None


def test_unknown_types_are_custom_everywhere() -> None:
    for name in ("MyOwnLayer", "", "python", "convolution"):
        c = card(name)
        assert isinstance(c, TypeCard)
        assert (c.type_name, c.origin, c.fork, c.training_only, c.log_sources) == (name, Origin.CUSTOM, None,
                                                                                   None, ())
        assert tuple(c.converters) == TARGETS
        assert all(v.status == Status.NO and v.blocking and v.note for v in c.converters.values())
    assert card("Convolution") is CARDS["Convolution"]


def test_a_row_must_say_every_fact() -> None:
    with pytest.raises(ValueError, match="give onnx, pytorch and opencv"):
        _card("Half", Origin.BVLC, onnx="y", pytorch="y")
    with pytest.raises(ValueError, match="training-only"):
        _card("Both", Origin.BVLC, onnx="y", pytorch="y", opencv="y", training_only="loss")
    row = _card("Mine", Fork.SSD, onnx="~: caffe2onnx", pytorch="n: by hand", opencv="y")
    assert (row.origin, row.fork) == (Origin.FORK, Fork.SSD)
    assert [v.status for v in row.converters.values()] == [Status.PARTIAL, Status.NO, Status.YES]
    assert row.converters["onnx"].note == "caffe2onnx"

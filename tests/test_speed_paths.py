"""The shortcuts ``check`` takes for speed give what the long way gives."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from caffemem.commands.check import first_batch, run_check
from caffemem.errors import ParseError
from caffemem.memory.plan import footprint
from caffemem.net import prototxt
from caffemem.net.analyze import analyze_path, rebuild
from caffemem.net.inputs import build_options
from caffemem.proto import caffe_pb2
from caffemem.report._json import dumps, finite

TRAIN_VAL = """name: "tv"
layer { name: "d" type: "DummyData" top: "data" top: "label" include { phase: TRAIN }
  dummy_data_param { shape { dim: 8 dim: 3 dim: 16 dim: 16 } shape { dim: 8 } } }
layer { name: "d" type: "DummyData" top: "data" top: "label" include { phase: TEST }
  dummy_data_param { shape { dim: 5 dim: 3 dim: 16 dim: 16 } shape { dim: 5 } } }
layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "fc" type: "InnerProduct" bottom: "c" top: "fc" inner_product_param { num_output: 2 } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" top: "loss" }
"""


def test_parse_after_kind_takes_the_tokens_and_gives_the_same_message() -> None:
    text = 'name: "n" # comment\nlayer { name: "a" type: "ReLU" bottom: "x" top: "x" }\nbogus: 1\n'
    assert prototxt.top_level_fields(text, "f") == ["name", "layer", "bogus"]
    shared = caffe_pb2.NetParameter()
    warnings = prototxt.parse_text(text, shared, "f")
    assert not prototxt._last_tokens  # taken, not kept
    fresh = caffe_pb2.NetParameter()
    assert [str(d) for d in prototxt.parse_text(text, fresh, "f")] == [str(d) for d in warnings]
    assert shared == fresh
    assert str(warnings[0]).startswith("f:3:1: unknown field 'bogus'")


@pytest.mark.parametrize("text, place", [("name: \"a\"\n  ^", "f:2:3"), ("layer {\n", "f:2:1"), ("\n\n  @", "f:3:3")])
def test_tokeniser_errors_keep_their_place(text: str, place: str) -> None:
    with pytest.raises(ParseError) as err:
        prototxt.parse_text(text, caffe_pb2.NetParameter(), "f")
    assert str(err.value).startswith(place)


def test_rebuild_is_the_analysis_at_that_batch(tmp_path: Path) -> None:
    path = tmp_path / "tv.prototxt"
    path.write_text(TRAIN_VAL)
    first = analyze_path(str(path), options=build_options(None, {}), strict=True)
    again = rebuild(first, build_options(7, {}))
    direct = analyze_path(str(path), options=build_options(7, {}), strict=True)
    assert [[layer.top_shapes for layer in net.layers] for net in again.nets] == \
        [[layer.top_shapes for layer in net.layers] for net in direct.nets]
    assert footprint(again, "cpu", "SGD", 1).total_bytes == footprint(direct, "cpu", "SGD", 1).total_bytes
    assert [net.default_batches for net in first.nets] == [{8}, {5}]
    assert all(not net.default_batches for net in direct.nets)


def test_largest_batch_is_the_same_with_or_without_batch(tmp_path: Path) -> None:
    path = tmp_path / "tv.prototxt"
    path.write_text(TRAIN_VAL.replace("dim: 5", "dim: 8"))  # both phases at 8: the check is the first probe
    analysis = analyze_path(str(path), options=build_options(None, {}), strict=True)
    assert first_batch(analysis) == 8 and all(net.default_batches == {8} for net in analysis.nets)
    assert run_check(str(path), mem="1GiB").fit == run_check(str(path), batch=8, mem="1GiB").fit


def test_indented_json_is_jsons() -> None:
    rng = random.Random(7)
    leaves = [0, 1, -3, 2**70, 0.1, -0.0, 1e300, math.nan, math.inf, True, False, None, "", "é\n\"\\"]

    def value(depth: int = 0) -> object:
        pick = rng.random()
        if depth > 3 or pick < 0.4:
            return rng.choice(leaves)
        if pick < 0.7:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        keys = ["a", "é", 1, 2.5, True, None]
        return {rng.choice(keys): value(depth + 1) for _ in range(rng.randint(0, 3))}

    for _ in range(2000):
        data = value()
        for indent in (0, 1, 2):
            assert dumps(data, indent=indent) == json.dumps(finite(data), indent=indent, allow_nan=False)

"""The prototxt reader: exact values, warnings with places, one-line errors with file:line:col."""

from __future__ import annotations

import math

import pytest

from caffemem.errors import ParseError
from caffemem.net.prototxt import parse_text, top_level_fields
from caffemem.proto import caffe_pb2


def test_reads_messages_scalars_enums_and_lists() -> None:
    net = caffe_pb2.NetParameter()
    text = """
    name: 'a' "b"   # adjacent strings concatenate
    layer { name: "c" type: "Convolution" top: "c" bottom: "d"
            convolution_param: { num_output: 0x10 kernel_size: [3, 3] pad: 1 }
            param < lr_mult: 1e-1 > loss_weight: inf }
    force_backward: true
    """
    assert parse_text(text, net, "n.prototxt") == []
    assert net.name == "ab"
    layer = net.layer[0]
    assert layer.convolution_param.num_output == 16
    assert list(layer.convolution_param.kernel_size) == [3, 3]
    assert layer.param[0].lr_mult == pytest.approx(0.1)
    assert math.isinf(layer.loss_weight[0])
    assert net.force_backward


def test_unknown_field_is_a_warning_with_its_place_and_the_rest_is_read() -> None:
    net = caffe_pb2.NetParameter()
    text = 'layer {\n  name: "x"\n  fancy_param { a: 1 b { c: 2 } }\n  type: "ReLU"\n}\n'
    diags = parse_text(text, net, "f.prototxt")
    assert [str(d) for d in diags] == ["f.prototxt:3:3: unknown field 'fancy_param' in LayerParameter; ignored"]
    assert net.layer[0].type == "ReLU"


@pytest.mark.parametrize(("text", "where"), [
    ('layer { name: "x" ', "f.prototxt:1:19"),
    ('layer { name: x }', "f.prototxt:1:15"),
    ('name: "a"\nlayer { num_output: }', "f.prototxt:2:21"),
    ('layer { bottom: "a" } }', "f.prototxt:1:23"),
])
def test_syntax_errors_name_file_line_and_column(text: str, where: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_text(text, caffe_pb2.NetParameter(), "f.prototxt")
    assert str(err.value).startswith(where + ":"), str(err.value)


def test_out_of_range_integer_is_an_error() -> None:
    with pytest.raises(ParseError, match="num_output"):
        parse_text("layer { convolution_param { num_output: 99999999999 } }", caffe_pb2.NetParameter(), "f")


def test_top_level_fields_ignore_nested_names() -> None:
    assert top_level_fields('net: "a" net_param { layer { name: "b" } } base_lr: 1') == ["net", "net_param", "base_lr"]


def test_unexpected_character_is_placed() -> None:
    with pytest.raises(ParseError) as err:
        parse_text('layer {\n  name: "a" @\n}\n', caffe_pb2.NetParameter(), "f.prototxt")
    assert str(err.value).startswith("f.prototxt:2:13: unexpected character '@'")


def test_a_label_map_is_named_for_what_it_is(tmp_path) -> None:  # noqa: ANN001
    """SSD keeps its classes in a prototxt of ``item`` blocks: not a net, and the user is told so."""
    from click.testing import CliRunner

    from caffemem.cli import main

    path = tmp_path / "labelmap_voc.prototxt"
    path.write_text('item {\n  name: "none_of_the_above"\n  label: 0\n  display_name: "background"\n}\n'
                    'item {\n  name: "aeroplane"\n  label: 1\n  display_name: "aeroplane"\n}\n')
    done = CliRunner().invoke(main, ["check", str(path)])
    assert done.exit_code == 2
    assert "is a label map" in done.output and "Traceback" not in done.output

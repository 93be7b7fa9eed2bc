"""Tests for Caffe's legacy upgrades (``caffemem.net.upgrade``) and the ``caffemem upgrade`` command.

The oracle test compares against Caffe's own ``upgrade_net_proto_text`` / ``upgrade_solver_proto_text``
output in ``shared/oracle/upgrade`` (skipped when ``shared`` is not beside the repository); the rest
run on the small fixtures in ``tests/fixtures/upgrade``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FIXTURES as TEST_FIXTURES
from conftest import SHARED

from caffemem.cli import main
from caffemem.errors import CaffememError, NetError
from caffemem.net.prototxt import parse_text, top_level_fields
from caffemem.net.upgrade import (
    BATCHNORM,
    DATA_TRANSFORMATION,
    INPUT_FIELDS,
    SOLVER_TYPE,
    V0_PADDING,
    V0_TO_V1,
    V1_TO_V2,
    classify_fields,
    format_text,
    upgrade_net,
    upgrade_solver,
    upgrade_text,
)
from caffemem.proto import caffe_pb2

FIXTURES = TEST_FIXTURES / "upgrade"
LEGACY = SHARED / "corpus" / "legacy"
ORACLE = SHARED / "oracle" / "upgrade"
# The one corpus file Caffe cannot parse (unknown V0 field "subtraction"); no oracle output.
UNPARSABLE = "v0_examples_imagenet"


def _net(text: str, source: str = "<test>") -> caffe_pb2.NetParameter:
    net = caffe_pb2.NetParameter()
    assert parse_text(text, net, source) == []
    return net


def _fixture_net(name: str) -> caffe_pb2.NetParameter:
    path = FIXTURES / name
    return _net(path.read_text(), str(path))


def _legacy_files() -> list[Path]:
    return sorted(LEGACY.rglob("*.prototxt")) if LEGACY.is_dir() else []


# ---------------------------------------------------------------------------------------------
# Against Caffe's own upgrade tools


@pytest.mark.skipif(not ORACLE.is_dir(), reason="shared/oracle/upgrade not available")
@pytest.mark.parametrize("path", _legacy_files(), ids=lambda p: p.stem)
def test_matches_caffe_upgrade_tool(path: Path) -> None:
    text = path.read_text()
    if path.stem == UNPARSABLE:
        # Caffe: parse error at 8:16, no output. Our lenient parser warns with the place and goes
        # on; upgrade_text flags that Caffe would refuse the file.
        done = upgrade_text(text, str(path))
        assert done.caffe_would_refuse
        assert any(":8:5: unknown field 'subtraction'" in w for w in done.parse_warnings)
        assert not (ORACLE / f"{path.stem}.upgraded.prototxt").exists()
        return
    done = upgrade_text(text, str(path))
    assert done.parse_warnings == []
    assert done.result.warnings == []
    oracle_path = ORACLE / f"{path.stem}.upgraded.prototxt"
    oracle_text = oracle_path.read_text()
    expected = type(done.message)()
    assert parse_text(oracle_text, expected, str(oracle_path)) == []
    assert done.message == expected
    # Not required for equality, but our printer aims at Caffe's exact bytes.
    assert format_text(done.message) == oracle_text


@pytest.mark.skipif(not ORACLE.is_dir(), reason="shared/oracle/upgrade not available")
def test_applied_steps_match_oracle_summary() -> None:
    """The steps we apply are the ones Caffe logged (SUMMARY.tsv's last column)."""
    wording = {V0_TO_V1: "deprecated V0LayerParameter", V1_TO_V2: "deprecated V1LayerParameter",
               INPUT_FIELDS: "deprecated input fields",
               DATA_TRANSFORMATION: "deprecated transformation parameters",
               SOLVER_TYPE: "deprecated 'solver_type' field (enum)"}
    rows = (ORACLE / "SUMMARY.tsv").read_text().splitlines()[1:]
    checked = 0
    for row in rows:
        source, _tool, code, _written, says = row.split("\t")
        if code != "0":
            continue
        path = SHARED.parent / source
        done = upgrade_text(path.read_text(), str(path))
        logged = {step for step, words in wording.items() if words in says}
        ours = {step for step in done.result.applied if step in wording}
        assert ours == logged, source
        if "already in latest proto format" in says:
            assert not done.result.applied
        checked += 1
    assert checked == 24


@pytest.mark.skipif(not ORACLE.is_dir(), reason="shared/oracle/upgrade not available")
@pytest.mark.parametrize("path", [p for p in _legacy_files() if p.stem != UNPARSABLE],
                         ids=lambda p: p.stem)
def test_log_lines_match_caffe(path: Path) -> None:
    """UpgradeResult.log reproduces the upgrade_proto.cpp lines of Caffe's log, level and text."""
    source = "legacy/" + path.relative_to(LEGACY).as_posix()  # the tool ran from shared/corpus
    caffe = []
    for line in (ORACLE / f"{path.stem}.upgrade.log").read_text().splitlines():
        head, _, text = line.partition("] ")
        if " upgrade_proto.cpp:" in head:
            caffe.append((head[0], text))
    done = upgrade_text(path.read_text(), source)
    assert done.result.log == caffe


# ---------------------------------------------------------------------------------------------
# Self-contained fixtures


def test_v0_padding_layer_folds_into_conv() -> None:
    net = _fixture_net("v0_padding.prototxt")
    result = upgrade_net(net, "v0_padding.prototxt")
    assert result.applied == [V0_TO_V1, V0_PADDING, V1_TO_V2, INPUT_FIELDS]
    assert result.warnings == []
    assert [(layer.name, layer.type) for layer in net.layer] == [
        ("input", "Input"), ("conv1", "Convolution"), ("relu1", "ReLU"), ("pool1", "Pooling")]
    conv = net.layer[1]
    assert list(conv.bottom) == ["data"]  # rewired past the removed padding layer
    assert list(conv.convolution_param.pad) == [2]
    assert list(conv.convolution_param.kernel_size) == [3]
    assert [(p.lr_mult, p.decay_mult) for p in conv.param] == [(1, 1), (0, 0)]
    assert net.layer[3].pooling_param.pool == caffe_pb2.PoolingParameter.MAX
    assert list(net.layer[0].input_param.shape[0].dim) == [2, 3, 8, 8]
    assert not net.input and not net.input_dim and not net.layers
    # The log lines Caffe would print, in order and at the right levels.
    assert [level for level, _ in result.log] == ["I", "I", "W", "I", "I", "I", "I", "W"]
    assert result.log[0][1].endswith("deprecated V0LayerParameter: v0_padding.prototxt")


def test_v1_blobs_lr_zero_and_data_transformation() -> None:
    net = _fixture_net("v1_blobs_lr0.prototxt")
    result = upgrade_net(net, "v1")
    assert result.applied == [DATA_TRANSFORMATION, V1_TO_V2]
    data, fc, loss = net.layer
    assert (data.type, fc.type, loss.type) == ("Data", "InnerProduct", "SoftmaxWithLoss")
    assert data.transform_param.crop_size == 5 and data.transform_param.mirror
    assert not data.data_param.HasField("crop_size") and data.data_param.batch_size == 4
    assert data.include[0].phase == caffe_pb2.TRAIN
    assert [(p.lr_mult, p.decay_mult) for p in fc.param] == [(0, 1), (0, 0)]


def test_input_dim_becomes_front_input_layer() -> None:
    net = _fixture_net("input_dim.prototxt")
    result = upgrade_net(net, "in")
    assert result.applied == [INPUT_FIELDS]
    first = net.layer[0]
    assert (first.name, first.type, list(first.top)) == ("input", "Input", ["a", "b"])
    assert [list(s.dim) for s in first.input_param.shape] == [[1, 3, 4, 4], [1, 1, 4, 4]]
    assert net.layer[1].name == "sum"
    assert not net.input and not net.input_dim


def test_input_dim_too_short_is_an_error() -> None:
    net = _net('input: "a" input_dim: 1 input_dim: 3')
    with pytest.raises(NetError, match="input_dim"):
        upgrade_net(net, "short.prototxt")


def test_batchnorm_with_three_params_is_frozen() -> None:
    net = _fixture_net("bn3.prototxt")
    result = upgrade_net(net, "bn")
    assert result.applied == [BATCHNORM]
    bn, bn_two = net.layer[1], net.layer[2]
    assert [(p.lr_mult, p.decay_mult) for p in bn.param] == [(0, 0)] * 3
    assert bn.param[2].name == "shared"  # everything else in the ParamSpec is kept
    assert [p.lr_mult for p in bn_two.param] == [1, 1]  # two params: not the old layout


def test_solver_type_enum_becomes_type_string() -> None:
    solver = caffe_pb2.SolverParameter()
    assert parse_text((FIXTURES / "solver_type.prototxt").read_text(), solver, "s") == []
    result = upgrade_solver(solver, "s")
    assert result.applied == [SOLVER_TYPE]
    assert solver.type == "Nesterov" and not solver.HasField("solver_type")
    assert not solver.HasField("snapshot_prefix")  # master's prefix rewrite is not done here


def test_solver_with_both_types_is_an_error() -> None:
    solver = caffe_pb2.SolverParameter(type="Adam", solver_type=caffe_pb2.SolverParameter.SGD)
    with pytest.raises(CaffememError, match="cannot be both specified"):
        upgrade_solver(solver, "both.prototxt")


def test_layer_and_layers_together_is_fatal() -> None:
    net = _fixture_net("both_layer_layers.prototxt")
    with pytest.raises(NetError, match="both 'layer' and 'layers'") as info:
        upgrade_net(net, "mixed.prototxt")
    assert str(info.value).startswith("mixed.prototxt: Refusing to upgrade")
    assert "\n" not in str(info.value)


def test_current_net_is_left_alone() -> None:
    net = _net('name: "n" layer { name: "d" type: "Input" top: "d" '
               "input_param { shape { dim: 1 } } }")
    before = caffe_pb2.NetParameter()
    before.CopyFrom(net)
    assert upgrade_net(net, "n").applied == []
    assert net == before


def test_v0_field_on_wrong_type_warns_and_continues() -> None:
    net = _net('layers { layer { name: "r" type: "relu" num_output: 3 } bottom: "x" top: "x" } '
               'input: "x"')
    result = upgrade_net(net, "w.prototxt")
    assert result.warnings == [
        "w.prototxt: Unknown parameter num_output for layer type relu"]
    assert ("E", "Warning: had one or more problems upgrading V0NetParameter to NetParameter "
                 "(see above); continuing anyway.") in result.log
    assert net.layer[0].type == "ReLU"


def test_unknown_v0_type_is_fatal() -> None:
    net = _net('layers { layer { name: "x" type: "warp" } top: "x" }')
    with pytest.raises(NetError, match="Unknown layer name: warp"):
        upgrade_net(net, "u")


def test_padding_into_non_conv_is_fatal() -> None:
    net = _net('input: "d" '
               'layers { layer { name: "p" type: "padding" pad: 1 } bottom: "d" top: "p" } '
               'layers { layer { name: "r" type: "relu" } bottom: "p" top: "r" }')
    with pytest.raises(NetError, match="non-convolutional / non-pooling layer type relu"):
        upgrade_net(net, "pad")


def test_v0_drops_what_caffe_drops() -> None:
    """Caffe's V0 upgrade keeps only name/layers/input/input_dim/force_backward at the top."""
    net = _net('name: "n" force_backward: true debug_info: true state { phase: TRAIN } '
               'layers { layer { name: "d" type: "data" batchsize: 2 } top: "d" }')
    upgrade_net(net, "n")
    assert net.force_backward and not net.HasField("debug_info") and not net.HasField("state")
    assert net.layer[0].data_param.batch_size == 2


def test_classify_fields() -> None:
    assert classify_fields(top_level_fields('layers { name: "a" }')) == "net"
    assert classify_fields(top_level_fields('net: "x" base_lr: 0.1 solver_mode: GPU')) == "solver"
    assert classify_fields(top_level_fields("debug_info: true")) is None


def test_format_text_numbers_like_caffe() -> None:
    net = _net('layer { name: "c" param { lr_mult: 1 decay_mult: 0.1 } '
               'convolution_param { weight_filler { std: 0.0001 } } }')
    text = format_text(net)
    assert "lr_mult: 1\n" in text and "decay_mult: 0.1\n" in text and "std: 0.0001\n" in text


# ---------------------------------------------------------------------------------------------
# The command


def test_cli_writes_to_stdout() -> None:
    result = CliRunner().invoke(main, ["upgrade", str(FIXTURES / "v1_blobs_lr0.prototxt")])
    assert result.exit_code == 0, result.output
    assert 'type: "InnerProduct"' in result.stdout and "layers {" not in result.stdout
    assert "data transformation, V1->V2" in result.stderr


def test_cli_solver_to_new_file(tmp_path: Path) -> None:
    out = tmp_path / "new.prototxt"
    result = CliRunner().invoke(main, ["upgrade", str(FIXTURES / "solver_type.prototxt"),
                                       "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert 'type: "Nesterov"' in out.read_text()


def test_cli_refuses_existing_file_without_force(tmp_path: Path) -> None:
    out = tmp_path / "exists.prototxt"
    out.write_text("keep me\n")
    args = ["upgrade", str(FIXTURES / "bn3.prototxt"), "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.stderr.startswith("caffemem: error: ") and "--force" in result.stderr
    assert result.stderr.count("\n") == 1
    assert out.read_text() == "keep me\n"
    forced = CliRunner().invoke(main, [*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert 'type: "BatchNorm"' in out.read_text()


def test_cli_never_overwrites_its_input(tmp_path: Path) -> None:
    src = tmp_path / "net.prototxt"
    original = (FIXTURES / "v0_padding.prototxt").read_text()
    src.write_text(original)
    for extra in ([], ["--force"]):
        result = CliRunner().invoke(main, ["upgrade", str(src), "-o", str(src), *extra])
        assert result.exit_code == 2
        assert "refusing to write over the input file" in result.stderr
    # Also through other names for the same file: a ".." spelling and a symlink.
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.prototxt"
    link.symlink_to(src)
    for alias in (f"{tmp_path}/sub/../net.prototxt", str(link)):
        result = CliRunner().invoke(main, ["upgrade", str(src), "-o", alias, "--force"])
        assert result.exit_code == 2, alias
        assert "refusing to write over the input file" in result.stderr
    assert link.is_symlink()
    assert src.read_text() == original


def test_cli_fatal_upgrade_is_one_line() -> None:
    result = CliRunner().invoke(main, ["upgrade", str(FIXTURES / "both_layer_layers.prototxt")])
    assert result.exit_code == 2
    assert result.stderr.startswith("caffemem: error: ") and result.stderr.count("\n") == 1
    assert result.stdout == ""


def test_cli_unclassifiable_file(tmp_path: Path) -> None:
    src = tmp_path / "odd.prototxt"
    src.write_text("debug_info: true\n")
    result = CliRunner().invoke(main, ["upgrade", str(src)])
    assert result.exit_code == 2
    assert "net or a solver" in result.stderr

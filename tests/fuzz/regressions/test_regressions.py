"""The fuzzer's findings, each from its minimised input, run through the CLI as the fuzzer runs them.

Every case must end as the promise says: exit 0/1, or exit 2 with one printable
``caffemem: error: ...`` line; in bounded time and memory; writing no file it should not; JSON
that strict parsers read. ``xfail`` marks findings whose cause is in code under rewrite elsewhere
(``caffemem/logs/``, ``caffemem/layers/``); the reason names the cause.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ..run import Case, Outcome, run_case

HERE = Path(__file__).resolve().parent
INPUTS = HERE / "inputs"
SEEDS = HERE.parent / "seeds"
EXT = {".prototxt": "prototxt", ".log": "log", ".caffemodel": "caffemodel"}


def run(path: Path, *args: str, companions: dict[str, bytes] | None = None, time_limit: float = 20.0,
        memory_mb: int = 512) -> Outcome:
    kind = EXT[path.suffix]
    case = Case(kind, 0, path.name, path.read_bytes(), [], list(args), companions or {})
    return run_case(case, time_limit, memory_mb)


def assert_kept(outcome: Outcome, klass: str | None = None, says: str = "") -> None:
    assert not outcome.failed, f"{outcome.klass} {outcome.where}: {outcome.detail}"
    if klass is not None:
        assert outcome.klass == klass, outcome
    if says:
        assert says in outcome.detail, outcome.detail


# --------------------------------------------------------------------------- caffemodels


@pytest.mark.parametrize("args", [["check", "{IN}"], ["check", "{IN}", "--format", "json"], ["audit", "{IN}"],
                                  ["check", "{DIR}/net.prototxt", "--weights", "{IN}"]])
@pytest.mark.parametrize("name", ["non_utf8_name.caffemodel", "escape_in_name.caffemodel", "huge_blob.caffemodel"])
def test_broken_caffemodels(name: str, args: list[str]) -> None:
    """Names not UTF-8 (bytes met str in analyze._has_loss, build, the writers), a name with ESC in
    it echoed raw, a 4 GB blob declared in 116 bytes; and audit of a corrupt weights file beside a
    net (run_audit called _guarded without its settings: TypeError)."""
    assert_kept(run(INPUTS / name, *args, companions={"net.prototxt": (SEEDS / "tiny_net.prototxt").read_bytes()}))


def test_audit_of_a_corrupt_caffemodel_beside_its_net(tmp_path: Path) -> None:
    from caffemem.commands.audit.run import run_audit

    (tmp_path / "tiny.prototxt").write_bytes((SEEDS / "tiny_net.prototxt").read_bytes())
    (tmp_path / "tiny.caffemodel").write_bytes((INPUTS / "huge_blob.caffemodel").read_bytes())
    result = run_audit([str(tmp_path)])
    weights = [w for f in result.files for w in f.weights]
    assert weights and all(w is not None for w in weights)


def test_non_utf8_names_read_as_text() -> None:
    from caffemem.net.caffemodel import read_net_skeleton

    param = read_net_skeleton(INPUTS / "non_utf8_name.caffemodel")
    assert all(isinstance(layer.type, str) and isinstance(layer.name, str) for layer in param.layer)
    assert "\ufffd" in param.layer[1].type


# --------------------------------------------------------------------------- prototxt Caffe refuses


@pytest.mark.parametrize(("name", "says"), [
    ("negative_dim.prototxt", ":2:76: Caffe refuses this file: a negative dimension (dim: -3)"),
    ("typo_field.prototxt", ":3:52: Caffe refuses this file: unknown field 'stirde' in ConvolutionParameter "
                            "(did you mean 'stride'?)"),
    ("no_type.prototxt", ":2:1: Caffe refuses this file: layer 'r' has no type"),
    ("layer_in_layer.prototxt", ":2:3: Caffe refuses this file: unknown field 'layer' in LayerParameter"),
    ("dummy_zero_dim.prototxt", ":1:85: Caffe refuses this file: a zero dimension (dim: 0) in DummyData"),
    ("deep_nesting.prototxt", ":2:53: Caffe refuses this file: unknown field 'x'"),
])
def test_check_refuses_what_caffe_refuses(name: str, says: str) -> None:
    assert_kept(run(HERE / name, "check", "{IN}"), "error", says)


def test_a_negative_dim_in_a_caffemodel_is_refused_at_build() -> None:
    """Binary nets have no text places: the built shape is checked, as Caffe's Blob::Reshape does."""
    assert_kept(run(INPUTS / "negative_dim.caffemodel", "check", "{IN}"), "error",
                "a top of shape (1, -3, 4); Caffe's Blob::Reshape fails its check 'shape[i] >= 0 (-3 vs. 0)'")


def test_upgrade_and_audit_still_read_past_what_caffe_refuses() -> None:
    for name in ("negative_dim.prototxt", "typo_field.prototxt", "no_type.prototxt"):
        assert_kept(run(HERE / name, "audit", "{IN}", "--format", "json"), "ok")
        assert_kept(run(HERE / name, "upgrade", "{IN}", "-o", "{DIR}/out.prototxt"))


def test_fork_fields_are_a_warning_naming_the_fork() -> None:
    from caffemem.commands.check import run_check

    result = run_check(str(HERE / "permute_after_unknown.prototxt"))
    assert any("field 'permute_param' of LayerParameter is a Caffe fork's (SSD)" in w for w in result.warnings)


def test_permute_after_an_unknown_layer() -> None:
    """memory/model.py asked a layer that was never set up for its views: PermuteLayer.need_permute
    read ``self.order``, which only its reshape sets (AttributeError)."""
    assert_kept(run(HERE / "permute_after_unknown.prototxt", "check", "{IN}", "--mem", "1G", "--mode", "cpu"))


def test_names_with_newlines_and_escapes_are_one_printable_line() -> None:
    out = run(HERE / "newline_in_name.prototxt", "check", "{IN}")
    assert_kept(out, "error")
    from caffemem.errors import NetError

    text = str(NetError("layer 'r\nx\x1b[2J' broke", "a\nb.prototxt", 3))
    assert text == "a\\nb.prototxt:3: layer 'r\\nx\\x1b[2J' broke" and text.isprintable()


def test_nan_and_infinity_are_null_in_json(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from caffemem.cli import main

    result = CliRunner().invoke(main, ["check", str(HERE / "nan_loss_weight.prototxt"), "--format", "json"])
    assert result.exit_code == 0, result.output

    def refuse(name: str) -> None:
        raise AssertionError(f"bare {name} in the JSON")

    data = json.loads(result.stdout, parse_constant=refuse)
    loss = next(layer for net in data["nets"] for layer in net["layers"] if layer["name"] == "l")
    assert loss["loss_weights"] == [None]


def test_solver_naming_dev_zero_is_refused_in_bounded_memory() -> None:
    """net/load.py read_text read the whole file: MemoryError (or all the RAM) on /dev/zero."""
    assert_kept(run(HERE / "solver_net_dev_zero.prototxt", "check", "{IN}", memory_mb=300), "error",
                "is larger than 64 MiB")


def test_nothing_in_a_net_is_imported_or_executed(tmp_path: Path) -> None:
    """The canary: a Python layer naming a module that writes a file when imported. caffemem reads
    python_param as data: no command imports the module, runs param_str or touches the file."""
    canary = tmp_path / "CANARY_WRITTEN"
    (tmp_path / "caffemem_canary.py").write_text(f"open({str(canary)!r}, 'w').write('imported')\n")
    net = tmp_path / "canary.prototxt"
    net.write_bytes((HERE / "canary_python_layer.prototxt").read_bytes())
    from click.testing import CliRunner

    from caffemem.cli import main

    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        runner = CliRunner()
        for args in (["check", str(net)], ["check", str(net), "--format", "json"], ["audit", str(tmp_path)],
                     ["upgrade", str(net), "-o", str(tmp_path / "up.prototxt")], ["check", str(net), "--input",
                                                                                   "data=3,8,8"]):
            runner.invoke(main, args, env={"PYTHONPATH": str(tmp_path)})
    finally:
        os.chdir(old)
    assert not canary.exists()
    assert not (tmp_path / "CANARY_FROM_PARAM_STR").exists()
    import sys

    assert "caffemem_canary" not in sys.modules


# --------------------------------------------------------------------------- large inputs


def test_caffemodel_declaring_4_gb_in_116_bytes() -> None:
    out = run(INPUTS / "huge_blob.caffemodel", "check", "{IN}", time_limit=5, memory_mb=200)
    assert_kept(out, "error", "needs 4294967338 bytes, only 106 left in the file")


@pytest.mark.parametrize(("layers", "seconds", "mib"), [
    (20_000, 30, 400),
    pytest.param(100_000, 120, 1500, marks=pytest.mark.skipif(not os.environ.get("CAFFEMEM_FUZZ_LONG"),
                                                              reason="about 20 s; CAFFEMEM_FUZZ_LONG=1 runs it")),
])
def test_a_net_of_many_layers_is_answered_in_bounded_time_and_memory(tmp_path: Path, layers: int, seconds: int,
                                                                       mib: int) -> None:
    head = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 } } }\n'
    body = "".join(f'layer {{ name: "r{i}" type: "ReLU" bottom: "data" top: "r{i}" }}\n' for i in range(layers))
    path = tmp_path / "big.prototxt"
    path.write_text(head + body)
    out = run(path, "check", "{IN}", "--format", "json", time_limit=seconds, memory_mb=mib)
    assert_kept(out, "ok")


def test_text_larger_than_the_cap_is_refused_in_one_line(tmp_path: Path) -> None:
    from caffemem.net.load import MAX_TEXT_BYTES

    path = tmp_path / "huge.prototxt"
    with open(path, "wb") as f:
        f.truncate(MAX_TEXT_BYTES + 10)  # sparse: no disk used
    assert_kept(run(path, "check", "{IN}", memory_mb=300), "error")


# --------------------------------------------------------------------------- logs (cause in caffemem/logs/)


def test_log_rebuilt_net_with_a_100_digit_dim() -> None:
    assert_kept(run(HERE / "log_rebuilt_huge_dim.log", "postmortem", "{IN}"))


def test_log_rebuilt_net_with_a_100_digit_kernel_count() -> None:
    assert_kept(run(HERE / "log_rebuilt_huge_channels.log", "postmortem", "{IN}"))


def test_log_csv_prefix_never_overwrites_a_users_file(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from caffemem.cli import main

    mine = tmp_path / "P.train"
    mine.write_text("precious\n")
    result = CliRunner().invoke(main, ["log", str(SEEDS / "tiny_crash.log"), "--format", "csv", "--csv-prefix",
                                       str(tmp_path / "P")])
    assert mine.read_text() == "precious\n"
    assert result.exit_code == 2


def test_log_rebuilt_net_after_a_top_shape_without_dims() -> None:
    assert_kept(run(HERE / "log_rebuilt_index_error.log", "postmortem", "{IN}"))


def test_log_csv_prefix_overwrites_only_with_force(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from caffemem.cli import main

    mine = tmp_path / "P.train"
    mine.write_text("precious\n")
    args = ["log", str(SEEDS / "tiny_crash.log"), "--format", "csv", "--csv-prefix", str(tmp_path / "P")]
    result = CliRunner().invoke(main, [*args, "--force"])
    assert result.exit_code == 0 and mine.read_text().startswith("NumIters")
    assert not list(tmp_path.glob(".P.*"))  # no temporary left behind
    assert not (tmp_path / "P.test").exists()  # one test pass: parse_log.py finishes no test row, writes no file
    assert "P.test not written" in result.stderr

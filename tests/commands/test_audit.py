"""``caffemem audit``: the JSON contract, each report format, weights matching, and the shared corpus.

The fixtures in tests/fixtures/audit are small nets written for these tests: a V1 net, a V0 net with
a padding layer, a current net with a Python layer, an SSD PriorBox and a custom type, a solver, a
deploy net the weights are generated for, and a broken file.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import FIXTURES, SHARED

from caffemem.cli import main
from caffemem.layers.types import BVLC_TYPES
from caffemem.net.upgrade_v0 import V0_TYPE_TO_V1
from caffemem.proto import caffe_pb2

AUDIT = FIXTURES / "audit"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["audit", *args])
    return result.exit_code, result.stdout, result.stderr


def audit_json(*args: str) -> dict[str, Any]:
    code, out, err = run(*args, "--format", "json")
    assert code == 0, err
    return json.loads(out)


def by_name(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {Path(f["path"]).name: f for f in data["files"]}


def write_caffemodel(path: Path, conv_out: int = 4, legacy_v1: bool = False) -> None:
    """Weights for tiny_deploy.prototxt (conv 4x3x3x3 + 4, ip 3x256 + 3); ``conv_out`` != 4 mismatches."""
    net = caffe_pb2.NetParameter(name="TinyDeploy")
    shapes = {"conv1": [(conv_out, 3, 3, 3), (conv_out,)], "ip1": [(3, 256), (3,)]}
    v1_types = {"conv1": caffe_pb2.V1LayerParameter.CONVOLUTION, "ip1": caffe_pb2.V1LayerParameter.INNER_PRODUCT}
    for name, blobs in shapes.items():
        if legacy_v1:
            layer = net.layers.add(name=name, type=v1_types[name])
        else:
            layer = net.layer.add(name=name, type="Convolution" if name == "conv1" else "InnerProduct")
        for shape in blobs:
            blob = layer.blobs.add()
            blob.shape.dim.extend(shape)
            n = 1
            for d in shape:
                n *= d
            blob.data.extend([0.0] * n)
    path.write_bytes(net.SerializeToString())


# --- the JSON contract --------------------------------------------------------------------------


def test_json_contract_over_fixture_folder() -> None:
    data = audit_json(str(AUDIT))
    assert set(data) >= {"files", "summary"}
    for f in data["files"]:
        assert set(f) >= {"path", "kind", "error", "format", "upgrades", "layer_types", "params", "targets"}
        assert f["kind"] in ("net", "solver", "weights", "unknown")
        assert f["format"] in ("V0", "V1", "current", "mixed", None)
        assert f["error"] is None or isinstance(f["error"], str)
        assert f["params"] is None or isinstance(f["params"], int)
        assert all(isinstance(u, str) for u in f["upgrades"])
        for use in f["layer_types"].values():
            assert isinstance(use["count"], int)
            assert use["origin"] in ("bvlc", "fork", "custom", "python")
        assert set(f["targets"]) == {"onnx", "pytorch", "opencv"}
        for target in f["targets"].values():
            assert isinstance(target["unsupported"], list)
    files = by_name(data)
    assert files["v1_net.prototxt"]["format"] == "V1"
    assert files["v0_padding.prototxt"]["format"] == "V0"
    assert files["current_python_ssd.prototxt"]["format"] == "current"
    assert files["tiny_solver.prototxt"]["kind"] == "solver"
    summary = data["summary"]
    assert summary["files"] == len(data["files"]) == 6
    assert summary["by_format"] == {"V0": 1, "V1": 1, "current": 2}
    assert summary["errors"] == 1


def test_v1_net() -> None:
    f = by_name(audit_json(str(AUDIT / "v1_net.prototxt")))["v1_net.prototxt"]
    assert f["error"] is None
    assert f["upgrades"] == ["V1->V2"]
    assert {d["field"] for d in f["deprecated_fields"]} >= {"blobs_lr", "weight_decay"}
    assert f["params"] == 4 * 9 + 4 + 3 * 4 * 6 * 6 + 3
    assert f["phases"] == ["TEST"]
    assert [n["phase"] for n in f["nets"]] == ["TRAIN", "TEST"]
    assert f["memory_required_for_data"] > 0
    # Data, loss and accuracy layers are training-only: listed, never blocking.
    for target in f["targets"].values():
        assert target["unsupported"] == []
        assert {"DummyData", "SoftmaxWithLoss", "Accuracy"} <= set(target["training_only"])


def test_v0_net_with_padding_layer() -> None:
    f = by_name(audit_json(str(AUDIT / "v0_padding.prototxt")))["v0_padding.prototxt"]
    assert f["format"] == "V0"
    assert f["upgrades"] == ["V0->V1", "V0 padding layers", "V1->V2", "input fields"]
    fields = {d["field"]: d["count"] for d in f["deprecated_fields"]}
    assert fields["V0 padding layer"] == 1
    assert fields["input_dim"] == 1
    # The padding layer is folded away; the types are the upgraded ones.
    assert set(f["layer_types"]) == {"Input", "Convolution", "ReLU", "Pooling", "Softmax"}
    assert f["params"] == 2 * 3 * 3 * 3 + 2


def test_python_layer_fork_and_custom_types() -> None:
    f = by_name(audit_json(str(AUDIT / "current_python_ssd.prototxt")))["current_python_ssd.prototxt"]
    assert f["python_layers"] == [{"name": "rescore", "module": "my_layers.scoring", "layer": "RescoreLayer",
                                   "role": "compute"}]
    types = f["layer_types"]
    assert types["Python"]["origin"] == "python"
    assert types["PriorBox"]["origin"] == "fork" and "SSD" in types["PriorBox"]["fork"]
    assert types["HouseBlur"]["origin"] == "custom"
    assert types["Convolution"]["origin"] == "bvlc"
    assert f["stages"] == ["deploy"]
    targets = f["targets"]
    assert "PriorBox" in targets["pytorch"]["unsupported"]
    assert "PriorBox" not in targets["onnx"]["unsupported"]
    assert "PriorBox" not in targets["opencv"]["unsupported"]
    for target in targets.values():
        assert {"Python", "HouseBlur"} <= set(target["unsupported"])
        assert all(target["notes"][t] for t in target["unsupported"])
    assert f["params_exact"] is False  # the Python layer's outputs are unknown, so figures are lower bounds


def test_python_data_layer_is_training_only(tmp_path: Path) -> None:
    net = tmp_path / "train.prototxt"
    net.write_text('layer { name: "input" type: "Python" top: "data" top: "label"\n'
                   '  python_param { module: "loaders" layer: "VOCLoader" } }\n'
                   'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"\n'
                   '  convolution_param { num_output: 2 kernel_size: 1 } }\n')
    f = by_name(audit_json(str(net)))["train.prototxt"]
    assert f["python_layers"][0]["role"] == "data"
    for target in f["targets"].values():
        assert "Python" in target["training_only"] and "Python" not in target["unsupported"]


def test_mixed_format_is_reported_with_caffes_refusal(tmp_path: Path) -> None:
    net = tmp_path / "mixed.prototxt"
    net.write_text('layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 } } }\n'
                   'layers { name: "ip" type: INNER_PRODUCT bottom: "data" top: "ip"\n'
                   '  inner_product_param { num_output: 2 } }\n')
    f = by_name(audit_json(str(net)))["mixed.prototxt"]
    assert f["format"] == "mixed"
    assert "Refusing to upgrade inconsistent NetParameter" in f["error"]
    assert set(f["layer_types"]) == {"Input", "InnerProduct"}  # still listed from the parse


def test_solver_counts_its_net_once() -> None:
    data = audit_json(str(AUDIT))
    solver = by_name(data)["tiny_solver.prototxt"]
    assert solver["format"] is None
    assert "solver_type enum" in solver["upgrades"]
    assert [d["field"] for d in solver["deprecated_fields"]] == ["solver_type"]
    assert solver["params"] == by_name(data)["v1_net.prototxt"]["params"]
    assert solver["net_files"] and solver["net_files"][0].endswith("v1_net.prototxt")
    # The solver's net is audited too: its layers count once in the summary.
    assert data["summary"]["layer_types"]["Convolution"]["layers"] == 4
    # V1->V2 is needed by the V1 and the V0 net; the solver's mention of it is the V1 net's.
    assert data["summary"]["upgrades"]["V1->V2"] == 2


def test_broken_file_does_not_stop_the_audit() -> None:
    code, out, err = run(str(AUDIT / "broken.prototxt"), str(AUDIT / "tiny_deploy.prototxt"), "--format", "json")
    assert code == 0
    assert "Traceback" not in out + err
    files = by_name(json.loads(out))
    assert re.search(r"broken\.prototxt:\d+:\d+: ", files["broken.prototxt"]["error"])
    assert files["tiny_deploy.prototxt"]["error"] is None
    assert files["tiny_deploy.prototxt"]["params"] == 4 * 27 + 4 + 3 * 256 + 3


def test_missing_path_is_a_usage_error() -> None:
    code, out, err = run(str(AUDIT / "no_such_net.prototxt"))
    assert code == 2
    assert "no such file" in err and "Traceback" not in err


def test_help_documents_exit_codes() -> None:
    result = CliRunner().invoke(main, ["audit", "--help"])
    assert "Exit code 0 even when some files" in result.output


def test_folder_skips_other_suffixes_but_explicit_files_are_audited(tmp_path: Path) -> None:
    shutil.copy(AUDIT / "tiny_deploy.prototxt", tmp_path / "deploy.prototxt")
    shutil.copy(AUDIT / "tiny_deploy.prototxt", tmp_path / "notes.txt")
    assert list(by_name(audit_json(str(tmp_path)))) == ["deploy.prototxt"]
    assert by_name(audit_json(str(tmp_path / "notes.txt")))["notes.txt"]["params"] == 883


# --- weights ------------------------------------------------------------------------------------


def test_caffemodel_beside_the_net_matches(tmp_path: Path) -> None:
    shutil.copy(AUDIT / "tiny_deploy.prototxt", tmp_path / "tiny.prototxt")
    write_caffemodel(tmp_path / "tiny.caffemodel")
    files = by_name(audit_json(str(tmp_path)))
    net = files["tiny.prototxt"]
    assert len(net["weights_match"]) == 1
    match = net["weights_match"][0]
    assert match["loads"] is True and match["complete"] is True and match["error"] is None
    assert match["copied_layers"] == 2
    weights = files["tiny.caffemodel"]
    assert weights["kind"] == "weights" and weights["format"] == "current"
    assert weights["params"] == net["params"]
    assert set(weights["layer_types"]) == {"Convolution", "InnerProduct"}


def test_caffemodel_named_with_the_net_mismatches(tmp_path: Path) -> None:
    write_caffemodel(tmp_path / "other.caffemodel", conv_out=5)
    code, out, err = run(str(AUDIT / "tiny_deploy.prototxt"), str(tmp_path / "other.caffemodel"), "--format", "json")
    assert code == 0
    files = by_name(json.loads(out))
    match = files["tiny_deploy.prototxt"]["weights_match"][0]
    assert match["loads"] is False
    assert "shape mismatch" in match["error"]
    assert json.loads(out)["summary"]["weights"]["fails"] == 1


def test_v1_caffemodel_and_mean_file(tmp_path: Path) -> None:
    write_caffemodel(tmp_path / "old.caffemodel", legacy_v1=True)
    mean = caffe_pb2.BlobProto(num=1, channels=3, height=4, width=4)
    mean.data.extend([0.5] * 48)
    (tmp_path / "mean.binaryproto").write_bytes(mean.SerializeToString())
    files = by_name(audit_json(str(tmp_path)))
    assert files["old.caffemodel"]["format"] == "V1"
    assert files["old.caffemodel"]["upgrades"] == ["V1->V2"]
    assert files["mean.binaryproto"]["kind"] == "unknown"
    assert "BlobProto" in files["mean.binaryproto"]["detail"]
    assert files["mean.binaryproto"]["error"] is None


def test_caffemodel_saved_under_a_text_name(tmp_path: Path) -> None:
    write_caffemodel(tmp_path / "weights.prototxt")  # starts with a newline byte: the name field's tag
    f = by_name(audit_json(str(tmp_path)))["weights.prototxt"]
    assert f["kind"] == "weights" and f["error"] is None
    assert f["params"] == 4 * 27 + 4 + 3 * 256 + 3


def test_corrupt_caffemodel_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.caffemodel").write_bytes(b"\x0a\xff\xff\xff\x0f garbage")
    files = by_name(audit_json(str(tmp_path)))
    assert files["bad.caffemodel"]["error"]


# --- the other formats --------------------------------------------------------------------------


def test_markdown_report() -> None:
    code, out, _ = run(str(AUDIT), "--format", "md")
    assert code == 0
    assert out.startswith("# Caffe migration audit")
    assert "| File | Kind | Format | Params |" in out
    assert "`my_layers.scoring`" in out and "`RescoreLayer`" in out
    assert "PriorBox [SSD (weiliu89/caffe)]" in out
    assert "| V0 | 1 |" in out and "| V1 | 1 |" in out
    assert "pytorch: no equivalent for `PriorBox`" in out
    assert "**Error:**" in out
    # Every table row has as many cells as its header.
    for block in out.split("\n\n"):
        rows = [r for r in block.splitlines() if r.startswith("|")]
        if rows:
            widths = {len(re.split(r"(?<!\\)\|", r)) for r in rows}
            assert len(widths) == 1, block


def test_csv_and_table_reports() -> None:
    code, out, _ = run(str(AUDIT), "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 6
    ssd = next(r for r in rows if r["path"].endswith("current_python_ssd.prototxt"))
    assert "PriorBox" in ssd["pytorch_unsupported"].split(";")
    code, out, _ = run(str(AUDIT))
    assert code == 0
    assert "Summary: 6 files" in out
    assert "non-BVLC: HouseBlur [custom]" in out


# --- the shared corpus --------------------------------------------------------------------------

#: ``type: "..."`` strings that are not layer types: weight fillers, solver types, and the V0
#: lower-case layer types (which the upgrade turns into BVLC types).
_NOT_LAYER_TYPES = {"constant", "xavier", "msra", "gaussian", "uniform", "bilinear", "positive_unitball",
                    "SGD", "Nesterov", "AdaGrad", "RMSProp", "AdaDelta", "Adam", "padding", *V0_TYPE_TO_V1}
_TYPE_RE = re.compile(r'(?<![\w])type:\s*"([^"]+)"')


@pytest.mark.skipif(not (SHARED / "corpus").is_dir(), reason="../shared/corpus is not beside the checkout")
def test_corpus_audit_names_every_non_bvlc_type() -> None:
    corpus = SHARED / "corpus"
    started = time.perf_counter()
    code, out, err = run(str(corpus), "--format", "json")
    elapsed = time.perf_counter() - started
    assert code == 0, err
    assert "Traceback" not in out + err
    assert elapsed < 10, f"audit of the corpus took {elapsed:.1f} s"
    data = json.loads(out)
    expected: set[str] = set()
    for path in corpus.rglob("*"):
        if path.is_file() and path.suffix in (".prototxt", ".pt", ".solver"):
            expected |= set(_TYPE_RE.findall(path.read_text(errors="replace")))
    expected -= BVLC_TYPES | _NOT_LAYER_TYPES
    assert expected, "the corpus should hold fork layer types"
    reported: dict[str, set[str]] = {}
    for f in data["files"]:
        for name, use in f["layer_types"].items():
            reported.setdefault(name, set()).add(use["origin"])
    missing = sorted(t for t in expected if t not in reported)
    assert not missing, f"types not in the audit: {missing}"
    assert all("bvlc" not in reported[t] for t in expected)
    for name in expected:
        assert data["summary"]["layer_types"][name]["origin"] != "bvlc"
    audited = {Path(f["path"]).resolve() for f in data["files"]}
    on_disk = {p.resolve() for p in corpus.rglob("*") if p.is_file()
               and p.suffix in (".prototxt", ".pt", ".solver", ".caffemodel", ".binaryproto")}
    assert audited == on_disk


def test_stage_and_input_reach_every_net(tmp_path: Path) -> None:
    net = tmp_path / "staged.prototxt"
    net.write_text('layer { name: "d" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } '
                   'include { stage: "deploy" } }\n'
                   'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" inner_product_param '
                   '{ num_output: 4 } }\n')
    from click.testing import CliRunner

    from caffemem.cli import main

    plain = json.loads(CliRunner().invoke(main, ["audit", str(net), "--format", "json"]).stdout)
    assert plain["files"][0]["error"] and "--stage" in plain["files"][0]["error"]
    staged = json.loads(CliRunner().invoke(main, ["audit", str(net), "--stage", "deploy", "--format", "json"]).stdout)
    assert staged["files"][0]["error"] is None and staged["files"][0]["params"] == 4 * 3 + 4

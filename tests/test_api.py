"""``import caffemem``: the library's face (check, read_log, postmortem) and its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLES, ROOT
from google.protobuf import text_format

import caffemem
from caffemem.cli import main
from caffemem.proto import caffe_pb2

NET = EXAMPLES / "small_train_val.prototxt"
LOG = EXAMPLES.parent / "sample_logs" / "imagedata-conv-fc-killed.log"


def test_import_is_cheap() -> None:
    code = "import sys, caffemem; print(sorted(m for m in sys.modules if m.startswith('caffemem')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['caffemem']"
    assert "check" in dir(caffemem) and caffemem.CaffememError.__name__ == "CaffememError"


def test_check_takes_a_path_text_a_netparameter_or_a_netspec() -> None:
    text = NET.read_text()
    by_path = caffemem.check(str(NET), batch=8)
    by_pathlike = caffemem.check(NET, batch=8)
    by_text = caffemem.check(text, batch=8)
    param = text_format.Parse(text, caffe_pb2.NetParameter())
    by_param = caffemem.check(param, batch=8)

    class NetSpec:  # pycaffe's NetSpec, as far as caffemem needs it
        def to_proto(self) -> caffe_pb2.NetParameter:
            return param

    by_spec = caffemem.check(NetSpec(), batch=8)
    totals = {r.total_bytes for r in (by_path, by_pathlike, by_text, by_param, by_spec)}
    assert len(totals) == 1
    assert by_text.analysis.source == "<text>" and by_param.analysis.source == "<NetParameter SmallNet>"


def test_to_dict_is_the_json_writers_dict() -> None:
    result = caffemem.check(str(NET), batch=16, mem="1GiB")
    out = CliRunner().invoke(main, ["check", str(NET), "--batch", "16", "--mem", "1GiB", "--format", "json"]).stdout
    from_cli = json.loads(out)
    from_api = json.loads(json.dumps(result.to_dict()))
    from_cli["source"] = from_api["source"] = None
    assert from_api == from_cli
    assert {"tight", "share"} <= set(from_api["budget"])  # added keys
    assert from_api["nets"][0]["macs"] == sum(layer["macs"] for layer in from_api["nets"][0]["layers"])


def test_repr_is_short() -> None:
    result = caffemem.check(str(NET), mode="GPU", mem="11GiB")  # mode in any case
    text = repr(result)
    assert "\n" not in text and len(text) < 300
    assert text.startswith("<CheckResult ") and "gpu mode" in text and "fits=True" in text


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"mode": "tpu"}, "unknown mode 'tpu'"),
    ({"batch": 0}, "batch must be a positive whole number, got 0"),
    ({"batch": "32"}, "batch must be a positive whole number"),
    ({"gpus": 0}, "gpus must be a positive whole number"),
    ({"mem": "lots"}, "cannot read memory size 'lots'"),
    ({"mem": -1}, "mem must be positive"),
    ({"phase": "VAL"}, "unknown phase 'VAL'"),
    ({"inputs": {"data": "3,a"}}, "expects TOP=C,H,W"),
])
def test_invalid_arguments_are_caffemem_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(caffemem.CaffememError, match=message):
        caffemem.check(str(NET), **kwargs)


def test_what_check_cannot_take() -> None:
    with pytest.raises(caffemem.CaffememError, match="takes a path, prototxt text"):
        caffemem.check(42)
    with pytest.raises(caffemem.CaffememError, match="not a LayerParameter"):
        caffemem.check(caffe_pb2.LayerParameter())
    for missing in ("missing.prototxt", "C:/nets/missing.prototxt"):  # a path, not prototxt text
        with pytest.raises(caffemem.CaffememError, match="no such file"):
            caffemem.check(missing)


def test_read_log_and_postmortem(tmp_path: Path) -> None:
    with caffemem.read_log(LOG) as log:
        assert repr(log).startswith("<LogResult: 1 run(s)")
    pm = caffemem.postmortem(LOG)
    assert repr(pm).startswith("<PostMortem ") and "crashed" in repr(pm)
    assert pm._repr_html_().startswith("<pre") and "killed by the system" in pm._repr_html_()
    out = CliRunner().invoke(main, ["postmortem", str(LOG), "--format", "json"]).stdout
    assert json.loads(json.dumps(pm.to_dict())) == json.loads(out)


def test_a_log_result_is_its_json_and_shows_in_a_notebook() -> None:
    """``caffemem.read_log(...).to_dict()`` is what ``caffemem log --format json`` writes."""
    import json

    from click.testing import CliRunner

    from caffemem.cli import main

    log = str(ROOT / "sample_logs" / "imagedata-conv-fc-killed.log")
    with caffemem.read_log(log) as result:
        data = result.to_dict()
        page = result._repr_html_()
    cli = json.loads(CliRunner().invoke(main, ["log", log, "--format", "json", "--no-progress"]).stdout)
    assert data == cli and data["runs"]
    assert page is not None and page.startswith("<pre>") and "killed" in page.lower()

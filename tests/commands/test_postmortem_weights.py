"""``postmortem --weights``: a run that loaded a .caffemodel (``caffe test -weights``, fine-tuning) is
priced with the parse of that file, from its own layout, as ``check --weights`` prices it."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from caffemem.cli import main
from caffemem.net.caffemodel import write_standin_caffemodel

CASE = Path(__file__).resolve().parents[1] / "memory" / "cases" / "load-ip-2500x4000"

#: The set-up lines of that net as `caffe test` prints them, then the shell's "Killed".
LOG = """\
I1204 10:00:00.000000   100 caffe.cpp:285] Use CPU.
I1204 10:00:00.000100   100 net.cpp:84] Creating Layer data
I1204 10:00:00.000101   100 net.cpp:380] data -> data
I1204 10:00:00.000102   100 net.cpp:122] Setting up data
I1204 10:00:00.000103   100 net.cpp:129] Top shape: 1 2500 (2500)
I1204 10:00:00.000104   100 net.cpp:137] Memory required for data: 10000
I1204 10:00:00.000105   100 net.cpp:84] Creating Layer fc
I1204 10:00:00.000106   100 net.cpp:406] fc <- data
I1204 10:00:00.000107   100 net.cpp:380] fc -> fc
I1204 10:00:00.000108   100 net.cpp:122] Setting up fc
I1204 10:00:00.000109   100 net.cpp:129] Top shape: 1 4000 (4000)
I1204 10:00:00.000110   100 net.cpp:137] Memory required for data: 26000
Killed
"""


def _postmortem(tmp_path: Path, *extra: str) -> dict:
    log = tmp_path / "caffe.log"
    log.write_text(LOG)
    net = CASE / "ip1.runnable.prototxt"
    done = CliRunner().invoke(main, ["postmortem", str(log), "--net", str(net), "--format", "json", *extra])
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_weights_raise_the_peak_to_what_caffe_measured(tmp_path: Path) -> None:
    weights = tmp_path / "ip1.caffemodel"
    write_standin_caffemodel(weights, [("fc", "InnerProduct", [(4000, 2500), (4000,)])], sparse=True)
    plain = _postmortem(tmp_path)["footprint"]
    loaded = _postmortem(tmp_path, "--weights", str(weights))["footprint"]
    added = loaded["by_category"].get("weights_loading", 0)
    assert added > 0 and loaded["total_bytes"] == plain["total_bytes"] + added
    measured = json.loads((CASE / "case.json").read_text())["peak_rss_bytes"]  # the real caffe test run
    assert abs(loaded["total_bytes"] - measured) <= 0.02 * measured
    assert abs(plain["total_bytes"] - measured) > 0.2 * measured  # without the file the peak is missed

"""A log as users paste it: indented as a Markdown code block, quoted, or tagged by mpirun.

Each must read exactly as the log Caffe wrote (same runs, nets, curve, ending), while a plain log
whose own lines happen to be indented (echoed nets, stack frames) is left alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT

from caffemem.commands.log import run_log
from caffemem.logs.reader import paste_prefix
from caffemem.report.log_json import write as write_json
from caffemem.report.options import ReportOptions

_LOG = ROOT / "sample_logs" / "imagedata-conv-fc-killed.log"


def _json(path: Path) -> dict:
    import io

    with run_log(path) as result:
        out = io.StringIO()
        write_json(result, out, ReportOptions())
    data = json.loads(out.getvalue())
    data.pop("source", None)
    return data


@pytest.mark.parametrize("prefix", ["    ", "\t", "> ", ">     ", "[1,0]<stderr>:", "[3] "])
def test_a_pasted_log_reads_as_the_original(tmp_path: Path, prefix: str) -> None:
    pasted = tmp_path / "pasted.log"
    pasted.write_text("".join(prefix + line for line in _LOG.read_text().splitlines(keepends=True)))
    assert _json(pasted) == _json(_LOG)


def test_a_plain_log_has_no_paste_prefix() -> None:
    assert paste_prefix(_LOG.read_text()) is None
    frames = ("F0101 00:00:00.000000  1 x.cpp:1] Check failed: a\n*** Check failure stack trace: ***\n"
              "    @     0x7f  caffe::Net<>::Init()\n")
    assert paste_prefix(frames) is None


def test_the_most_common_indent_is_taken_and_only_where_it_is() -> None:
    text = ("    I0101 00:00:00.000000  1 solver.cpp:1] Iteration 0, loss = 1\n" * 9
            + "I0101 00:00:00.000000  1 solver.cpp:1] Iteration 0, loss = 1\n")
    assert paste_prefix(text) == ("    ", None)
    assert paste_prefix("  I0101 00:00:00.000000  1 a.cpp:1] x\n" + "I0101 00:00:00.000000  1 a.cpp:1] x\n" * 3) is None

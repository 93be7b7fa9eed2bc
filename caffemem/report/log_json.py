"""`caffemem log --format json`: the log's runs as one JSON document, written as a stream.

The training curve can have millions of rows; the curve table writes its own rows
(``Table.write_json_rows``, logs/curve.py), mostly by copying what it kept. NaN (a missing
value, or a loss Caffe printed as nan) and infinities become null, since JSON has neither.
Numbers are Caffe's own text where the rows were read in bulk (``1e-05``, ``87.3365``) and
Python's repr elsewhere; seconds are exact microseconds as ``<n>e-6``.

Contract (keys may be added, never renamed): see docs of ``write_log_json``.
"""

from __future__ import annotations

import codecs
import io
import json
import math
import os
import sys
from typing import Any, BinaryIO, TextIO

from caffemem.commands.display import register_display
from caffemem.commands.log import LogResult
from caffemem.logs.curve import Table
from caffemem.logs.model import EndStatus, LogReport, Net, Run, RunEnd
from caffemem.report.options import ReportOptions


def _num(value: float | int | None) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def net_json(net: Net) -> dict[str, Any]:
    return {
        "phase": net.phase,
        "phase_source": net.phase_source,
        "memory_required_for_data": net.memory_required_for_data,
        "memory_required_for_diff": net.memory_required_for_diff,
        "nested_in": net.nested_in,
        "complete": net.done,
        "outputs": net.outputs,
        "has_text": net.text is not None,
        "layers": [
            {
                "name": layer.name,
                "bottoms": layer.bottoms,
                "tops": [{"name": top.name, "shape": top.shape, "count": top.count,
                          **({"loss_weight": top.loss_weight} if top.loss_weight is not None else {})}
                         for top in layer.tops],
                "memory_required_for_data": layer.memory_required_for_data,
                "needs_backward": layer.needs_backward,
            }
            for layer in net.layers
        ],
    }


def end_json(end: RunEnd) -> dict[str, Any]:
    return {
        "status": end.status,
        "crash_kind": end.crash_kind,
        "iteration": end.iteration,
        "phase": end.phase,
        "layer": end.layer,
        "net_phase": end.net_phase,
        "message": end.message,
        "where": end.where() if end.status == EndStatus.CRASHED else None,
        "step": end.step,
        "stopped_early": end.stopped_early,
        "last_lines": end.last_lines,
    }


def _byte_sink(out: TextIO) -> BinaryIO | None:
    """The binary stream under ``out`` when ``out`` is the standard output writing UTF-8, else None.

    Where the line end is "\\n" a text stream writes "\\n" as it is, so the UTF-8 bytes of kept
    text written to its buffer are what writing the text would give.
    """
    if out is not sys.stdout or not isinstance(out, io.TextIOWrapper) or os.linesep != "\n":
        return None
    try:
        if codecs.lookup(out.encoding).name != "utf-8":
            return None
    except (LookupError, TypeError):
        return None
    return out.buffer


def _write_iterations(table: Table, out: TextIO) -> None:
    """The training rows: the table writes them itself, straight to the bytes under a UTF-8
    standard output where there is one."""
    table.write_json_rows(out, _byte_sink(out))


def _write_test_passes(table: Table, out: TextIO) -> None:
    """One object per test pass, written as they are read (a run may test every iteration)."""
    names = table.names
    out.write("[")
    chunks = table.test_json_chunks()  # the same objects, rewritten from the kept rows in C where it can
    if chunks is not None:
        held = ""
        for text in chunks:
            if text:
                out.write(held)
                held = text
        out.write(held[:-2] + "]")  # each row ends with ",\n"
        return
    for index, row in enumerate(table.records()):
        item = {"iteration": row.iteration, "net": row.net, "seconds": _num(row.seconds), "lr": _num(row.lr),
                "outputs": {n: _num(v) for n, v in zip(names, row.outputs, strict=False)}}
        out.write(("" if index == 0 else ",\n") + json.dumps(item))
    out.write("]")


def _run_head(run: Run) -> dict[str, Any]:
    return {
        "index": run.index,
        "first_line": run.first_line,
        "last_line": run.last_line,
        "solver": {"name": run.solver_name, "lr_policy": run.lr_policy, "gpus": run.gpus,
                   "settings": run.solver, "has_text": run.solver_text is not None},
        "nets": [net_json(net) for net in run.nets],
        "device": device_json(run),
        "divergence": run.divergence.to_dict() if run.divergence is not None else None,
    }


def device_json(run: Run) -> dict[str, Any]:
    """The GPUs as the log names them: mode, ids, names and (NVCaffe) total memory per device."""
    dev = run.device
    return {"mode": dev.mode, "count": dev.count, "ids": dev.ids,
            "names": {str(k): v for k, v in sorted(dev.names.items())},
            "total_bytes": {str(k): v for k, v in sorted(dev.total_bytes.items())}}


def write_log_json(report: LogReport, out: TextIO, runs: list[Run] | None = None) -> None:
    """Write ``{"source", "runs": [...], "counts": {...}}``.

    Each run: ``nets`` (phase, memory_required_for_data, layers with tops and shapes),
    ``iterations`` (iteration, seconds, loss, lr, outputs), ``test_passes`` and ``end``
    (status finished|crashed|cut_off, crash_kind, iteration, phase, layer, message: the values of
    logs.model's EndStatus, CrashKind and Stage).
    """
    selected = report.runs if runs is None else runs
    out.write('{"source": ' + json.dumps(report.source) + ', "runs": [')
    for i, run in enumerate(selected):
        head = json.dumps(_run_head(run), indent=None)
        out.write(("" if i == 0 else ", ") + "\n" + head[:-1] + ', "iterations": [\n')
        _write_iterations(run.train, out)
        out.write('], "test_passes": ')
        _write_test_passes(run.test, out)
        out.write(', "end": ' + json.dumps(end_json(run.end)) + "}")
    counts = {"top_shape": report.counts.get("top_shape", 0),
              "memory_required_for_data": report.counts.get("memory_required_for_data", 0),
              "lines": report.lines, "unknown_lines": report.counts.get("unknown", 0),
              "runs": len(report.runs)}
    out.write('\n], "counts": ' + json.dumps(counts) + "}\n")


def write(result: LogResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem log --format json``."""
    write_log_json(result.report, out, result.runs)


def _as_dict(result: LogResult) -> dict[str, Any]:
    """``LogResult.to_dict()``: the JSON this writer streams, read back (one definition of the contract)."""
    buffer = io.StringIO()
    write(result, buffer, ReportOptions())
    return json.loads(buffer.getvalue())  # type: ignore[no-any-return]


register_display(LogResult, "dict", _as_dict)

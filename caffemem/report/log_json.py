"""`caffemem log --format json`: the log's runs as one JSON document, written as a stream.

The training curve can have millions of rows, so rows are formatted a chunk at a time with one
%-template per table instead of building a list of dicts. NaN (a missing value, or a loss Caffe
printed as nan) becomes null, since JSON has no NaN.

Contract (keys may be added, never renamed): see docs of ``write_log_json``.
"""

from __future__ import annotations

import json
import math
from typing import Any, TextIO

from caffemem.logs.columns import Table
from caffemem.logs.model import LogReport, Net, Run, RunEnd


def _num(value: float | int | None) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _key(name: str) -> str:
    """A JSON string for a key that cannot contain ': ' (see _fix_nonfinite)."""
    return json.dumps(name).replace(":", "\\u003a")


def _fix_nonfinite(text: str) -> str:
    """Values are written with %r, so NaN/inf appear as ': nan' etc.; JSON wants null."""
    if "nan" not in text and "inf" not in text:
        return text
    return (text.replace(": nan", ": null").replace(": -inf", ": null")
            .replace(": inf", ": null"))


def net_json(net: Net) -> dict[str, Any]:
    return {
        "phase": net.phase,
        "phase_source": net.phase_source,
        "memory_required_for_data": net.memory_required_for_data,
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
        "where": end.where() if end.status == "crashed" else None,
        "stopped_early": end.stopped_early,
        "last_lines": end.last_lines,
    }


def _write_iterations(table: Table, out: TextIO) -> None:
    names = list(table.outputs)
    # Names go into a %-template: a name such as "loss: 50%-fire-rate" must keep its %.
    outputs = ", ".join(f"{_key(name).replace('%', '%%')}: %r" for name in names)
    template = '{"iteration": %d, "seconds": %r, "loss": %r, "lr": %r, "outputs": {' + outputs + "}}"
    first = True
    for parts in table.row_chunks():
        iteration, seconds, lr, loss, _net, *values = parts
        rows = zip(iteration, seconds, loss, lr, *values, strict=False)
        text = ",\n".join(map(template.__mod__, rows))
        if text:
            out.write(("" if first else ",\n") + _fix_nonfinite(text))
            first = False


def _write_test_passes(table: Table, out: TextIO) -> None:
    """One object per test pass, written as they are read (a run may test every iteration)."""
    names = list(table.outputs)
    out.write("[")
    for index, (iteration, seconds, lr, _loss, net, *values) in enumerate(table.rows()):
        row = {"iteration": iteration, "net": net, "seconds": _num(seconds), "lr": _num(lr),
               "outputs": {n: _num(v) for n, v in zip(names, values, strict=False)}}
        out.write(("" if index == 0 else ",\n") + json.dumps(row))
    out.write("]")


def _run_head(run: Run) -> dict[str, Any]:
    return {
        "index": run.index,
        "first_line": run.first_line,
        "last_line": run.last_line,
        "solver": {"name": run.solver_name, "lr_policy": run.lr_policy, "gpus": run.gpus,
                   "settings": run.solver, "has_text": run.solver_text is not None},
        "nets": [net_json(net) for net in run.nets],
    }


def write_log_json(report: LogReport, out: TextIO, runs: list[Run] | None = None) -> None:
    """Write ``{"source", "runs": [...], "counts": {...}}``.

    Each run: ``nets`` (phase, memory_required_for_data, layers with tops and shapes),
    ``iterations`` (iteration, seconds, loss, lr, outputs), ``test_passes`` and ``end``
    (status finished|crashed|cut_off, crash_kind, iteration, phase, layer, message).
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

"""`caffemem log` (table format): per run, the nets, the solver, a summary of the curve and the end.

Meant for a person reading why a run died, so the end comes with its place and the last lines;
the full curve is what ``--format csv`` is for.
"""

from __future__ import annotations

import math
from typing import TextIO

from caffemem.commands.display import register_display
from caffemem.commands.log import LogResult
from caffemem.logs.curve import CurveRow, Table
from caffemem.logs.model import EndStatus, LogReport, Net, PhaseSource, Run
from caffemem.report.options import ReportOptions
from caffemem.report.units import human_bytes

CURVE_ROWS = 8


def _shape(shape: list[int] | None) -> str:
    if shape is None:
        return "?"
    return "x".join(str(d) for d in shape) if shape else "scalar"


def _num(value: float) -> str:
    """A value for people: ``nan`` where Caffe printed it, ``-`` where the row has none."""
    if math.isnan(value):
        return "nan" if getattr(value, "printed", False) else "-"
    return f"{value:.6g}"


def net_lines(net: Net, verbose: bool) -> list[str]:
    phase = net.phase or "unknown phase"
    inferred = " (inferred)" if net.phase_source == PhaseSource.INFERRED else ""
    nested = f", inside layer {net.nested_in}" if net.nested_in else ""
    mem = net.memory_required_for_data
    mem_text = f"{mem:,} bytes ({human_bytes(mem)})" if mem is not None else "not logged"
    done = "" if net.done else ", set-up not finished"
    lines = [f"  {phase}{inferred} net{nested}: {len(net.layers)} layers{done}; "
             f"Memory required for data: {mem_text}"]
    if verbose:
        for layer in net.layers:
            tops = ", ".join(_shape(t.shape) for t in layer.tops) or "-"
            lines.append(f"    {layer.name:<32} {tops}")
    return lines


def curve_lines(table: Table, label: str) -> list[str]:
    """A summary and about CURVE_ROWS evenly spaced rows; streams the table (it may be huge)."""
    total = len(table)
    if not total:
        return []
    names = table.names
    step = max(1, total // CURVE_ROWS)
    # every step-th row from the first, at most CURVE_ROWS of them, and the last row
    places = [index for index in range(0, step * CURVE_ROWS, step) if index < total]
    shown: list[CurveRow] = table.records_at([*places, total - 1])
    first, last = shown[0], shown[-1]
    lines = [f"  {label}: {total} rows, iterations {first.iteration} to {last.iteration}"]
    span = last.iteration - first.iteration
    if span > 0 and last.seconds > first.seconds:
        lines.append(f"    {(last.seconds - first.seconds) / span:.4g} s per iteration on average")
    head = ["iteration", "seconds", "lr", *names]
    table_rows = [head] + [[str(r.iteration), f"{r.seconds:.1f}", _num(r.lr), *map(_num, r.outputs)] for r in shown]
    widths = [max(len(row[i]) for row in table_rows) for i in range(len(head))]
    for row in table_rows:
        lines.append("    " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=False)))
    return lines


def run_lines(run: Run, verbose: bool) -> list[str]:
    lines = [f"Run {run.index + 1} (lines {run.first_line}-{run.last_line})"]
    if run.solver_text is not None or run.solver_name:
        settings = ", ".join(f"{k}: {run.solver[k]}" for k in
                             ("type", "solver_type", "base_lr", "lr_policy", "max_iter", "test_interval",
                              "snapshot_prefix", "solver_mode") if k in run.solver)
        lines.append(f"  solver {run.solver_name or ''}".rstrip() + (f" ({settings})" if settings else ""))
    if run.gpus:
        lines.append(f"  GPUs: {run.gpus}")
    for net in run.nets:
        lines.extend(net_lines(net, verbose))
    lines.extend(curve_lines(run.train, "training"))
    lines.extend(curve_lines(run.test, "tests"))
    if run.device.names:
        lines.append("  devices: " + ", ".join(f"GPU {k}: {v}" for k, v in sorted(run.device.names.items())))
    div = run.divergence
    if div is not None:
        lines.append(f"  diverged: at iteration {div.iteration}, {div.phase} output {div.output} = {div.value}")
    end = run.end
    if end.status == EndStatus.FINISHED:
        early = " (stopped early on a signal, after a snapshot)" if end.stopped_early else ""
        lines.append(f"  ended: finished{early}")
    elif end.status == EndStatus.CUT_OFF:
        it = f" after iteration {end.iteration}" if end.iteration is not None else ""
        lines.append(f"  ended: log stops without an end{it} (still running, or cut off)")
    else:
        lines.append(f"  ended: CRASHED ({end.crash_kind}) {end.where()}")
        if end.message:
            lines.append(f"    {end.message}")
        lines.append("  last lines:")
        lines.extend("    | " + line for line in end.last_lines)
    return lines


def render_log(report: LogReport, runs: list[Run] | None = None, verbose: bool = False) -> str:
    selected = report.runs if runs is None else runs
    out = [f"{report.source}: {len(report.runs)} run(s), {report.lines:,} lines"]
    for run in selected:
        out.append("")
        out.extend(run_lines(run, verbose))
    return "\n".join(out) + "\n"


def write(result: LogResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem log --format table``."""
    out.write(render_log(result.report, result.runs, options.layers))


def _html(result: LogResult) -> str:
    """In a notebook: the table report, as a terminal shows it."""
    import html

    return f"<pre>{html.escape(render_log(result.report, result.runs, False))}</pre>"


register_display(LogResult, "html", _html)

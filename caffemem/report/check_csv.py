"""CSV of ``caffemem check``: one row per layer and net, bytes by category, for spreadsheets."""

from __future__ import annotations

import csv
import io
from typing import TextIO

from caffemem.commands.check import CheckResult
from caffemem.report.footprint_rows import categories_used, layer_rows, shape_text
from caffemem.report.options import ReportOptions


def render_check(result: CheckResult) -> str:
    cats = categories_used(result)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["net", "phase", "layer", "type", "top_shapes", "params", "memory_required_for_data",
                *[f"{c}_bytes" for c in cats], "total_bytes", "macs"])
    for net, fp in zip(result.analysis.nets, result.footprint.nets, strict=True):
        for layer, r in zip(net.layers, layer_rows(net, fp), strict=True):
            tops = ", ".join(shape_text(s) for s in layer.top_shapes) or "-"  # every top, for spreadsheets
            w.writerow([net.name, net.phase_name, r.name, r.type, tops, r.params,
                        "" if r.data_bytes is None else r.data_bytes, *[r.bytes.get(c, 0) for c in cats], r.total,
                        "" if r.macs is None else r.macs])
    w.writerow(["(run)", "", "(total)", "", "", "", "", *[result.footprint.by_category.get(c, 0) for c in cats],
                result.footprint.total_bytes, ""])
    return buf.getvalue()


def write(result: CheckResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem check --format csv``."""
    out.write(render_check(result))

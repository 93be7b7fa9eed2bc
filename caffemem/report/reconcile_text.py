"""The reconcile table: caffemem's shapes and data totals beside Caffe's, mismatches marked."""

from __future__ import annotations

from typing import TextIO

from caffemem.commands.reconcile import Reconciliation
from caffemem.report.options import ReportOptions


def _tops(tops: list[list[int] | None] | None) -> str:
    if tops is None:
        return "-"
    return ", ".join("?" if t is None else ("x".join(map(str, t)) or "scalar") for t in tops)


def render_text(rec: Reconciliation) -> str:
    out = [f"caffemem reconcile: {rec.net_source} against run {rec.run} of {rec.log_source}"]
    for net in rec.nets:
        out += ["", f"{net.phase} net:", f"  {'':2}{'layer':<28} {'Caffe logged':<28} {'caffemem':<28} "
                f"{'data bytes (log / caffemem)'}"]
        for c in net.layers:
            mark = {"match": "  ", "data-dependent": "~~", "from log": "~~"}.get(c.status, "!!")
            mem = f"{c.logged_memory if c.logged_memory is not None else '-'} / " \
                  f"{c.predicted_memory if c.predicted_memory is not None else '-'}"
            note = "" if c.status == "match" else f"  <- {c.status}"
            out.append(f"  {mark}{c.name[:28]:<28} {_tops(c.logged_tops)[:28]:<28} "
                       f"{_tops(c.predicted_tops)[:28]:<28} {mem}{note}")
        out.append(f"  total Memory required for data: log {net.logged_total}, caffemem {net.predicted_total}")
        out += [f"  note: {n}" for n in net.notes]
    out += [f"  {u}" for u in rec.unmatched]
    out += [f"  skipped: {s}" for s in rec.skipped]
    out += ["", f"{rec.mismatches} mismatch(es)" if rec.mismatches else "no mismatches: caffemem agrees with Caffe"]
    return "\n".join(out) + "\n"


def write(rec: Reconciliation, out: TextIO, options: ReportOptions) -> None:
    """``caffemem reconcile --format text``."""
    out.write(render_text(rec))

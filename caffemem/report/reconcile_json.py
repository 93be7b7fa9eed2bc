"""The reconciliation as JSON: per layer, caffemem's shapes and totals beside the log's."""

from __future__ import annotations

from typing import TextIO

from caffemem.commands.reconcile import Reconciliation
from caffemem.report._json import dumps
from caffemem.report.options import ReportOptions


def render_json(rec: Reconciliation) -> str:
    return dumps({
        "net": rec.net_source, "log": rec.log_source, "run": rec.run, "mismatches": rec.mismatches,
        "unmatched": rec.unmatched, "skipped": rec.skipped,
        "nets": [{"phase": n.phase, "logged_memory_required_for_data": n.logged_total,
                  "memory_required_for_data": n.predicted_total, "notes": n.notes,
                  "fork_memory_required_for_data": n.fork_total,
                  "layers": [{"name": c.name, "status": c.status, "logged_tops": c.logged_tops,
                              "tops": c.predicted_tops, "logged_memory": c.logged_memory,
                              "memory": c.predicted_memory} for c in n.layers]} for n in rec.nets],
    }, indent=1) + "\n"


def write(rec: Reconciliation, out: TextIO, options: ReportOptions) -> None:
    """``caffemem reconcile --format json``."""
    out.write(render_json(rec))

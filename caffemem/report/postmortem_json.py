"""The post-mortem as JSON: a contract other tools read (keys are only ever added)."""

from __future__ import annotations

from typing import Any, TextIO

from caffemem.commands.postmortem import PostMortem
from caffemem.report._json import dumps
from caffemem.report.options import ReportOptions


def render_json(pm: PostMortem) -> str:
    end = pm.run.end
    fp = pm.footprint
    data: dict[str, Any] = {
        "source": pm.source,
        "run": pm.run.index + 1,
        "runs": pm.run_count,
        "end": {"status": end.status, "crash_kind": end.crash_kind, "iteration": end.iteration,
                "phase": end.phase, "layer": end.layer, "message": end.message, "where": end.where()},
        "net_origin": pm.net_origin,
        "guesses": pm.guesses,
        "batch": pm.batch,
        "solver_type": pm.solver_type,
        "footprint": None if fp is None else {"mode": fp.mode, "total_bytes": fp.total_bytes,
                                              "by_category": dict(fp.by_category)},
        "logged_memory_required_for_data": [m for _, m in pm.logged_memory],
        "consumers": [{"layer": c.layer, "type": c.type, "params": c.params, "bytes": c.bytes,
                       "total_bytes": c.total} for c in pm.consumers],
        "max_batch": pm.fit.max_batch if pm.fit is not None else None,
        "fits": pm.fit.fits if pm.fit is not None else None,
        "bytes_at_batch_1": pm.at_batch_one,
    }
    return dumps(data, indent=1) + "\n"


def write(pm: PostMortem, out: TextIO, options: ReportOptions) -> None:
    """``caffemem postmortem --format json``."""
    out.write(render_json(pm))

"""``caffemem audit --format csv``: one row per file, for a spreadsheet over a model collection.

Lists inside a cell are joined with ``;`` so that the file stays one row per file.
"""

from __future__ import annotations

import csv
import io
from typing import TextIO

from caffemem.commands.audit.model import AuditResult
from caffemem.commands.audit.targets import TARGETS
from caffemem.report.audit_common import blocking, exact
from caffemem.report.options import ReportOptions

COLUMNS = ["path", "kind", "format", "error", "upgrades", "deprecated_fields", "layers", "non_bvlc_types",
           "python_layers", "params", "params_exact", "memory_required_for_data", "phases", "stages",
           *(f"{t}_unsupported" for t in TARGETS), "weights", "weights_fit"]


def render_audit(result: AuditResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for f in result.files:
        gaps = blocking(f)
        writer.writerow([
            f.path, f.kind, f.format or "", f.error or "", ";".join(f.upgrades),
            ";".join(d.field for d in f.deprecated_fields), sum(u.count for u in f.layer_types.values()),
            ";".join(n for n, u in f.layer_types.items() if u.origin in ("fork", "custom")),
            ";".join(f"{p.name}={p.module}.{p.layer}" for p in f.python_layers),
            "" if f.params is None else f.params, "true" if exact(f) else "false",
            "" if f.memory_required_for_data is None else f.memory_required_for_data,
            ";".join(f.phases), ";".join(f.stages), *(";".join(gaps[t]) for t in TARGETS),
            ";".join(w.path for w in f.weights),
            ";".join("true" if w.loads else "false" for w in f.weights),
        ])
    return out.getvalue()


def write(result: AuditResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem audit --format csv``."""
    out.write(render_audit(result))

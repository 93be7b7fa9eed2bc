"""``caffemem audit --format json``: the machine-readable audit, and the base of the other formats.

This is a contract: keys may be added, never renamed or removed. The documented core is
``{"files": [{"path", "kind", "error", "format", "upgrades", "layer_types": {TYPE: {"count",
"origin"}}, "params", "targets": {TARGET: {"unsupported"}}}], "summary": {...}}``.
"""

from __future__ import annotations

from typing import Any, TextIO

from caffemem.commands.audit.model import AuditResult, AuditSummary, FileAudit, WeightsCheck
from caffemem.commands.audit.targets import TARGETS, gaps, support
from caffemem.report._json import dumps
from caffemem.report.options import ReportOptions

SCHEMA_VERSION = 1


def _weights(w: WeightsCheck) -> dict[str, Any]:
    return {"path": w.path, "phase": w.phase, "loads": w.loads, "complete": w.complete, "error": w.error,
            "copied_layers": w.copied_layers, "ignored_source_layers": w.ignored_source_layers,
            "unfilled_layers": w.unfilled_layers, "unchecked_layers": w.unchecked_layers}


def file_dict(f: FileAudit) -> dict[str, Any]:
    """One file's entry; ``targets`` also carries per-type notes so a reader sees what is missing."""
    targets: dict[str, Any] = {}
    for target, buckets in gaps(f.layer_types, f.training_only_here()).items():
        notes = {t: support(t, target).note for t in buckets["unsupported"] + buckets["partial"]}
        targets[target] = {**buckets, "notes": notes}
    return {
        "path": f.path,
        "kind": f.kind,
        "error": f.error,
        "format": f.format,
        "upgrades": f.upgrades,
        "upgrade_warnings": f.upgrade_warnings,
        "deprecated_fields": [{"field": d.field, "count": d.count, "caffe": d.caffe} for d in f.deprecated_fields],
        "unknown_fields": f.unknown_fields,
        "layer_types": {name: {"count": u.count, "origin": u.origin, "fork": u.fork}
                        for name, u in f.layer_types.items()},
        "python_layers": [{"name": p.name, "module": p.module, "layer": p.layer,
                           "role": "data" if p.is_data else "compute"} for p in f.python_layers],
        "params": f.params,
        "params_exact": None if f.params is None else all(not n.unanalysed_layers for n in f.nets),
        "memory_required_for_data": f.memory_required_for_data,
        "nets": [{"phase": n.phase, "name": n.name, "source": n.source, "params": n.params,
                  "memory_required_for_data": n.memory_required_for_data,
                  "unanalysed_layers": n.unanalysed_layers} for n in f.nets],
        "phases": f.phases,
        "stages": f.stages,
        "levels": f.levels,
        "net_files": f.net_files,
        "weights_match": [_weights(w) for w in f.weights],
        "detail": f.detail,
        "targets": targets,
    }


def summary_dict(s: AuditSummary) -> dict[str, Any]:
    return {
        "files": s.files,
        "errors": s.errors,
        "by_kind": s.by_kind,
        "by_format": s.by_format,
        "by_origin": s.by_origin,
        "layer_types": {name: {"layers": t.layers, "files": t.files, "origin": t.origin, "fork": t.fork}
                        for name, t in s.layer_types.items()},
        "blocking": {target: s.blocking.get(target, {}) for target in TARGETS},
        "upgrades": s.upgrades,
        "deprecated_fields": s.deprecated_fields,
        "weights": s.weights,
        "python_modules": s.python_modules,
    }


def audit_dict(result: AuditResult) -> dict[str, Any]:
    return {"schema_version": SCHEMA_VERSION, "files": [file_dict(f) for f in result.files],
            "summary": summary_dict(result.summary)}


def render_audit(result: AuditResult) -> str:
    return dumps(audit_dict(result), indent=2) + "\n"


def write(result: AuditResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem audit --format json``."""
    out.write(render_audit(result))

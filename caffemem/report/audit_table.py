"""``caffemem audit`` for a terminal: a short block per file, then the totals.

Only what differs from a plain BVLC net is shown per file (legacy fields, fork types, gaps,
errors), so a folder of a hundred models stays readable.
"""

from __future__ import annotations

from typing import TextIO

from caffemem.commands.audit.model import AuditResult, AuditSummary, FileAudit
from caffemem.report.audit_common import (
    blocking,
    kind_text,
    memory_text,
    non_bvlc,
    params_text,
    weights_text,
)
from caffemem.report.options import ReportOptions


def _file_lines(f: FileAudit) -> list[str]:
    lines = [f"{f.path}  [{kind_text(f)}]"]
    if f.error:
        lines.append(f"  error: {f.error}")
    if f.detail:
        lines.append(f"  {f.detail}")
    if f.upgrades:
        lines.append(f"  upgrades Caffe applies: {', '.join(f.upgrades)}")
    if f.deprecated_fields:
        lines.append("  deprecated: " + "; ".join(f"{d.field} x{d.count} ({d.caffe})" for d in f.deprecated_fields))
    if f.kind == "weights" and f.params is not None:
        lines.append(f"  {f.params:,} values stored in {sum(u.count for u in f.layer_types.values())} layers")
    elif f.params is not None or f.nets:
        figures = f"  params {params_text(f)}, memory for data {memory_text(f)}"
        if f.nets:
            figures += f" ({', '.join(n.phase for n in f.nets)})"
        lines.append(figures)
    if f.phases or f.stages:
        lines.append(f"  rules: phases {', '.join(f.phases) or '-'}; stages {', '.join(f.stages) or '-'}")
    others = non_bvlc(f)
    if others:
        lines.append(f"  non-BVLC: {', '.join(others)}")
    gaps = [f"{target}: {', '.join(types)}" for target, types in blocking(f).items() if types]
    if gaps:
        lines.append(f"  no equivalent in {' | '.join(gaps)}")
    for w in f.weights:
        lines.append(f"  weights {weights_text(w)}")
    return lines


def _summary_lines(s: AuditSummary) -> list[str]:
    kinds = ", ".join(f"{n} {k}" for k, n in s.by_kind.items())
    lines = [f"Summary: {s.files} files ({kinds}); {s.errors} with errors (reported above, audit continued)"]
    if s.by_format:
        lines.append("  formats: " + ", ".join(f"{k} {n}" for k, n in s.by_format.items()))
    lines.append(f"  layer types: {len(s.layer_types)} ("
                 + ", ".join(f"{n} {k}" for k, n in s.by_origin.items()) + ")")
    others = [(n, t) for n, t in s.layer_types.items() if t.origin != "bvlc"]
    if others:
        lines.append("  non-BVLC types:")
        for name, t in others:
            where = t.fork or t.origin
            lines.append(f"    {name}: {t.layers} layers in {t.files} files [{where}]")
    for target, types in s.blocking.items():
        if types:
            lines.append(f"  blocks {target}: " + ", ".join(f"{n} ({c} files)" for n, c in types.items()))
        else:
            lines.append(f"  blocks {target}: nothing")
    if s.upgrades:
        lines.append("  upgrades needed: " + ", ".join(f"{k} ({n} files)" for k, n in s.upgrades.items()))
    if s.python_modules:
        lines.append(f"  Python layer code (never imported): {', '.join(s.python_modules)}")
    if s.weights["checked"]:
        w = s.weights
        lines.append(f"  weights checked: {w['checked']} ({w['loads']} fit, {w['complete']} complete, "
                     f"{w['fails']} do not fit)")
    return lines


def render_audit(result: AuditResult) -> str:
    lines: list[str] = []
    for f in result.files:
        lines += _file_lines(f)
    if result.files:
        lines.append("")
    lines += _summary_lines(result.summary)
    return "\n".join(lines) + "\n"


def write(result: AuditResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem audit --format table``."""
    out.write(render_audit(result))

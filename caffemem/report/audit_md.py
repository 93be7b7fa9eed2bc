"""``caffemem audit --format md``: a Markdown report to paste into a migration ticket or wiki page.

One overview table (a row per file), the details that need action per file, then the totals.
"""

from __future__ import annotations

from typing import TextIO

from caffemem.commands.audit.model import AuditResult, AuditSummary, FileAudit
from caffemem.commands.audit.targets import TARGETS, support
from caffemem.report.audit_common import blocking, memory_text, non_bvlc, params_text, weights_text
from caffemem.report.options import ReportOptions


def _cell(text: str) -> str:
    """Table cells must not break the row: escape pipes, fold newlines."""
    return text.replace("|", "\\|").replace("\n", " ") or "-"


def _overview(files: list[FileAudit]) -> list[str]:
    head = ["File", "Kind", "Format", "Params", "Memory (data)", "Non-BVLC types",
            *(f"No {t} equivalent" for t in TARGETS), "Error"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for f in files:
        gaps = blocking(f)
        row = [f"`{f.path}`", f.kind, f.format or "-", params_text(f), memory_text(f), ", ".join(non_bvlc(f)),
               *(", ".join(gaps[t]) for t in TARGETS), f.error or ""]
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return lines


def _details(f: FileAudit) -> list[str]:
    items: list[str] = []
    if f.error:
        items.append(f"- **Error:** {f.error}")
    if f.detail:
        items.append(f"- {f.detail}")
    if f.upgrades:
        items.append(f"- Upgrades Caffe applies on reading: {', '.join(f.upgrades)}")
    for d in f.deprecated_fields:
        items.append(f"- Deprecated `{d.field}` x{d.count}: {d.caffe}")
    for p in f.python_layers:
        items.append(f"- Python layer `{p.name}`: module `{p.module}`, class `{p.layer}` (not imported)")
    if f.phases or f.stages:
        items.append(f"- Include/exclude rules: phases {', '.join(f.phases) or '-'}; "
                     f"stages {', '.join(f.stages) or '-'}")
    for target, types in blocking(f).items():
        for t in types:
            items.append(f"- {target}: no equivalent for `{t}` ({support(t, target).note})")
    for w in f.weights:
        items.append(f"- Weights {weights_text(w)}")
    return [f"### `{f.path}`", "", *items, ""] if items else []


def _summary(s: AuditSummary) -> list[str]:
    lines = ["## Summary", "", f"{s.files} files, {s.errors} with errors (each reported; the audit went on).", ""]
    lines += ["| Kind | Files |", "|---|---|", *(f"| {k} | {n} |" for k, n in s.by_kind.items()), ""]
    if s.by_format:
        lines += ["| Format | Files |", "|---|---|", *(f"| {k} | {n} |" for k, n in s.by_format.items()), ""]
    lines += ["| Layer type | Origin | Layers | Files |", "|---|---|---|---|"]
    for name, t in s.layer_types.items():
        origin = f"fork: {t.fork}" if t.fork else t.origin
        lines.append(f"| {_cell(name)} | {_cell(origin)} | {t.layers} | {t.files} |")
    lines += ["", "| Target | Blocking layer types (files) |", "|---|---|"]
    for target, types in s.blocking.items():
        text = ", ".join(f"{n} ({c})" for n, c in types.items()) or "none"
        lines.append(f"| {target} | {_cell(text)} |")
    if s.upgrades:
        lines += ["", "| Upgrade | Files |", "|---|---|", *(f"| {k} | {n} |" for k, n in s.upgrades.items())]
    if s.weights["checked"]:
        w = s.weights
        lines += ["", f"Weights checked: {w['checked']} ({w['loads']} fit, {w['complete']} complete, "
                      f"{w['fails']} do not fit)."]
    return lines


def render_audit(result: AuditResult) -> str:
    lines = ["# Caffe migration audit", "", "## Files", "", *_overview(result.files), ""]
    details = [line for f in result.files for line in _details(f)]
    if details:
        lines += ["## Details", "", *details]
    lines += _summary(result.summary)
    return "\n".join(lines) + "\n"


def write(result: AuditResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem audit --format md``."""
    out.write(render_audit(result))

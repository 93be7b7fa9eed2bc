"""Markdown of ``caffemem check``, for pasting into issues: the verdict, totals, memory as Caffe
allocates it, every warning and unanalysed layer, and the largest layers of each net."""

from __future__ import annotations

from typing import TextIO

from caffemem.commands.check import CheckResult
from caffemem.report.footprint_rows import (
    SHORT,
    allocation_stages,
    headline,
    layer_rows,
    memory_words,
    net_macs,
    param_totals,
    unanalysed,
)
from caffemem.report.options import ReportOptions
from caffemem.report.units import human_bytes, human_count, thousands

TOP_LAYERS = 15


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_check(result: CheckResult) -> str:
    fp = result.footprint
    out = [f"### caffemem: `{_cell(result.analysis.source)}`", "", f"**{_cell(headline(result))}**", "",
           f"Memory: {memory_words(result)}" + (f", solver {fp.solver_type}" if fp.solver_type else ""), "",
           "| category | bytes | size |", "|---|---:|---:|"]
    for cat, n in fp.by_category.items():
        out.append(f"| {cat} | {thousands(n)} | {human_bytes(n)} |")
    out.append(f"| **total** | **{thousands(fp.total_bytes)}** | **{human_bytes(fp.total_bytes)}** |")
    out += ["", "Memory as Caffe allocates it (cumulative):", "", "| stage | adds | holds |", "|---|---:|---:|"]
    held = 0
    for stage, added in allocation_stages(result):
        held += added
        out.append(f"| {stage} | {human_bytes(added)} | {human_bytes(held)} |")
    warnings = result.warnings
    if warnings:
        out += ["", f"**Warnings ({len(warnings)}):**", ""] + [f"- {_cell(w)}" for w in warnings]
    missing = unanalysed(result)
    if missing:
        out += ["", f"**Not analysed ({len(missing)} layers):**", ""]
        out += [f"- `{_cell(layer.name)}` ({_cell(layer.type)}, {phase}): {_cell(layer.unknown or '')}"
                for phase, layer in missing]
    for net, nfp in zip(result.analysis.nets, fp.nets, strict=True):
        total = net.memory_required_for_data
        params = param_totals(net)
        macs = net_macs(net)
        out += ["", f"#### {net.phase_name} net `{_cell(net.name)}` ({nfp.role}): {human_bytes(nfp.total_bytes)}; "
                f"Caffe's Memory required for data: {thousands(total) if total is not None else 'unknown'}", "",
                f"Params: {params.total:,} total, {params.trainable:,} trainable, {params.frozen:,} frozen "
                f"(lr_mult 0); forward multiply-adds: {human_count(macs) if macs is not None else '?'}", "",
                f"Largest {TOP_LAYERS} layers:", "",
                "| layer | type | top shapes | params | MACs | bytes | mostly |", "|---|---|---|---:|---:|---:|---|"]
        rows = sorted(layer_rows(net, nfp), key=lambda r: -r.total)[:TOP_LAYERS]
        for r in rows:
            cells = [_cell(r.name), _cell(r.type), _cell(r.tops), thousands(r.params),
                     human_count(r.macs), human_bytes(r.total), SHORT.get(r.dominant or "", r.dominant or "")]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def write(result: CheckResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem check --format md``."""
    out.write(render_check(result))

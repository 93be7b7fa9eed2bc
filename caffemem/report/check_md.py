"""Markdown of ``caffemem check``, for pasting into issues: the verdict, totals, the top layers."""

from __future__ import annotations

from typing import TextIO

from caffemem.commands.check import CheckResult
from caffemem.report.footprint_rows import headline, layer_rows
from caffemem.report.options import ReportOptions
from caffemem.report.units import human_bytes

TOP_LAYERS = 15


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_check(result: CheckResult) -> str:
    fp = result.footprint
    out = [f"### caffemem: `{_cell(result.analysis.source)}`", "", f"**{_cell(headline(result))}**", "",
           "| category | bytes | size |", "|---|---:|---:|"]
    for cat, n in fp.by_category.items():
        out.append(f"| {cat} | {n:,} | {human_bytes(n)} |")
    out.append(f"| **total** | **{fp.total_bytes:,}** | **{human_bytes(fp.total_bytes)}** |")
    for net, nfp in zip(result.analysis.nets, fp.nets, strict=True):
        total = net.memory_required_for_data
        out += ["", f"#### {net.phase_name} net `{_cell(net.name)}` ({nfp.role}): {human_bytes(nfp.total_bytes)}; "
                f"Caffe's Memory required for data: {total if total is not None else 'unknown'}", "",
                f"Largest {TOP_LAYERS} layers:", "", "| layer | type | top shapes | params | bytes |",
                "|---|---|---|---:|---:|"]
        rows = sorted(layer_rows(net, nfp), key=lambda r: -r.total)[:TOP_LAYERS]
        for r in rows:
            cells = [_cell(r.name), _cell(r.type), _cell(r.tops), f"{r.params:,}", human_bytes(r.total)]
            out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


def write(result: CheckResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem check --format md``."""
    out.write(render_check(result))

"""A self-contained HTML page (no network): the verdict, totals, and a bar per layer by category."""

from __future__ import annotations

from html import escape
from typing import TextIO

from caffemem.commands.check import CheckResult
from caffemem.report.footprint_rows import categories_used, headline, layer_rows
from caffemem.report.options import ReportOptions
from caffemem.report.units import human_bytes

COLOURS = {"activations": "#4e79a7", "activation_gradients": "#a0cbe8", "weights": "#f28e2b",
           "weight_gradients": "#ffbe7d", "solver_history": "#e15759", "layer_buffers": "#59a14f",
           "cudnn_workspace": "#8cd17d", "prefetch": "#b6992d", "weights_loading": "#9d7660", "runtime": "#bab0ac"}

STYLE = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}td.n,th.n{text-align:right;white-space:nowrap}
.bar{display:flex;height:12px;min-width:1px}.bar span{display:block;height:12px}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}"""


def render_check(result: CheckResult) -> str:
    fp = result.footprint
    cats = categories_used(result)
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>caffemem: {escape(result.analysis.source)}"
             f"</title><style>{STYLE}</style></head><body>",
             f"<h1>{escape(result.analysis.source)}</h1><p><b>{escape(headline(result))}</b></p>",
             "<p class='legend'>" + "".join(f"<span style='background:{COLOURS.get(c, '#999')}'></span>{escape(c)}"
                                             for c in cats) + "</p>",
             "<table><tr><th>category</th><th>size</th></tr>"]
    for cat, n in fp.by_category.items():
        parts.append(f"<tr><td>{escape(cat)}</td><td class='n'>{human_bytes(n)}</td></tr>")
    parts.append(f"<tr><th>total</th><th class='n'>{human_bytes(fp.total_bytes)}</th></tr></table>")
    for net, nfp in zip(result.analysis.nets, fp.nets, strict=True):
        rows = layer_rows(net, nfp)
        biggest = max((r.total for r in rows), default=1) or 1
        parts.append(f"<h2>{net.phase_name} net {escape(net.name)} ({nfp.role}): {human_bytes(nfp.total_bytes)}</h2>")
        parts.append("<table><tr><th>layer</th><th>type</th><th>top shapes</th><th>params</th><th>bytes</th>"
                     "<th>by category</th></tr>")
        for r in rows:
            bar = "".join(f"<span title='{escape(c)}: {human_bytes(r.bytes[c])}' style='width:"
                          f"{400 * r.bytes[c] / biggest:.1f}px;background:{COLOURS.get(c, '#999')}'></span>"
                          for c in cats if r.bytes.get(c))
            params = f"{r.params:,}" if r.params else ""
            parts.append(f"<tr><td>{escape(r.name)}</td><td>{escape(r.type)}</td><td>{escape(r.tops)}</td>"
                         f"<td class='n'>{params}</td><td class='n'>{human_bytes(r.total)}</td>"
                         f"<td><div class='bar'>{bar}</div></td></tr>")
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write(result: CheckResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem check --format html``."""
    out.write(render_check(result))

"""A self-contained HTML page of ``caffemem check`` (no network, no external files).

The page holds: the verdict; the budget bar (what the run needs, by category, against the budget);
the totals by category; memory as Caffe allocates it (set-up, first forward, first backward, the
test net, the solver's history: cumulative bars); every warning and every layer caffemem could not
analyse; and per net a layer table that sorts by any column when its header is clicked (a few lines
of inline JavaScript). :func:`body` is the same without the page around it, for notebooks
(``CheckResult._repr_html_``).
"""

from __future__ import annotations

from html import escape
from typing import TextIO

from caffemem.commands.check import CheckResult
from caffemem.commands.display import register_display
from caffemem.report.footprint_rows import (
    SHORT,
    allocation_stages,
    categories_used,
    headline,
    layer_rows,
    memory_words,
    needed_and_budget,
    net_macs,
    param_totals,
    unanalysed,
)
from caffemem.report.options import ReportOptions
from caffemem.report.units import human_bytes, human_count, thousands

COLOURS = {"activations": "#4e79a7", "activation_gradients": "#a0cbe8", "weights": "#f28e2b",
           "weight_gradients": "#ffbe7d", "solver_history": "#e15759", "layer_buffers": "#59a14f",
           "cudnn_workspace": "#8cd17d", "prefetch": "#b6992d", "multi_gpu": "#499894",
           "weights_loading": "#9d7660", "snapshot": "#d37295", "runtime": "#bab0ac"}

STYLE = """.caffemem{font:14px system-ui,sans-serif;color:#222;max-width:1100px}
.caffemem h1{font-size:20px;margin:0 0 .4em}.caffemem h2{font-size:17px;margin:1.4em 0 .4em}
.caffemem table{border-collapse:collapse;margin:.3em 0}
.caffemem td,.caffemem th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left;vertical-align:middle}
.caffemem td.n,.caffemem th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.caffemem table.sortable th{cursor:pointer;background:#f6f6f6;position:sticky;top:0}
.caffemem table.sortable th:hover{background:#e8e8e8}
.caffemem .verdict{font-size:16px;font-weight:600;padding:.5em .8em;border-left:5px solid #59a14f;background:#f3f8f1}
.caffemem .verdict.no{border-color:#e15759;background:#fbf0f0}
.caffemem .verdict.tight{border-color:#edc948;background:#fcf8e8}
.caffemem .verdict.unknown{border-color:#bab0ac;background:#f4f4f4}
.caffemem .bar{display:flex;height:14px;min-width:1px}.caffemem .bar span{display:block;height:14px}
.caffemem .budget{position:relative;height:28px;background:#f4f4f4;border:1px solid #ddd;margin:.6em 0 1.6em}
.caffemem .budget .bar{height:28px}.caffemem .budget .bar span{height:28px}
.caffemem .budget .line{position:absolute;top:-6px;bottom:-6px;border-left:3px solid #222}
.caffemem .budget .line b{position:absolute;top:36px;left:-60px;width:120px;text-align:center;font-size:12px;
white-space:nowrap}
.caffemem .stage{display:flex;align-items:center;margin:3px 0}
.caffemem .stage .name{width:130px}.caffemem .stage .track{flex:1;position:relative;height:18px;background:#f7f7f7}
.caffemem .stage .old{position:absolute;left:0;top:0;bottom:0;background:#c9d3df}
.caffemem .stage .new{position:absolute;top:0;bottom:0;background:#4e79a7}
.caffemem .stage .val{width:220px;padding-left:8px;font-variant-numeric:tabular-nums}
.caffemem .legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.caffemem .scroll{overflow-x:auto}.caffemem ul.warn li{margin:2px 0}.caffemem code{font-size:13px}"""

#: Sorts a table.sortable by the clicked column: numbers by their data-v value, text as text.
SCRIPT = """(function(){document.querySelectorAll('.caffemem table.sortable th').forEach(function(th){
if(th.dataset.bound)return;th.dataset.bound='1';th.addEventListener('click',function(){
var table=th.closest('table'),body=table.tBodies[0],col=Array.prototype.indexOf.call(th.parentNode.children,th);
var down=th.dataset.dir!=='down';th.dataset.dir=down?'down':'up';
var key=function(row){var c=row.cells[col];return c.dataset.v!==undefined?parseFloat(c.dataset.v):c.textContent;};
var rows=Array.prototype.slice.call(body.rows);rows.sort(function(a,b){var x=key(a),y=key(b);
var r=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));return down?-r:r;});
rows.forEach(function(r){body.appendChild(r);});});});})();"""


def _colour(cat: str) -> str:
    return COLOURS.get(cat, "#999")


def _segments(parts: dict[str, int], scale: float, unit: str = "%") -> str:
    return "".join(f"<span title='{escape(c)}: {human_bytes(n)}' style='width:{100 * n / scale:.3f}{unit};"
                   f"background:{_colour(c)}'></span>" for c, n in parts.items() if n)


def _verdict_class(result: CheckResult) -> str:
    if any(net.unanalysed_layers for net in result.analysis.nets):
        return "unknown"
    fit = result.fit
    if fit is None:
        return ""
    if fit.tight:
        return "tight"
    return "" if fit.fits else "no"


def budget_bar(result: CheckResult) -> str:
    """What the run needs by category, on a scale holding the budget too, with a line at the budget."""
    fp = result.footprint
    cats = fp.by_category
    fit = result.fit
    scale = max(fp.total_bytes, fit.budget_bytes if fit else 0) or 1
    line = ""
    if fit is not None:
        where = 100 * fit.budget_bytes / scale
        # near the right edge the label sits left of the line, so that it never overflows the page
        label = "left:-124px;text-align:right" if where > 85 else ""
        line = (f"<div class='line' style='left:{where:.3f}%'><b style='{label}'>budget "
                f"{needed_and_budget(fp.total_bytes, fit.budget_bytes, fit.tight)[1]}</b></div>")
    return (f"<div class='budget' title='needs {human_bytes(fp.total_bytes)}'><div class='bar'>"
            f"{_segments(cats, scale)}</div>{line}</div>")


def category_table(result: CheckResult) -> str:
    fp = result.footprint
    total = fp.total_bytes or 1
    rows = ["<table><tr><th></th><th>category</th><th class='n'>size</th><th class='n'>bytes</th>"
            "<th class='n'>share</th></tr>"]
    for cat, n in fp.by_category.items():
        rows.append(f"<tr><td><span style='display:inline-block;width:12px;height:12px;background:{_colour(cat)}'>"
                    f"</span></td><td>{escape(cat)}</td><td class='n'>{human_bytes(n)}</td>"
                    f"<td class='n'>{thousands(n)}</td><td class='n'>{n / total:.1%}</td></tr>")
    rows.append(f"<tr><th></th><th>total</th><th class='n'>{human_bytes(fp.total_bytes)}</th>"
                f"<th class='n'>{thousands(fp.total_bytes)}</th><th class='n'>100%</th></tr></table>")
    return "".join(rows)


def allocation_chart(result: CheckResult) -> str:
    """Cumulative bars: what is held after each stage of the run, the stage's own part in colour."""
    stages = allocation_stages(result)
    fit = result.fit
    scale = max(result.footprint.total_bytes, fit.budget_bytes if fit else 0) or 1
    out = ["<div class='stages'>"]
    held = 0
    for name, added in stages:
        out.append(f"<div class='stage'><div class='name'>{escape(name)}</div><div class='track'>"
                   f"<div class='old' style='width:{100 * held / scale:.3f}%'></div>"
                   f"<div class='new' style='left:{100 * held / scale:.3f}%;width:{100 * added / scale:.3f}%'>"
                   f"</div></div><div class='val'>+{human_bytes(added)} = {human_bytes(held + added)}</div></div>")
        held += added
    out.append("</div>")
    return "".join(out)


def problems(result: CheckResult) -> str:
    """Every warning and every layer left unanalysed (with why)."""
    out = []
    warnings = result.warnings
    if warnings:
        out.append(f"<h2>Warnings ({len(warnings)})</h2><ul class='warn'>"
                   + "".join(f"<li>{escape(w)}</li>" for w in warnings) + "</ul>")
    missing = unanalysed(result)
    if missing:
        out.append(f"<h2>Not analysed ({len(missing)} layers)</h2><ul class='warn'>"
                   + "".join(f"<li><code>{escape(layer.name)}</code> ({escape(layer.type)}, {escape(phase)}): "
                             f"{escape(layer.unknown or '')}</li>" for phase, layer in missing) + "</ul>")
    return "".join(out)


def _num(value: int | None, text: str) -> str:
    return f"<td class='n' data-v='{value if value is not None else -1}'>{text}</td>"


def layer_table(result: CheckResult, k: int) -> str:
    net, nfp = result.analysis.nets[k], result.footprint.nets[k]
    cats = categories_used(result)
    rows = layer_rows(net, nfp)
    biggest = max((r.total for r in rows), default=1) or 1
    params = param_totals(net)
    macs = net_macs(net)
    out = [f"<h2>{escape(net.phase_name)} net <code>{escape(net.name)}</code> ({escape(str(nfp.role))}): "
           f"{human_bytes(nfp.total_bytes)}</h2>",
           f"<p>{len(net.layers)} layers; params: {params.total:,} total, {params.trainable:,} trainable, "
           f"{params.frozen:,} frozen (lr_mult 0); forward multiply-adds: "
           f"{human_count(macs) if macs is not None else '? (some shapes unknown)'}; Caffe's Memory required "
           f"for data: {human_bytes(net.memory_required_for_data)}. Click a column to sort.</p>",
           "<div class='scroll'><table class='sortable'><thead><tr><th class='n'>#</th><th>layer</th><th>type</th>"
           "<th>top shape(s)</th>"
           "<th class='n'>params</th><th class='n'>MACs</th><th class='n'>memory</th><th>mostly</th>"
           "<th class='n'>Caffe total</th><th>by category</th></tr></thead><tbody>"]
    for i, r in enumerate(rows):
        bar = _segments({c: r.bytes.get(c, 0) for c in cats}, biggest / 2.2, "px")
        out.append(f"<tr>{_num(i, str(i))}<td>{escape(r.name)}</td><td>{escape(r.type)}</td><td>{escape(r.tops)}</td>"
                   + _num(r.params, thousands(r.params) if r.params else "")
                   + _num(r.macs, human_count(r.macs) if r.macs else ("?" if r.macs is None else ""))
                   + _num(r.total, human_bytes(r.total) if r.total else "")
                   + f"<td>{escape(SHORT.get(r.dominant or '', r.dominant or ''))}</td>"
                   + _num(r.data_bytes, human_bytes(r.data_bytes))
                   + f"<td><div class='bar'>{bar}</div></td></tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def body(result: CheckResult) -> str:
    """The report without the page around it: one ``<div class='caffemem'>`` with its style and script."""
    fp = result.footprint
    cats = categories_used(result)
    solver = f", solver {fp.solver_type}" if fp.solver_type else ""
    parts = [f"<div class='caffemem'><style>{STYLE}</style>",
             f"<h1>caffemem check: <code>{escape(result.analysis.source)}</code></h1>",
             f"<p class='verdict {_verdict_class(result)}'>{escape(headline(result))}</p>",
             f"<h2>Budget: {escape(memory_words(result))}{escape(solver)}</h2>", budget_bar(result),
             "<p class='legend'>" + "".join(f"<span style='background:{_colour(c)}'></span>{escape(c)}"
                                             for c in cats) + "</p>",
             category_table(result),
             "<h2>Memory as Caffe allocates it</h2><p>Cumulative: what the process holds after each stage; "
             "the stage's own part in dark blue.</p>", allocation_chart(result),
             problems(result)]
    parts += [layer_table(result, k) for k in range(len(result.analysis.nets))]
    parts.append(f"<script>{SCRIPT}</script></div>")
    return "\n".join(parts)


def render_check(result: CheckResult) -> str:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>caffemem: {escape(result.analysis.source)}"
            f"</title></head><body style='margin:2em'>\n{body(result)}\n</body></html>\n")


def write(result: CheckResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem check --format html``."""
    out.write(render_check(result))


register_display(CheckResult, "html", body)

"""The human table of ``caffemem check``: one line per layer, fitted to the terminal.

Default columns: layer, type, top shape(s), params, multiply-adds, the layer's bytes and the
category holding most of them, and Caffe's running "Memory required for data". ``--wide`` adds a
column per memory category and gives Caffe's total in exact bytes, however wide that gets. Long
names and shapes are shortened in the middle (``incep…/3x3``) so the columns stay aligned; when
even that does not fit, the least needed columns are left out (and the table says which).
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import TextIO

from caffemem.commands.check import CheckResult
from caffemem.memory.model import NetFootprint
from caffemem.modes import Mode
from caffemem.net.build import BuiltNet
from caffemem.report.footprint_rows import (
    SHORT,
    categories_used,
    largest_layers,
    layer_rows,
    memory_words,
    net_macs,
    param_totals,
    verdict,
)
from caffemem.report.options import ReportOptions
from caffemem.report.units import human_bytes, human_count, thousands

#: Columns when the terminal's width is unknown (output piped to a file, a notebook).
DEFAULT_WIDTH = 100
LARGEST = 5


@dataclass
class Column:
    header: str
    right: bool = False  # numbers are right-aligned
    #: a text column that may be shortened: first to ``soft`` characters, and only when dropping
    #: columns was not enough, to ``hard`` (0: never shortened)
    soft: int = 0
    hard: int = 0
    drop: int = 0  # the order in which columns go when the line is still too wide (1 goes first; 0: never)
    rank: int = 0  # text columns are shortened in this order (then left to right)
    #: a list of items (top shapes, ", "-separated) is shortened by whole items from the end
    #: ("1x3x600x1000 +2"): a shape cut in its middle would read as another shape
    listing: bool = False


def shorten(text: str, width: int, ellipsis: str = "…") -> str:
    """``inception_3a/3x3`` in 10 characters: ``incep…/3x3`` (the middle goes, both ends stay)."""
    if len(text) <= width:
        return text
    if width <= len(ellipsis):
        return text[:width]
    keep = width - len(ellipsis)
    head = (keep + 1) // 2
    return text[:head] + ellipsis + text[len(text) - (keep - head):]


def shorten_list(text: str, width: int, ellipsis: str = "…") -> str:
    """``1x3x600x1000, 1x3, 1x4`` in 15 characters: ``1x3x600x1000 +2`` (whole items, then how many
    more); a first item longer than the width is shortened in the middle."""
    if len(text) <= width:
        return text
    items = text.split(", ")
    for keep in range(len(items) - 1, 0, -1):
        shown = ", ".join(items[:keep]) + f" +{len(items) - keep}"
        if len(shown) <= width:
            return shown
    return shorten(items[0], width, ellipsis) if len(items) == 1 else shorten(items[0] + f" +{len(items) - 1}",
                                                                               width, ellipsis)


def fit_table(columns: list[Column], rows: list[list[str]], width: int | None, ellipsis: str = "…"
              ) -> tuple[list[str], list[str]]:
    """The table's lines within ``width`` (None: no limit), and the headers of the columns left out.

    In order, until the lines fit: shorten text columns (left to right) to their ``soft`` width, use
    one space between columns instead of two, leave out columns by their ``drop`` order, shorten text
    columns down to their ``hard`` width.
    """
    natural = [max([len(columns[i].header)] + [len(r[i]) for r in rows]) for i in range(len(columns))]

    def plan(cols: list[int], gap: int, hard: bool) -> list[int] | None:
        widths = {i: natural[i] for i in cols}
        if width is None:
            return [widths[i] for i in cols]
        excess = sum(widths.values()) + gap * (len(cols) - 1) - width
        for i in sorted(cols, key=lambda i: columns[i].rank):
            if excess <= 0:
                break
            floor = columns[i].hard if hard else columns[i].soft
            if floor and widths[i] > floor:
                cut = min(excess, widths[i] - floor)
                widths[i] -= cut
                excess -= cut
        return [widths[i] for i in cols] if excess <= 0 else None

    keep = list(range(len(columns)))
    gap = 2
    widths = plan(keep, 2, False)
    if widths is None:
        gap = 1
        widths = plan(keep, 1, False)
    dropped: list[str] = []
    for i in sorted((i for i, c in enumerate(columns) if c.drop), key=lambda i: columns[i].drop):
        if widths is not None:
            break
        keep.remove(i)
        dropped.append(columns[i].header)
        widths = plan(keep, 1, False)
    if widths is None:
        widths = plan(keep, 1, True)
    if widths is None:  # nothing left to give: the narrowest table there is
        widths = [columns[i].hard or natural[i] for i in keep]
    sep = " " * gap

    def line(cells: list[str]) -> str:
        out = []
        for w, i in zip(widths, keep, strict=True):
            text = (shorten_list if columns[i].listing else shorten)(cells[i], w, ellipsis)
            out.append(text.rjust(w) if columns[i].right else text.ljust(w))
        return sep.join(out).rstrip()

    lines = [line([c.header for c in columns]), sep.join("-" * w for w in widths)]
    lines += [line(r) for r in rows]
    return lines, dropped


_UNIT = re.compile(r"(\d) (B|KiB|MiB|GiB|TiB)\b")


def wrap(text: str, width: int | None, indent: str = "") -> list[str]:
    """A sentence of prose in lines of at most ``width`` characters (continuation lines indented; a
    number and its unit stay together)."""
    if width is None or len(text) <= width:
        return [text]
    lead = len(text) - len(text.lstrip(" "))
    glued = _UNIT.sub("\\1\x00\\2", text)
    lines = textwrap.wrap(glued, width, initial_indent="", subsequent_indent=" " * lead + (indent or "  "),
                          break_on_hyphens=False) or [glued]
    return [line.replace("\x00", " ") for line in lines]


def _bytes_cell(n: int) -> str:
    return human_bytes(n) if n else ""


LEGEND = ("memory: what the layer holds, all categories (mostly: the largest); Caffe total: the running "
          "'Memory required for data' Caffe logs after the layer; MACs: forward multiply-adds")


def net_table(net: BuiltNet, fp: NetFootprint, cats: list[str], width: int | None = DEFAULT_WIDTH,
              wide: bool = False, ellipsis: str = "…", legend: bool = False) -> list[str]:
    columns = [Column("layer", soft=16, hard=10), Column("type", soft=11, hard=8),
               Column("top shape(s)", soft=18, hard=10, listing=True),
               Column("params", right=True), Column("MACs", right=True, drop=2)]
    if wide:
        cats = [c for c in cats if c != "runtime" and fp.by_category.get(c)]
        columns += [Column(SHORT.get(c, c), right=True) for c in cats]
        columns += [Column("total", right=True), Column("Caffe total B", right=True)]
    else:
        columns += [Column("memory", right=True), Column("mostly", drop=1), Column("Caffe total", right=True, drop=3)]
    rows = []
    for r in layer_rows(net, fp):
        cells = [r.name, r.type, r.tops, thousands(r.params) if r.params else "",
                 human_count(r.macs) if r.macs else ("?" if r.macs is None else "")]
        if wide:
            cells += [_bytes_cell(r.bytes.get(c, 0)) for c in cats]
            cells += [_bytes_cell(r.total), thousands(r.data_bytes)]
        else:
            cells += [_bytes_cell(r.total), SHORT.get(r.dominant or "", r.dominant or ""),
                      human_bytes(r.data_bytes)]
        rows.append(cells)
    lines, dropped = fit_table(columns, rows, None if wide else width, ellipsis)
    if dropped:
        lines += wrap(f"(too narrow for {', '.join(dropped)}: widen the terminal, or use --wide)", width)
    if legend and not wide:
        lines += wrap(f"({LEGEND})", width, " ")
    total = net.memory_required_for_data
    lines.append("")
    lines += wrap(f"{net.phase_name} net '{net.name}' ({fp.role}): {len(net.layers)} layers, "
                  f"holding {human_bytes(fp.total_bytes)}", width)
    lines += wrap("Caffe logs Memory required for data: "
                  + (f"{total:,} ({human_bytes(total)})" if total is not None else "unknown"), width)
    params = param_totals(net)
    macs = net_macs(net)
    lines += [f"Total params: {params.total:,}", f"Trainable params: {params.trainable:,}",
              f"Non-trainable params (frozen, lr_mult 0): {params.frozen:,}",
              "Total mult-adds (forward, per batch): "
              + (human_count(macs) if macs is not None else "? (some shapes unknown)")]
    if fp.role_reason:
        lines += wrap(f"  role {fp.role}: {fp.role_reason}", width)
    for layer in net.unanalysed_layers:
        lines += wrap(f"  not analysed: {layer.name} ({layer.type}): {layer.unknown}", width, "    ")
    return lines


def weights_lines(match: object) -> list[str]:
    """What loading the .caffemodel does to this net: layers copied, ignored, left unfilled."""
    source = getattr(match, "source", "")
    ignored = list(getattr(match, "ignored_source_layers", []) or [])
    unfilled = list(getattr(match, "unfilled_layers", []) or [])
    copied = getattr(match, "copied", None)
    n_copied = len(copied) if isinstance(copied, list | tuple | dict) else copied
    lines = [f"Weights {source}: {n_copied} layer(s) copied"
             + (f", {human_bytes(getattr(match, 'file_bytes', 0))} file" if getattr(match, "file_bytes", 0) else "")]
    if ignored:
        lines.append(f"  in the file but not used by the net ({len(ignored)}): {', '.join(ignored[:12])}"
                     + (" ..." if len(ignored) > 12 else ""))
    if unfilled:
        lines.append(f"  net layers the file does not fill (they keep their fillers' values) ({len(unfilled)}): "
                     f"{', '.join(unfilled[:12])}" + (" ..." if len(unfilled) > 12 else ""))
    return lines


def largest_lines(result: CheckResult, width: int | None, ellipsis: str) -> list[str]:
    found = largest_layers(result, LARGEST)
    if not found:
        return []
    total = result.footprint.total_bytes or 1
    lines = [f"Largest layers (of {human_bytes(result.footprint.total_bytes)}):"]
    rows = []
    for k, item in enumerate(found, 1):
        parts = sorted(item.bytes.items(), key=lambda kv: -kv[1])[:2]
        rows.append([f"{k}.", (f"{item.net} " if item.net else "") + item.layer, item.type, human_bytes(item.total),
                     f"{item.total / total:.0%}", ", ".join(f"{SHORT.get(c, c)} {human_bytes(n)}" for c, n in parts)])
    columns = [Column("#", right=True), Column("layer", soft=16, hard=10), Column("type", soft=11, hard=8),
               Column("bytes", right=True), Column("share", right=True), Column("mostly", soft=20, hard=12, rank=-1)]
    table, _ = fit_table(columns, rows, None if width is None else width - 2, ellipsis)
    return lines + ["  " + line for line in table[2:]]


def render_check(result: CheckResult, width: int | None = DEFAULT_WIDTH, wide: bool = False,
                 ellipsis: str = "…") -> str:
    analysis = result.analysis
    limit = None if wide else width
    out: list[str] = wrap(f"{analysis.source} ({analysis.kind})", limit)
    upgrades = sorted({u for n in analysis.loaded for u in n.upgrades})
    if upgrades:
        out += wrap("legacy format upgraded in memory as Caffe does: " + ", ".join(upgrades), limit)
    cats = categories_used(result)
    for k, (net, fp) in enumerate(zip(analysis.nets, result.footprint.nets, strict=True)):
        out.append("")
        out.extend(net_table(net, fp, cats, width, wide, ellipsis, legend=k == 0))
    fpr = result.footprint
    if result.weights is not None:
        out.append("")
        for line in weights_lines(result.weights):
            out += wrap(line, limit, "    ")
    out.append("")
    out += largest_lines(result, limit, ellipsis)
    out.append("")
    solver = f", solver {fpr.solver_type}" if fpr.solver_type else ""
    out.append(f"Footprint, {memory_words(result)}{solver}:")
    for cat, n in fpr.by_category.items():
        out.append(f"  {cat:<22} {human_bytes(n):>12}")
    out.append(f"  {'total':<22} {human_bytes(fpr.total_bytes):>12}")
    if fpr.mode == Mode.GPU:
        out += wrap(f"  (the process also holds about {human_bytes(fpr.host_bytes)} of host memory, pinned "
                    "parameter and prefetch copies included)", limit)
    out.append("")
    clauses = verdict(result)
    for k, clause in enumerate(clauses):
        out += wrap(("  " if k else "") + clause + (";" if k < len(clauses) - 1 else ""), limit, "    ")
    return "\n".join(out) + "\n"


def _ellipsis(out: TextIO) -> str:
    try:
        "…".encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return "~"
    return "…"


def write(result: CheckResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem check --format table``: ``options.width`` columns (100 when unknown), or ``--wide``."""
    out.write(render_check(result, options.width or DEFAULT_WIDTH, options.wide, _ellipsis(out)))

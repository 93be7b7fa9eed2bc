"""The human table of ``caffemem check``: per layer tops, params, Caffe's data total and real bytes."""

from __future__ import annotations

from typing import TextIO

from caffemem.commands.check import CheckResult
from caffemem.memory.model import NetFootprint
from caffemem.modes import Mode
from caffemem.net.build import BuiltNet
from caffemem.report.footprint_rows import categories_used, headline, layer_rows
from caffemem.report.options import ReportOptions
from caffemem.report.units import human_bytes

_SHORT = {"activations": "act", "activation_gradients": "act grad", "weights": "weights",
          "weight_gradients": "w grad", "solver_history": "history", "layer_buffers": "buffers",
          "cudnn_workspace": "cudnn ws", "prefetch": "prefetch", "weights_loading": "loading",
          "runtime": "runtime"}


def _mb(n: int) -> str:
    return f"{n / 2**20:,.1f}" if n else ""


def net_table(net: BuiltNet, fp: NetFootprint, cats: list[str]) -> list[str]:
    cats = [c for c in cats if c != "runtime" and fp.by_category.get(c)]
    header = ["layer", "type", "top shapes", "params", "Caffe data B"] + [f"{_SHORT.get(c, c)} MiB" for c in cats]
    rows = [header]
    for r in layer_rows(net, fp):
        rows.append([r.name, r.type, r.tops, f"{r.params:,}" if r.params else "",
                     f"{r.data_bytes:,}" if r.data_bytes is not None else "?"] + [_mb(r.bytes.get(c, 0)) for c in cats])
    widths = [min(max(len(row[i]) for row in rows), 40) for i in range(len(header))]
    lines = []
    for k, row in enumerate(rows):
        cells = [row[i].ljust(widths[i]) if i < 3 else row[i].rjust(widths[i]) for i in range(len(row))]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    total = net.memory_required_for_data
    lines.append("")
    lines.append(f"{net.phase_name} net '{net.name}' ({fp.role}): {len(net.layers)} layers, "
                 f"{net.param_count:,} parameters; Caffe logs Memory required for data: "
                 + (f"{total:,} ({human_bytes(total)})" if total is not None else "unknown")
                 + f"; this net holds {human_bytes(fp.total_bytes)}")
    if fp.role_reason:
        lines.append(f"  role {fp.role}: {fp.role_reason}")
    for layer in net.unanalysed_layers:
        lines.append(f"  not analysed: {layer.name} ({layer.type}): {layer.unknown}")
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


def render_check(result: CheckResult) -> str:
    analysis = result.analysis
    out: list[str] = [f"{analysis.source} ({analysis.kind})"]
    upgrades = sorted({u for n in analysis.loaded for u in n.upgrades})
    if upgrades:
        out.append("legacy format upgraded in memory as Caffe does: " + ", ".join(upgrades))
    cats = categories_used(result)
    for net, fp in zip(analysis.nets, result.footprint.nets, strict=True):
        out.append("")
        out.extend(net_table(net, fp, cats))
    fpr = result.footprint
    if result.weights is not None:
        out += [""] + weights_lines(result.weights)
    out.append("")
    solver = f", solver {fpr.solver_type}" if fpr.solver_type else ""
    out.append(f"Footprint ({fpr.mode} mode{solver}):")
    for cat, n in fpr.by_category.items():
        out.append(f"  {cat:<22} {human_bytes(n):>12}")
    out.append(f"  {'total':<22} {human_bytes(fpr.total_bytes):>12}")
    if fpr.mode == Mode.GPU:
        out.append(f"  (GPU memory{' per GPU' if fpr.gpus > 1 else ''}; the process also holds about "
                   f"{human_bytes(fpr.host_bytes)} of host memory, pinned parameter and prefetch copies included)")
    out.append("")
    out.append(headline(result))
    return "\n".join(out) + "\n"


def write(result: CheckResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem check --format table``."""
    out.write(render_check(result))

"""The human table of ``caffemem check``: per layer tops, params and Caffe's running data total."""

from __future__ import annotations

from caffemem.layers.registry import count
from caffemem.net.analyze import Analysis
from caffemem.net.build import BuiltNet
from caffemem.report.units import human_bytes


def _shape(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "?"
    return "x".join(str(d) for d in shape) if shape else "scalar"


def net_table(net: BuiltNet) -> list[str]:
    rows = [("layer", "type", "top shapes", "params", "data bytes (Caffe)")]
    for layer in net.layers:
        tops = ", ".join(_shape(s) for s in layer.top_shapes) or "-"
        nparams = sum(count(p.shape) for p in layer.params if not p.shared)
        params = f"{nparams:,}" if nparams else ("shared" if layer.params else "")
        mem = f"{layer.memory_required_for_data:,}" if layer.memory_required_for_data is not None else "?"
        rows.append((layer.name, layer.type, tops, params, mem))
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(5)]
    lines = []
    for k, r in enumerate(rows):
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].ljust(widths[2]), r[3].rjust(widths[3]),
                 r[4].rjust(widths[4])]
        lines.append("  ".join(cells).rstrip())
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    total = net.memory_required_for_data
    lines.append("")
    lines.append(f"{net.phase_name} net '{net.name}': {len(net.layers)} layers, {net.param_count:,} parameters "
                 f"({human_bytes(net.param_count * 4)}), Memory required for data: "
                 + (f"{total:,} ({human_bytes(total)})" if total is not None else "unknown"))
    for layer in net.unanalysed_layers:
        lines.append(f"  not analysed: {layer.name} ({layer.type}): {layer.unknown}")
    return lines


def render(analysis: Analysis) -> str:
    out: list[str] = [f"{analysis.source} ({analysis.kind})"]
    upgrades = sorted({u for n in analysis.loaded for u in n.upgrades})
    if upgrades:
        out.append("legacy format upgraded in memory as Caffe does: " + ", ".join(upgrades))
    for net in analysis.nets:
        out.append("")
        out.extend(net_table(net))
    return "\n".join(out) + "\n"

"""Rows shared by the table, CSV, Markdown and HTML writers: one place decides what a row holds."""

from __future__ import annotations

from dataclasses import dataclass

from caffemem.categories import ORDER
from caffemem.categories import Category as C
from caffemem.commands.check import CheckResult
from caffemem.layers.registry import count
from caffemem.memory.model import NetFootprint
from caffemem.modes import Mode
from caffemem.net.build import BuiltLayer, BuiltNet
from caffemem.report.units import human_bytes


def shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "?"
    return "x".join(str(d) for d in shape) if shape else "scalar"


@dataclass
class LayerRow:
    name: str
    type: str
    tops: str
    params: int
    data_bytes: int | None  # Caffe's cumulative "Memory required for data"
    bytes: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.bytes.values())


def layer_rows(net: BuiltNet, fp: NetFootprint) -> list[LayerRow]:
    rows = []
    for layer in net.layers:
        rows.append(LayerRow(layer.name, layer.type, ", ".join(shape_text(s) for s in layer.top_shapes) or "-",
                             own_params(layer), layer.memory_required_for_data, dict(fp.by_layer.get(layer.name, {}))))
    return rows


def own_params(layer: BuiltLayer) -> int:
    return sum(count(p.shape) for p in layer.params if not p.shared)


def categories_used(result: CheckResult) -> list[str]:
    used = result.footprint.by_category
    return [c for c in ORDER if used.get(c)]


def biggest_fixed_consumer(result: CheckResult) -> tuple[str, int] | None:
    """The layer whose weights, gradients and solver state cost the most."""
    fixed = (C.WEIGHTS, C.WEIGHT_GRADIENTS, C.SOLVER_HISTORY)
    best: tuple[str, int] | None = None
    for fp in result.footprint.nets:
        for name, cats in fp.by_layer.items():
            n = sum(cats.get(c, 0) for c in fixed)
            if n and (best is None or n > best[1]):
                best = (name, n)
    return best


def headline(result: CheckResult) -> str:
    fp = result.footprint
    unknown = [layer for net in result.analysis.nets for layer in net.unanalysed_layers]
    if unknown:
        return (f"INCOMPLETE: {len(unknown)} layer(s) could not be analysed (see 'not analysed' above); "
                f"the run needs more than {human_bytes(fp.total_bytes)}")
    where = "on the GPU" if fp.mode == Mode.GPU else "in host memory (CPU mode)"
    per_gpu = " per GPU" if fp.mode == Mode.GPU and fp.gpus > 1 else ""
    text = f"needs {human_bytes(fp.total_bytes)}{per_gpu} {where}"
    fit = result.fit
    if fit is None:
        return text
    if fit.budget_name == "the budget":
        text = f"needs {human_bytes(fp.total_bytes)}{per_gpu}, budget {human_bytes(fit.budget_bytes)}"
    else:
        text = f"needs {human_bytes(fp.total_bytes)}{per_gpu} on {fit.budget_name} ({human_bytes(fit.budget_bytes)})"
    if fit.fits:
        text += ": fits"
        if fit.max_batch is not None:
            text += f" (largest batch that fits: {fit.max_batch})"
        return text
    text += ": will not fit"
    if fit.max_batch is not None and fit.max_batch >= 1:
        text += f" — largest batch that fits: {fit.max_batch}"
    elif fit.fixed_bytes is not None:
        text += (f" — not even at batch 1: what does not depend on the batch (weights, gradients, solver state, "
                 f"the process) needs {human_bytes(fit.fixed_bytes)}")
        big = biggest_fixed_consumer(result)
        if big is not None:
            text += f", {human_bytes(big[1])} of it for layer {big[0]}: make it smaller"
        if fp.solver_type not in (None, "SGD"):
            text += f", use a solver with less state than {fp.solver_type}"
        text += ", or use more memory"
    return text

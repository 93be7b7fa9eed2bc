"""Rows shared by the table, CSV, Markdown and HTML writers: one place decides what a row holds,
and what the verdict says."""

from __future__ import annotations

from dataclasses import dataclass

from caffemem.categories import ORDER
from caffemem.categories import Category as C
from caffemem.commands.check import CheckResult
from caffemem.layers.registry import count
from caffemem.memory.macs import layer_macs, net_macs
from caffemem.memory.model import NetFootprint
from caffemem.modes import Mode, Role
from caffemem.net.build import BuiltLayer, BuiltNet
from caffemem.report.units import human_bytes, same_unit_bytes

#: Short names of categories, for narrow columns.
SHORT = {C.ACTIVATIONS: "act", C.ACTIVATION_GRADIENTS: "act grad", C.WEIGHTS: "weights",
         C.WEIGHT_GRADIENTS: "w grad", C.SOLVER_HISTORY: "history", C.LAYER_BUFFERS: "buffers",
         C.CUDNN_WORKSPACE: "cudnn ws", C.PREFETCH: "prefetch", C.WEIGHTS_LOADING: "loading",
         C.MULTI_GPU: "nccl", C.SNAPSHOT: "snapshot", C.RUNTIME: "runtime"}


def shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "?"
    return "x".join(str(d) for d in shape) if shape else "scalar"


def tops_text(shapes: list[tuple[int, ...] | None]) -> str:
    """Top shapes of a layer: a Split's seven equal tops as ``7x 32x3x300x300``, not the shape seven times."""
    if not shapes:
        return "-"
    runs: list[list] = []  # [text, repeats]: equal neighbours told once
    for text in (shape_text(s) for s in shapes):
        if runs and runs[-1][0] == text:
            runs[-1][1] += 1
        else:
            runs.append([text, 1])
    return ", ".join(f"{n}x {text}" if n > 1 else text for text, n in runs)


@dataclass
class LayerRow:
    name: str
    type: str
    tops: str
    params: int
    data_bytes: int | None  # Caffe's cumulative "Memory required for data"
    bytes: dict[str, int]
    macs: int | None = None  # forward multiply-adds (caffemem.memory.macs)

    @property
    def total(self) -> int:
        return sum(self.bytes.values())

    @property
    def dominant(self) -> str | None:
        """The category holding most of this layer's bytes."""
        if not self.bytes or not self.total:
            return None
        return max(self.bytes.items(), key=lambda kv: kv[1])[0]


def layer_rows(net: BuiltNet, fp: NetFootprint) -> list[LayerRow]:
    rows = []
    for layer in net.layers:
        rows.append(LayerRow(layer.name, layer.type, tops_text(layer.top_shapes), own_params(layer),
                             layer.memory_required_for_data, dict(fp.by_layer.get(layer.name, {})),
                             layer_macs(layer)))
    return rows


def own_params(layer: BuiltLayer) -> int:
    return sum(count(p.shape) for p in layer.params if not p.shared)


@dataclass
class ParamTotals:
    """torchinfo's three parameter lines: trainable means Caffe updates it (lr_mult is not 0)."""

    total: int
    trainable: int

    @property
    def frozen(self) -> int:
        return self.total - self.trainable


def param_totals(net: BuiltNet) -> ParamTotals:
    owners = net.learnable_params()
    return ParamTotals(sum(count(p.shape) for p in owners), sum(count(p.shape) for p in owners if p.lr_mult != 0))


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


@dataclass
class Largest:
    net: str  # "TRAIN net 'x'" when the run has several nets, else ""
    layer: str
    type: str
    bytes: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.bytes.values())


def largest_layers(result: CheckResult, top: int = 5) -> list[Largest]:
    """The layers holding most bytes across the run's nets, largest first."""
    nets = result.analysis.nets
    found = []
    for net, fp in zip(nets, result.footprint.nets, strict=True):
        label = f"{net.phase_name}" if len(nets) > 1 else ""
        types = {layer.name: layer.type for layer in net.layers}
        for name, cats in fp.by_layer.items():
            if sum(cats.values()):
                found.append(Largest(label, name, types.get(name, "?"), dict(cats)))
    found.sort(key=lambda x: -x.total)
    return found[:top]


def memory_words(result: CheckResult) -> str:
    """Which memory a figure is of: 'host memory (CPU mode)', 'GPU memory per device'."""
    fp = result.footprint
    if fp.mode == Mode.GPU:
        return "GPU memory per device" + (f" (each of {fp.gpus} GPUs)" if fp.gpus > 1 else "")
    return "host memory (CPU mode)"


def batch_words(result: CheckResult) -> str:
    """The batches the figures assume: 'TRAIN batch 64, TEST batch 100', or 'batch 10'."""
    parts: list[str] = []
    seen: set[str] = set()
    for net in result.analysis.nets:
        batch = net.data_batch
        if not batch:
            continue
        text = f"{net.phase_name} batch {batch}" if len(result.analysis.nets) > 1 else f"batch {batch}"
        if text not in seen:
            seen.add(text)
            parts.append(text)
    return ", ".join(parts)


def allocation_stages(result: CheckResult) -> list[tuple[str, int]]:
    """The run's bytes in the order Caffe first touches them, as (stage, bytes added).

    The process and the weights at set-up, the train net's tops and buffers at the first forward,
    its gradients at the first backward, the test nets at the first test pass, the solver's history
    at the first update, the copy a snapshot makes (CPU mode) when the first one is written. Stages
    adding nothing (no backward in a forward-only run) are left out; the sum is the run's total.
    """
    fp = result.footprint
    setup_cats = {C.WEIGHTS, C.PREFETCH, C.WEIGHTS_LOADING, C.MULTI_GPU, C.RUNTIME}
    backward_cats = {C.ACTIVATION_GRADIENTS, C.WEIGHT_GRADIENTS}
    stages = {"set-up": 0, "first forward": 0, "first backward": 0, "test net": 0, "solver history": 0,
              "snapshot": 0}
    for cat, n in fp.extra.items():
        stages["snapshot" if cat == C.SNAPSHOT else "solver history" if cat == C.SOLVER_HISTORY else "set-up"] += n
    stages["set-up"] += fp.runtime_bytes
    for net in fp.nets:
        for cat, n in net.by_category.items():
            if cat in setup_cats:
                stages["set-up"] += n
            elif cat == C.SOLVER_HISTORY:
                stages["solver history"] += n
            elif cat == C.SNAPSHOT:
                stages["snapshot"] += n
            elif net.role == Role.TEST:
                stages["test net"] += n
            elif cat in backward_cats:
                stages["first backward"] += n
            else:
                stages["first forward"] += n
    return [(k, v) for k, v in stages.items() if v]


def needed_and_budget(needed: int, budget: int, tight: bool) -> tuple[str, str]:
    """Both sizes as a verdict prints them: one decimal, unless tight or equal-looking (then more)."""
    a, b = human_bytes(needed), human_bytes(budget)
    if tight or a == b:
        return same_unit_bytes(needed, budget, 2)
    return a, b


def verdict(result: CheckResult) -> list[str]:
    """The verdict in clauses: how much of which memory at which batches; against the budget; what would
    fit. Writers print them on one line (:func:`headline`) or one clause a line (the table)."""
    fp = result.footprint
    memory = memory_words(result)
    batches = batch_words(result)
    at = f" at {batches}" if batches else ""
    unknown = [layer for net in result.analysis.nets for layer in net.unanalysed_layers]
    if unknown:
        return [f"INCOMPLETE: {len(unknown)} layer(s) could not be analysed (see 'not analysed' above)",
                f"the run needs more than {human_bytes(fp.total_bytes)} of {memory}{at}"]
    fit = result.fit
    if fit is None:
        return [f"needs {human_bytes(fp.total_bytes)} of {memory}{at}"]
    needed, budget = needed_and_budget(fp.total_bytes, fit.budget_bytes, fit.tight)
    clauses = [f"needs {needed} of {memory}{at}"]
    against = f"budget {budget}" if fit.budget_name == "the budget" else f"on {fit.budget_name} ({budget})"
    several = len(result.analysis.nets) > 1
    every = " (every data layer at that batch, TEST nets' included)" if several else ""
    if fit.fits:
        against += ": fits"
        if fit.tight:
            against += f", but tight ({fit.share:.1%} of it, within the estimate's error)"
        clauses.append(against)
        if fit.max_batch is not None:
            clauses.append(f"largest batch that fits: {fit.max_batch}{every}")
        return clauses
    against += ": will not fit"
    if fit.tight:
        against += f", but it is tight ({fit.share:.1%} of it, within the estimate's error)"
    clauses.append(against)
    if fit.max_batch is not None and fit.max_batch >= 1:
        clauses.append(f"largest batch that fits: {fit.max_batch}{every}")
    elif fit.fixed_bytes is not None:
        text = (f"not even at batch 1: what does not depend on the batch (weights, gradients, solver state, "
                f"the process) needs {human_bytes(fit.fixed_bytes)}")
        big = biggest_fixed_consumer(result)
        if big is not None:
            text += f", {human_bytes(big[1])} of it for layer {big[0]}: make it smaller"
        if fp.solver_type not in (None, "SGD"):
            text += f", use a solver with less state than {fp.solver_type}"
        text += ", or use more memory"
        clauses.append(text)
    return clauses


def headline(result: CheckResult) -> str:
    """The verdict in one sentence: how much of which memory, at which batches, and against the budget."""
    clauses = verdict(result)
    if len(clauses) == 1:
        return clauses[0]
    text = "; ".join(clauses[:2])
    return text + (" — " + "; ".join(clauses[2:]) if clauses[2:] else "")


def unanalysed(result: CheckResult) -> list[tuple[str, BuiltLayer]]:
    """Every layer caffemem could not analyse, with its net's phase: roots (the cause) first."""
    out = [(net.phase_name, layer) for net in result.analysis.nets for layer in net.unanalysed_layers]
    return sorted(out, key=lambda pl: pl[1].unknown_upstream)


__all__ = ["SHORT", "Largest", "LayerRow", "ParamTotals", "allocation_stages", "batch_words", "biggest_fixed_consumer",
           "categories_used", "headline", "largest_layers", "layer_rows", "memory_words", "needed_and_budget",
           "net_macs", "own_params", "param_totals", "shape_text", "tops_text", "unanalysed", "verdict"]

"""Why a Caffe run died: the log's ending, the run's real footprint, its biggest consumers, a fix.

The footprint comes from the best net available: the one the user names (exact), the net text
Caffe echoed into the log (exact), or a net rebuilt from the logged shapes (an estimate whose
guesses are listed). The verdict reuses the same memory model as ``caffemem check``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from caffemem.commands.display import Displayable
from caffemem.commands.lognet import compare_with_log, logged_batch, net_builder
from caffemem.layers.registry import count
from caffemem.logs import read_log
from caffemem.logs.model import Run
from caffemem.logs.select import pick_run
from caffemem.memory.budget import Budget
from caffemem.memory.fit import Fit, judge
from caffemem.memory.model import RunFootprint, run_footprint
from caffemem.memory.plan import roles_of
from caffemem.modes import Mode
from caffemem.net.build import BuiltNet
from caffemem.net.solver_types import solver_type_from_text


@dataclass
class Consumer:
    """One of the layers that hold the most memory."""

    layer: str
    type: str
    params: int
    bytes: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.bytes.values())


@dataclass
class PostMortem(Displayable):
    source: str
    run: Run
    run_count: int
    net_origin: str  # "given", "echoed in the log", "rebuilt from the log's shapes"
    nets: list[BuiltNet]
    footprint: RunFootprint | None
    solver_type: str
    batch: int | None
    guesses: list[str] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)
    fit: Fit | None = None
    at_batch_one: int | None = None  # the footprint at batch 1, when no budget was given
    notes: list[str] = field(default_factory=list)

    @property
    def logged_memory(self) -> list[tuple[str | None, int | None]]:
        return [(n.phase, n.memory_required_for_data) for n in self.run.nets if n.nested_in is None]

    def to_dict(self) -> dict[str, Any]:
        """Plain data: exactly what ``caffemem postmortem --format json`` writes."""
        return postmortem_dict(self)

    def __repr__(self) -> str:
        end = self.run.end
        fits = f", fits={self.fit.fits}, max_batch={self.fit.max_batch}" if self.fit is not None else ""
        total = f", total_bytes={self.footprint.total_bytes:,}" if self.footprint is not None else ""
        return (f"<PostMortem {self.source!r} run {self.run.index + 1} of {self.run_count}: {end.status}"
                + (f" ({end.crash_kind})" if end.crash_kind else "") + f"{total}{fits}>")


def postmortem_dict(pm: PostMortem) -> dict[str, Any]:
    """The post-mortem's JSON contract (keys are only ever added)."""
    end = pm.run.end
    fp = pm.footprint
    return {
        "source": pm.source,
        "run": pm.run.index + 1,
        "runs": pm.run_count,
        "end": {"status": end.status, "crash_kind": end.crash_kind, "iteration": end.iteration,
                "phase": end.phase, "layer": end.layer, "message": end.message, "where": end.where()},
        "net_origin": pm.net_origin,
        "guesses": pm.guesses,
        "batch": pm.batch,
        "solver_type": pm.solver_type,
        "footprint": None if fp is None else {"mode": fp.mode, "total_bytes": fp.total_bytes,
                                              "by_category": dict(fp.by_category)},
        "logged_memory_required_for_data": [m for _, m in pm.logged_memory],
        "consumers": [{"layer": c.layer, "type": c.type, "params": c.params, "bytes": c.bytes,
                       "total_bytes": c.total} for c in pm.consumers],
        "max_batch": pm.fit.max_batch if pm.fit is not None else None,
        "fits": pm.fit.fits if pm.fit is not None else None,
        "bytes_at_batch_1": pm.at_batch_one,
    }


def solver_type_of(run: Run, default: str = "SGD") -> str:
    """The solver the log's echoed solver names (``type`` or the deprecated ``solver_type``), else ``default``."""
    found = solver_type_from_text(run.solver.get("type", ""), run.solver.get("solver_type", ""))
    return found if found is not None else default


def mode_of(run: Run) -> Mode:
    """GPU mode when the log names GPUs or died of CUDA out of memory, else CPU."""
    return Mode.GPU if run.gpus or run.end.crash_kind == "cuda_out_of_memory" else Mode.CPU


def _consumers(nets: list[BuiltNet], fp: RunFootprint, top: int = 3) -> list[Consumer]:
    out = []
    for net, nfp in zip(nets, fp.nets, strict=True):
        for layer in net.layers:
            bytes_ = dict(nfp.by_layer.get(layer.name, {}))
            if bytes_:
                params = sum(count(p.shape) for p in layer.params if not p.shared)
                out.append(Consumer(f"{layer.name}", layer.type, params, bytes_))
    merged: dict[tuple[str, str], Consumer] = {}
    for c in out:  # the same layer in the train and test nets: one consumer
        key = (c.layer, c.type)
        if key in merged:
            for k, v in c.bytes.items():
                merged[key].bytes[k] = merged[key].bytes.get(k, 0) + v
        else:
            merged[key] = c
    return sorted(merged.values(), key=lambda c: -c.total)[:top]


def postmortem(log_path: str, net_path: str | None = None, budget: Budget | None = None,
               run_index: int | None = None) -> PostMortem:
    """Read ``log_path`` and explain how its run ended and what it needed."""
    report = read_log(log_path)
    try:
        run = pick_run(report, run_index)
        origin, build, guesses = net_builder(run, net_path, log_path)
        batch = logged_batch(run)
        mode = mode_of(run)
        stype = solver_type_of(run)
        notes: list[str] = []
        nets = build(None)  # each net at the batch it ran with
        if net_path:
            notes += compare_with_log(run, nets)
        fp = run_footprint(nets, roles_of(nets), mode, stype) if nets else None
        pm = PostMortem(log_path, run, len(report.runs), origin, nets, fp, stype, batch, guesses, notes=notes)
        if fp is not None:
            pm.consumers = _consumers(nets, fp)
            if budget is not None:

                def at(b: int) -> int:
                    built = build(b)
                    return run_footprint(built, roles_of(built), mode, stype).total_bytes

                analysable = not any(n.unanalysed_layers for n in nets)
                pm.fit, more = judge(Budget(*budget), fp.total_bytes, at if analysable else None, 1)
                pm.notes += more
            elif batch and batch > 1:
                built = build(1)
                pm.at_batch_one = run_footprint(built, roles_of(built), mode, stype).total_bytes
        return pm
    finally:
        report.close()

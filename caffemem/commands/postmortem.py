"""Why a Caffe run died: the log's ending, the run's real footprint, its biggest consumers, a fix.

The footprint comes from the best net available: the one the user names (exact), the net text
Caffe echoed into the log (exact), or a net rebuilt from the logged shapes (an estimate whose
guesses are listed). The verdict reuses the same memory model as ``caffemem check``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from caffemem.categories import Category as C
from caffemem.commands.display import Displayable
from caffemem.commands.lognet import compare_with_log, logged_batch, net_builder
from caffemem.errors import CaffememError
from caffemem.layers.registry import count
from caffemem.layers.types import type_of_source_file
from caffemem.logs import ProgressCallback, read_log
from caffemem.logs.causes import Cause, ending, explain, layer_in_stack
from caffemem.logs.model import CrashKind, EndStatus, LogReport, Run
from caffemem.logs.select import pick_run
from caffemem.memory.budget import Budget, device_budget
from caffemem.memory.devices import lookup_device
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
class DeviceInfo:
    """The GPU the verdict is for: from the log (its name, or NVCaffe's total memory) or the options."""

    name: str
    bytes: int | None
    count: int
    source: str  # "log" or "option"
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "count": self.count, "from": self.source}


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
    cause: Cause | None = None
    ending: str = ""
    layer_type: str | None = None
    device: DeviceInfo | None = None
    no_net: str | None = None  # why no memory figures could be had
    heaviest: Consumer | None = None  # the layer with the most weights
    memory_notes: list[str] = field(default_factory=list)  # why the prediction and the ending may differ

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
                "phase": end.phase, "layer": end.layer, "message": end.message, "where": end.where(),
                "step": end.step, "source": end.source,
                "layer_type": pm.layer_type},
        "ending": pm.ending,
        "cause": pm.cause.to_dict() if pm.cause is not None else None,
        "divergence": pm.run.divergence.to_dict() if pm.run.divergence is not None else None,
        "device": pm.device.to_dict() if pm.device is not None else None,
        "no_net": pm.no_net,
        "notes": pm.notes + pm.memory_notes,
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
    """GPU mode when the log says so (``Use GPU``, ``Using GPUs``, ``solver_mode: GPU``, a GPU's name) or
    the run died of CUDA out of memory, else CPU."""
    if run.gpus or run.device.mode == "GPU" or run.end.crash_kind == "cuda_out_of_memory":
        return Mode.GPU
    return Mode.CPU


def device_of(run: Run) -> DeviceInfo | None:
    """The GPU the log names, with its memory: NVCaffe's own figure, else the catalogue's."""
    dev = run.device
    if dev.mode != "GPU" and not dev.names and not dev.total_bytes:
        return None
    ids = dev.ids or sorted(dev.names) or sorted(dev.total_bytes)
    first = ids[0] if ids else 0
    name = dev.names.get(first) or (next(iter(dev.names.values())) if dev.names else None)
    count_ = dev.count or 1
    if first in dev.total_bytes or dev.total_bytes:
        total = dev.total_bytes.get(first, next(iter(dev.total_bytes.values())))
        return DeviceInfo(name or f"GPU {first}", total, count_, "log")
    if name is None:
        return DeviceInfo(f"GPU {first}", None, count_, "log", "the log does not name the GPU")
    try:
        match = lookup_device(name)
    except CaffememError:
        return DeviceInfo(name, None, count_, "log", f"'{name}' is not in the device catalogue: give --mem SIZE")
    return DeviceInfo(name, match.bytes, count_, "log", match.note)


def layer_type_of(run: Run, nets: list[BuiltNet]) -> str | None:
    """The type of the layer the run died in: from the stack trace, the net, or its set-up lines."""
    found = layer_in_stack(run.end.frames or run.end.last_lines)
    if found is not None:
        return found[0]
    in_file = type_of_source_file(run.end.source) if run.end.source else None
    if in_file is not None:  # the fatal line came from that type's own source file
        return in_file
    name = run.end.layer
    if name is None:
        return None
    for net in nets:
        for layer in net.layers:
            if layer.name == name:
                return str(layer.type)
    for lnet in run.nets:
        layer = lnet.layer(name)
        if layer is not None and layer.type_hint:
            return layer.type_hint
    return None


def check_is_log(report: LogReport) -> None:
    """Refuse a file that holds nothing of a Caffe run (an empty file, a text file of something else)."""
    if any(r.glog_lines or r.end.status == EndStatus.CRASHED or len(r.train) or r.nets for r in report.runs):
        return
    raise CaffememError("not a Caffe log: no glog line and no crash message in it", report.source)


_MEMORY_DEATHS = (CrashKind.CUDA_OUT_OF_MEMORY, CrashKind.HOST_OUT_OF_MEMORY, CrashKind.KILLED)


def _why_differ(pm: PostMortem, fit: Fit) -> list[str]:
    """A run that died of memory but is predicted to fit: what the prediction does not see."""
    end = pm.run.end
    notes = [f"the prediction fits {fit.budget_name}, yet the run died of memory: the two can differ because"]
    if end.crash_kind == CrashKind.CUDA_OUT_OF_MEMORY:
        notes.append("other processes held memory on the same GPU (another training, a notebook; nvidia-smi shows "
                     "them)")
        notes.append("the display or the desktop uses part of the card when it drives a monitor")
        notes.append("cudaMalloc needs contiguous blocks: fragmentation and the allocator's rounding add up")
        notes.append("cuDNN may pick workspaces larger than predicted for some algorithms")
    else:
        notes.append("other processes used the machine's memory at the same time (free -h, top show them)")
        notes.append("the kernel counts the whole process: libraries, the allocator's caches, decoded images of "
                     "the data layers' threads")
        notes.append("a SIGKILL need not be memory at all: a cluster's scheduler or a user may have sent it")
    if end.phase == "test" or any(n.phase == "TEST" for n in pm.run.nets):
        at = f" at iteration {end.iteration}" if end.phase == "test" and end.iteration is not None else ""
        notes.append(f"the test net comes up beside the train net{at}, with its own activations")
    return notes


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
               run_index: int | None = None, device_name: str | None = None,
               weights: str | None = None, progress: ProgressCallback | None = None,
               search: tuple[str, ...] = ()) -> PostMortem:
    """Read ``log_path`` and explain how its run ended and what it needed. ``device_name``: the
    ``--device`` the budget came from (an ambiguous name then says which board was picked);
    ``weights``: the .caffemodel the run loaded (``caffe train -weights``, fine-tuning), whose parse
    is priced from the file's own layout as ``check --weights`` does; ``search``: folders where the net
    the log names is looked for, besides the log's own."""
    report = read_log(log_path, progress=progress)
    try:
        check_is_log(report)
        run = pick_run(report, run_index)
        batch = logged_batch(run)
        mode = mode_of(run)
        stype = solver_type_of(run)
        notes: list[str] = []
        device = device_of(run) if budget is None else None
        if budget is not None:
            device = DeviceInfo(re.sub(r"^(?:an?|the) ", "", budget.name), budget.bytes, max(1, run.device.count),
                                "option", lookup_device(device_name).note if device_name else None)
        gpus = max(1, run.device.count) if mode == Mode.GPU else 1
        no_net = None
        nets: list[BuiltNet] = []
        origin, guesses = "none", []
        try:
            origin, build, guesses = net_builder(run, net_path, log_path, search)
        except CaffememError as err:  # no net can be had: the ending is still the answer
            no_net = err.message
        else:
            try:
                nets = build(None)  # each net at the batch it ran with
            except CaffememError as err:
                no_net = f"the net {origin} could not be built ({err.message})"
                origin, guesses = "none", []
        if net_path and nets:
            notes += compare_with_log(run, nets)
        fp = run_footprint(nets, roles_of(nets), mode, stype, gpus=gpus) if nets else None
        loading = 0
        if weights and fp is not None:
            from caffemem.memory.loading import loading_extra, weights_loading

            _, parse = weights_loading(nets, weights)
            loading = loading_extra(nets, fp, parse)
            if loading:
                fp.extra[C.WEIGHTS_LOADING] = loading
        elif weights:
            notes.append(f"--weights {weights} not priced: no net to load it into")
        pm = PostMortem(log_path, run, len(report.runs), origin, nets, fp, stype, batch, guesses, notes=notes)
        pm.cause, pm.ending, pm.device, pm.no_net = explain(run), ending(run), device, no_net
        pm.layer_type = layer_type_of(run, nets)
        if fp is not None:
            pm.consumers = _consumers(nets, fp)
            pm.heaviest = max(_consumers(nets, fp, top=10**6), key=lambda c: c.params, default=None)
            if device is not None and device.note:
                pm.notes.append(device.note)
            if budget is None and device is not None and device.bytes:
                budget = device_budget(device.name, device.bytes)
            if budget is not None:

                def at(b: int) -> int:
                    built = build(b)
                    return run_footprint(built, roles_of(built), mode, stype, gpus=gpus).total_bytes + loading

                analysable = not any(n.unanalysed_layers for n in nets)
                try:
                    pm.fit, more = judge(Budget(*budget), fp.total_bytes, at if analysable else None, 1)
                except CaffememError as err:
                    pm.fit, more = judge(Budget(*budget), fp.total_bytes, None, 1)
                    more.append(f"largest batch not computed: {err}")
                pm.notes += more
                _agree(pm, batch)
            elif batch and batch > 1:
                try:
                    built = build(1)
                    pm.at_batch_one = run_footprint(built, roles_of(built), mode, stype, gpus=gpus).total_bytes
                except CaffememError:
                    pm.at_batch_one = None
        elif device is not None and device.note:
            pm.notes.append(device.note)
        return pm
    finally:
        report.close()


def _agree(pm: PostMortem, batch: int | None) -> None:
    """Make the verdict agree with what happened: a run that died of memory at batch B is not told a
    batch of B or more fits, and a prediction that fits says why the run could still die."""
    fit = pm.fit
    end = pm.run.end
    if fit is None or end.crash_kind not in _MEMORY_DEATHS:
        return
    if end.crash_kind == CrashKind.KILLED and pm.footprint is not None and pm.footprint.mode == Mode.GPU:
        return  # killed on the host: GPU figures say nothing of it
    # a SIGKILL is most often the OOM killer, but not surely: only an allocation that failed caps the batch
    certain = end.crash_kind in (CrashKind.CUDA_OUT_OF_MEMORY, CrashKind.HOST_OUT_OF_MEMORY)
    if certain and batch and fit.max_batch is not None and fit.max_batch >= batch:
        fit.max_batch = batch - 1 if batch > 1 else None
        pm.notes.append(f"the run died of memory at batch {batch}: the largest batch is capped below it")
    if fit.fits:
        pm.memory_notes += _why_differ(pm, fit)

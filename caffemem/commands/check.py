"""``caffemem check`` as a library call: analyse a net or solver, cost the run, judge a budget.

The CLI only parses options and prints; anything that wants the same answer (a notebook, a CI
gate) calls :func:`run_check` and reads the :class:`CheckResult`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from caffemem.categories import Category as C
from caffemem.commands.display import Displayable
from caffemem.errors import CaffememError
from caffemem.memory.budget import budget_from_options, is_host
from caffemem.memory.fit import INT_MAX, Fit, judge
from caffemem.memory.model import RunFootprint
from caffemem.memory.plan import footprint
from caffemem.modes import Mode
from caffemem.net.analyze import Analysis, analyze_path, analyze_text, rebuild
from caffemem.net.inputs import build_options
from caffemem.net.load import is_binary_net_file
from caffemem.net.state import phase_from_name


@dataclass
class CheckResult(Displayable):
    """What ``caffemem check`` found: the nets as built, the run's footprint, the verdict if a budget was given.

    In Jupyter it shows as the HTML report's body (``caffemem.check`` loads the HTML writer).
    """

    analysis: Analysis
    footprint: RunFootprint
    fit: Fit | None = None
    weights: object | None = None  # caffemem.net.weights.WeightsMatch when --weights was given
    notes: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        return self.analysis.warnings + self.notes

    @property
    def total_bytes(self) -> int:
        """What the whole run needs (GPU mode: per device)."""
        return self.footprint.total_bytes

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data: exactly the dict ``caffemem check --format json`` writes."""
        from caffemem.commands.check_dict import check_dict

        return check_dict(self)

    def __repr__(self) -> str:
        nets = ", ".join(f"{net.phase_name} {net.name!r}" for net in self.analysis.nets)
        verdict = ""
        if self.fit is not None:
            verdict = (f", budget_bytes={self.fit.budget_bytes:,}, fits={self.fit.fits}"
                       + (f", max_batch={self.fit.max_batch}" if self.fit.max_batch is not None else ""))
        unknown = sum(len(net.unanalysed_layers) for net in self.analysis.nets)
        return (f"<CheckResult {self.analysis.source!r} ({nets}): {self.footprint.mode} mode, "
                f"total_bytes={self.total_bytes:,}{verdict}" + (f", unanalysed={unknown}" if unknown else "") + ">")


def solver_mode(analysis: Analysis) -> Mode:
    """Where ``caffe train`` runs: on the CPU unless the solver explicitly says ``solver_mode: GPU``.

    (The schema's default is GPU, but the ``caffe`` tool only honours an explicit setting.)
    """
    solver = analysis.solver.param if analysis.solver is not None else None
    if solver is not None and solver.HasField("solver_mode") and solver.solver_mode == solver.GPU:
        return Mode.GPU
    return Mode.CPU


def check_inputs_exist(analysis: Analysis, inputs: dict[str, tuple[int, ...]]) -> None:
    """A ``--input`` naming no top of the net is a typo that would silently change nothing."""
    tops = {top for net in analysis.nets for layer in net.layers for top in layer.tops}
    missing = sorted(set(inputs) - tops)
    if missing:
        raise CaffememError(f"--input names no top of the net: {', '.join(missing)}", analysis.source)


def int_max_batch(analysis: Analysis) -> int | None:
    """The largest batch at which every batch-sized top stays within Caffe's INT_MAX elements per blob."""
    from caffemem.layers.registry import count

    per_sample = 0
    for net in analysis.nets:
        batch = net.data_batch
        if not batch:
            continue
        for layer in net.layers:
            for shape in layer.top_shapes:
                if shape and shape[0] == batch:
                    per_sample = max(per_sample, count(shape) // batch)
    return INT_MAX // per_sample if per_sample else None


def first_batch(analysis: Analysis) -> int:
    """The batch of the first data layer of the first net: the run's batch as the user thinks of it."""
    return next((net.data_batch for net in analysis.nets if net.data_batch), 1)


def _mode(name: str) -> Mode:
    try:
        return Mode(str(name).lower())
    except ValueError:
        raise CaffememError(f"unknown mode '{name}' (cpu or gpu)") from None


def check_arguments(batch: object, gpus: object) -> None:
    """What the CLI's option types check, for library callers: a clear error, never a deep traceback."""
    if batch is not None and (isinstance(batch, bool) or not isinstance(batch, int) or batch < 1):
        raise CaffememError(f"batch must be a positive whole number, got {batch!r}")
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 1:
        raise CaffememError(f"gpus must be a positive whole number, got {gpus!r}")


def run_check(path: str | os.PathLike[str], phase: str | None = None, batch: int | None = None,
              inputs: dict[str, tuple[int, ...]] | None = None, stages: tuple[str, ...] = (),
              level: int | None = None, mode: str | None = None, gpus: int = 1, solver_type: str = "SGD",
              mem: str | None = None, device: str | None = None, weights: str | None = None,
              text: str | None = None) -> CheckResult:
    """Analyse the net or solver at ``path`` as Caffe would build it, cost the whole run, and judge it
    against ``mem``/``device`` when one is given (the CLI's ``caffemem check``, printing nothing).

    With ``text`` the prototxt is that text and ``path`` only names it (and is where a solver's
    relative net paths are looked for). Invalid arguments raise :class:`CaffememError`.
    """
    path = os.fspath(path)  # a pathlib.Path from a notebook is as good as a string
    check_arguments(batch, gpus)
    chosen_mode = _mode(mode) if mode is not None else None
    phase_id = phase_from_name(phase) if phase else None
    inputs = inputs or {}

    def analyse(b: int | None) -> Analysis:
        options = build_options(b, inputs)
        if text is not None:
            return analyze_text(text, path, phase_id, options, level, tuple(stages), strict=True)
        return analyze_path(path, phase_id, options, level, tuple(stages), strict=True)

    analysis = analyse(batch)

    def rebuilt(b: int) -> Analysis:  # the largest batch's probes: the nets already read, built again
        return rebuild(analysis, build_options(b, inputs), phase_id, level, tuple(stages))
    check_inputs_exist(analysis, inputs)
    if not any(net.layers for net in analysis.nets):
        raise CaffememError("the net has no layers", path)
    # --device and --gpus N are GPU facts: they imply GPU mode, unless --mode cpu says otherwise.
    run_mode = chosen_mode or (Mode.GPU if device or gpus > 1 else solver_mode(analysis))
    if gpus > 1 and run_mode != Mode.GPU:
        raise CaffememError("--gpus is a multi-GPU run, but --mode cpu was given: Caffe trains on several GPUs "
                            "only in GPU mode")
    if device and run_mode != Mode.GPU:
        raise CaffememError("--device is a GPU's memory: it needs GPU mode (drop --mode cpu, or give --mem)")
    if is_host(mem) and run_mode == Mode.GPU:
        raise CaffememError("--mem host is this machine's RAM, but in GPU mode the budget is the GPU's memory: "
                            "give --device NAME or --mem SIZE")
    fp = footprint(analysis, run_mode, solver_type, gpus)
    result = CheckResult(analysis, fp, notes=analysis.fork_warnings)
    if weights is None and text is None and is_binary_net_file(path):
        weights = path  # a caffemodel checked as a net is run with its own weights
        result.notes.append("the .caffemodel's own weights are loaded: its parse is priced from the file's layout")
    extra = 0
    if weights:
        from caffemem.memory.loading import loading_extra, weights_loading

        match, parse = weights_loading(analysis.nets, weights)
        result.weights = match
        extra = loading_extra(analysis.nets, fp, parse)
        if extra:
            fp.extra[C.WEIGHTS_LOADING] = extra
    budget = budget_from_options(mem, device)
    if budget is None:
        return result
    unknown = [layer for net in analysis.nets for layer in net.unanalysed_layers]
    if unknown:
        roots = [layer for layer in unknown if not layer.unknown_upstream]
        first = (roots or unknown)[0]
        raise CaffememError(f"cannot say whether the run fits: {len(unknown)} layer(s) could not be analysed, "
                            f"starting with '{first.name}' ({first.type}): {first.unknown}", path)
    probe = batch or first_batch(analysis)
    # Without --batch the nets are those at --batch `probe` when every batch their layers took from the
    # prototxt is `probe` (layers read the batch option only through SetupContext.batch_or).
    same = batch or all(net.default_batches <= {probe} for net in analysis.nets)
    cache = {probe: fp.total_bytes - extra} if same else {}

    def at(b: int) -> int:
        if b not in cache:
            cache[b] = footprint(rebuilt(b), run_mode, solver_type, gpus).total_bytes
        return cache[b] + extra

    result.fit, notes = judge(budget, fp.total_bytes, at, probe, int_max_batch(analysis))
    result.notes += notes
    return result

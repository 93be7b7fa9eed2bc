"""Put caffemem's prediction beside what Caffe logged, layer by layer, and mark every difference.

A mismatch is either a bug in caffemem or a difference between the net given and the net that
ran (another batch size, another input size, an edited layer): both are worth knowing before the
next run. What the log shows that no prototxt can say is not a mismatch: tops whose shape comes
from the data (SSD's AnnotatedData labels, Python and proposal layers) are marked data-dependent,
and data tops a prototxt cannot shape are taken from the log and flagged. The layouts real runs
have are followed: train and test nets in separate files (the solver's ``train_net``/``test_net``,
or a file of that name beside NET), NVCaffe's split of each data layer's batch over the GPUs it
ran on (``P2PSync::divide_batch_size``: the batch rounded up to a multiple of the GPU count, then
divided), and 2014-era Caffe (4-D tops everywhere, loss layers printing no top, in-place tops left
out of its memory total).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from caffemem.errors import CaffememError
from caffemem.layers.registry import BuildOptions, count
from caffemem.logs import ProgressCallback, read_log
from caffemem.logs.model import Net, Run
from caffemem.logs.select import pick_run
from caffemem.net.analyze import analyze_path
from caffemem.net.build import BuiltNet
from caffemem.net.state import phase_from_name

#: Layer types whose tops' shapes come from the data, not from the net's text.
DATA_DEPENDENT_TYPES = frozenset({"AnnotatedData", "Python", "Proposal", "ProposalLayer", "DetectionOutput",
                                  "DetectionEvaluate", "ROIPooling", "PSROIPooling", "DetectionOutputSSD"})
FLOAT_BYTES = 4


@dataclass
class LayerComparison:
    name: str
    logged_tops: list[list[int] | None] | None  # None: the layer is not in the log
    predicted_tops: list[list[int] | None] | None  # None: caffemem's net has no such layer
    logged_memory: int | None
    predicted_memory: int | None
    data_dependent: bool = False  # its tops come from the data: a difference is no mismatch
    from_log: bool = False  # a data top a prototxt cannot shape: taken from the log
    legacy: bool = False  # 2014-era Caffe: 4-D tops everywhere, no top printed for losses

    @property
    def status(self) -> str:
        if self.logged_tops is None:
            return "not in log"
        if self.predicted_tops is None:
            return "not in net"
        if self.from_log:
            return "from log"
        if not _same_tops(self.logged_tops, self.predicted_tops, self.legacy):
            return "data-dependent" if self.data_dependent else "shape mismatch"
        return "match"


def _as4(shape: list[int] | None) -> list[int] | None:
    return None if shape is None else (list(shape) + [1, 1, 1, 1])[:4] if len(shape) <= 4 else list(shape)


def _same_tops(logged: list[list[int] | None], predicted: list[list[int] | None], legacy: bool) -> bool:
    if not legacy:
        return logged == predicted
    if not logged and all(p == [] for p in predicted):  # a 2014 loss layer printed no top
        return True
    return [_as4(s) for s in logged] == [_as4(s) for s in predicted]


@dataclass
class NetComparison:
    phase: str
    layers: list[LayerComparison] = field(default_factory=list)
    logged_total: int | None = None
    predicted_total: int | None = None
    notes: list[str] = field(default_factory=list)
    fork_total: int | None = None  # a fork's own data figure (NVCaffe's "Top memory"), not comparable

    @property
    def mismatches(self) -> int:
        extra = int(self.logged_total is not None and self.logged_total != self.predicted_total)
        return sum(1 for c in self.layers if c.status in ("not in log", "not in net", "shape mismatch")) + extra


@dataclass
class Reconciliation:
    net_source: str
    log_source: str
    run: int
    nets: list[NetComparison] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # phases the log shows that the file cannot build

    @property
    def mismatches(self) -> int:
        return sum(n.mismatches for n in self.nets) + len(self.unmatched)


def is_legacy(logged: Net) -> bool:
    """2014-era Caffe: every top it printed is 4-D (InnerProduct tops N x K x 1 x 1, losses 1 x 1 x 1 x 1)."""
    shapes = [t.shape for layer in logged.layers for t in layer.tops if t.shape is not None]
    return bool(shapes) and all(len(s) == 4 for s in shapes)


def compare_net(logged: Net, built: BuiltNet, from_log: frozenset[str] = frozenset()) -> NetComparison:
    legacy = is_legacy(logged)
    cmp = NetComparison(built.phase_name, logged_total=logged.memory_required_for_data)
    predicted = {layer.name: layer for layer in built.layers}
    seen = set()
    correction = 0  # bytes: data-dependent and log-taken tops counted at the logged size
    for layer in logged.layers:
        ours = predicted.get(layer.name)
        seen.add(layer.name)
        c = LayerComparison(
            layer.name, [t.shape for t in layer.tops],
            None if ours is None else [list(s) if s is not None else None for s in ours.top_shapes],
            layer.memory_required_for_data, None if ours is None else ours.memory_required_for_data, legacy=legacy)
        if ours is not None:
            c.data_dependent = ours.type in DATA_DEPENDENT_TYPES or (ours.unknown is not None)
            c.from_log = layer.name in from_log
            if (c.data_dependent or c.from_log) and c.predicted_tops is not None:
                for t, p in zip(layer.tops, c.predicted_tops, strict=False):
                    if t.count is not None and p is not None:
                        correction += (t.count - count(p)) * FLOAT_BYTES
        cmp.layers.append(c)
    for layer in built.layers:
        if layer.name not in seen:
            cmp.layers.append(LayerComparison(layer.name, None, [list(s) if s is not None else None
                                                                 for s in layer.top_shapes],
                                              None, layer.memory_required_for_data, legacy=legacy))
    total = built.memory_required_for_data
    if legacy and total is not None:  # some 2014 Caffe counted only the tops that were new blobs
        fresh = sum(count(s) * FLOAT_BYTES for layer in built.layers
                    for s, inplace in zip(layer.top_shapes, layer.inplace, strict=False)
                    if s is not None and not inplace)
        if cmp.logged_total is not None and cmp.logged_total == fresh + correction != total + correction:
            total = fresh
            cmp.notes.append("2014-era log: its memory total leaves in-place tops out, as that Caffe did")
        cmp.notes.append("2014-era log: 4-D tops compared as Caffe printed them")
    cmp.predicted_total = None if total is None else total + correction
    if logged.memory_required_for_diff is not None and cmp.logged_total is not None:
        # NVCaffe prints no running "Memory required for data"; its "Top memory (PHASE) required for
        # data: N diff: N" is its own measure of the blobs it allocated, not BVLC's sum of top counts,
        # so it is shown beside caffemem's total but never counted as a mismatch.
        cmp.notes.append(f"NVCaffe's own figure ('Top memory ... required for data: {cmp.logged_total:,}') "
                         f"measures its allocations, not Caffe's top counts: shown, not compared")
        cmp.fork_total, cmp.logged_total = cmp.logged_total, None
    if correction:
        cmp.notes.append(f"the memory total counts data-dependent tops at their logged size ({correction:+,} bytes)")
    return cmp


def _gpu_count(run: Run) -> int:
    return len([g for g in (run.gpus or "").split(",") if g.strip()]) or 1


def per_gpu_batch(total: int, gpus: int) -> int:
    """NVCaffe's ``batch_per_gpu``: a batch not divisible by the GPU count is rounded up to one that is."""
    if gpus <= 1:
        return total
    if total == 0 or total % gpus:
        total += gpus - total % gpus
    return total // gpus


def _data_batch(net: Net | BuiltNet) -> int | None:
    if isinstance(net, Net):
        for layer in net.layers:
            if not layer.bottoms and layer.tops and layer.tops[0].shape:
                return layer.tops[0].shape[0]
        return None
    for blt in net.layers:
        if not blt.bottoms and blt.top_shapes and blt.top_shapes[0]:
            return blt.top_shapes[0][0]
    return None


def _sibling(run: Run, phase: str, net_path: str) -> str | None:
    """The file the log's solver names for this phase, found beside NET."""
    key = "test_net" if phase == "TEST" else "train_net"
    named = run.solver.get(key)
    if not named:
        return None
    path = os.path.join(os.path.dirname(os.path.abspath(net_path)), os.path.basename(named))
    return path if os.path.isfile(path) and os.path.abspath(path) != os.path.abspath(net_path) else None


def _build(path: str, phase: str, options: BuildOptions, as_solver: bool) -> BuiltNet | None:
    analysis = analyze_path(path, options=options) if as_solver else \
        analyze_path(path, phase=phase_from_name(phase), options=options)
    return next((b for b in analysis.nets if b.phase_name == phase), None)


def _from_log_inputs(logged: Net, built: BuiltNet, options: BuildOptions) -> tuple[BuildOptions, frozenset[str]]:
    """Options giving data tops the prototxt cannot shape (unknown to caffemem) the logged shapes."""
    whole = dict(options.whole_inputs)
    inputs = dict(options.inputs)
    names = set()
    logged_by = {layer.name: layer for layer in logged.layers}
    for blt in built.layers:
        if blt.bottoms or blt.name not in logged_by:
            continue
        for top, shape, lt in zip(blt.tops, blt.top_shapes, logged_by[blt.name].tops, strict=False):
            if shape is None and lt.shape is not None and top not in whole:
                whole[top] = tuple(lt.shape)
                inputs[top] = tuple(lt.shape[1:])
                names.add(blt.name)
    return dataclasses.replace(options, inputs=inputs, whole_inputs=whole), frozenset(names)


def reconcile(net_path: str, log_path: str, run_index: int | None = None,
              options: BuildOptions | None = None, phase: str | None = None,
              progress: ProgressCallback | None = None) -> Reconciliation:
    """Compare the nets ``net_path`` builds with the set-up ``log_path`` shows (``progress(done, total)``
    is called while the log is read)."""
    report = read_log(log_path, progress=progress)
    try:
        run = pick_run(report, run_index)
        logged = [n for n in run.nets if n.nested_in is None and n.layers]
        if not logged:
            raise CaffememError("the log shows no net set-up (no 'Top shape' lines): nothing to compare", log_path)
        options = options or BuildOptions()
        as_solver = analyze_path(net_path, options=options).kind != "net" if os.path.isfile(net_path) else False
        result = Reconciliation(net_path, log_path, run.index + 1)
        gpus = _gpu_count(run)
        shown = []
        for i, net in enumerate(logged):
            ph = str(net.phase or ("TRAIN" if i == 0 else "TEST"))
            if phase and ph != phase:
                continue
            shown.append(ph)
            built, reason = None, ""
            sources = [(net_path, as_solver)]
            sibling = _sibling(run, ph, net_path)
            if sibling:
                sources.append((sibling, False))
            for path, solver in sources:
                try:
                    built = _build(path, ph, options, solver)
                except CaffememError as err:
                    reason = err.message
                    continue
                if built is not None:
                    break
            if built is None:
                result.skipped.append(f"the log's {ph} net: {net_path} cannot build it"
                                      + (f" ({reason})" if reason else " (it has no layers for that phase)"))
                continue
            ours, theirs = _data_batch(built), _data_batch(net)
            if options.batch is None and gpus > 1 and ours and theirs and ours != theirs \
                    and per_gpu_batch(ours, gpus) == theirs:  # NVCaffe: the batch split over the GPUs
                built = _build(path, ph, dataclasses.replace(options, batch=theirs), solver) or built
                split = f"NVCaffe split the batch over {gpus} GPUs: {ours} -> {theirs} per GPU"
            else:
                split = ""
            run_opts, from_log = _from_log_inputs(net, built, options if not split else
                                                  dataclasses.replace(options, batch=theirs))
            if from_log:
                built = _build(path, ph, run_opts, solver) or built
            cmp = compare_net(net, built, from_log)
            if split:
                cmp.notes.insert(0, split)
            result.nets.append(cmp)
        if phase and not shown:
            raise CaffememError(f"the log shows no {phase} net", log_path)
        if not result.nets:
            raise CaffememError(f"{net_path} builds none of the nets the log shows: " + "; ".join(result.skipped),
                                net_path)
        return result
    finally:
        report.close()

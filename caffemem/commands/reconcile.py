"""Put caffemem's prediction beside what Caffe logged, layer by layer, and mark every difference.

A mismatch is either a bug in caffemem or a difference between the net given and the net that
ran (another batch size, another input size, an edited layer): both are worth knowing before the
next run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from caffemem.errors import CaffememError
from caffemem.layers.registry import BuildOptions
from caffemem.logs import read_log
from caffemem.logs.model import Net
from caffemem.logs.select import pick_run
from caffemem.net.analyze import analyze_path
from caffemem.net.build import BuiltNet
from caffemem.net.state import phase_from_name


@dataclass
class LayerComparison:
    name: str
    logged_tops: list[list[int] | None] | None  # None: the layer is not in the log
    predicted_tops: list[list[int] | None] | None  # None: caffemem's net has no such layer
    logged_memory: int | None
    predicted_memory: int | None

    @property
    def status(self) -> str:
        if self.logged_tops is None:
            return "not in log"
        if self.predicted_tops is None:
            return "not in net"
        if self.logged_tops != self.predicted_tops:
            return "shape mismatch"
        if self.logged_memory is not None and self.logged_memory != self.predicted_memory:
            return "memory mismatch"
        return "match"


@dataclass
class NetComparison:
    phase: str
    layers: list[LayerComparison] = field(default_factory=list)
    logged_total: int | None = None
    predicted_total: int | None = None

    @property
    def mismatches(self) -> int:
        extra = int(self.logged_total is not None and self.logged_total != self.predicted_total)
        return sum(1 for c in self.layers if c.status != "match") + extra


@dataclass
class Reconciliation:
    net_source: str
    log_source: str
    run: int
    nets: list[NetComparison] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> int:
        return sum(n.mismatches for n in self.nets) + len(self.unmatched)


def compare_net(logged: Net, built: BuiltNet) -> NetComparison:
    cmp = NetComparison(built.phase_name, logged_total=logged.memory_required_for_data,
                        predicted_total=built.memory_required_for_data)
    predicted = {layer.name: layer for layer in built.layers}
    seen = set()
    for layer in logged.layers:
        ours = predicted.get(layer.name)
        seen.add(layer.name)
        cmp.layers.append(LayerComparison(
            layer.name, [t.shape for t in layer.tops],
            None if ours is None else [list(s) if s is not None else None for s in ours.top_shapes],
            layer.memory_required_for_data, None if ours is None else ours.memory_required_for_data))
    for layer in built.layers:
        if layer.name not in seen:
            cmp.layers.append(LayerComparison(layer.name, None, [list(s) if s is not None else None
                                                                 for s in layer.top_shapes],
                                              None, layer.memory_required_for_data))
    return cmp


def reconcile(net_path: str, log_path: str, run_index: int | None = None,
              options: BuildOptions | None = None) -> Reconciliation:
    report = read_log(log_path)
    try:
        run = pick_run(report, run_index)
        logged = [n for n in run.nets if n.nested_in is None and n.layers]
        if not logged:
            raise CaffememError("the log shows no net set-up (no 'Top shape' lines): nothing to compare", log_path)
        analysis = analyze_path(net_path, options=options or BuildOptions())
        result = Reconciliation(net_path, log_path, run.index + 1)
        available = list(analysis.nets)
        built_phases: set[str] = set()
        for i, net in enumerate(logged):
            phase = net.phase or ("TRAIN" if i == 0 else "TEST")
            match = next((b for b in available if b.phase_name == phase), None)
            if match is None and analysis.kind == "net" and phase not in built_phases:
                # a net file is built in the phase the log shows (a deploy net trained by a solver)
                built_phases.add(phase)
                extra = analyze_path(net_path, phase=phase_from_name(phase), options=options or BuildOptions())
                available.extend(extra.nets)
                match = next((b for b in available if b.phase_name == phase), None)
            if match is None:
                result.unmatched.append(f"the log's net #{i + 1} ({phase}) has no counterpart in {net_path}")
                continue
            available.remove(match)
            result.nets.append(compare_net(net, match))
        return result
    finally:
        report.close()

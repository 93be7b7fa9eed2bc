"""Audit one text file (a net or a solver): each step keeps what it found even if a later one fails.

Why in steps: a migration audit is most needed for exactly the files Caffe or caffemem cannot
build (a fork's layers, a solver whose net lives on someone else's disk). So the order is parse
(format, deprecated fields, layer types), then Caffe's upgrade, then the build (parameters,
memory); an error stops only the steps after it.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

from caffemem.commands.audit.legacy import deprecated_fields, net_format, raw_layer_types, solver_deprecated_fields
from caffemem.commands.audit.model import KIND_SOLVER, FileAudit, LayerTypeUse, NetFigures, PythonLayer
from caffemem.errors import CaffememError
from caffemem.layers.registry import BuildOptions
from caffemem.layers.types import card
from caffemem.net.analyze import Analysis, analyze_net, analyze_solver
from caffemem.net.load import LoadedNet, file_kind, net_from_text, read_text, resolve_solver_path, solver_from_text
from caffemem.net.prototxt import parse_text
from caffemem.net.state import PHASE_NAMES
from caffemem.net.upgrade import upgrade_net
from caffemem.proto import caffe_pb2


@dataclass(frozen=True)
class AnalysisSettings:
    """What the user tells the audit about every net: stages, input shapes, batch (as for check)."""

    options: BuildOptions | None = None
    stages: tuple[str, ...] = ()


def audit_text_file(path: str, settings: AnalysisSettings = AnalysisSettings()) -> FileAudit:  # noqa: B008
    """Audit a net or solver prototxt. Never raises for bad input: failures land in ``error``."""
    audit = FileAudit(path=path)
    try:
        text = read_text(path)
        audit.kind = file_kind(text, path)
    except CaffememError as err:
        audit.error = str(err)
        return audit
    try:
        if audit.kind == KIND_SOLVER:
            _audit_solver(text, audit, settings)
        else:
            _audit_net(text, audit, settings)
    except CaffememError as err:
        audit.error = str(err)
    set_layer_types(audit)
    return audit


def set_layer_types(audit: FileAudit) -> None:
    """Total the type counts of every source of layers, with each type's origin."""
    total: Counter[str] = Counter()
    for _, counts in audit.type_sources:
        total.update(counts)
    audit.layer_types = {}
    for name in sorted(total):
        found = card(name)
        audit.layer_types[name] = LayerTypeUse(total[name], found.origin, found.fork)


def _types_of(param: caffe_pb2.NetParameter) -> Counter[str]:
    """Types of an upgraded net, every layer counted once whatever its phase rules."""
    return Counter(layer.type for layer in param.layer if layer.type)


def _describe(audit: FileAudit, param: caffe_pb2.NetParameter) -> None:
    """Python layers and the phases, stages and levels named in include/exclude rules."""
    phases = set(audit.phases)
    stages = set(audit.stages)
    levels = set(audit.levels)
    for layer in param.layer:
        if layer.type == "Python":
            audit.python_layers.append(PythonLayer(layer.name, layer.python_param.module,
                                                   layer.python_param.layer, len(layer.bottom)))
        for rule in [*layer.include, *layer.exclude]:
            if rule.HasField("phase"):
                phases.add(PHASE_NAMES.get(rule.phase, str(rule.phase)))
            stages.update(rule.stage)
            stages.update(rule.not_stage)
            for level_field in ("min_level", "max_level"):
                if rule.HasField(level_field):
                    levels.add(getattr(rule, level_field))
    audit.phases = sorted(phases)
    audit.stages = sorted(stages)
    audit.levels = sorted(levels)


def _figures(audit: FileAudit, analysis: Analysis) -> None:
    audit.built = list(analysis.nets)
    for net in analysis.nets:
        audit.nets.append(NetFigures(
            phase=net.phase_name, name=net.name, source=net.source or audit.path, params=net.param_count,
            memory_required_for_data=net.memory_required_for_data,
            unanalysed_layers=[layer.name for layer in net.unanalysed_layers]))
    if audit.nets:
        audit.params = max(n.params for n in audit.nets)
        memory = [n.memory_required_for_data for n in audit.nets if n.memory_required_for_data is not None]
        audit.memory_required_for_data = max(memory) if memory else None


def _audit_net(text: str, audit: FileAudit, settings: AnalysisSettings) -> None:
    raw = net_from_text(text, audit.path, upgrade=False)
    audit.format = net_format(raw.param)
    audit.deprecated_fields = deprecated_fields(raw.param)
    audit.unknown_fields = [str(d) for d in raw.diagnostics]
    audit.type_sources = [(None, raw_layer_types(raw.param))]
    upgraded = caffe_pb2.NetParameter()
    upgraded.CopyFrom(raw.param)
    try:
        result = upgrade_net(upgraded, audit.path)  # raises where Caffe would refuse the file
    except CaffememError:
        _describe(audit, raw.param)
        raise
    audit.upgrades = list(result.applied)
    audit.upgrade_warnings = list(result.warnings)
    audit.type_sources = [(None, _types_of(upgraded))]
    if not upgraded.layer:
        audit.detail = "a net without layers"
    _describe(audit, upgraded)
    loaded = LoadedNet(upgraded, audit.path, raw.diagnostics, list(result.applied), list(result.warnings))
    _figures(audit, analyze_net(loaded, options=settings.options, stages=settings.stages))


def _inline_nets(sp: caffe_pb2.SolverParameter) -> list[caffe_pb2.NetParameter]:
    nets = [sp.net_param] if sp.HasField("net_param") else []
    nets += [sp.train_net_param] if sp.HasField("train_net_param") else []
    return nets + list(sp.test_net_param)


def _net_file_names(sp: caffe_pb2.SolverParameter) -> list[str]:
    names = [getattr(sp, f) for f in ("net", "train_net") if sp.HasField(f)]
    return names + list(sp.test_net)


def _audit_solver(text: str, audit: FileAudit, settings: AnalysisSettings) -> None:
    raw = caffe_pb2.SolverParameter()
    diagnostics = parse_text(text, raw, audit.path)
    audit.unknown_fields = [str(d) for d in diagnostics]
    audit.deprecated_fields = solver_deprecated_fields(raw)
    # Nets written inside the solver are read as they are (Caffe does not upgrade them).
    for net in _inline_nets(raw):
        audit.type_sources.append((None, raw_layer_types(net)))
        _describe(audit, net)
    for name in _net_file_names(raw):
        try:
            audit.net_files.append(os.path.realpath(resolve_solver_path(audit.path, name)))
        except CaffememError:
            audit.net_files.append(name)
    solver = solver_from_text(text, audit.path)  # raises on solver_type and type both set
    audit.upgrades = list(solver.upgrades)
    analysis = analyze_solver(solver, options=settings.options, stages=settings.stages)
    seen: set[str] = set()
    for loaded in analysis.loaded:
        if os.path.isfile(loaded.source) and loaded.source not in seen:
            seen.add(loaded.source)
            audit.type_sources.append((os.path.realpath(loaded.source), _types_of(loaded.param)))
            _describe(audit, loaded.param)
            for step in loaded.upgrades:
                if step not in audit.upgrades:
                    audit.upgrades.append(f"{step} ({os.path.basename(loaded.source)})")
    _figures(audit, analysis)

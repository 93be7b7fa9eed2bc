"""``caffemem check``'s result as plain data: the JSON contract (``--format json``) and
``CheckResult.to_dict()`` are this one function's output. Other tools read it, so keys are added,
never renamed.
"""

from __future__ import annotations

import sys
from typing import Any

from caffemem.layers.registry import count
from caffemem.memory.fit import Fit
from caffemem.memory.macs import layer_macs, net_macs
from caffemem.memory.model import NetFootprint, RunFootprint
from caffemem.net.analyze import Analysis
from caffemem.net.build import BuiltLayer, BuiltNet


def _version() -> str:
    # The package is always loaded before any of its modules; reading its version from there (not
    # importing it) keeps the package's face, which imports the commands, out of an import circle.
    return str(sys.modules["caffemem"].__version__)


def layer_dict(layer: BuiltLayer) -> dict[str, Any]:
    return {
        "name": layer.name,
        "type": layer.type,
        "bottoms": list(layer.bottoms),
        "tops": [{"name": name, "shape": list(shape) if shape is not None else None}
                 for name, shape in zip(layer.tops, layer.top_shapes, strict=True)],
        "params": [{"shape": list(p.shape), **({"shared_with": p.name} if p.shared else {}),
                    "lr_mult": p.lr_mult} for p in layer.params],
        "memory_required_for_data": layer.memory_required_for_data,
        "need_backward": layer.need_backward,
        "loss_weights": [w for w in layer.loss_weights],
        "inserted_split": layer.is_split,
        "unknown": layer.unknown,
        # which fork's layer of this type string the rule followed (YOLO's one-bottom DetectionOutput...)
        "variant": layer.impl.variant if layer.impl is not None else None,
        "macs": layer_macs(layer),  # forward multiply-adds (caffemem.memory.macs); None when shapes are unknown
    }


def net_dict(net: BuiltNet) -> dict[str, Any]:
    return {
        "name": net.name,
        "phase": net.phase_name,
        "memory_required_for_data": net.memory_required_for_data,
        "params": net.param_count,
        "trainable_params": sum(count(p.shape) for p in net.learnable_params() if p.lr_mult != 0),
        "macs": net_macs(net),
        "outputs": list(net.outputs),
        "unanalysed_layers": [{"name": layer.name, "type": layer.type, "reason": layer.unknown}
                              for layer in net.unanalysed_layers],
        "layers": [layer_dict(layer) for layer in net.layers],
    }


def analysis_dict(analysis: Analysis) -> dict[str, Any]:
    return {
        "caffemem": _version(),
        "source": analysis.source,
        "kind": analysis.kind,
        "upgrades": sorted({u for n in analysis.loaded for u in n.upgrades}),
        "warnings": analysis.warnings,
        "nets": [net_dict(net) for net in analysis.nets],
    }


def footprint_dict(fp: NetFootprint | RunFootprint, mode: str) -> dict[str, Any]:
    return {"mode": mode, "total_bytes": fp.total_bytes, "by_category": dict(fp.by_category)}


def budget_dict(fit: Fit) -> dict[str, Any]:
    return {"bytes": fit.budget_bytes, "name": fit.budget_name, "fits": fit.fits, "fixed_bytes": fit.fixed_bytes,
            "per_sample_bytes": fit.per_sample_bytes, "tight": fit.tight, "share": round(fit.share, 6)}


def check_dict(result: Any) -> dict[str, Any]:
    """The whole contract: the analysis plus footprints, and the verdict when a budget was given.

    ``result`` is a :class:`caffemem.commands.check.CheckResult`."""
    data = analysis_dict(result.analysis)
    run = result.footprint
    data["footprint"] = footprint_dict(run, run.mode)
    data["footprint"]["solver_type"] = run.solver_type
    data["footprint"]["gpus"] = run.gpus
    data["footprint"]["runtime_bytes"] = run.runtime_bytes
    data["footprint"]["host_bytes"] = run.host_bytes  # GPU mode: pinned host copies; CPU mode: the total
    for net_data, fp in zip(data["nets"], run.nets, strict=True):
        net_data["footprint"] = footprint_dict(fp, run.mode)
        net_data["footprint"]["role"] = fp.role
        net_data["footprint"]["role_reason"] = fp.role_reason
        for layer in net_data["layers"]:
            layer["bytes"] = dict(fp.by_layer.get(layer["name"], {}))
    data["complete"] = not any(net.unanalysed_layers for net in result.analysis.nets)
    data["max_batch"] = None  # set when a budget was given
    if result.fit is not None:
        fit = result.fit
        data["max_batch"] = fit.max_batch
        data["budget"] = budget_dict(fit)
    if result.weights is not None:
        match = result.weights
        data["weights"] = {key: getattr(match, key, None) for key in (
            "source", "ignored_source_layers", "unfilled_layers", "unchecked_layers", "weights_values_bytes",
            "copied_values_bytes", "file_bytes")}
    return data

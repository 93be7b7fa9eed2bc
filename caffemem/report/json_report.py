"""The JSON contract of ``caffemem check``: other tools read it, so keys are added, never renamed."""

from __future__ import annotations

import json
from typing import Any

from caffemem import __version__
from caffemem.net.analyze import Analysis
from caffemem.net.build import BuiltLayer, BuiltNet


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
    }


def net_dict(net: BuiltNet) -> dict[str, Any]:
    return {
        "name": net.name,
        "phase": net.phase_name,
        "memory_required_for_data": net.memory_required_for_data,
        "params": net.param_count,
        "outputs": list(net.outputs),
        "unanalysed_layers": [{"name": layer.name, "type": layer.type, "reason": layer.unknown}
                              for layer in net.unanalysed_layers],
        "layers": [layer_dict(layer) for layer in net.layers],
    }


def analysis_dict(analysis: Analysis) -> dict[str, Any]:
    return {
        "caffemem": __version__,
        "source": analysis.source,
        "kind": analysis.kind,
        "upgrades": sorted({u for n in analysis.loaded for u in n.upgrades}),
        "warnings": analysis.warnings,
        "nets": [net_dict(net) for net in analysis.nets],
    }


def render(analysis: Analysis, extra: dict[str, Any] | None = None) -> str:
    data = analysis_dict(analysis)
    if extra:
        data.update(extra)
    return json.dumps(data, indent=1)

"""Phrases the text, Markdown and CSV audit reports share, so the three say the same thing."""

from __future__ import annotations

from caffemem.commands.audit.model import FileAudit, LayerTypeUse, WeightsCheck
from caffemem.commands.audit.targets import gaps
from caffemem.report.units import human_bytes


def exact(f: FileAudit) -> bool:
    """False when some layer could not be set up, so the figures are lower bounds."""
    return all(not n.unanalysed_layers for n in f.nets)


def params_text(f: FileAudit) -> str:
    if f.params is None:
        return "-"
    return f"{'' if exact(f) else '>='}{f.params:,}"


def memory_text(f: FileAudit) -> str:
    if f.memory_required_for_data is None:
        return "unknown" if f.nets else "-"
    return human_bytes(f.memory_required_for_data)


def type_label(name: str, use: LayerTypeUse) -> str:
    if use.origin == "fork":
        return f"{name} [{use.fork}]"
    if use.origin == "custom":
        return f"{name} [custom]"
    return name


def non_bvlc(f: FileAudit) -> list[str]:
    """Fork and custom types with their origin, then Python layers with the code they name."""
    out = [type_label(n, u) for n, u in f.layer_types.items() if u.origin in ("fork", "custom")]
    out += [f"Python {p.name}: {p.module}.{p.layer}" for p in f.python_layers]
    if "Python" in f.layer_types and not f.python_layers:
        out.append("Python")
    return out


def blocking(f: FileAudit) -> dict[str, list[str]]:
    """Target -> layer types it has no equivalent for (training-only types excluded)."""
    return {target: b["unsupported"] for target, b in gaps(f.layer_types, f.training_only_here()).items()}


def weights_text(w: WeightsCheck) -> str:
    if not w.loads:
        return f"{w.path}: does NOT fit ({w.error})"
    parts = [f"{w.path}: fits the {w.phase} net", f"{w.copied_layers} layers copied"]
    if w.ignored_source_layers:
        parts.append(f"{len(w.ignored_source_layers)} file layers unused ({', '.join(w.ignored_source_layers[:5])}"
                     f"{', ...' if len(w.ignored_source_layers) > 5 else ''})")
    if w.unfilled_layers:
        parts.append(f"{len(w.unfilled_layers)} net layers keep their fillers ({', '.join(w.unfilled_layers[:5])}"
                     f"{', ...' if len(w.unfilled_layers) > 5 else ''})")
    if w.unchecked_layers:
        parts.append(f"{len(w.unchecked_layers)} layers not checked (unknown shapes)")
    return "; ".join(parts)


def kind_text(f: FileAudit) -> str:
    return f"{f.kind}, {f.format}" if f.format else f.kind

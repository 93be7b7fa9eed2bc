"""The audit's results as plain data, so that every report format shows the same facts.

Report writers read these objects and never recompute anything; the JSON writer is the contract
(keys may be added, never renamed), the others are views of it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from caffemem.commands.audit.legacy import DeprecatedField

if TYPE_CHECKING:
    from caffemem.net.build import BuiltNet

KIND_NET = "net"
KIND_SOLVER = "solver"
KIND_WEIGHTS = "weights"
KIND_UNKNOWN = "unknown"


@dataclass
class LayerTypeUse:
    """How often one layer type occurs in a file, and where the type comes from."""

    count: int
    origin: str  # "bvlc" | "fork" | "custom" | "python"
    fork: str | None = None


@dataclass(frozen=True)
class PythonLayer:
    """A ``Python`` layer: the module and class Caffe would import (caffemem never imports them)."""

    name: str
    module: str
    layer: str
    bottoms: int = 0

    @property
    def is_data(self) -> bool:
        """A Python layer without bottoms feeds data (py-faster-rcnn's RoIDataLayer, FCN's VOC
        loaders): a deployed model replaces it by an input, so it does not block a migration."""
        return self.bottoms == 0


@dataclass(frozen=True)
class NetFigures:
    """Size of one net Caffe builds from the file, at the batch the file itself gives."""

    phase: str
    name: str
    source: str
    params: int
    memory_required_for_data: int | None  # bytes; None when a layer's shapes are unknown
    unanalysed_layers: list[str]


@dataclass
class WeightsCheck:
    """Whether a ``.caffemodel`` fits the net: what ``Net::CopyTrainedLayersFrom`` would do with it."""

    path: str
    phase: str | None  # the phase of the net it was matched against
    loads: bool  # Caffe would copy it without dying (blob counts and shapes agree)
    error: str | None = None
    copied_layers: int = 0
    ignored_source_layers: list[str] = field(default_factory=list)
    unfilled_layers: list[str] = field(default_factory=list)
    unchecked_layers: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every file layer used and every net layer with parameters filled."""
        return self.loads and not self.ignored_source_layers and not self.unfilled_layers


@dataclass
class FileAudit:
    """Everything the audit found in one file. ``error`` is set when some step failed; what the
    earlier steps found is kept."""

    path: str
    kind: str = KIND_UNKNOWN
    error: str | None = None
    format: str | None = None
    upgrades: list[str] = field(default_factory=list)
    upgrade_warnings: list[str] = field(default_factory=list)
    deprecated_fields: list[DeprecatedField] = field(default_factory=list)
    unknown_fields: list[str] = field(default_factory=list)
    layer_types: dict[str, LayerTypeUse] = field(default_factory=dict)
    python_layers: list[PythonLayer] = field(default_factory=list)
    params: int | None = None
    memory_required_for_data: int | None = None
    nets: list[NetFigures] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    levels: list[int] = field(default_factory=list)
    net_files: list[str] = field(default_factory=list)  # nets a solver reads from other files
    weights: list[WeightsCheck] = field(default_factory=list)
    detail: str | None = None  # one line on what the file is, when its kind alone does not say
    # Per source of layers: (the net file they came from, or None when in this file; type counts).
    # The summary uses it to count a solver's external nets only once.
    type_sources: list[tuple[str | None, Counter[str]]] = field(default_factory=list, repr=False)
    built: list[BuiltNet] = field(default_factory=list, repr=False)

    def training_only_here(self) -> frozenset[str]:
        """Types that are training-only in this file although not in general: ``Python`` when every
        Python layer only feeds data."""
        use = self.layer_types.get("Python")
        if use and len(self.python_layers) >= use.count and all(p.is_data for p in self.python_layers):
            return frozenset({"Python"})
        return frozenset()


@dataclass
class TypeTotal:
    """One layer type across the whole audit."""

    layers: int
    files: int
    origin: str
    fork: str | None


@dataclass
class AuditSummary:
    """Counts across every audited file."""

    files: int
    by_kind: dict[str, int]
    errors: int
    by_format: dict[str, int]
    by_origin: dict[str, int]  # distinct layer types per origin
    layer_types: dict[str, TypeTotal]
    blocking: dict[str, dict[str, int]]  # target -> unsupported type -> files needing it
    upgrades: dict[str, int]  # upgrade step -> files needing it
    deprecated_fields: dict[str, int]  # field -> files using it
    weights: dict[str, int]  # "checked", "loads", "complete", "fails"
    python_modules: list[str]


@dataclass
class AuditResult:
    files: list[FileAudit]
    summary: AuditSummary

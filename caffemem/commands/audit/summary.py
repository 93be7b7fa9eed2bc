"""Totals across an audit: how many files of each version, which layer types, which gaps block.

Why care about double counting: a solver and the train_val net it names are often audited together
(a model folder), and counting that net's layers twice would inflate the type totals. A solver's
layers from a net file that is audited on its own are therefore left to that file's entry.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence

from caffemem.commands.audit.model import AuditSummary, FileAudit, TypeTotal
from caffemem.commands.audit.targets import TARGETS, gaps
from caffemem.layers.types import card
from caffemem.net import upgrade as steps

#: Caffe's order of upgrade steps, for listing them the way Caffe runs them.
_STEP_ORDER = [steps.V0_TO_V1, steps.V0_PADDING, steps.DATA_TRANSFORMATION, steps.V1_TO_V2, steps.INPUT_FIELDS,
               steps.BATCHNORM, steps.SOLVER_TYPE]


def counted_types(audit: FileAudit, audited: set[str]) -> Counter[str]:
    """The file's layer types, minus those that came from another audited file."""
    out: Counter[str] = Counter()
    for source, counts in audit.type_sources:
        if source is None or source not in audited:
            out.update(counts)
    return out


def _step_rank(step: str) -> tuple[int, str]:
    return (_STEP_ORDER.index(step) if step in _STEP_ORDER else len(_STEP_ORDER), step)


def summarize(files: Sequence[FileAudit]) -> AuditSummary:
    audited = {os.path.realpath(f.path) for f in files}
    by_kind: Counter[str] = Counter(f.kind for f in files)
    by_format: Counter[str] = Counter(f.format for f in files if f.format is not None)
    layers: Counter[str] = Counter()
    type_files: Counter[str] = Counter()
    blocking: dict[str, Counter[str]] = {t: Counter() for t in TARGETS}
    upgrades: Counter[str] = Counter()
    deprecated: Counter[str] = Counter()
    weights: Counter[str] = Counter()
    modules: set[str] = set()
    for f in files:
        counts = counted_types(f, audited)
        layers.update(counts)
        type_files.update(counts.keys())
        for target, buckets in gaps(counts, f.training_only_here()).items():
            blocking[target].update(buckets["unsupported"])
        # "V1->V2 (train.prototxt)" on a solver belongs to that net file, which is counted on its own.
        upgrades.update({step for step in f.upgrades if " (" not in step})
        deprecated.update({d.field for d in f.deprecated_fields})
        modules.update(f"{p.module}.{p.layer}" for p in f.python_layers)
        for w in f.weights:
            weights["checked"] += 1
            weights["loads" if w.loads else "fails"] += 1
            weights["complete"] += 1 if w.complete else 0
    totals: dict[str, TypeTotal] = {}
    for name in sorted(layers, key=lambda n: (-layers[n], n)):
        found = card(name)
        totals[name] = TypeTotal(layers[name], type_files[name], found.origin, found.fork)
    by_origin = Counter(t.origin for t in totals.values())
    return AuditSummary(
        files=len(files), by_kind=dict(sorted(by_kind.items())), errors=sum(1 for f in files if f.error),
        by_format=dict(sorted(by_format.items())), by_origin=dict(sorted(by_origin.items())),
        layer_types=totals,
        blocking={t: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))) for t, c in blocking.items()},
        upgrades={k: upgrades[k] for k in sorted(upgrades, key=_step_rank)},
        deprecated_fields=dict(sorted(deprecated.items())),
        weights={k: weights[k] for k in ("checked", "loads", "complete", "fails")},
        python_modules=sorted(modules))

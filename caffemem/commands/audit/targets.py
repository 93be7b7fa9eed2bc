"""Whether each Caffe layer type has an equivalent in the usual migration targets, and what is missing.

The per-type verdicts (and which types are training-only) live on the type cards
(:mod:`caffemem.layers.types`, whose docstring says where each target's entries come from); this
module reads them and sorts a net's types into what blocks a migration and what does not.
"""

from __future__ import annotations

from collections.abc import Iterable

from caffemem.layers.types import TARGETS, Status, Support, card

YES = Status.YES
PARTIAL = Status.PARTIAL
NO = Status.NO
TRAINING_ONLY = Status.TRAINING_ONLY

__all__ = ["NO", "PARTIAL", "TARGETS", "TRAINING_ONLY", "YES", "Support", "gaps", "support"]


def support(layer_type: str, target: str) -> Support:
    """How ``target`` handles ``layer_type`` (raises ValueError for a target not in :data:`TARGETS`)."""
    if target not in TARGETS:
        raise ValueError(f"{target!r} is not a migration target (one of {', '.join(TARGETS)})")
    return card(layer_type).converters[target]


def gaps(layer_types: Iterable[str],
         training_only: frozenset[str] = frozenset()) -> dict[str, dict[str, list[str]]]:
    """Per target, the types it cannot convert ("unsupported": these block), converts only in part
    ("partial"), or that a deployed model leaves out anyway ("training_only"). ``training_only``
    adds types known to be training-only in this particular net (Python layers that only feed data)."""
    types = sorted(set(layer_types))
    out: dict[str, dict[str, list[str]]] = {}
    for target in TARGETS:
        buckets: dict[str, list[str]] = {"unsupported": [], "partial": [], "training_only": []}
        for layer_type in types:
            status = TRAINING_ONLY if layer_type in training_only else support(layer_type, target).status
            if status == NO:
                buckets["unsupported"].append(layer_type)
            elif status == PARTIAL:
                buckets["partial"].append(layer_type)
            elif status == TRAINING_ONLY:
                buckets["training_only"].append(layer_type)
        out[target] = buckets
    return out

"""Where a Caffe layer type comes from: BVLC Caffe itself, a known fork, or someone's own code.

The facts live on the type cards (:mod:`caffemem.layers.types`); this module reads them for the audit.
"""

from __future__ import annotations

from caffemem.layers.types import BVLC_TYPES, Fork, Origin, card

ORIGIN_BVLC = Origin.BVLC
ORIGIN_FORK = Origin.FORK
ORIGIN_CUSTOM = Origin.CUSTOM
ORIGIN_PYTHON = Origin.PYTHON

__all__ = ["BVLC_TYPES", "ORIGIN_BVLC", "ORIGIN_CUSTOM", "ORIGIN_FORK", "ORIGIN_PYTHON", "origin_of"]


def origin_of(layer_type: str) -> tuple[Origin, Fork | None]:
    """(origin, fork name or None) of a layer type string as written in a V2 ``layer { type }``.

    ``Python`` is BVLC code but runs the user's module, so it gets its own origin: the net depends on
    code outside any Caffe release.
    """
    found = card(layer_type)
    return found.origin, found.fork

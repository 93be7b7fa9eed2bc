"""JSON that every strict parser reads: a float that is not finite is written ``null``.

Python's ``json`` writes ``NaN``/``Infinity`` bare, which is not JSON (RFC 8259) and breaks ``jq``,
JavaScript and most other readers. They arrive from the user's own net (``loss_weight: nan``,
``lr_mult: inf``) or from a log; the JSON contracts say such a number is ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (in dicts, lists, tuples) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(data: Any, indent: int | None = None) -> str:
    """``json.dumps`` of ``data`` with non-finite floats as ``null`` (and never a bare ``NaN``)."""
    return json.dumps(finite(data), indent=indent, allow_nan=False)

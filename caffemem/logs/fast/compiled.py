"""The compiled module (``_scan.c``) in use, or None: the one switch between the C and the
pure-Python paths, read by the reader (scan.py, feed.py) and the curve's writers (curve.py).

It imports nothing of caffemem, so that curve.py can read it without an import cycle (scan.py
needs the run builder, which needs the curve). The module is optional: where it was not built,
or with ``CAFFEMEM_NO_C=1`` in the environment, ``SCAN`` is None. Tests set ``SCAN`` to compare
both paths.
"""

from __future__ import annotations

import os
from types import ModuleType

_scan: ModuleType | None
try:
    from caffemem.logs.fast import _scan  # type: ignore[attr-defined, no-redef]
except ImportError:  # not built: the pure-Python path
    _scan = None

BUILT: ModuleType | None = _scan
"""The compiled module if it was built, whatever the switch says."""

SCAN: ModuleType | None = None if os.environ.get("CAFFEMEM_NO_C") else _scan
"""The compiled module in use (None: pure Python)."""

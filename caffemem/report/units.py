"""Byte sizes for people (binary units, as ``free -h`` and GPU tools print them) and back."""

from __future__ import annotations

import re

from caffemem.errors import CaffememError

_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"]
_PARSE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)(i?)(B?)\s*$", re.IGNORECASE)


def human_bytes(n: int | float | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def parse_size(text: str) -> int:
    """``11GiB``, ``12G``, ``1.5 TB``, ``800M``, ``1048576`` -> bytes. G and GiB both mean 2^30.

    Memory sizes people type are almost always binary (a "12 GB" GPU has 12 GiB), so decimal
    prefixes are read as binary too; this is stated in ``--help``.
    """
    m = _PARSE.match(text)
    if not m:
        raise CaffememError(f"cannot read memory size '{text}' (examples: 11GiB, 12G, 800M)")
    number, prefix = float(m.group(1)), m.group(2).upper()
    return int(number * (1024 ** (" KMGT".index(prefix) if prefix else 0)))

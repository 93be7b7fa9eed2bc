"""Byte sizes for people (binary units, as ``free -h`` and GPU tools print them)."""

from __future__ import annotations

_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"]


def human_bytes(n: int | float | None) -> str:
    if n is None:
        return "?"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover

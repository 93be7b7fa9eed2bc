"""Numbers for people, one style for every writer of a command.

Bytes in binary units (as ``free -h`` and GPU tools print them), counts with thousands
separators (as torchinfo prints parameters), multiply-adds with SI prefixes (as Netscope and
torchstat print them).
"""

from __future__ import annotations

_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"]


def human_bytes(n: int | float | None, digits: int = 1) -> str:
    """``1536`` -> ``1.5 KiB``; ``digits`` decimals above bytes (1 unless a verdict needs more)."""
    if n is None:
        return "?"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.{digits}f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover


def same_unit_bytes(a: int, b: int, digits: int = 1) -> tuple[str, str]:
    """``a`` and ``b`` in the unit of the larger, with enough decimals (up to 3) that they differ when
    they do: "10.97 GiB" beside "11.00 GiB", never "11.0" beside "11.0"."""
    big = max(abs(a), abs(b), 1)
    power = 0
    while power < len(_UNITS) - 1 and big >= 1024 ** (power + 1):
        power += 1
    unit = _UNITS[power]
    if power == 0:
        return f"{a:,} B", f"{b:,} B"
    scale = 1024 ** power
    for d in range(digits, 4):
        ta, tb = f"{a / scale:,.{d}f}", f"{b / scale:,.{d}f}"
        if ta != tb or a == b:
            break
    return f"{ta} {unit}", f"{tb} {unit}"


def thousands(n: int | None) -> str:
    """``1234567`` -> ``1,234,567``; ``None`` -> ``?``."""
    return "?" if n is None else f"{n:,}"


def human_count(n: int | float | None) -> str:
    """Multiply-adds and other big counts: ``118.0M``, ``1.5G``, ``725`` (SI prefixes, 1 decimal)."""
    if n is None:
        return "?"
    value = float(n)
    if abs(value) < 1000:
        return f"{value:.0f}"
    for prefix in "kMGTP":
        value /= 1000
        if abs(value) < 1000 or prefix == "P":
            return f"{value:.1f}{prefix}"
    return str(n)  # pragma: no cover

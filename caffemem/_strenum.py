"""``StrEnum`` on every Python caffemem supports (3.10 has none; 3.11's is used where it exists).

caffemem's vocabularies (categories, modes, roles, end kinds, origins) are enums whose members
*are* the strings the JSON contracts and reports have always used: a member compares equal to
its string, formats as it, and ``json.dumps`` writes it as it.
"""

from __future__ import annotations

import enum

if hasattr(enum, "StrEnum"):
    StrEnum = enum.StrEnum
else:  # pragma: no cover - Python 3.10

    class StrEnum(str, enum.Enum):  # type: ignore[no-redef]
        """A str whose members print and format as their value, as 3.11's ``enum.StrEnum``."""

        def __str__(self) -> str:
            return str.__str__(self)

        def __format__(self, spec: str) -> str:
            return str.__format__(str(self), spec)

__all__ = ["StrEnum"]

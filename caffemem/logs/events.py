"""One typed event per log line: what the line says, independent of where it sits in the run.

Events are produced once per line, so they are deliberately small (slots, positional values) —
a gigabyte log makes tens of millions of them.
"""

from __future__ import annotations

from typing import Any

# Kinds that the run builder reacts to. Any other line becomes UNKNOWN and is only counted.
UNKNOWN = "unknown"


class Event:
    """A classified log line.

    ``values`` holds the parsed fields in a fixed order per kind (documented in grammar.py);
    ``severity``/``tid``/``stamp``/``where`` are empty for lines without a glog prefix.
    """

    __slots__ = ("kind", "values", "severity", "tid", "stamp", "where", "text")

    def __init__(self, kind: str, values: tuple[Any, ...], severity: str = "", tid: str = "",
                 stamp: str = "", where: str = "", text: str = "") -> None:
        self.kind = kind
        self.values = values
        self.severity = severity
        self.tid = tid
        self.stamp = stamp
        self.where = where
        self.text = text

    @property
    def is_glog(self) -> bool:
        """True for lines that carry a glog prefix (as opposed to shell or runtime output)."""
        return bool(self.severity)

    def __repr__(self) -> str:
        return f"Event({self.kind!r}, {self.values!r}, severity={self.severity!r}, tid={self.tid!r})"

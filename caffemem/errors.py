"""Errors caffemem reports to people: one line, with the place in the user's file when known."""

from __future__ import annotations


class CaffememError(Exception):
    """A problem with the user's input. The CLI prints ``str(err)`` on one line and exits 2."""

    def __init__(self, message: str, source: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(self.location_prefix() + message)

    def location_prefix(self) -> str:
        if not self.source:
            return ""
        parts = [self.source]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts) + ": "


class ParseError(CaffememError):
    """Text that is not valid protobuf text format, or does not fit Caffe's schema."""


class NetError(CaffememError):
    """A net Caffe itself would refuse to build (unknown bottom, shape mismatch, failed CHECK)."""

"""Errors caffemem reports to people: one line, with the place in the user's file when known."""

from __future__ import annotations

#: The longest message printed whole; longer ones (a shape of 30,000 dims) are cut with a count.
MAX_MESSAGE_CHARS = 2000


def one_line(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` as one printable line: newlines, terminal escapes and other control or format
    characters (from a layer name, a path, a mangled file) written as Python escapes (``\\n``,
    ``\\x1b``, ``\\u202e``), and cut after ``limit`` characters."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    if len(text) > limit:
        text = f"{text[:limit]}... ({len(text) - limit:,} more characters)"
    return text



class CaffememError(Exception):
    """A problem with the user's input. The CLI prints ``str(err)`` on one line and exits 2."""

    def __init__(self, message: str, source: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(self.location_prefix() + message)

    def __str__(self) -> str:
        """One printable line, whatever the names or paths in it hold (see :func:`one_line`)."""
        return one_line(str(self.args[0]) if self.args else self.location_prefix() + self.message)

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

"""JSON that every strict parser reads: a float that is not finite is written ``null``.

Python's ``json`` writes ``NaN``/``Infinity`` bare, which is not JSON (RFC 8259) and breaks ``jq``,
JavaScript and most other readers. They arrive from the user's own net (``loss_weight: nan``,
``lr_mult: inf``) or from a log; the JSON contracts say such a number is ``null``.
"""

from __future__ import annotations

import json
import math
from typing import Any, TextIO


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (in dicts, lists, tuples) replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dump(data: Any, out: TextIO, indent: int | None = None) -> None:
    """:func:`dumps` written to ``out`` piece by piece (a big report is never one string in memory)."""
    if indent is not None and indent >= 0:
        try:
            chunks = _indented_chunks(data, indent)
        except _Unsupported:
            pass
        else:
            for chunk in chunks:
                out.write(chunk)
            return
    out.write(json.dumps(finite(data), indent=indent, allow_nan=False))


def dumps(data: Any, indent: int | None = None) -> str:
    """``json.dumps`` of ``data`` with non-finite floats as ``null`` (and never a bare ``NaN``)."""
    if indent is not None and indent >= 0:
        try:
            return _indented(data, indent)
        except _Unsupported:
            pass
    return json.dumps(finite(data), indent=indent, allow_nan=False)


class _Unsupported(Exception):
    """A value :func:`_indented` leaves to ``json`` (which encodes it or says why not)."""


def _indented(data: Any, indent: int) -> str:
    """What ``json.dumps(finite(data), indent=indent, allow_nan=False)`` writes, byte for byte, for
    data of JSON's own types. ``json`` indents in pure Python through nested generators; with a
    ``check`` report of 1,000 layers that was most of the writing."""
    return "".join(_indented_chunks(data, indent))


#: Small pieces joined into one string this often: millions of tiny strings held until the end cost
#: several times the text itself (a 100,000-layer report: 45 MB of text, 300 MB of pieces).
_CHUNK_PARTS = 8192


def _indented_chunks(data: Any, indent: int) -> list[str]:
    """:func:`_indented`'s text as a list of strings of a few hundred kB each."""
    from json.encoder import encode_basestring_ascii as string

    chunks: list[str] = []
    parts: list[str] = []
    isfinite = math.isfinite

    add = parts.append

    def flush() -> None:
        chunks.append("".join(parts))
        parts.clear()

    def key_text(key: Any) -> str:
        if isinstance(key, str):
            return string(key)
        if isinstance(key, float):
            if not isfinite(key):
                raise _Unsupported
            return f'"{float.__repr__(key)}"'
        if key is True:
            return '"true"'
        if key is False:
            return '"false"'
        if key is None:
            return '"null"'
        if isinstance(key, int):
            return f'"{int.__repr__(key)}"'
        raise _Unsupported

    def value(o: Any, inner: str) -> None:
        if isinstance(o, str):
            add(string(o))
        elif o is None:
            add("null")
        elif o is True:
            add("true")
        elif o is False:
            add("false")
        elif isinstance(o, int):
            add(int.__repr__(o))
        elif isinstance(o, float):
            add(float.__repr__(o) if isfinite(o) else "null")
        elif isinstance(o, dict):
            if not o:
                add("{}")
                return
            deeper = inner + pad
            add("{" + deeper)
            first = True
            for k, v in o.items():
                if first:
                    first = False
                else:
                    add("," + deeper)
                add(key_text(k) + ": ")
                value(v, deeper)
                if len(parts) >= _CHUNK_PARTS:
                    flush()
            add(inner + "}")
        elif isinstance(o, (list, tuple)):
            if not o:
                add("[]")
                return
            deeper = inner + pad
            add("[" + deeper)
            first = True
            for v in o:
                if first:
                    first = False
                else:
                    add("," + deeper)
                value(v, deeper)
                if len(parts) >= _CHUNK_PARTS:
                    flush()
            add(inner + "]")
        else:
            raise _Unsupported

    pad = " " * indent
    value(data, "\n")
    chunks.append("".join(parts))
    return chunks

"""Protobuf text format (``.prototxt``) into Caffe's protobuf messages, with places for every problem.

Why not ``google.protobuf.text_format``: it either fails on the first unknown field or skips it
silently, and its errors carry no file name. Real Caffe nets come from dozens of forks, so a field
caffemem does not know must be a *warning* naming ``file:line:col`` while the rest of the net is
still analysed; a real syntax error is one clear line with its place. This parser is also several
times faster than the pure-Python tokenizer in ``text_format``, which matters for 1,000-layer nets.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from caffemem.errors import ParseError, one_line
from caffemem.proto import is_repeated
from caffemem.proto.forks import fork_of

#: One token with the whitespace and comments before it (possessive: never backtracked into). A match
#: whose ``lastgroup`` is None consumed only whitespace: the end of the text, or a character no token
#: starts with.
_TOKEN = re.compile(
    r"""
    (?:\s+|\#[^\n]*)*+
    (?:
      (?P<str>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)[fF]?(?![A-Za-z_]))
    | (?P<ident>-?[A-Za-z_][A-Za-z0-9_.]*)
    | (?P<punct>[{}\[\]:,;<>])
    )?
    """,
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "b": "\b",
            "f": "\f", "v": "\v", "?": "?"}
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|.)")

_INT_TYPES = {FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64,
              FieldDescriptor.CPPTYPE_UINT32, FieldDescriptor.CPPTYPE_UINT64}
_FLOAT_TYPES = {FieldDescriptor.CPPTYPE_FLOAT, FieldDescriptor.CPPTYPE_DOUBLE}
_TRUE = {"true", "True", "t", "1"}
_FALSE = {"false", "False", "f", "0"}
_CLOSE = {"{": "}", "<": ">"}


#: Diagnostic kinds for text BVLC Caffe's own parser or net setup refuses. caffemem reads past them
#: (``upgrade`` and ``audit`` still report on such a file); ``check`` refuses them as Caffe would.
UNKNOWN_FIELD = "unknown_field"
UNKNOWN_VALUE = "unknown_value"
CAFFE_CHECK = "caffe_check"
REFUSED_KINDS = frozenset({UNKNOWN_FIELD, UNKNOWN_VALUE, CAFFE_CHECK})
#: A field of a fork's schema (caffemem.proto.forks): a warning only.
FORK_FIELD = "fork_field"
#: Where a BlobShape is the shape of a data blob (Input, DummyData, the net's own inputs).
_DATA_SHAPES = frozenset({("InputParameter", "shape"), ("DummyDataParameter", "shape"),
                          ("NetParameter", "input_shape")})
#: Caffe's kMaxBlobAxes (blob.hpp): no blob has more axes.
MAX_BLOB_AXES = 32
#: Deepest nesting of messages read; protobuf's own parsers stop at 100 as well.
MAX_DEPTH = 100


@dataclass(frozen=True)
class Diagnostic:
    """A warning tied to a place in a file (1-based line and column)."""

    source: str
    line: int
    column: int
    message: str
    kind: str = ""
    hint: str = ""  # added to the error when ``check`` refuses the file (" (did you mean 'stride'?)")

    def __str__(self) -> str:
        return one_line(f"{self.source}:{self.line}:{self.column}: {self.message}")

    @property
    def refused(self) -> bool:
        """Whether BVLC Caffe refuses the file for this (see :data:`REFUSED_KINDS`)."""
        return self.kind in REFUSED_KINDS

    def as_error(self) -> ParseError:
        """This problem as the one-line error ``check`` stops with."""
        message = self.message.removesuffix("; ignored")
        return ParseError(f"Caffe refuses this file: {message}{self.hint}", self.source, self.line, self.column)


def first_refusal(diagnostics: list[Diagnostic]) -> ParseError | None:
    """The first problem BVLC Caffe would refuse the file for, as an error; None when there is none."""
    return next((d.as_error() for d in diagnostics if d.refused), None)


class _Tokens:
    """The token list of one text, with offsets turned into line/column only when needed."""

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.source = source
        self._line_starts: list[int] | None = None
        self.offsets: list[int] = []
        self.i = 0
        kinds: list[str] = []
        values: list[str] = []
        offsets: list[int] = []
        add_kind, add_value, add_offset = kinds.append, values.append, offsets.append
        end = len(text)
        for m in _TOKEN.finditer(text):
            kind = m.lastgroup
            if kind is None:  # only whitespace: the end, or a character no token starts with
                pos = m.end()
                if pos < end:
                    raise self.error(f"unexpected character {text[pos]!r}", pos)
                break
            add_kind(kind)
            add_value(m.group(kind))
            add_offset(m.start(kind))
        self.kinds = kinds
        self.values = values
        self.offsets = offsets

    def place(self, offset: int) -> tuple[int, int]:
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def here(self) -> int:
        return self.offsets[self.i] if self.i < len(self.offsets) else len(self.text)

    def error(self, message: str, offset: int | None = None) -> ParseError:
        line, col = self.place(self.here() if offset is None else offset)
        return ParseError(message, self.source, line, col)

    def at_end(self) -> bool:
        return self.i >= len(self.kinds)

    def peek(self) -> str | None:
        return self.values[self.i] if self.i < len(self.values) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.kinds):
            raise self.error("unexpected end of file")
        k, v = self.kinds[self.i], self.values[self.i]
        self.i += 1
        return k, v

    def expect(self, value: str) -> None:
        kind, got = self.take()
        if got != value:
            self.i -= 1
            raise self.error(f"expected '{value}', found '{got}'")

    def accept(self, value: str) -> bool:
        if self.i < len(self.values) and self.values[self.i] == value:
            self.i += 1
            return True
        return False


def _parse_int(raw: str) -> int:
    """Decimal, hex (``0x``) or octal (leading ``0``) as protobuf's text format allows."""
    digits = raw.lstrip("+-")
    sign = -1 if raw.startswith("-") else 1
    if digits[:2] in ("0x", "0X"):
        return sign * int(digits[2:], 16)
    if len(digits) > 1 and digits[0] == "0" and digits.isdigit():
        return sign * int(digits, 8)
    return sign * int(digits)


def _unescape(body: str) -> str:
    def repl(m: re.Match[str]) -> str:
        s = m.group(1)
        if s[0] == "x" and len(s) > 1:
            return chr(int(s[1:], 16))
        if s[0] in "01234567":
            return chr(int(s, 8))
        return _ESCAPES.get(s, s)

    return _ESCAPE_RE.sub(repl, body) if "\\" in body else body


#: Per message type: field name -> (descriptor, is a message, repeated, the fork defining it or None).
_FIELD_INFO: dict[str, dict[str, tuple[FieldDescriptor, bool, bool, str | None]]] = {}


def _field_info(descriptor: Descriptor) -> dict[str, tuple[FieldDescriptor, bool, bool, str | None]]:
    info = _FIELD_INFO.get(descriptor.full_name)
    if info is None:
        info = _FIELD_INFO[descriptor.full_name] = {
            name: (field, field.cpp_type == FieldDescriptor.CPPTYPE_MESSAGE, is_repeated(field),
                   fork_of(descriptor.name, name))
            for name, field in descriptor.fields_by_name.items()}
    return info


class _Parser:
    def __init__(self, tokens: _Tokens, notes: list[Diagnostic] | None = None) -> None:
        self.t = tokens
        self.diagnostics: list[Diagnostic] = []
        self.notes = notes
        self.depth = 0
        self.via: list[tuple[str, str]] = []  # (message, field) of each message being read, outermost first
        self.forks_seen: set[tuple[str, str]] = set()

    def warn(self, offset: int, message: str, kind: str = "", hint: str = "") -> None:
        line, col = self.t.place(offset)
        self.diagnostics.append(Diagnostic(self.t.source, line, col, message, kind, hint))

    def note(self, offset: int, message: str, kind: str) -> None:
        """A fact for ``check`` only (a fork's field, a failed Caffe CHECK), kept apart from the warnings."""
        if self.notes is not None:
            line, col = self.t.place(offset)
            self.notes.append(Diagnostic(self.t.source, line, col, message, kind))

    def message(self, msg: Message, close: str | None) -> None:
        t = self.t
        kinds, values, offsets = t.kinds, t.values, t.offsets
        n = len(values)
        descriptor = msg.DESCRIPTOR
        dname = descriptor.name
        fields = descriptor.fields_by_name
        info = _field_info(descriptor)
        seen: set[str] = set()
        while True:
            i = t.i
            if i >= n:
                if close is None:
                    return
                raise t.error(f"unexpected end of file: missing '{close}'")
            name = values[i]
            if name == close:
                t.i = i + 1
                return
            start = offsets[i]
            kind = kinds[i]
            t.i = i = i + 1
            if name == "[":  # extension or Any URL: not used by Caffe; skip it whole
                while t.take()[1] != "]":
                    pass
                self.warn(start, "extension fields are not supported; ignored")
                self.skip_value()
                continue
            if kind != "ident":
                t.i -= 1
                raise t.error(f"expected a field name, found '{name}'")
            found = info.get(name)
            if found is None:
                self.warn(start, f"unknown field '{name}' in {dname}; ignored", UNKNOWN_FIELD,
                          _did_you_mean(name, fields))
                self.skip_value()
                seen.add(name)
                if not t.accept(","):
                    t.accept(";")
                continue
            field, is_message, repeated, fork = found
            if fork is not None and (dname, name) not in self.forks_seen:
                # once per field and file: a fork's net uses its fields many times
                self.forks_seen.add((dname, name))
                self.note(start, f"field '{name}' of {dname} is a Caffe fork's ({fork}), not BVLC "
                                 f"Caffe's: only that fork's caffe reads this net", FORK_FIELD)
            if is_message:
                if i < n and values[i] == ":":
                    t.i = i = i + 1
                if repeated:
                    if i < n and values[i] == "[":
                        t.i = i + 1
                        while not t.accept("]"):
                            self.sub_message(getattr(msg, name).add(), (dname, name))
                            t.accept(",")
                    else:
                        sub = getattr(msg, name).add()
                        self.sub_message(sub, (dname, name))
                        if close is None and name == "layer" and not sub.type:
                            self.note(start, f"layer '{sub.name}' has no type: Caffe's LayerRegistry fails on it "
                                             "(Unknown layer type: \"\")", CAFFE_CHECK)
                else:
                    sub = getattr(msg, name)
                    sub.SetInParent()
                    self.sub_message(sub, (dname, name))
            else:
                if i < n and values[i] == ":":
                    t.i = i = i + 1
                else:
                    raise t.error(f"expected ':' after field '{name}'")
                if i < n and values[i] == "[":
                    t.i = i + 1
                    if not repeated:
                        raise t.error(f"field '{name}' is not repeated; a list is not allowed here")
                    while not t.accept("]"):
                        self.scalar(msg, field, repeated)
                        t.accept(",")
                else:
                    if not repeated and name in seen:
                        self.warn(start, f"field '{name}' given more than once; the last value is used")
                    self.scalar(msg, field, repeated)
            seen.add(name)
            i = t.i
            if i < n and values[i] in (",", ";"):
                t.i = i + 1

    def sub_message(self, sub: Message, via: tuple[str, str] = ("", "")) -> None:
        t = self.t
        kind, opener = t.take()
        if opener not in _CLOSE:
            t.i -= 1
            raise t.error(f"expected '{{' to open {sub.DESCRIPTOR.name}, found '{opener}'")
        if self.depth >= MAX_DEPTH:
            t.i -= 1
            raise t.error(f"messages nested more than {MAX_DEPTH} deep (Caffe's protobuf stops there too)")
        self.depth += 1
        self.via.append(via)
        self.message(sub, _CLOSE[opener])
        self.via.pop()
        self.depth -= 1
        if via in _DATA_SHAPES and len(sub.dim) > MAX_BLOB_AXES:  # type: ignore[attr-defined]
            self.note(t.offsets[t.i - 1], f"a data shape of {len(sub.dim)} axes: "  # type: ignore[attr-defined]
                      f"Caffe's Blob::Reshape fails its check 'shape.size() <= kMaxBlobAxes "
                      f"({len(sub.dim)} vs. {MAX_BLOB_AXES})'", CAFFE_CHECK)

    def scalar(self, msg: Message, field: FieldDescriptor, repeated: bool) -> None:
        t = self.t
        start = t.here()
        kind, raw = t.take()
        cpp = field.cpp_type
        try:
            if cpp == FieldDescriptor.CPPTYPE_STRING:
                if kind != "str":
                    raise t.error(f"field '{field.name}' needs a quoted string, found '{raw}'", start)
                parts = [_unescape(raw[1:-1])]
                while t.i < len(t.kinds) and t.kinds[t.i] == "str":  # adjacent literals concatenate
                    parts.append(_unescape(t.take()[1][1:-1]))
                text = "".join(parts)
                value: object = text.encode("latin-1", "replace") if field.type == FieldDescriptor.TYPE_BYTES \
                    else text
            elif cpp in _INT_TYPES:
                if kind != "num":
                    raise t.error(f"field '{field.name}' needs an integer, found '{raw}'", start)
                value = _parse_int(raw)
                if value <= 0 and field.name in ("dim", "input_dim"):
                    self.check_data_dim(msg, field, value, start)
            elif cpp in _FLOAT_TYPES:
                value = self.float_value(kind, raw, field, start)
            elif cpp == FieldDescriptor.CPPTYPE_BOOL:
                if raw in _TRUE:
                    value = True
                elif raw in _FALSE:
                    value = False
                else:
                    raise t.error(f"field '{field.name}' needs true or false, found '{raw}'", start)
            elif cpp == FieldDescriptor.CPPTYPE_ENUM:
                enum = field.enum_type
                if kind == "ident":
                    ev = enum.values_by_name.get(raw)
                    if ev is None:
                        self.warn(start, f"unknown value '{raw}' for {enum.name} field '{field.name}'; ignored",
                                  UNKNOWN_VALUE)
                        return
                    value = ev.number
                elif kind == "num":
                    number = int(raw, 0)
                    if number not in enum.values_by_number:
                        self.warn(start, f"unknown value {number} for {enum.name} field '{field.name}'; ignored",
                                  UNKNOWN_VALUE)
                        return
                    value = number
                else:
                    raise t.error(f"field '{field.name}' needs an enum name, found '{raw}'", start)
            else:  # pragma: no cover - every protobuf scalar type is handled above
                raise t.error(f"unsupported field type for '{field.name}'", start)
            if repeated:
                getattr(msg, field.name).append(value)
            else:
                setattr(msg, field.name, value)
        except (ValueError, TypeError) as err:
            raise t.error(f"bad value '{raw}' for field '{field.name}': {err}", start) from None

    def check_data_dim(self, msg: Message, field: FieldDescriptor, value: int, start: int) -> None:
        """A data blob's dimension Caffe's CHECKs refuse: negative in any data shape (``Blob::Reshape``),
        zero in DummyData (its ``ConstantFiller`` checks the count). Reshape's ``dim: -1``/``0`` are fine."""
        name = msg.DESCRIPTOR.name
        via = self.via[-1] if self.via else ("", "")
        if name == "NetParameter" or (name == "BlobShape" and via in _DATA_SHAPES):
            if value < 0:
                self.note(start, f"a negative dimension ({field.name}: {value}): Caffe's Blob::Reshape fails its "
                                 f"check 'shape[i] >= 0 ({value} vs. 0)'", CAFFE_CHECK)
            elif via == ("DummyDataParameter", "shape"):
                self.note(start, "a zero dimension (dim: 0) in DummyData: an empty blob, and Caffe's filler fails "
                                 "its check 'count'", CAFFE_CHECK)

    def float_value(self, kind: str, raw: str, field: FieldDescriptor, start: int) -> float:
        if kind == "num":
            body = raw[:-1] if raw[-1] in "fF" and not raw.lower().startswith(("0x", "-0x", "+0x")) else raw
            return float(int(body, 16)) if "x" in body.lower() else float(body)
        if kind == "ident":
            low = raw.lower()
            sign = -1.0 if low.startswith("-") else 1.0
            low = low.lstrip("-")
            if low in ("inf", "infinity", "inff", "infinityf"):
                return sign * math.inf
            if low in ("nan", "nanf"):
                return math.nan
        raise self.t.error(f"field '{field.name}' needs a number, found '{raw}'", start)

    def skip_value(self) -> None:
        """Skip the value of an unknown field: ``: scalar``, ``: [list]``, or a ``{...}`` block."""
        t = self.t
        t.accept(":")
        kind, v = t.take()
        if v in _CLOSE or v == "[":
            depth = 1
            while depth:
                _, v = t.take()
                if v in ("{", "<", "["):
                    depth += 1
                elif v in ("}", ">", "]"):
                    depth -= 1
        elif kind == "str":
            while t.i < len(t.kinds) and t.kinds[t.i] == "str":
                t.i += 1
        elif kind not in ("num", "ident"):
            t.i -= 1
            raise t.error(f"expected a value, found '{v}'")


def _did_you_mean(name: str, fields: Mapping[str, FieldDescriptor]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(fields), n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""


def parse_text(text: str, message: Message, source: str = "<text>",
               notes: list[Diagnostic] | None = None) -> list[Diagnostic]:
    """Merge protobuf text ``text`` into ``message``; return warnings (unknown fields, repeats).

    ``notes``, when given, receives what only ``check`` reports: fields of a fork's schema
    (:data:`FORK_FIELD`) and values BVLC Caffe's CHECKs refuse (:data:`CAFFE_CHECK`).
    Raises :class:`ParseError` with file, line and column for text that cannot be read at all.
    """
    tokens = _tokens(text, source)
    parser = _Parser(tokens, notes)
    parser.message(message, None)
    return parser.diagnostics


#: The tokens of the last text :func:`top_level_fields` read, for :func:`parse_text` to take: telling a
#: net from a solver and then parsing it tokenises the text once. (text, source, tokens), or empty.
_last_tokens: list[tuple[str, str, _Tokens]] = []


def _tokens(text: str, source: str) -> _Tokens:
    """The tokens of ``text``: those :func:`top_level_fields` just made for it (taken, so kept no
    longer), else a new tokenisation."""
    if _last_tokens:
        last_text, last_source, tokens = _last_tokens.pop()
        if last_text is text and last_source == source:
            tokens.i = 0
            return tokens
    return _Tokens(text, source)


def top_level_fields(text: str, source: str = "<text>") -> list[str]:
    """Names of the fields at nesting depth 0, in order: enough to tell a net from a solver."""
    tokens = _Tokens(text, source)
    _last_tokens[:] = [(text, source, tokens)]
    names: list[str] = []
    depth = 0
    prev_value = ""
    for kind, value in zip(tokens.kinds, tokens.values, strict=True):
        if value in ("{", "<", "["):
            depth += 1
        elif value in ("}", ">", "]"):
            depth -= 1
        elif depth == 0 and kind == "ident" and prev_value != ":":
            names.append(value)
        prev_value = value
    return names

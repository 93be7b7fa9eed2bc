"""Mutators: turn one good input (a net, a log, a caffemodel) into a bad one, deterministically.

Every mutator takes the seed's bytes and a ``random.Random`` and returns new bytes; the same seed
and the same generator state give the same output, so a failing case is reproduced by its number.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from caffemem.net.caffemodel import _varint  # the one protobuf varint writer

Mutator = Callable[[bytes, random.Random], bytes]

# ----------------------------------------------------------------------------- text level (any text)

HUGE_NUMBERS = [b"0", b"-1", b"-3", b"2147483647", b"2147483648", b"4294967296", b"-2147483649",
                b"9223372036854775808", b"1" * 40, b"9" * 100, b"1e308", b"1e400", b"-1e400", b"nan",
                b"inf", b"-inf", b"0x7fffffff", b"0xffffffffffffffff", b"65536", b"100000", b"1.5", b"-0"]
CONTROL_BYTES = [b"\x00", b"\x01", b"\x1b[2J", b"\x7f", b"\xff", b"\xc3\x28", b"\r", b"\x0b", b"\xe2\x80\xae"]


def flip_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return bytes([rng.randrange(256)])
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out))
        out[i] ^= 1 << rng.randrange(8)
    return bytes(out)


def random_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(out) + 1)
        out[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 6)))
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data) + 1)] if data else data


def duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    a = rng.randrange(len(data))
    b = min(len(data), a + rng.randint(1, 400))
    times = rng.choice([2, 3, 10, 100])
    return data[:b] + data[a:b] * times + data[b:]


def delete_chunk(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return data
    a = rng.randrange(len(data))
    return data[:a] + data[a + rng.randint(1, 200):]


def insert_control(data: bytes, rng: random.Random) -> bytes:
    i = rng.randrange(len(data) + 1)
    return data[:i] + rng.choice(CONTROL_BYTES) + data[i:]


def splice_lines(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    if len(lines) < 2:
        return data
    a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
    lines[a], lines[b] = lines[b], lines[a]
    return b"\n".join(lines)


TEXT_MUTATORS: list[Mutator] = [flip_bytes, random_bytes, truncate, duplicate_chunk, delete_chunk,
                                insert_control, splice_lines]

# ----------------------------------------------------------------------------- prototxt token level

_NUMBER = re.compile(rb"(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w.])")
_FIELD = re.compile(rb"\b([a-z_][a-z0-9_]*)\s*(?=[:{])")
_QUOTED = re.compile(rb'"([^"\n]*)"')


def _replace_match(data: bytes, matches: list[re.Match[bytes]], rng: random.Random, new: bytes,
                   group: int = 0) -> bytes:
    m = rng.choice(matches)
    return data[: m.start(group)] + new + data[m.end(group):]


def number_extreme(data: bytes, rng: random.Random) -> bytes:
    matches = list(_NUMBER.finditer(data))
    if not matches:
        return flip_bytes(data, rng)
    for _ in range(rng.randint(1, 3)):
        matches = list(_NUMBER.finditer(data)) or matches
        data = _replace_match(data, matches, rng, rng.choice(HUGE_NUMBERS))
    return data


def field_typo(data: bytes, rng: random.Random) -> bytes:
    matches = list(_FIELD.finditer(data))
    if not matches:
        return flip_bytes(data, rng)
    m = rng.choice(matches)
    name = bytearray(m.group(1))
    how = rng.randrange(4)
    i = rng.randrange(len(name))
    if how == 0 and len(name) > 1:  # swap two letters: stride -> stirde
        j = min(i + 1, len(name) - 1)
        name[i], name[j] = name[j], name[i]
    elif how == 1:
        del name[i]
    elif how == 2:
        name.insert(i, rng.choice(b"abcdefghijklmnopqrstuvwxyz_"))
    else:
        name = bytearray(rng.choice([b"layer", b"layers", b"type", b"name", b"bottom", b"top", b"dim", b"shape",
                                     b"include", b"stride", b"input_dim", b"python_param", b"blobs"]))
    return data[: m.start(1)] + bytes(name) + data[m.end(1):]


def brace_remove(data: bytes, rng: random.Random) -> bytes:
    spots = [i for i, c in enumerate(data) if c in b"{}"]
    if not spots:
        return data + b"}"
    i = rng.choice(spots)
    return data[:i] + data[i + 1:]


def brace_nest(data: bytes, rng: random.Random) -> bytes:
    depth = rng.choice([2, 50, 200, 1000, 5000, 50000])
    body = rng.choice([b"layer ", b"layer_param ", b"convolution_param ", b"x "])
    nested = body + b"{ " + (body + b"{ ") * depth + b"}" * (depth + 1) * rng.choice([1, 1, 0]) + b"\n"
    i = rng.randrange(len(data) + 1)
    return data[:i] + nested + data[i:]


def layer_in_layer(data: bytes, rng: random.Random) -> bytes:
    m = re.search(rb"layers? \{", data)
    if not m:
        return data
    return data[: m.end()] + b' layer { name: "inner" type: "ReLU" } ' + data[m.end():]


def drop_type(data: bytes, rng: random.Random) -> bytes:
    matches = list(re.finditer(rb"\btype: *(\"[^\"]*\"|[A-Z_]+)", data))
    if not matches:
        return data
    return _replace_match(data, matches, rng, rng.choice([b"", b'type: ""', b'type: "NoSuchLayer"']))


def string_mangle(data: bytes, rng: random.Random) -> bytes:
    matches = list(_QUOTED.finditer(data))
    if not matches:
        return data
    new = rng.choice([b"", b"a\\nb", b"\\x00\\x1b[31m", b"\xff\xfe", b"x" * 5000, b"a\\\"b", b"..\\/..\\/etc",
                      b"\\303\\050", b"line1\\r\\nline2"])
    return _replace_match(data, matches, rng, new, 1)


def repeat_field(data: bytes, rng: random.Random) -> bytes:
    """Enormous repeated fields: thousands of ``dim`` entries or layers."""
    what = rng.randrange(3)
    if what == 0:
        m = re.search(rb"dim: *\d+", data)
        if m:
            n = rng.choice([64, 1000, 30000])
            return data[: m.end()] + b" dim: 2" * n + data[m.end():]
    if what == 1:
        m = re.search(rb"\nlayers? \{.*?\n\}", data, re.S)
        if m:
            return data + m.group() * rng.choice([10, 200, 2000])
    m = re.search(rb"(kernel_size|pad|stride|num_output): *\d+", data)
    if m:
        return data[: m.end()] + (b" " + m.group(1) + b": 3") * rng.choice([10, 1000])
    return duplicate_chunk(data, rng)


PROTOTXT_MUTATORS: list[Mutator] = TEXT_MUTATORS + [number_extreme, number_extreme, number_extreme, field_typo,
                                                    field_typo, brace_remove, brace_nest, layer_in_layer, drop_type,
                                                    string_mangle, repeat_field]

# ----------------------------------------------------------------------------- glog logs


def log_mangle_line(data: bytes, rng: random.Random) -> bytes:
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    line = lines[i]
    how = rng.randrange(5)
    if how == 0 and line:
        line = line[: rng.randrange(len(line))]
    elif how == 1:
        line = line.replace(b"]", b"", 1)
    elif how == 2:
        line = rng.choice([b"I", b"F", b"E", b"W"]) + line[1:]
    elif how == 3:
        line = line + rng.choice(CONTROL_BYTES) + b" \xff\xfe"
    else:
        line = b"I" + rng.choice([b"9999", b"1301", b"0000"]) + line[5:]
    lines[i] = line
    return b"\n".join(lines)


def log_number_extreme(data: bytes, rng: random.Random) -> bytes:
    return number_extreme(data, rng)


def log_top_shape(data: bytes, rng: random.Random) -> bytes:
    """A ``Top shape:`` line with huge, negative, many or missing dims."""
    matches = list(re.finditer(rb"Top shape: ([^\n]*)", data))
    if not matches:
        return number_extreme(data, rng)
    new = rng.choice([b"9" * 100 + b" 3 (1)", b"-4 3 8 8 (-384)", b"0 (0)", b"", b"4 " * 2000 + b"(1)",
                      b"4 3 8 8", b"(768)", b"1 1 1 1 (99999999999999999999999)", b"4 3 abc 8 (768)"])
    return _replace_match(data, matches, rng, new, 1)


def log_kernel(data: bytes, rng: random.Random) -> bytes:
    """The echoed net's numbers made absurd (the log-rebuilt net is built from them)."""
    matches = list(re.finditer(rb"(kernel_size|num_output|dim|stride|pad): (\d+)", data))
    if not matches:
        return number_extreme(data, rng)
    return _replace_match(data, matches, rng, rng.choice(HUGE_NUMBERS), 2)


def log_repeat_iterations(data: bytes, rng: random.Random) -> bytes:
    m = re.search(rb"[^\n]*Iteration \d+[^\n]*loss = [^\n]*\n", data)
    if not m:
        return duplicate_chunk(data, rng)
    return data[: m.end()] + m.group() * rng.choice([10, 1000, 20000]) + data[m.end():]


def log_drop_echo(data: bytes, rng: random.Random) -> bytes:
    """Cut the echoed net out, so that postmortem rebuilds it from the shape lines."""
    start = data.find(b"Initializing net from parameters")
    if start < 0:
        return log_mangle_line(data, rng)
    end = data.find(b"\nI", start + 40)
    return data[:start] + data[end if end > 0 else len(data):]


LOG_MUTATORS: list[Mutator] = TEXT_MUTATORS + [log_mangle_line, log_mangle_line, log_number_extreme, log_top_shape,
                                               log_top_shape, log_kernel, log_kernel, log_repeat_iterations,
                                               log_drop_echo]

# ----------------------------------------------------------------------------- binary protobuf (caffemodel)


def _read_varint(data: bytes, i: int) -> tuple[int, int] | None:
    shift = n = 0
    while i < len(data) and shift < 70:
        b = data[i]
        n |= (b & 0x7F) << shift
        i += 1
        if not b & 0x80:
            return n, i
        shift += 7
    return None


def wire_fields(data: bytes, start: int = 0, end: int | None = None, depth: int = 0,
                out: list[tuple[int, int, int, int]] | None = None) -> list[tuple[int, int, int, int]]:
    """Length-delimited fields found by walking the wire format: (key offset, length offset, body offset,
    body end), descending into bodies that parse as messages themselves."""
    out = [] if out is None else out
    end = len(data) if end is None else end
    i = start
    while i < end and len(out) < 5000:
        key = _read_varint(data, i)
        if key is None:
            return out
        tag, j = key
        wt = tag & 7
        if tag >> 3 == 0:
            return out
        if wt == 0:
            v = _read_varint(data, j)
            if v is None:
                return out
            i = v[1]
        elif wt == 1:
            i = j + 8
        elif wt == 5:
            i = j + 4
        elif wt == 2:
            ln = _read_varint(data, j)
            if ln is None:
                return out
            body = ln[1]
            if body + ln[0] > end:
                return out
            out.append((i, j, body, body + ln[0]))
            if depth < 6:
                wire_fields(data, body, body + ln[0], depth + 1, out)
            i = body + ln[0]
        else:
            return out
    return out


def pb_huge_length(data: bytes, rng: random.Random) -> bytes:
    """A length-delimited field declaring far more bytes than the file has (4 GB blob in 1 KB)."""
    fields = wire_fields(data)
    if not fields:
        return data + b"\x0a" + _varint(2**32)
    _, lo, body, _ = rng.choice(fields)
    n = rng.choice([2**31 - 1, 2**31, 2**32, 2**32 + 5, 2**40, 2**63, 2**64 - 1])
    return data[:lo] + _varint(n) + data[body:]


def pb_off_length(data: bytes, rng: random.Random) -> bytes:
    fields = wire_fields(data)
    if not fields:
        return flip_bytes(data, rng)
    _, lo, body, bend = rng.choice(fields)
    n = max(0, bend - body + rng.choice([-3, -1, 1, 2, 7]))
    return data[:lo] + _varint(n) + data[body:]


def pb_broken_varint(data: bytes, rng: random.Random) -> bytes:
    """A varint that never ends (all continuation bits) or is over ten bytes long."""
    fields = wire_fields(data)
    spot = rng.choice(fields)[1] if fields else rng.randrange(len(data) + 1)
    run = b"\xff" * rng.choice([3, 10, 11, 20]) + rng.choice([b"", b"\x01", b"\x7f"])
    return data[:spot] + run + (data[spot + 1:] if rng.random() < 0.5 else b"")


def pb_non_utf8_name(data: bytes, rng: random.Random) -> bytes:
    """Bytes that are not UTF-8 (or are control characters) inside a short string field (a name)."""
    fields = [f for f in wire_fields(data) if 0 < f[3] - f[2] <= 40
              and all(32 <= c < 127 for c in data[f[2]:f[3]])]
    if not fields:
        return flip_bytes(data, rng)
    _, _, body, bend = rng.choice(fields)
    i = rng.randrange(body, bend)
    bad = rng.choice([b"\xff", b"\xc3", b"\x80", b"\n", b"\x1b", b"\x00"])
    return data[:i] + bad + data[i + 1:]


def pb_huge_blob(data: bytes, rng: random.Random) -> bytes:
    """A layer whose blob declares a giant shape, with a packed data field of huge declared length."""
    dims = rng.choice([[2**31], [65536, 65536], [10**6, 10**6, 10**6], [-1, 4], [0], [2**62, 4]])
    shape = b"".join(b"\x08" + _varint(d & (2**64 - 1)) for d in dims)
    blob = b"\x3a" + _varint(len(shape)) + shape  # BlobProto.shape = 7
    length = rng.choice([2**32, 2**31, 16, 2**34])
    payload = b"\x00" * rng.choice([0, 16, 1000])
    blob += b"\x2a" + _varint(length) + payload  # BlobProto.data = 5 (packed floats)
    layer_body = b"\x0a\x04huge\x12\x0bConvolution" + b"\x3a" + _varint(len(blob) if rng.random() < 0.5
                                                                          else len(blob) + 2**32) + blob
    layer = b"\xa2\x06" + _varint(len(layer_body)) + layer_body  # NetParameter.layer = 100
    i = rng.choice([len(data), 0])
    return data[:i] + layer + data[i:]


def pb_repeat_layer(data: bytes, rng: random.Random) -> bytes:
    fields = [f for f in wire_fields(data) if data[f[0]:f[0] + 2] == b"\xa2\x06"]
    if not fields:
        return duplicate_chunk(data, rng)
    k, _, _, bend = rng.choice(fields)
    return data[:bend] + data[k:bend] * rng.choice([2, 50, 2000]) + data[bend:]


def pb_wrong_wiretype(data: bytes, rng: random.Random) -> bytes:
    fields = wire_fields(data)
    if not fields:
        return flip_bytes(data, rng)
    k = rng.choice(fields)[0]
    out = bytearray(data)
    out[k] = (out[k] & ~7) | rng.choice([0, 1, 3, 4, 5, 6, 7])
    return bytes(out)


CAFFEMODEL_MUTATORS: list[Mutator] = [flip_bytes, truncate, truncate, duplicate_chunk, delete_chunk,
                                      pb_huge_length, pb_huge_length, pb_off_length, pb_broken_varint,
                                      pb_non_utf8_name, pb_non_utf8_name, pb_huge_blob, pb_repeat_layer,
                                      pb_wrong_wiretype]

MUTATORS: dict[str, list[Mutator]] = {"prototxt": PROTOTXT_MUTATORS, "log": LOG_MUTATORS,
                                      "caffemodel": CAFFEMODEL_MUTATORS}


def mutate(kind: str, data: bytes, rng: random.Random) -> tuple[bytes, list[str]]:
    """One to three mutations of ``data``; returns the result and the mutators' names."""
    names = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        mutator = rng.choice(MUTATORS[kind])
        data = mutator(data, rng)
        names.append(mutator.__name__)
    return data, names

"""Read long stretches of plain training lines in bulk, without looking at each line in Python.

Most of a long log is the same few lines per displayed iteration:

    I0606 00:32:28.832183   904 solver.cpp:229] Iteration 169800, loss = 1.88825
    I0606 00:32:28.832336   904 solver.cpp:245]     Train net output #0: loss = 1.89004 (* 1 = 1.89004 loss)
    I0606 00:32:28.832348   904 sgd_solver.cpp:106] Iteration 169800, lr = 4.70591e-05

Creating Python objects is what costs here (~70 ns each, about what a bare ``for line in file``
loop spends per line), so the piece is not split into lines at all. It is split once at
``", lr = "``, which occurs once per block: each *token* is then "lr of the previous block, its
newline, the loss line, the train outputs, and the lr line up to its iteration number". Tokens
are judged by their *shape* (every digit replaced by 0): whether lines.py's regexes accept the
lines, and where each field sits, depends only on the shape, because they treat every digit
alike. Each distinct shape is classified once with those regexes and remembered with one slicer
per field; the fields are then cut with C-level ``map`` calls, a handful of objects per block.
The number text Caffe printed is kept as it is (it is already a JSON number: the shape check
admits only ``-0.0``/``0e-00``-like forms, and ``nan``/``inf``), so nothing is parsed to a float
and formatted again.

Real logs add lines between blocks. An INFO line of a kind caffemem does not know, with no
digit in its message ("Data layer prefetch queue empty"), may sit anywhere in a block: the batch
counts it as the line path would (``_passing``). A token whose block follows other lines (a test
pass, a snapshot: its *lead-in*) can open a stretch; the lead-in is left to the line path.

What every line of a stretch must share (thread id, source line and words of each line of the
block, output names included) is checked with one ``str.count`` per stretch on its text instead
of line by line (per kind of line when a name or number could read as a thread id); the loss and
lr lines' iteration numbers are paired with ``str.endswith``; the loss line's date goes with its
clock into the time stamp column. An output name with a digit shows as 0 in the shape, so such
names are cut from the text. Anything irregular (outputs that change name, iteration numbers that
do not pair up, other number forms) leaves the stretch to the line-by-line path; the tests check
both paths give the same result.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from operator import attrgetter, call, itemgetter

from caffemem.logs.events import UNKNOWN
from caffemem.logs.lines import DATA_LAYER_SOURCES, ITERATION_RE, OUTPUT_RE, PREFIX_RE, classify

SEP = ", lr = "
_DIGITS = str.maketrans("123456789", "000000000")
_BYTE_DIGITS = bytes.maketrans(b"123456789", b"000000000")


def digit_shape(text: str) -> str:
    """``text`` with every ASCII digit 1-9 replaced by 0 (its *shape*).

    ``str.translate`` is fast on ASCII text only; beyond it (a replacement character from
    binary junk in a line) it takes ~3 ms per MiB-piece, so such text goes through the bytes
    table, which gives the same string (the digits are single bytes in UTF-8).
    """
    if text.isascii():
        return text.translate(_DIGITS)
    return text.encode("utf-8", "surrogatepass").translate(_BYTE_DIGITS).decode("utf-8", "surrogatepass")
# Number shapes kept as text: what C++ ostream prints for a float, all valid JSON but nan/inf.
_VALUE_SHAPE = re.compile(r"-?0+(?:\.0+)?(?:e[-+]0+)?|-?nan|-?inf")
_CLOCK_SHAPE = "00:00:00.000000"
MAX_SHAPES = 100_000  # forget and relearn past this, so odd logs cannot grow it without end
MAX_TOKEN_CHARS = 8192  # a longer token (a net set-up between two blocks) is never a block, nor kept
MIN_BLOCKS = 4  # shorter stretches are cheaper line by line


@dataclass
class TrainBatch:
    """Columns (Caffe's text) for consecutive (loss line, train outputs, lr line) blocks."""

    lines: int
    tids: set[str]
    stamps: list[str]  # "mmdd hh:mm:ss" (or "yyyymmdd hh:mm:ss") of each loss line
    micros: list[str]  # its six microsecond digits
    iterations: list[str]
    losses: list[str]
    lrs: list[str]
    outputs: dict[str, list[str]]
    nonfinite: bool  # some value is nan or inf
    passing: int = 0  # lines of unknown kinds among them (see _passing)


@dataclass(frozen=True, eq=False)
class Shape:
    """How to read tokens of one shape: the stretch key and a slicer per field."""

    # (output names, lead-in): tokens of one stretch share the names; a token with a lead-in
    # can only open a stretch. None: not a block.
    key: tuple[tuple[str, ...], bool] | None
    lr: slice  # the previous block's lr, at the start of the token
    begin: int  # where the block's lines start (after the lr, or after the lead-in)
    fields: tuple[itemgetter, ...]  # type: ignore[type-arg]  # stamp, micros, iteration, loss, outputs...
    # Per line of the block: the text from the clock's end to the first number of the message
    # (thread id, source line, and the message's words, output name included).
    places: tuple[slice, ...]
    # The outputs' names as the shape shows them: a digit in a name shows as 0 ("loss1/loss"
    # reads "loss0/loss"); then ``digit_names`` is set and the names are cut from each stretch's
    # first token with ``name_slices`` (the thread-id-free words check makes the others agree).
    output_names: tuple[str, ...]
    name_slices: tuple[slice, ...]
    nonfinite: bool
    lines: int  # lines per block, passing lines included
    extras: int  # passing lines: INFO lines caffemem does not know, between a block's lines (see _passing)
    lr_get: itemgetter | None  # type: ignore[type-arg]
    cut: itemgetter | None  # type: ignore[type-arg]  # (lr, *fields) of a token at once
    tid: slice  # " <tid> " in the loss line
    # Widths of the all-digit numbers in the output lines ("(* 1 = ..."): such a number can read
    # like a thread id, and names with digits can differ where the shape cannot see it. Either
    # way the stretch is checked line kind by line kind instead of by one thread-id count.
    digit_widths: frozenset[int]
    digit_names: bool


_SHAPES: dict[str, Shape] = {}
_CUT = attrgetter("cut")
_LINES = attrgetter("lines")
_EXTRAS = attrgetter("extras")


def _value_ok(shape: str) -> bool:
    return _VALUE_SHAPE.fullmatch(shape) is not None


def _passing(line: str, prefix: re.Match[str], message: str) -> bool:
    """Whether a line inside a block is one the line path would only count and keep as a last
    line: an INFO line of a kind caffemem does not know ("Data layer prefetch queue empty"),
    with no digit in its message (so the shape's message is the line's own, and is classified
    the same), from no source file whose lines say a data layer's type while it is set up."""
    return ("0" not in message and prefix.group(5).split(":", 1)[0] not in DATA_LAYER_SOURCES
            and classify(line).kind == UNKNOWN)


def _block_start(lines: list[str]) -> int | None:
    """Index of the line where the block at the end of a token starts (its loss line, or the
    passing lines just before it), or None when the token does not end with a block.

    The block is read backwards from the lr line: outputs and passing lines, then the loss
    line. Lines before it (a test pass, a snapshot) are the token's lead-in, left to the line
    path; a lead-in of passing lines only belongs to the block.
    """
    index = len(lines) - 2
    while index >= 0:
        prefix = PREFIX_RE.match(lines[index])
        if prefix is None:
            return None
        message = lines[index][prefix.end():]
        found = ITERATION_RE.match(message)
        if found is not None and (found.group(2) is not None or found.group(8) is not None):
            break
        if OUTPUT_RE.match(message) is None and not _passing(lines[index], prefix, message):
            return None
        index -= 1
    if index < 0:
        return None
    while index > 0:
        prefix = PREFIX_RE.match(lines[index - 1])
        if prefix is None or not _passing(lines[index - 1], prefix, lines[index - 1][prefix.end():]):
            break
        index -= 1
    return index


def shape_kind(shape: str) -> Shape | None:
    """The Shape of a token (digits as 0), or None when lines.py would not read it as a block.

    Uses lines.py's own regexes on each line of the token; the lr line is completed with a
    number so that ITERATION_RE sees a whole line. Only INFO lines: an F line is a crash even
    when it reads like a solver line. A token whose block follows other lines (a lead-in: a
    test pass, a snapshot) can only open a stretch; its lead-in is left to the line path.
    """
    head = shape.find("\n")
    if head <= 0 or not _value_ok(shape[:head]) or len(shape) > MAX_TOKEN_CHARS:
        return None
    lines = shape[head + 1:].split("\n")
    if len(lines) < 2:
        return None
    lines[-1] += SEP + "0.0"
    start = _block_start(lines)
    if start is None:
        return None
    offset = head + 1 + sum(map(len, lines[:start])) + start
    begin = offset
    lines = lines[start:]
    places: list[slice] = []
    fields: list[slice] = []
    output_names: list[str] = []
    name_slices: list[slice] = []
    values = [shape[:head]]
    iteration_width = 0
    digit_widths: set[int] = set()
    tid = slice(0)
    extras = 0
    seen_loss = False
    for index, line in enumerate(lines):
        prefix = PREFIX_RE.match(line)
        if prefix is None or line[0] != "I":
            return None
        at = prefix.end()
        message = line[at:]
        if index == len(lines) - 1:
            found = ITERATION_RE.match(message)
            if not seen_loss or found is None or found.group(3) is None or len(found.group(1)) != iteration_width:
                return None
            places.append(slice(offset + prefix.end(3), offset + at + found.start(1)))
        elif not seen_loss and (found := ITERATION_RE.match(message)) is not None:
            if prefix.group(3) != _CLOCK_SHAPE or not found.group(1).isdigit():
                return None
            loss_group = 2 if found.group(2) is not None else 8
            if found.group(loss_group) is None or not _value_ok(found.group(loss_group)):
                return None
            seen_loss = True
            clock = offset + prefix.start(3)
            tid = slice(offset + prefix.start(4) - 1, offset + prefix.end(4) + 1)
            iteration_width = len(found.group(1))
            places.append(slice(offset + prefix.end(3), offset + at + found.start(1)))
            values.append(found.group(loss_group))
            fields += [slice(offset + prefix.start(2), clock + 8), slice(clock + 9, clock + 15),
                       slice(offset + at + found.start(1), offset + at + found.end(1)),
                       slice(offset + at + found.start(loss_group), offset + at + found.end(loss_group))]
        elif seen_loss and (found := OUTPUT_RE.match(message)) is not None:
            if found.group(1) != "Train" or not _value_ok(found.group(4)):
                return None
            places.append(slice(offset + prefix.end(3), offset + at + found.start(4)))
            values.append(found.group(4))
            output_names.append(found.group(3).strip())
            name_slices.append(slice(offset + at + found.start(3), offset + at + found.end(3)))
            digit_widths.update(len(number) for number in found.group(4, 5, 6) if number and number.isdigit())
            fields.append(slice(offset + at + found.start(4), offset + at + found.end(4)))
        elif _passing(line, prefix, message):
            extras += 1
            places.append(slice(offset + prefix.end(3), offset + len(line)))
        else:
            return None
        offset += len(line) + 1
    digit_names = any("0" in name for name in output_names)
    if not digit_names and len(set(output_names)) != len(output_names):
        return None  # one name twice (a blob with several values): the line path keeps the last
    return Shape(key=(tuple(output_names), begin > head + 1), lr=slice(0, head), begin=begin,
                 fields=tuple(map(itemgetter, fields)), places=tuple(places), output_names=tuple(output_names),
                 name_slices=tuple(name_slices),
                 nonfinite=any(value[-1] in "nf" for value in values), lines=len(lines), extras=extras,
                 lr_get=itemgetter(slice(0, head)), cut=itemgetter(slice(0, head), *fields), tid=tid,
                 digit_widths=frozenset(digit_widths),
                 digit_names=digit_names)


_NOT_HOT = Shape(key=None, lr=slice(0), begin=0, fields=(), places=(), output_names=(), name_slices=(),
                 nonfinite=False, lines=0,
                 extras=0, lr_get=None, cut=None, tid=slice(0), digit_widths=frozenset(), digit_names=False)
_KEY = attrgetter("key")


def split_piece(piece: str) -> Iterator[tuple[str, TrainBatch | None, str]]:
    """Cut a piece of whole lines into (text before, batch, the batch's text), in file order.

    The texts are whole lines (each ends with a newline, except a cut-off last line). The last
    item has no batch. Stretches that are too short or irregular stay in the plain text.
    """
    pos = 0
    for first, last, batch in split_spans(piece):
        yield piece[pos:first], batch, piece[first:last]
        pos = last
    yield piece[pos:], None, ""


def split_spans(piece: str) -> Iterator[tuple[int, int, TrainBatch]]:
    """(start, end, batch) of each stretch read in bulk from a piece of whole lines, in file order.

    ``piece[start:end]`` is the stretch's text (whole lines); the text between stretches is left
    to the line path. A pure function of the piece: the same piece always gives the same spans.
    """
    if SEP not in piece:
        return
    tokens = piece.split(SEP)
    shapes_text = digit_shape(piece).split(SEP)
    shapes = list(map(_SHAPES.get, shapes_text))
    if None in shapes:
        if len(_SHAPES) > MAX_SHAPES:
            _SHAPES.clear()
        learnt = {}
        for shape in set(shapes_text).difference(_SHAPES):
            if len(shape) > MAX_TOKEN_CHARS:
                learnt[shape] = _NOT_HOT  # not kept: such text hardly repeats
            else:
                learnt[shape] = _SHAPES[shape] = shape_kind(shape) or _NOT_HOT
        learnt.update(_SHAPES)
        shapes = list(map(learnt.__getitem__, shapes_text))
    index = 0  # token index of the group below
    token_at = 0  # offset of tokens[index] in piece
    sep = len(SEP)
    lead: tuple[int, int, tuple[str, ...]] | None = None  # (index, offset, names) of a token that may open a stretch
    for key, group in groupby(map(_KEY, shapes)):
        size = len(list(group))
        start, end = index, index + size
        group_at = token_at
        token_at += sum(map(len, tokens[start:end])) + sep * size
        index = end
        if key is None:
            lead = None
            continue
        names, lead_in = key
        if lead_in:  # only the last of these can open the next group
            lead = (end - 1, token_at - len(tokens[end - 1]) - sep, names)
            continue
        found = None
        if lead is not None and lead[0] == start - 1 and lead[2] == names and end - lead[0] >= MIN_BLOCKS:
            # with the block after the lead-in; without it when that fails (a passing line of
            # the lead-in from another thread, such as the prefetch thread's)
            found = _batch(piece, tokens, shapes, lead[0], end, lead[1], sep)
        lead = None
        if found is None and end - start >= MIN_BLOCKS:
            found = _batch(piece, tokens, shapes, start, end, group_at, sep)
        if found is not None:
            batch, first, last = found
            yield first, last, batch


def _batch(piece: str, tokens: list[str], shapes: list[Shape | None], start: int, end: int,
           token_at: int, sep: int) -> tuple[TrainBatch, int, int] | None:
    """The batch for the blocks in tokens[start:end] and its text span, or None if irregular.

    A block's lr is at the start of the next token; the last block counts only if the next
    token starts with a number and a newline.
    """
    stop = end
    if end < len(tokens):
        nxt = tokens[end]
        head = nxt.find("\n")
        if head > 0 and _value_ok(nxt[:head].translate(_DIGITS)):
            stop = end + 1
    n = stop - start - 1
    if n < MIN_BLOCKS:
        return None
    block_tokens = tokens[start:start + n]
    first = shapes[start]
    assert first is not None
    first_token = tokens[start]
    own = shapes[start:start + n]
    uniform = own.count(first) == n
    if uniform:
        lrs = list(map(first.lr_get, tokens[start + 1:end]))  # type: ignore[arg-type]
        columns = [list(map(getter, block_tokens)) for getter in first.fields]
    else:  # number widths differ: cut each token with its own shape's slicers, all fields at once
        lead, *columns = map(list, zip(*map(call, map(_CUT, own), block_tokens), strict=True))
        lrs = lead[1:]  # a token starts with the previous block's lr
        if stop == end:
            lrs.append(tokens[end - 1][shapes[end - 1].lr])  # type: ignore[union-attr]
    if stop > end:
        lrs.append(tokens[end][:tokens[end].find("\n")])
    begin = token_at + first.begin
    finish = token_at + sum(map(len, block_tokens)) + sep * n + len(lrs[-1]) + 1
    text = piece[begin:finish]
    kinds = set(own)
    if uniform:
        lines, passing = n * first.lines, n * first.extras
    else:
        lines, passing = sum(map(_LINES, own)), sum(map(_EXTRAS, own))
    tid = first_token[first.tid]
    if first.digit_names or any(len(tid) - 2 in kind.digit_widths for kind in kinds):
        # Each line's words (thread id, source line, message up to its first number) counted
        # instead: a number in them could read as a thread id.
        places: dict[str, int] = {}
        printed_names = set()
        for kind, count in Counter(own).items():
            token = block_tokens[own.index(kind)]
            printed_names.add(tuple(token[name].strip() for name in kind.name_slices))
            for place in kind.places:
                key = token[place]
                places[key] = places.get(key, 0) + count
        if len(printed_names) != 1 or any(text.count(key) != count for key, count in places.items()):
            return None
        tids = {key.split()[0] for key in places}
    else:
        if text.count(tid) != lines:  # each line has its thread id once, words and numbers have none
            return None
        tids = {tid.strip()}
    names = first.output_names
    if first.digit_names:  # the names as printed (the places check above made every block agree)
        (names,) = printed_names
        if len(set(names)) != len(names):
            return None  # one name twice (a blob with several values): the line path keeps the last
    stamps, micros, iterations, losses, *outputs = columns
    if not all(map(str.endswith, block_tokens, iterations)):
        return None
    batch = TrainBatch(lines=lines, tids=tids, stamps=stamps, micros=micros, iterations=iterations, losses=losses,
                       lrs=lrs, outputs=dict(zip(names, outputs, strict=True)),
                       nonfinite=any(kind.nonfinite for kind in kinds), passing=passing)
    return batch, begin, finish

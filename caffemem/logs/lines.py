"""Turn one raw log line into an Event.

Three tiers, cheapest first, because a training log is mostly the same four solver lines
repeated millions of times:

1. one compiled regex splits the glog prefix off (it is identical on every line);
2. the solver's per-iteration lines (``Iteration ...``, ``Train/Test net output ...``) are
   matched by two regexes that accept a subset of what the grammar accepts for them — a line
   they do not match falls through to lark, so the grammar stays the definition (the tests
   check both give the same result on every such line of the corpus);
3. every other message whose first word the grammar knows goes to the lark parser in
   glog.lark; messages with any other first word are unknown without parsing.

Lines without a glog prefix (headers, shell and runtime output) always go to lark.
"""

from __future__ import annotations

import re

from caffemem.layers.types import data_layer_sources
from caffemem.logs.events import UNKNOWN, Event
from caffemem.logs.grammar import parse_line, parse_message, to_float

# Same language as PREFIX in glog.lark, with groups.
PREFIX_RE = re.compile(r"([IWEF])(\d{4}(?:\d{4})?) (\d\d:\d\d:\d\d\.\d+) +(\d+) ([^\s\]]+:\d+)\] ?")

INT_PATTERN = _INT = r"[-+]?\d+"
NUM_PATTERN = _NUM = r"(?i:[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf|-nan)(?:\(0x[0-9a-f]+\))?)"
ITERATION_RE = re.compile(
    rf"\s*Iteration ({_INT})(?:, (?:loss = ({_NUM})|lr = ({_NUM})|Testing net \(#({_INT})\))"
    rf"| \(({_NUM}) iter/s, ({_NUM})s/({_INT}) iters?\), loss = ({_NUM}))\s*$")
OUTPUT_RE = re.compile(
    rf"\s*(Train|Test) net output #({_INT}): (.+?) = ({_NUM})(?: \(\* ({_NUM}) = ({_NUM}) loss\))?\s*$")
# NVCaffe's tagged forms ("[0.0] Iteration ...") are rare enough to leave to lark.

#: Caffe source files whose log lines, printed while a layer is set up, reveal that layer's type
#: (read from the type cards, where each data layer names its sources).
DATA_LAYER_SOURCES = data_layer_sources()

# First words of the messages glog.lark knows (other than the "<name> <-/->/needs" forms).
_KNOWN_FIRST_WORDS = frozenset({
    "Initializing", "Creating", "Setting", "Top", "with", "Memory", "Sharing", "This", "Network",
    "Solver", "Solving", "Learning", "Iteration", "Train", "Test", "Snapshotting", "Optimization",
    "Starting", "Resuming", "Finetuning", "Using", "GPU", "Use", "Check", "***", "TRAIN", "TEST", "Loss:",
    "Total", "Global",
})
_NAME_FORMS = (" <- ", " -> ", "backward computation.")


def fast_solver_line(message: str) -> tuple[str, tuple[object, ...]] | None:
    """(kind, values) for the per-iteration solver lines by regex, or None to let lark decide."""
    m = ITERATION_RE.match(message)
    if m is not None:
        it, loss, lr, test, speed, secs, per, loss2 = m.groups()
        if loss is not None:
            return "iteration_loss", (int(it), to_float(loss), None, None, None)
        if lr is not None:
            return "iteration_lr", (int(it), to_float(lr))
        if test is not None:
            return "testing_net", (int(it), int(test))
        return "iteration_loss", (int(it), to_float(loss2), to_float(speed), to_float(secs), int(per))
    m = OUTPUT_RE.match(message)
    if m is not None:
        which, idx, name, value, weight, weighted = m.groups()
        return ("train_output" if which == "Train" else "test_output",
                (int(idx), name.strip(), to_float(value),
                 None if weight is None else to_float(weight),
                 None if weighted is None else to_float(weighted)))
    return None


_TAG_RE = re.compile(r"\s*(?:\[\d+(?:\.\d+)?\]|\(\d+\.\d+\))")  # NVCaffe: "[0.0]" train lines, "(0.0)" test outputs
_TAGGED_LR_RE = re.compile(rf"\s*Iteration ({_INT}), lr = ({_NUM}), \S.*$")


def fast_tagged_solver_line(message: str) -> tuple[str, tuple[object, ...]] | None:
    """``fast_solver_line`` for NVCaffe's tagged solver lines ("[0.0] Iteration 10, lr = 0.01,
    m = 0.9, ..."): the tag dropped, as the grammar drops it; None to let lark decide."""
    tag = _TAG_RE.match(message)
    if tag is None:
        return None
    rest = message[tag.end():]
    found = fast_solver_line(rest)
    if found is None and (m := _TAGGED_LR_RE.match(rest)) is not None:
        return "iteration_lr", (int(m.group(1)), to_float(m.group(2)))
    return found


def fast_snapshot_line(stripped: str) -> tuple[str, tuple[object, ...]] | None:
    """What the grammar makes of ``Snapshotting REST`` (REST: the rest of the line, blanks before
    it skipped, stripped), without the parser."""
    rest = stripped[len("Snapshotting"):].lstrip(" \t")
    return ("snapshot", (rest.strip(),)) if rest else None


def classify_message(message: str) -> tuple[str, tuple[object, ...]] | None:
    """(kind, values) for a glog message, or None when it is not a kind caffemem knows."""
    stripped = message.lstrip()
    first = stripped.split(" ", 1)[0]
    if first[:1] in ("[", "("):  # an NVCaffe solver tag: its solver lines by regex, the rest by the grammar
        found = fast_tagged_solver_line(message)
        if found is not None:
            return found
    elif first in ("Iteration", "Train", "Test"):
        found = fast_solver_line(message)
        if found is not None:
            return found
    elif first == "Snapshotting":  # twice per snapshot, often every few hundred iterations
        return fast_snapshot_line(stripped)
    elif first not in _KNOWN_FIRST_WORDS and not any(form in stripped for form in _NAME_FORMS):
        return None
    return parse_message(message)


def classify(line: str) -> Event:
    """The Event for one line (without its line ending). Never raises on odd input."""
    m = PREFIX_RE.match(line)
    if m is not None:
        severity, date, time, tid, where = m.groups()
        found = classify_message(line[m.end():])
        if found is None:
            return Event(UNKNOWN, (), severity, tid, date + " " + time, where, line)
        return Event(found[0], found[1], severity, tid, date + " " + time, where, line)
    found_line = parse_line(line) if line.strip() else None
    if found_line is None or found_line[0] == "glog":
        return Event(UNKNOWN, (), text=line)
    return Event(found_line[0], found_line[1], text=line)

"""The lark parser for glog.lark, and the transformer that turns its parse into (kind, values).

The parser is LALR with a contextual lexer and an inline transformer, so a line costs one pass
and builds no tree. It is built once per process (lark compiles the grammar in ~50 ms).

Values per kind (the order run building relies on):

- ``creating_layer``/``creating_layer_net``/``setting_up``: (layer name,)
- ``bottom``: (layer, blob); ``top``: (layer, blob, in_place); ``top_automatic``: (layer,)
- ``top_shape``: (dims tuple, count[, phase, layer index, layer name] — the last three from NVCaffe);
  ``loss_weight``: (weight,)
- ``memory_data``: (bytes, is_2014_form[, phase, diff bytes] — the last two from NVCaffe)
- ``gpu_name``: (device id, name); ``gpu_total_memory``: (total bytes, free bytes, rest)
- ``needs_backward``/``no_backward``/``produces_output``: (name,)
- ``iteration_loss``: (iteration, loss, iter_per_s | None, seconds | None, per_iters | None)
- ``iteration_lr``: (iteration, lr); ``testing_net``: (iteration, test net index)
- ``train_output``/``test_output``: (index, name, value, weight | None, weighted | None)
- ``test_score``: (index, value)
- text-carrying kinds (``solving``, ``lr_policy``, ``snapshot``, ``check_failed``, headers, ...): (text,)
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import LarkError


class PrintedFloat(float):
    """A float that remembers the text Caffe printed for it.

    The curve keeps Caffe's own text for each value (``0``, ``1.5e+06``), as the fast path does
    without ever making a float; a value read line by line carries its text along so that both
    paths write the same bytes.
    """

    text: str


def to_float(text: str) -> float:
    """Caffe prints floats with printf; also accept ``-nan`` and ``nan(0x...)`` payload forms."""
    try:
        value = PrintedFloat(text)
    except ValueError:
        pass
    else:
        value.text = str(text)
        return value
    try:
        return float(text)
    except ValueError:
        low = text.lower()
        if "nan" in low:
            value = PrintedFloat(math.nan)
        elif "inf" in low:
            value = PrintedFloat(-math.inf if low.startswith("-") else math.inf)
        else:
            raise
        value.text = str(text)
        return value


def _untag(items: list[Any]) -> list[Any]:
    """Drop NVCaffe's leading "[0.0]" solver tag."""
    if items and isinstance(items[0], Token) and items[0].type == "TAG":
        return items[1:]
    return items


def _text(items: list[Any]) -> tuple[str]:
    """The free text of a message (REST), or '' when the message stops after its keyword."""
    return (str(items[-1]).strip() if items else "",)


class _ToEvent(Transformer):  # type: ignore[type-arg]
    """Map each grammar alternative to (kind, values); see the module docstring for values."""

    # -- whole lines
    def line(self, items: list[Any]) -> Any:
        return items[0]

    def glog_line(self, items: list[Any]) -> Any:
        prefix = str(items[0])
        return ("glog", (prefix, items[1] if len(items) > 1 else ("empty", ())))

    def header_created(self, items: list[Any]) -> Any:
        return ("header_created", _text(items))

    def header_machine(self, items: list[Any]) -> Any:
        return ("header_machine", _text(items))

    def header_format(self, items: list[Any]) -> Any:
        return ("header_format", _text(items))

    def shell_killed(self, items: list[Any]) -> Any:
        return ("shell_killed", _text(items))

    def shell_terminated(self, items: list[Any]) -> Any:
        return ("shell_terminated", _text(items))

    def shell_aborted(self, items: list[Any]) -> Any:
        return ("shell_aborted", _text(items))

    def shell_segfault(self, items: list[Any]) -> Any:
        return ("shell_segfault", _text(items))

    def terminate_called(self, items: list[Any]) -> Any:
        return ("terminate_called", _text(items))

    def terminate_what(self, items: list[Any]) -> Any:
        return ("terminate_what", _text(items))

    def stack_trace_start(self, items: list[Any]) -> Any:
        return ("stack_trace_start", ())

    def abort_banner(self, items: list[Any]) -> Any:
        return ("abort_banner", _text(items))

    def signal_received(self, items: list[Any]) -> Any:
        rest = str(items[0])
        return ("signal_received", ("SIG" + rest.split(" ", 1)[0], rest))

    def stack_frame(self, items: list[Any]) -> Any:
        return ("stack_frame", _text(items))

    def bad_alloc(self, items: list[Any]) -> Any:
        return ("bad_alloc", (str(items[0]).strip(),))

    # -- net set-up
    def net_init(self, items: list[Any]) -> Any:
        return ("net_init", ())

    def creating_layer(self, items: list[Any]) -> Any:
        return ("creating_layer", _text(items))

    def creating_layer_net(self, items: list[Any]) -> Any:
        return ("creating_layer_net", _text(items))

    def bottom(self, items: list[Any]) -> Any:
        return ("bottom", (str(items[0]), str(items[1])))

    def top(self, items: list[Any]) -> Any:
        return ("top", (str(items[0]), str(items[1]), len(items) > 2))

    def top_automatic(self, items: list[Any]) -> Any:
        return ("top_automatic", (str(items[0]),))

    def setting_up(self, items: list[Any]) -> Any:
        return ("setting_up", _text(items))

    def top_shape(self, items: list[Any]) -> Any:
        return ("top_shape", (tuple(int(t) for t in items[:-1]), int(items[-1])))

    def top_shape_nvcaffe(self, items: list[Any]) -> Any:
        # NVCaffe: "TRAIN Top shape for layer 3 'conv1' 64 20 24 24 (737280)"
        dims = tuple(int(t) for t in items[3:-1])
        return ("top_shape", (dims, int(items[-1]), str(items[0]), int(items[1]), str(items[2])[1:-1]))

    def loss_weight(self, items: list[Any]) -> Any:
        return ("loss_weight", (to_float(items[0]),))

    def memory_data(self, items: list[Any]) -> Any:
        return ("memory_data", (int(items[0]), False))

    def memory_data_2014(self, items: list[Any]) -> Any:
        return ("memory_data", (int(items[0]), True))

    def memory_data_nvcaffe(self, items: list[Any]) -> Any:
        # (bytes, is_2014_form, phase, diff bytes)
        return ("memory_data", (int(items[1]), False, str(items[0]), int(items[2])))

    def sharing_parameters(self, items: list[Any]) -> Any:
        return ("sharing_parameters", _text(items))

    def needs_backward(self, items: list[Any]) -> Any:
        return ("needs_backward", (str(items[0]),))

    def no_backward(self, items: list[Any]) -> Any:
        return ("no_backward", (str(items[0]),))

    def produces_output(self, items: list[Any]) -> Any:
        return ("produces_output", _text(items))

    def net_done(self, items: list[Any]) -> Any:
        return ("net_done", ())

    # -- solver
    def solver_init(self, items: list[Any]) -> Any:
        return ("solver_init", ())

    def creating_train_net(self, items: list[Any]) -> Any:
        return ("creating_train_net", _text(items))

    def creating_test_net(self, items: list[Any]) -> Any:
        return ("creating_test_net", _text(items))

    def scaffolding_done(self, items: list[Any]) -> Any:
        return ("scaffolding_done", ())

    def solving(self, items: list[Any]) -> Any:
        return ("solving", _text(items))

    def lr_policy(self, items: list[Any]) -> Any:
        return ("lr_policy", _text(items))

    def iteration_speed_loss(self, items: list[Any]) -> Any:
        it, speed, secs, per, _iters, loss = _untag(items)
        return ("iteration_loss", (int(it), to_float(loss), to_float(speed), to_float(secs), int(per)))

    def iteration_time_loss(self, items: list[Any]) -> Any:
        # NVCaffe: "Iteration 10 (0.12 s), loss = 2.3" — seconds for the last iteration.
        it, secs, loss = _untag(items)
        return ("iteration_loss", (int(it), to_float(loss), None, to_float(secs), 1))

    def iteration_loss(self, items: list[Any]) -> Any:
        items = _untag(items)
        return ("iteration_loss", (int(items[0]), to_float(items[1]), None, None, None))

    def testing_net(self, items: list[Any]) -> Any:
        items = _untag(items)
        return ("testing_net", (int(items[0]), int(items[1])))

    def testing_net_2014(self, items: list[Any]) -> Any:
        return ("testing_net", (int(items[0]), 0))

    def iteration_lr(self, items: list[Any]) -> Any:
        items = _untag(items)
        return ("iteration_lr", (int(items[0]), to_float(items[1])))

    def weighted(self, items: list[Any]) -> Any:
        return (to_float(items[0]), to_float(items[1]))

    def _output(self, kind: str, items: list[Any]) -> Any:
        items = _untag(items)
        weight, weighted = items[3] if len(items) > 3 else (None, None)
        return (kind, (int(items[0]), str(items[1]).strip(), to_float(items[2]), weight, weighted))

    def train_output(self, items: list[Any]) -> Any:
        return self._output("train_output", items)

    def test_output(self, items: list[Any]) -> Any:
        return self._output("test_output", items)

    def test_score(self, items: list[Any]) -> Any:
        return ("test_score", (int(items[0]), to_float(items[1])))

    def snapshot(self, items: list[Any]) -> Any:
        return ("snapshot", _text(items))

    def optimization_done(self, items: list[Any]) -> Any:
        return ("optimization_done", ())

    def stopped_early(self, items: list[Any]) -> Any:
        return ("stopped_early", ())

    def starting_optimization(self, items: list[Any]) -> Any:
        return ("starting_optimization", ())

    def resuming(self, items: list[Any]) -> Any:
        return ("resuming", _text(items))

    def finetuning(self, items: list[Any]) -> Any:
        return ("finetuning", _text(items))

    def using_gpus(self, items: list[Any]) -> Any:
        return ("using_gpus", _text(items))

    def gpu_name(self, items: list[Any]) -> Any:
        return ("gpu_name", (int(items[0]), str(items[1]).strip()))

    def gpu_name_quoted(self, items: list[Any]) -> Any:
        return ("gpu_name", (int(items[0]), str(items[1])[1:-1].strip()))

    def gpu_total_memory(self, items: list[Any]) -> Any:
        return ("gpu_total_memory", (int(items[0]), int(items[1]), str(items[2]).strip()))

    def opencl_global_mem(self, items: list[Any]) -> Any:
        return ("gpu_total_memory", (int(items[0]), None, ""))

    def use_cpu(self, items: list[Any]) -> Any:
        return ("use_cpu", ())

    def use_gpu(self, items: list[Any]) -> Any:
        return ("use_gpu", (int(items[0]),))

    def test_loss(self, items: list[Any]) -> Any:
        return ("test_loss", (to_float(items[0]),))

    def benchmark_done(self, items: list[Any]) -> Any:
        return ("benchmark_done", ())

    # -- crashes
    def check_failed(self, items: list[Any]) -> Any:
        return ("check_failed", _text(items))


@lru_cache(maxsize=1)
def parser() -> Lark:
    """The compiled grammar; entry points ``line`` and ``message``."""
    text = resources.files("caffemem.logs").joinpath("glog.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", lexer="contextual", start=["line", "message"],
                transformer=_ToEvent(), maybe_placeholders=False)


def parse_message(message: str) -> tuple[str, tuple[Any, ...]] | None:
    """(kind, values) for the text after a glog prefix, or None if the grammar does not know it."""
    try:
        result: tuple[str, tuple[Any, ...]] = parser().parse(message, start="message")
    except (LarkError, ValueError):
        return None
    return result


def parse_line(line: str) -> tuple[str, tuple[Any, ...]] | None:
    """(kind, values) for a whole line, or None if the grammar does not know it.

    A glog line comes back as ``("glog", (prefix, (kind, values)))``.
    """
    try:
        result: tuple[str, tuple[Any, ...]] = parser().parse(line, start="line")
    except (LarkError, ValueError):
        return None
    return result


__all__ = ["parse_line", "parse_message", "parser", "to_float", "Token"]

"""Build runs from the event stream: split restarts, follow net set-up, record the curve, judge the end.

The builder is a state machine fed one event at a time, so it never needs the whole file. It
builds records (model.py) and hands curve values to the run's tables (curve.py); it encodes no
rows itself. The fast path (logs/fast) offers it whole stretches already encoded
(``take_rendered``), which it takes only where feeding their lines one by one would give the same.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from caffemem.logs.causes import place_in_stack
from caffemem.logs.clock import DAY_US, TURN_US, YEAR_US, stamp
from caffemem.logs.curve import _key_json, scan_value
from caffemem.logs.divergence import find_divergence
from caffemem.logs.endings import FOREIGN_ERROR, SHELL_CRASH, STRENGTH, fatal_kind, signal_kind, terminate_kind
from caffemem.logs.events import UNKNOWN, Event
from caffemem.logs.grammar import to_float
from caffemem.logs.lines import DATA_LAYER_SOURCES, PREFIX_RE
from caffemem.logs.model import (
    CrashKind,
    EndStatus,
    Layer,
    LogReport,
    Net,
    Phase,
    PhaseSource,
    Run,
    Stage,
    Top,
)

if TYPE_CHECKING:  # the fast path hands over stretches it read and encoded (logs/fast/render.py)
    from caffemem.logs.fast.render import RenderedBatch, RenderState

# Messages only the main thread of a newly started `caffe` prints near its start.
_START_KINDS = frozenset({"solver_init", "using_gpus", "use_cpu", "use_gpu", "gpu_name", "header_created"})
_START_FILES = ("caffe.cpp:", "upgrade_proto.cpp:", "train_net.cpp:", "finetune_net.cpp:")  # 2014: its own tools
_PHASE_IN_TEXT = re.compile(r"^state \{\s*\n?\s*phase: (TRAIN|TEST)", re.M)
MAX_FRAMES = 40
_SOLVER_FIELD = re.compile(r"^([a-z_]+): (.*)$", re.M)


_SCAN_NAMES: dict[tuple[str, ...], tuple[tuple[bytes, ...], tuple[bytes, ...]]] = {}


def _scan_names(names: tuple[str, ...]) -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """A table's output names as the compiled scanner takes them: JSON keys and UTF-8 names
    (remembered: a run lends the same few names thousands of times)."""
    found = _SCAN_NAMES.get(names)
    if found is None:
        if len(_SCAN_NAMES) > 1000:
            _SCAN_NAMES.clear()
        found = _SCAN_NAMES[names] = (tuple(_key_json(name).encode("ascii") for name in names),
                                      tuple(name.encode("utf-8", "surrogatepass") for name in names))
    return found


class RunBuilder:
    """Feed events in file order with ``feed``; ``finish`` returns the LogReport."""

    def __init__(self, source: str) -> None:
        self.report = LogReport(source, counts={"top_shape": 0, "memory_required_for_data": 0,
                                                "lines": 0, "unknown": 0})
        self.run: Run | None = None
        self.net_stack: list[Net] = []
        self.current_layer: Layer | None = None
        self.shape_index = 0
        self.expect_net_phase: Phase | None = None
        self.in_test = False
        self.last_iteration: int | None = None
        self.last_lr = math.nan
        self.training = False
        self.day_cache: dict[str, int] = {}
        self.start_seconds: int | None = None  # microseconds, as all the times below
        self.year_offset = 0
        self.last_seconds = 0
        self.first_day: int | None = None
        self.first_clock = 0
        self.ended = False
        self.weak_crash = False
        self.just_done: Net | None = None
        self.scaffolded = False

    # ------------------------------------------------------------------ runs

    def _new_run(self, number: int) -> Run:
        if self.run is not None:
            self._settle(self.run)
        run = Run(index=len(self.report.runs), first_line=number)
        self.report.runs.append(run)
        self.run = run
        self.net_stack = []
        self.current_layer = None
        self.expect_net_phase = None
        self.in_test = False
        self.last_iteration = None
        self.last_lr = math.nan
        self.training = False
        self.start_seconds = None
        self.year_offset = 0
        self.last_seconds = 0
        self.first_day = None
        self.first_clock = 0
        self.ended = False
        self.just_done = None
        self.scaffolded = False
        return run

    def _starts_new_run(self, event: Event, run: Run) -> bool:
        """Whether this event is Caffe starting again rather than the current run going on."""
        kind = event.kind
        if kind == "header_created":
            return run.glog_lines > 0 or bool(run.tail)
        if kind == "solver_init" and run.solver_text is not None:
            return True
        if not event.tid or event.tid in run.tids or run.main_tid is None:
            return False
        # A thread id never seen in this run: a new process if the run is over, or if the line
        # is one only a freshly started `caffe` prints.
        return self.ended or kind in _START_KINDS or event.where.startswith(_START_FILES)

    # ------------------------------------------------------------------ main entry

    def feed(self, number: int, event: Event) -> None:
        """Take the event of line ``number`` (1-based)."""
        run = self.run
        if run is None or self._starts_new_run(event, run):
            run = self._new_run(number)
        run.last_line = number
        kind = event.kind
        if kind in ("net_text", "solver_text"):
            self._text_block(run, kind, event)
            return
        self.report.counts["lines"] += 1
        if event.text:
            run.tail.append(event.text)
        if event.where and self.current_layer is not None and not self.current_layer.set_up:
            source = event.where.split(":", 1)[0]
            hint = DATA_LAYER_SOURCES.get(source)
            if hint is not None:  # e.g. "image_data_layer.cpp:38] Opening file": the layer's type shows
                self.current_layer.type_hint = hint
        if event.tid:
            if self.weak_crash and run.end.crash_kind == CrashKind.OTHER:
                # Shell noise before Caffe's first line (an IDE's command echo) was no crash.
                run.end = type(run.end)()
            self.weak_crash = False
            run.glog_lines += 1
            run.tids.add(event.tid)
            if run.main_tid is None:
                run.main_tid = event.tid
        handler = _HANDLERS.get(kind)
        if kind != "net_done" and kind != "memory_data":
            self.just_done = None
        if handler is not None:
            handler(self, run, event)
        elif kind == UNKNOWN:
            self.report.counts["unknown"] += 1
            if not event.tid and run.glog_lines == 0 and FOREIGN_ERROR.search(event.text):
                self._crash(run, CrashKind.OTHER, event.text.strip(), weak=True)
                self.weak_crash = True
        if event.severity == "F" and kind != "check_failed":
            prefix = PREFIX_RE.match(event.text)
            message = event.text[prefix.end():] if prefix else event.text
            self._crash(run, fatal_kind(message), message.strip())
            if run.end.message == message.strip() and event.where:
                run.end.source = event.where

    def render_state(self) -> RenderState | None:
        """What rendering a batch's rows depends on (None: no batch can be taken now)."""
        if self.start_seconds is None or self.first_day is None:
            return None
        return self.first_day, self.first_clock, self.year_offset, self.start_seconds

    def accepts(self, tids: set[str], names: list[str]) -> bool:
        """Whether a stretch of training blocks from threads ``tids`` with outputs ``names`` could
        be taken whole now: a run that is going on, its threads, the table's outputs."""
        run = self.run
        if run is None or self.ended or self.weak_crash or not tids <= run.tids:
            return False
        table = run.train
        return not (names != table.names and (len(table) or table.names))

    def take_rendered(self, number: int, rendered: RenderedBatch) -> bool:
        """Apply a stretch of training blocks encoded by the fast path (maybe in another process), as
        feeding its lines one by one would.

        Returns False (and changes nothing) when the batch was rendered for another state or
        does not fit the run as it is now (no run yet, a thread id this run has not seen, a run
        already over, odd time stamps, or outputs other than the table's): then its lines must
        be fed one by one.
        """
        run = self.run
        if (run is None or rendered.state != self.render_state() or not self.accepts(rendered.tids, rendered.names)
                or rendered.first_seconds < self.last_seconds - TURN_US):
            return False
        table = run.train
        self.last_seconds = rendered.last_seconds
        if not table.names:
            table.names.extend(rendered.names)
        table.extend_rendered(rendered.rows, rendered.count, rendered.last, rendered.nonfinite)
        self.training = True
        self.in_test = False
        self.last_iteration = rendered.last.iteration
        self.last_lr = rendered.last.lr
        run.last_line = number + rendered.lines - 1
        run.glog_lines += rendered.lines
        run.tail.extend(rendered.tail)
        self.report.counts["lines"] += rendered.lines
        self.report.counts["unknown"] += rendered.passing
        self.just_done = None
        return True

    def lend_scan(self) -> tuple[object, ...] | None:
        """The run's state as the compiled scanner (fast/_scan.c, through fast/scan.py) takes it, or
        None when no line can be taken without the Python rules now.

        Lending takes the tables' pending rows off them: ``take_scan`` must follow. Only a run
        going on, with a clock, glog lines, no text block and no layer being set up (whose lines
        could show a data layer's type) is lent.
        """
        run = self.run
        layer = self.current_layer
        state = self.render_state()
        if (run is None or self.ended or self.weak_crash or state is None or not run.glog_lines
                or (layer is not None and not layer.set_up) or len(run.tids) > 64
                or len(run.train.names) > 64 or len(run.test.names) > 64):
            return None
        tables = []
        for table in (run.train, run.test):
            rows, pending = table.lend_pending()
            tables.append((*_scan_names(tuple(table.names)), rows, pending))
        first_day, first_clock, year_offset, start = state
        return (tuple(tid.encode("ascii", "replace") for tid in run.tids), tables[0], tables[1],
                scan_value(self.last_lr), self.last_iteration, int(self.training), int(self.in_test),
                first_day, first_clock, year_offset, start, self.last_seconds)

    def take_scan(self, number: int, result: tuple[Any, ...]) -> int:
        """Apply what the compiled scanner did from line ``number`` on (``result``, after
        ``lend_scan``); the number of lines it took."""
        (_, _, lines, unknown, glog_lines, train, test, last_lr, last_iteration, training, in_test,
         year_offset, last_seconds, tail, lr_policy) = result
        run = self.run
        assert run is not None
        run.train.take_scanned(*train)
        run.test.take_scanned(*test)
        self.last_lr = math.nan if last_lr is None else (last_lr if isinstance(last_lr, float) else to_float(last_lr))
        self.last_iteration = last_iteration
        self.training = bool(training)
        self.in_test = bool(in_test)
        self.year_offset = year_offset
        self.last_seconds = last_seconds
        if lines:
            run.last_line = number + lines - 1
            run.glog_lines += glog_lines
            run.tail.extend(tail)
            self.report.counts["lines"] += lines
            self.report.counts["unknown"] += unknown
            self.just_done = None
            if lr_policy is not None:
                run.lr_policy = lr_policy
        return lines

    def take_unknown(self, number: int, lines: int, tids: set[str], tail: list[str],
                     data_source: bool = False) -> bool:
        """Apply ``lines`` lines from line ``number`` on, all of kinds caffemem does not know, as
        feeding them one by one would (the fast path finds such runs: fast/plain.py). Either glog
        lines, none F, from threads ``tids`` (``data_source``: from a data layer's source file);
        or (``tids`` empty) lines without a glog prefix, none blank, outside a text block.
        ``tail``: their last lines.

        Returns False (and changes nothing) when one of them could start a new run, end a weak
        crash or be read as crash evidence (no run yet, a thread id this run has not seen, no
        glog line yet), or show the type of the layer being set up (a data layer's source
        file's lines): then they must be fed one by one.
        """
        run = self.run
        if run is None or self.weak_crash or not lines or not (tids <= run.tids if tids else run.glog_lines):
            return False
        if data_source and self.current_layer is not None and not self.current_layer.set_up:
            return False
        run.last_line = number + lines - 1
        counts = self.report.counts
        counts["lines"] += lines
        counts["unknown"] += lines
        if tids:
            run.glog_lines += lines
        run.tail.extend(tail)
        self.just_done = None
        return True

    def finish(self) -> LogReport:
        if self.run is not None:
            self._settle(self.run)
        for run in self.report.runs:
            run.end.last_lines = list(run.tail)
            run.divergence = find_divergence(run)
            end = run.end
            if end.status == EndStatus.CRASHED and end.frames and (end.phase is None or (
                    end.phase == Stage.SETUP and end.layer is None and not run.nets)):
                stage, step = place_in_stack(end.frames)
                if stage is not None or step is not None:
                    end.phase, end.step, end.place_from_stack = stage, step, True
        return self.report

    def _settle(self, run: Run) -> None:
        """A run without an ending (cut off) keeps where it was when the log stops: its last iteration."""
        if run.end.status == EndStatus.CUT_OFF:
            self._place(run)
        if run.device.mode is None:
            mode = run.solver.get("solver_mode", "").upper()
            if mode in ("GPU", "CPU"):
                run.device.mode = mode

    # ------------------------------------------------------------------ crash and end

    def _crash(self, run: Run, kind: CrashKind, message: str, weak: bool = False) -> None:
        """Record crash evidence; the first strongest evidence names the kind and the place."""
        end = run.end
        if end.status == EndStatus.CRASHED and end.crash_kind is not None:
            if STRENGTH[kind] <= STRENGTH[end.crash_kind]:
                return
            end.crash_kind = kind
            end.message = message
            return
        end.status = EndStatus.CRASHED
        end.crash_kind = kind
        end.message = message
        end.stopped_early = False
        self._place(run)
        self.ended = not weak

    def _place(self, run: Run) -> None:
        """Where the run is now: set-up of a layer, a test pass, or a training iteration."""
        end = run.end
        end.iteration = self.last_iteration
        net = self.net_stack[-1] if self.net_stack else None
        if net is not None and not net.done:
            end.phase = Stage.SETUP
            end.layer = self.current_layer.name if self.current_layer else (
                net.layers[-1].name if net.layers else None)
            end.net_phase = net.phase
        elif self.training:
            end.phase = Stage.TEST if self.in_test else Stage.TRAIN
        elif run.solver_text is not None or run.nets:
            end.phase = Stage.SETUP
            end.nets_ready = self.scaffolded
        else:
            end.phase = None

    # ------------------------------------------------------------------ text blocks

    def _text_block(self, run: Run, kind: str, event: Event) -> None:
        text, truncated = event.values
        if kind == "solver_text":
            run.solver_text = text
            run.solver_text_truncated = truncated
            top_level = "\n".join(line for line in text.split("\n") if line and not line[0].isspace())
            for name, value in _SOLVER_FIELD.findall(top_level):
                run.solver.setdefault(name, value.strip().strip('"'))
            return
        net = self.net_stack[-1] if self.net_stack else None
        if net is None:
            return
        net.text = text
        net.text_truncated = truncated
        found = _PHASE_IN_TEXT.search(text)
        if found:
            net.phase = Phase(found.group(1))
            net.phase_source = PhaseSource.ECHOED

    # ------------------------------------------------------------------ net set-up

    def _net(self, run: Run) -> Net:
        """The net being set up, starting one if the log skipped `Initializing net`."""
        if self.net_stack and not self.net_stack[-1].done:
            return self.net_stack[-1]
        return self._start_net(run)

    def _start_net(self, run: Run) -> Net:
        outer = self.net_stack[-1] if self.net_stack and not self.net_stack[-1].done else None
        net = Net(nested_in=self.current_layer.name if outer is not None and self.current_layer else None)
        if outer is None:
            self.net_stack = []
            if self.expect_net_phase is not None:
                net.phase, net.phase_source = self.expect_net_phase, PhaseSource.INFERRED
            elif run.solver_text is not None:
                top_nets = [n for n in run.nets if n.nested_in is None]
                net.phase, net.phase_source = (Phase.TRAIN if not top_nets else Phase.TEST), PhaseSource.INFERRED
        self.net_stack.append(net)
        run.nets.append(net)
        self.current_layer = None
        return net

    def on_net_init(self, run: Run, event: Event) -> None:
        self._start_net(run)

    def on_creating_layer_net(self, run: Run, event: Event) -> None:
        net = self._net(run)
        layer = Layer(name=event.values[0])
        net.layers.append(layer)
        self.current_layer = layer
        self.shape_index = 0

    def on_creating_layer(self, run: Run, event: Event) -> None:
        # The factory line comes before "Creating Layer"; only it is enough to open a net.
        self._net(run)

    def _layer(self, run: Run, name: str) -> Layer:
        if self.current_layer is not None and self.current_layer.name == name:
            return self.current_layer
        net = self._net(run)
        layer = net.layer(name)
        if layer is None:
            layer = Layer(name=name)
            net.layers.append(layer)
        self.current_layer = layer
        return layer

    def on_bottom(self, run: Run, event: Event) -> None:
        self._layer(run, event.values[0]).bottoms.append(event.values[1])

    def on_top(self, run: Run, event: Event) -> None:
        self._layer(run, event.values[0]).tops.append(Top(name=event.values[1]))

    def on_top_automatic(self, run: Run, event: Event) -> None:
        self._layer(run, event.values[0]).tops.append(Top(name=None))

    def on_setting_up(self, run: Run, event: Event) -> None:
        layer = self._layer(run, event.values[0])
        layer.set_up = True
        self.shape_index = 0

    def on_top_shape(self, run: Run, event: Event) -> None:
        self.report.counts["top_shape"] += 1
        layer = self.current_layer or self._layer(run, "?")
        dims, count = event.values[0], event.values[1]
        if self.shape_index < len(layer.tops):
            top = layer.tops[self.shape_index]
        else:
            top = Top(name=None)
            layer.tops.append(top)
        top.shape, top.count = list(dims), count
        self.shape_index += 1

    def on_loss_weight(self, run: Run, event: Event) -> None:
        layer = self.current_layer
        if layer is not None and 0 < self.shape_index <= len(layer.tops):
            layer.tops[self.shape_index - 1].loss_weight = event.values[0]

    def on_memory_data(self, run: Run, event: Event) -> None:
        self.report.counts["memory_required_for_data"] += 1
        finished, self.just_done = self.just_done, None
        value = event.values[0]
        if len(event.values) > 3:  # NVCaffe: the whole net's figure, before "Network initialization done."
            net = self._net(run) if finished is None else finished
            net.memory_required_for_data, net.memory_required_for_diff = value, event.values[3]
            return
        # Caffe before rc3 prints it once, right after "Network initialization done.", for the
        # whole net: then it belongs to the net just finished (an unrolled RNN net too).
        if finished is None and self.net_stack and self.net_stack[-1].done:
            finished = self.net_stack[-1]
        if finished is not None:
            finished.memory_required_for_data = value
            return
        self._net(run).memory_required_for_data = value
        if self.current_layer is not None:
            self.current_layer.memory_required_for_data = value

    def _backward(self, run: Run, event: Event, needs: bool) -> None:
        net = self._net(run)
        layer = net.layer(event.values[0])
        if layer is not None:
            layer.needs_backward = needs

    def on_needs_backward(self, run: Run, event: Event) -> None:
        self._backward(run, event, True)

    def on_no_backward(self, run: Run, event: Event) -> None:
        self._backward(run, event, False)

    def on_produces_output(self, run: Run, event: Event) -> None:
        self._net(run).outputs.append(event.values[0])

    def on_net_done(self, run: Run, event: Event) -> None:
        """A Net::Init finished: back in the outer layer's SetUp (nested nets), or no net open."""
        if not self.net_stack:
            return
        net = self.net_stack.pop()
        net.done = True
        self.just_done = net
        if self.net_stack:  # an unrolled RNN/LSTM net: the outer layer's tops come next
            outer = self.net_stack[-1]
            self.current_layer = outer.layers[-1] if outer.layers else None
            self.shape_index = 0
        else:
            # Keep the finished net on the stack: Caffe before rc3 logs its memory total after
            # "Network initialization done.".
            self.net_stack = [net]
            self.current_layer = None

    # ------------------------------------------------------------------ solver

    def on_solver_init(self, run: Run, event: Event) -> None:
        run.solver_text = run.solver_text or ""

    def on_scaffolding_done(self, run: Run, event: Event) -> None:
        self.scaffolded = True

    def on_creating_train_net(self, run: Run, event: Event) -> None:
        self.expect_net_phase = Phase.TRAIN

    def on_creating_test_net(self, run: Run, event: Event) -> None:
        self.expect_net_phase = Phase.TEST

    def on_solving(self, run: Run, event: Event) -> None:
        run.solver_name = event.values[0] or None
        self.training = True
        self.start_seconds = self._stamp_seconds(event)

    def on_lr_policy(self, run: Run, event: Event) -> None:
        run.lr_policy = event.values[0] or None

    def on_using_gpus(self, run: Run, event: Event) -> None:
        run.gpus = event.values[0]
        run.device.mode = "GPU"
        run.device.ids = [int(n) for n in re.findall(r"-?\d+", event.values[0])]

    def on_use_gpu(self, run: Run, event: Event) -> None:
        run.device.mode = "GPU"
        if not run.device.ids:
            run.device.ids = [event.values[0]]

    def on_use_cpu(self, run: Run, event: Event) -> None:
        run.device.mode = "CPU"

    def on_gpu_name(self, run: Run, event: Event) -> None:
        number, name = event.values
        run.device.names.setdefault(number, name)
        run.device.mode = run.device.mode or "GPU"

    def on_gpu_total_memory(self, run: Run, event: Event) -> None:
        total, _free, rest = event.values
        found = re.match(r"dev_info\[(\d+)\]", rest)
        number = int(found.group(1)) if found else (run.device.ids[0] if run.device.ids and not run.device.total_bytes
                                                     else len(run.device.total_bytes))
        run.device.total_bytes.setdefault(number, total)
        run.device.mode = run.device.mode or "GPU"

    def _stamp_seconds(self, event: Event) -> int:
        """Microseconds of this line since the first stamped line of the run."""
        if not event.stamp:
            return self.last_seconds
        day, clock = stamp(event.stamp, self.day_cache)
        if self.first_day is None:
            self.first_day, self.first_clock = day, clock
        value = (day - self.first_day) * DAY_US + (clock - self.first_clock) + self.year_offset
        if value < self.last_seconds - TURN_US:  # classic glog: the year turned over
            self.year_offset += YEAR_US
            value += YEAR_US
        self.last_seconds = value
        return value

    def _elapsed(self, event: Event) -> int:
        """Microseconds since the run's `Solving` line, as parse_log.py counts them."""
        now = self._stamp_seconds(event)
        if self.start_seconds is None:
            self.start_seconds = now
        return now - self.start_seconds

    def on_iteration_loss(self, run: Run, event: Event) -> None:
        it, loss = event.values[0], event.values[1]
        self.training = True
        self.in_test = False
        self.last_iteration = it
        run.train.add_row(it, self._elapsed(event), math.nan, loss)

    def on_iteration_lr(self, run: Run, event: Event) -> None:
        it, lr = event.values
        self.training = True
        self.in_test = False
        self.last_iteration = it
        self.last_lr = lr
        table = run.train
        if len(table) and table.last_iteration() == it and math.isnan(table.last_lr()):
            table.set_last_lr(lr)
        else:
            table.add_row(it, self._elapsed(event), lr)

    def on_train_output(self, run: Run, event: Event) -> None:
        if not len(run.train):
            run.train.add_row(self.last_iteration or 0, self._elapsed(event), self.last_lr)
        run.train.set_output(event.values[1], event.values[2])

    def on_testing_net(self, run: Run, event: Event) -> None:
        it, net = event.values
        self.training = True
        self.in_test = True
        self.last_iteration = it
        run.test.add_row(it, self._elapsed(event), self.last_lr, math.nan, net)

    def on_test_output(self, run: Run, event: Event) -> None:
        if not len(run.test):
            run.test.add_row(self.last_iteration or 0, self._elapsed(event), self.last_lr)
        run.test.set_output(event.values[1], event.values[2])

    def on_test_score(self, run: Run, event: Event) -> None:
        if not len(run.test):
            run.test.add_row(self.last_iteration or 0, self._elapsed(event), self.last_lr)
        run.test.set_output(f"score #{event.values[0]}", event.values[1])

    def on_optimization_done(self, run: Run, event: Event) -> None:
        if run.end.status != EndStatus.CRASHED:
            run.end.status = EndStatus.FINISHED
            run.end.iteration = self.last_iteration
            run.end.phase = None
        self.ended = True
        self.training = False

    def on_stopped_early(self, run: Run, event: Event) -> None:
        run.end.stopped_early = True

    # ------------------------------------------------------------------ crash lines

    def on_check_failed(self, run: Run, event: Event) -> None:
        message = "Check failed: " + event.values[0]
        if event.severity == "F":
            self._crash(run, fatal_kind(message), message)
            if run.end.message == message and event.where:
                run.end.source = event.where

    def on_shell(self, run: Run, event: Event) -> None:
        kind = SHELL_CRASH[event.kind]
        self._crash(run, kind, event.text.strip())

    def on_signal(self, run: Run, event: Event) -> None:
        signal = event.values[0]
        self._crash(run, signal_kind(signal), event.text.strip())

    def on_terminate(self, run: Run, event: Event) -> None:
        text = event.text.strip()
        self._crash(run, terminate_kind(text), text)

    def on_stack_trace_start(self, run: Run, event: Event) -> None:
        # glog prints this after a failed CHECK; alone (its F line cut away) it is still the evidence
        if run.end.status != EndStatus.CRASHED:
            self._crash(run, CrashKind.FATAL_ERROR, "Check failed (its line is not in the log, glog's stack trace is)")

    def on_stack_frame(self, run: Run, event: Event) -> None:
        if len(run.end.frames) < MAX_FRAMES:
            run.end.frames.append(event.values[0])

    def on_abort_banner(self, run: Run, event: Event) -> None:
        self._crash(run, CrashKind.ABORTED, event.text.strip())


_HANDLERS = {
    "net_init": RunBuilder.on_net_init,
    "creating_layer": RunBuilder.on_creating_layer,
    "creating_layer_net": RunBuilder.on_creating_layer_net,
    "bottom": RunBuilder.on_bottom,
    "top": RunBuilder.on_top,
    "top_automatic": RunBuilder.on_top_automatic,
    "setting_up": RunBuilder.on_setting_up,
    "top_shape": RunBuilder.on_top_shape,
    "loss_weight": RunBuilder.on_loss_weight,
    "memory_data": RunBuilder.on_memory_data,
    "needs_backward": RunBuilder.on_needs_backward,
    "no_backward": RunBuilder.on_no_backward,
    "produces_output": RunBuilder.on_produces_output,
    "net_done": RunBuilder.on_net_done,
    "solver_init": RunBuilder.on_solver_init,
    "scaffolding_done": RunBuilder.on_scaffolding_done,
    "creating_train_net": RunBuilder.on_creating_train_net,
    "creating_test_net": RunBuilder.on_creating_test_net,
    "solving": RunBuilder.on_solving,
    "lr_policy": RunBuilder.on_lr_policy,
    "using_gpus": RunBuilder.on_using_gpus,
    "use_gpu": RunBuilder.on_use_gpu,
    "use_cpu": RunBuilder.on_use_cpu,
    "gpu_name": RunBuilder.on_gpu_name,
    "gpu_total_memory": RunBuilder.on_gpu_total_memory,
    "iteration_loss": RunBuilder.on_iteration_loss,
    "iteration_lr": RunBuilder.on_iteration_lr,
    "train_output": RunBuilder.on_train_output,
    "testing_net": RunBuilder.on_testing_net,
    "test_output": RunBuilder.on_test_output,
    "test_score": RunBuilder.on_test_score,
    "optimization_done": RunBuilder.on_optimization_done,
    "test_loss": RunBuilder.on_optimization_done,  # `caffe test` printed its final mean loss
    "benchmark_done": RunBuilder.on_optimization_done,  # `caffe time` finished
    "stopped_early": RunBuilder.on_stopped_early,
    "check_failed": RunBuilder.on_check_failed,
    "shell_killed": RunBuilder.on_shell,
    "shell_terminated": RunBuilder.on_shell,
    "shell_segfault": RunBuilder.on_shell,
    "shell_aborted": RunBuilder.on_shell,
    "signal_received": RunBuilder.on_signal,
    "terminate_called": RunBuilder.on_terminate,
    "terminate_what": RunBuilder.on_terminate,
    "bad_alloc": RunBuilder.on_terminate,
    "abort_banner": RunBuilder.on_abort_banner,
    "stack_frame": RunBuilder.on_stack_frame,
    "stack_trace_start": RunBuilder.on_stack_trace_start,
}

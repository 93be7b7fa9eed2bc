"""What a log says, as plain data: runs, their nets, the training curve and how each run ended.

These are what writers and other modules consume; they hold no parsing logic. The words they
use (how a run ended, what crashed it, which phase) are the enums below, whose values are the
strings the JSON output has always carried (a StrEnum member compares and serialises as its value).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum

from caffemem.logs.curve import Table


class Phase(StrEnum):
    """A net's phase as Caffe prints it."""

    TRAIN = "TRAIN"
    TEST = "TEST"


class PhaseSource(StrEnum):
    """How a net's phase is known: the echoed net text says it, or the set-up order implies it."""

    ECHOED = "echoed"
    INFERRED = "inferred"


class EndStatus(StrEnum):
    """How a run ended."""

    FINISHED = "finished"
    CRASHED = "crashed"
    CUT_OFF = "cut_off"  # the log stops without an end: still running, or the file was cut


class CrashKind(StrEnum):
    """What the evidence in the log says killed a crashed run (logs/endings.py reads it)."""

    OTHER = "other"
    ABORTED = "aborted"
    FATAL_ERROR = "fatal_error"
    SEGFAULT = "segfault"
    KILLED = "killed"
    TERMINATED = "terminated"
    HOST_OUT_OF_MEMORY = "host_out_of_memory"
    CUDA_OUT_OF_MEMORY = "cuda_out_of_memory"


class Stage(StrEnum):
    """Where in a run it ended: setting nets up, a training iteration, or a test pass."""

    SETUP = "setup"
    TRAIN = "train"
    TEST = "test"

# Net and solver text echoed into the log are kept up to this many characters each: enough for
# any real net (the largest corpus net is ~200 KB), bounded so a broken log cannot eat memory.
MAX_TEXT_CHARS = 4 * 1024 * 1024
LAST_LINES = 12


@dataclass
class Top:
    """One top blob of a layer as Caffe logged it after SetUp."""

    name: str | None
    shape: list[int] | None = None
    count: int | None = None
    loss_weight: float | None = None


@dataclass
class Layer:
    """One layer of a net, in the order Caffe created it."""

    name: str
    bottoms: list[str] = field(default_factory=list)
    tops: list[Top] = field(default_factory=list)
    memory_required_for_data: int | None = None
    needs_backward: bool | None = None
    set_up: bool = False
    type_hint: str | None = None  # the type a layer's own set-up lines reveal (data layers)


@dataclass
class Net:
    """One Net::Init seen in the log (train net, test net, or a net nested in a layer)."""

    phase: Phase | None = None
    phase_source: PhaseSource | None = None
    layers: list[Layer] = field(default_factory=list)
    memory_required_for_data: int | None = None
    memory_required_for_diff: int | None = None  # NVCaffe prints the gradients' figure beside it
    outputs: list[str] = field(default_factory=list)
    done: bool = False
    nested_in: str | None = None
    text: str | None = None  # the echoed NetParameter, when the log has it
    text_truncated: bool = False

    def layer(self, name: str) -> Layer | None:
        """The most recent layer of that name (names repeat only in broken nets)."""
        for layer in reversed(self.layers):
            if layer.name == name:
                return layer
        return None


@dataclass
class RunEnd:
    """How a run ended, and where."""

    status: EndStatus = EndStatus.CUT_OFF
    crash_kind: CrashKind | None = None
    iteration: int | None = None
    phase: Stage | None = None  # the JSON key has always been "phase"
    layer: str | None = None
    net_phase: Phase | None = None
    message: str | None = None
    stopped_early: bool = False
    last_lines: list[str] = field(default_factory=list)
    frames: list[str] = field(default_factory=list)  # the stack trace glog printed, first frames first
    nets_ready: bool = False  # the solver's nets were all set up ("Solver scaffolding done.")
    step: str | None = None  # from the stack trace: "forward pass", "backward pass", "update", "snapshot", ...
    place_from_stack: bool = False  # the log itself does not say where: the stack trace does
    source: str | None = None  # where in Caffe's code the fatal line was logged ("interp_layer.cpp:30")

    def where(self) -> str:
        """Human wording of the place, e.g. 'during set-up of layer conv1 (TRAIN net)'."""
        if self.status == EndStatus.FINISHED:
            return f"at the end, iteration {self.iteration}" if self.iteration is not None else "at the end"
        if self.place_from_stack:
            return self._where_from_stack()
        if self.phase == Stage.SETUP:
            if self.layer:
                net = f" ({self.net_phase} net)" if self.net_phase else ""
                return f"during set-up of layer {self.layer}{net}"
            if self.nets_ready:
                return "after set-up, before the first iteration"
            return "during set-up, before any layer"
        if self.phase == Stage.TEST:
            it = f" at iteration {self.iteration}" if self.iteration is not None else ""
            return f"during a test pass{it}"
        if self.phase == Stage.TRAIN:
            if self.iteration is not None:
                return f"at iteration {self.iteration}"
            return "in the first training iteration"
        return "before any net was set up"

    def _where_from_stack(self) -> str:
        """The place as the stack trace shows it (a fragment without the lines that would say)."""
        step = self.step
        if self.phase == Stage.SETUP:
            text = {"loading weights": "while loading the weights file",
                    "solver set-up": "while the solver was set up"}.get(step or "", "during a net's set-up")
        elif self.phase == Stage.TEST:
            in_pass = step in ("forward pass", "backward pass")
            text = f"in the {step} of a test pass" if in_pass else "during a test pass"
        elif self.phase == Stage.TRAIN:
            if step == "snapshot":
                text = "while writing a snapshot"
            elif step in ("forward pass", "backward pass"):
                text = f"in the {step} of a training iteration"
            elif step == "update":
                text = "in the weight update of a training iteration"
            else:
                text = "during training"
        elif step:
            text = f"in a {step}"
        else:
            return "before any net was set up"
        return text + " (as its stack trace shows)"


@dataclass
class Divergence:
    """The first value the run printed as NaN or infinite: where training blew up."""

    iteration: int
    output: str  # "loss" for the solver's own loss line, else the net output's name
    value: str  # "nan", "inf" or "-inf"
    phase: Phase = Phase.TRAIN

    def to_dict(self) -> dict[str, object]:
        return {"iteration": self.iteration, "output": self.output, "value": self.value, "phase": self.phase}


@dataclass
class Device:
    """The GPUs a run used, as the log names them."""

    mode: str | None = None  # "GPU" or "CPU" when the log says it
    ids: list[int] = field(default_factory=list)
    names: dict[int, str] = field(default_factory=dict)
    total_bytes: dict[int, int] = field(default_factory=dict)  # NVCaffe's "Total memory:" per device

    @property
    def count(self) -> int:
        return max(len(self.ids), len(self.names), len(self.total_bytes)) or (1 if self.mode == "GPU" else 0)


@dataclass
class Run:
    """One start of Caffe within the file."""

    index: int
    first_line: int
    last_line: int = 0
    nets: list[Net] = field(default_factory=list)
    solver_text: str | None = None
    solver_text_truncated: bool = False
    solver: dict[str, str] = field(default_factory=dict)
    solver_name: str | None = None
    lr_policy: str | None = None
    gpus: str | None = None
    train: Table = field(default_factory=Table)
    test: Table = field(default_factory=Table)
    end: RunEnd = field(default_factory=RunEnd)
    device: Device = field(default_factory=Device)
    divergence: Divergence | None = None
    tids: set[str] = field(default_factory=set)
    main_tid: str | None = None
    glog_lines: int = 0
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_LINES))

    def close(self) -> None:
        """Drop the temporary files behind the training curve."""
        self.train.close()
        self.test.close()


@dataclass
class LogReport:
    """Everything read from one log file."""

    source: str
    runs: list[Run] = field(default_factory=list)
    lines: int = 0
    bytes: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    def close(self) -> None:
        for run in self.runs:
            run.close()

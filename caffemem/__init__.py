"""caffemem: predict what a Caffe net will hold in memory, and explain why a run died.

The library's face is three calls; ``import caffemem`` stays cheap (each loads what it needs when
first called)::

    import caffemem

    result = caffemem.check("train_val.prototxt", batch=32, mode="gpu", mem="11GiB")
    result.fit.fits, result.fit.max_batch      # the verdict, and the largest batch that fits
    result.total_bytes                         # what the run needs (GPU mode: per device)
    result.to_dict()                           # exactly what ``caffemem check --format json`` writes
    result                                     # in Jupyter: the HTML report

    log = caffemem.read_log("caffe.INFO")      # the nets, solver, curve and end of every run
    pm = caffemem.postmortem("caffe.INFO", net="train_val.prototxt", mem="11GiB")

``check`` takes a path, prototxt text, a ``caffe_pb2.NetParameter`` (caffemem's or pycaffe's), or
anything with ``.to_proto()`` such as pycaffe's ``NetSpec`` (pycaffe itself is never imported).
Wrong arguments raise :class:`CaffememError` with a message saying what was wrong.

Below the face: ``caffemem.net`` loads and builds nets the way Caffe's ``Net::Init`` does,
``caffemem.layers`` holds one shape/parameter rule per layer type, ``caffemem.memory`` the byte
rules, ``caffemem.commands`` one function per command, ``caffemem.report`` the writers; the
command line (``caffemem.cli``) only formats what the library computes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from caffemem.commands.check import CheckResult
    from caffemem.commands.log import LogResult
    from caffemem.commands.postmortem import PostMortem
    from caffemem.errors import CaffememError

__all__ = ["CaffememError", "CheckResult", "LogResult", "PostMortem", "__version__", "check", "postmortem",
           "read_log"]

#: Names loaded on first use (PEP 562), so that ``import caffemem`` imports none of the machinery.
_LAZY = {"CaffememError": "caffemem.errors", "CheckResult": "caffemem.commands.check",
         "LogResult": "caffemem.commands.log", "PostMortem": "caffemem.commands.postmortem"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'caffemem' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _net_source(net: Any) -> tuple[str, str | None]:
    """(path, text): a path is read by the checker; text (prototxt, or a message printed as text) is not."""
    from caffemem.errors import CaffememError

    if isinstance(net, os.PathLike):
        return os.fspath(net), None
    if isinstance(net, str):
        import re

        looks_like_text = "{" in net or "\n" in net or re.match(r"\s*[A-Za-z_]\w+\s*:\s*\S", net)
        if os.path.exists(net) or not looks_like_text:
            return net, None  # a path (a missing one is reported as such)
        return "<text>", net
    if hasattr(net, "to_proto") and callable(net.to_proto):  # pycaffe's NetSpec
        net = net.to_proto()
    if hasattr(net, "ListFields") and hasattr(net, "DESCRIPTOR"):  # any protobuf message, any schema copy
        if net.DESCRIPTOR.name not in ("NetParameter", "SolverParameter"):
            raise CaffememError(f"check takes a NetParameter or SolverParameter message, not a {net.DESCRIPTOR.name}")
        from google.protobuf import text_format

        name = getattr(net, "name", "") or ""
        return f"<{net.DESCRIPTOR.name}{' ' + name if name else ''}>", text_format.MessageToString(net)
    raise CaffememError(f"check takes a path, prototxt text, a NetParameter or an object with .to_proto(); "
                        f"got {type(net).__name__}")


def check(net: Any, batch: int | None = None, mode: str | None = None, mem: str | int | None = None, *,
          device: str | None = None, gpus: int = 1, phase: str | None = None,
          inputs: Mapping[str, Sequence[int] | str] | None = None, stages: Sequence[str] = (),
          level: int | None = None, solver_type: str = "SGD", weights: str | os.PathLike[str] | None = None
          ) -> CheckResult:
    """How much memory the run of ``net`` needs, as ``caffemem check`` says, returned instead of printed.

    ``net``: a net or solver file's path, prototxt text, a ``NetParameter``, or an object with
    ``.to_proto()`` (pycaffe's ``NetSpec``). ``batch``: every data layer's batch. ``mode``: "cpu" or
    "gpu" in any case (default: the solver's ``solver_mode``; GPU when ``device`` or ``gpus`` > 1 is
    given). ``mem``: the budget, "11GiB", "12G", a number of bytes, or "host"; ``device``: a GPU by
    name whose memory is the budget. ``inputs``: shapes of tops caffemem cannot know, per sample
    (``{"data": (3, 224, 224)}``) or whole, batch included (``{"rois": "300,5!"}``).
    Returns a :class:`CheckResult`; ``result.fit`` holds the verdict when a budget was given.
    """
    from caffemem.commands.check import run_check
    from caffemem.errors import CaffememError
    from caffemem.net.inputs import as_inputs
    from caffemem.report import check_html  # noqa: F401  (lets results show as HTML in notebooks)

    path, text = _net_source(net)
    if isinstance(mem, bool) or (mem is not None and not isinstance(mem, str | int)):
        raise CaffememError(f"mem must be a size such as '11GiB', a number of bytes, or 'host'; got {mem!r}")
    if isinstance(mem, int):
        if mem <= 0:
            raise CaffememError(f"mem must be positive, got {mem}")
        mem = str(mem)
    if isinstance(stages, str):
        stages = (stages,)
    return run_check(path, phase=phase, batch=batch, inputs=as_inputs(inputs), stages=tuple(stages), level=level,
                     mode=mode, gpus=gpus, solver_type=solver_type, mem=mem, device=device,
                     weights=os.fspath(weights) if weights is not None else None, text=text)


def read_log(path: str | os.PathLike[str], run: int | None = None) -> LogResult:
    """Read a Caffe training log: its runs (nets, solver, curve, how each ended). ``run`` (1 = first)
    keeps one. The result may hold temporary files for long curves: use it in a ``with`` block or
    ``close()`` it."""
    import caffemem.report.log_json  # noqa: F401 - registers to_dict()
    import caffemem.report.log_table  # noqa: F401 - registers the notebook view
    from caffemem.commands.log import run_log

    return run_log(path, run)


def postmortem(path: str | os.PathLike[str], net: str | os.PathLike[str] | None = None, mem: str | None = None, *,
               device: str | None = None, run: int | None = None) -> PostMortem:
    """Why the run in the log at ``path`` died, what it needed and, with ``mem``/``device``, what would have
    fit. ``net``: the net or solver that ran (default: the one echoed in the log, else rebuilt from it)."""
    from caffemem.commands.postmortem import postmortem as run_postmortem
    from caffemem.memory.budget import budget_from_options
    from caffemem.report import postmortem_text  # noqa: F401  (lets post-mortems show in notebooks)

    return run_postmortem(os.fspath(path), os.fspath(net) if net is not None else None,
                          budget_from_options(mem, device), run)

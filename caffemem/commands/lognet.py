"""The net behind a log: the best net a post-mortem can rest on, and how to build it at any batch.

In order: the net or solver the user names (exact); the net text Caffe echoed into the log
(exact, when complete); else a net rebuilt from the logged shapes (an estimate whose guesses are
listed). Whatever the source, the caller gets one function, ``build(batch)``, so the verdict and
the largest batch are computed the same way for all of them.
"""

from __future__ import annotations

from collections.abc import Callable

from caffemem.commands.reconcile import compare_net
from caffemem.errors import CaffememError
from caffemem.layers.registry import BuildOptions, SetupContext
from caffemem.logs.model import Net, Run
from caffemem.logs.reconstruct import reconstruct
from caffemem.net.analyze import analyze_path
from caffemem.net.build import BuiltNet, build_net
from caffemem.net.prototxt import parse_text
from caffemem.net.state import TEST, TRAIN, compose_state
from caffemem.proto import caffe_pb2

#: ``build(batch)``: the run's nets with every data layer at ``batch`` (None: as they ran).
NetBuilder = Callable[[int | None], list[BuiltNet]]


def _log_nets(run: Run) -> list[Net]:
    return [n for n in run.nets if n.nested_in is None and n.layers]


def _phase_of(net: Net, position: int) -> int:
    if net.phase in ("TRAIN", "TEST"):
        return TRAIN if net.phase == "TRAIN" else TEST
    return TRAIN if position == 0 else TEST


def logged_batch(run: Run) -> int | None:
    for net in _log_nets(run):
        for layer in net.layers:
            if not layer.bottoms and layer.tops and layer.tops[0].shape:
                return layer.tops[0].shape[0]
    return None


def net_builder(run: Run, net_path: str | None, source: str) -> tuple[str, NetBuilder, list[str]]:
    """How to build this run's nets at a given batch, and where they come from."""
    if net_path:
        tested = len(run.test) > 0

        def from_file(batch: int | None) -> list[BuiltNet]:
            nets = analyze_path(net_path, options=BuildOptions(batch=batch)).nets
            if tested and all(n.phase != TEST for n in nets):  # the log shows test passes of this net
                nets += analyze_path(net_path, phase=TEST, options=BuildOptions(batch=batch)).nets
            return nets
        return "given", from_file, []
    logged = _log_nets(run)
    texts = [n.text for n in logged]
    params: list[caffe_pb2.NetParameter] = []
    fallback: list[str] = []
    if logged and all(t and not n.text_truncated for t, n in zip(texts, logged, strict=True)):
        try:
            for i, text in enumerate(texts):
                param = caffe_pb2.NetParameter()
                parse_text(text or "", param, f"{source} (net #{i + 1} echoed in the log)")
                params.append(param)
        except CaffememError as err:  # glog cuts long messages: big nets' echoed text is often incomplete
            params = []
            fallback.append(f"the net text echoed in the log could not be read ({err.message}); the net was "
                            "rebuilt from the logged shapes instead")
    if params:

        def from_text(batch: int | None) -> list[BuiltNet]:
            nets = []
            for i, param in enumerate(params):
                phase = param.state.phase if param.HasField("state") else _phase_of(logged[i], i)
                ctx = SetupContext(phase, BuildOptions(batch=batch), f"{source} (net #{i + 1})")
                nets.append(build_net(param, compose_state(phase, param.state), ctx))
            return nets
        try:
            from_text(None)
            return "echoed in the log", from_text, []
        except CaffememError as err:
            fallback.append(f"the net echoed in the log could not be built ({err.message}); the net was rebuilt "
                            "from the logged shapes instead")
    if not logged:
        raise CaffememError("the log shows no net set-up (no 'Top shape' lines) and no --net was given", source)
    recs = [reconstruct(n) for n in logged]
    guesses = fallback + [g for r in recs for g in r.guesses] + [f"{u}: not recognised; its tops taken as given"
                                                                  for r in recs for u in r.unknown]

    phases = [_phase_of(net, i) for i, net in enumerate(logged)]
    tested = len(run.test) > 0 and TEST not in phases and len(logged) == 1
    if tested:  # test passes ran, but the log does not show the test net's set-up
        guesses.append("the log shows test passes but not the test net's set-up: assumed to test the same net "
                       "(a second copy of its activations)")

    def from_shapes(batch: int | None) -> list[BuiltNet]:
        nets = []
        for i, (rec, phase) in enumerate(zip(recs, phases, strict=True)):
            ctx = SetupContext(phase, BuildOptions(batch=batch), f"{source} (net #{i + 1} rebuilt)")
            nets.append(build_net(rec.param, compose_state(phase), ctx))
        if tested:
            ctx = SetupContext(TEST, BuildOptions(batch=batch), f"{source} (test net assumed)")
            nets.append(build_net(recs[0].param, compose_state(TEST), ctx))
        return nets
    return "rebuilt from the log's shapes", from_shapes, guesses


def compare_with_log(run: Run, nets: list[BuiltNet]) -> list[str]:
    """Warnings when the net given does not produce the shapes the log shows."""

    notes = []
    for i, logged in enumerate(_log_nets(run)):
        phase = logged.phase or ("TRAIN" if i == 0 else "TEST")
        built = next((n for n in nets if n.phase_name == phase), None)
        if built is None:
            notes.append(f"the net given has no {phase} net, but the log shows one")
            continue
        bad = [c.name for c in compare_net(logged, built).layers if c.status != "match"]
        if bad:
            notes.append(f"the net given does not match the log's {phase} net: {len(bad)} layer(s) differ "
                         f"(first: {bad[0]}); the figures are for the net given")
    return notes

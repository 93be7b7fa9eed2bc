"""The net behind a log: the best net a post-mortem can rest on, and how to build it at any batch.

In order, each source named in the result: the net or solver the user names (exact); the net or
solver the log names (the echoed solver's ``net:``/``train_net:``/``test_net:``), found beside the
log or under a search folder and checked against the logged shapes (exact); the net text Caffe
echoed into the log (exact, when complete); the echo glog cut (at 30,000 bytes), its whole layers
as printed and the rest typed from them and the per-layer lines (an estimate); else a net rebuilt
from the logged shapes alone (an estimate whose guesses are listed). Whatever the source, the
caller gets one function, ``build(batch)``, so the verdict and the largest batch are computed the
same way for all of them. A rebuilt net never aborts: a layer whose guess fails to build keeps its
logged tops and is listed as unknown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

from caffemem.commands.reconcile import compare_net, per_gpu_batch
from caffemem.errors import CaffememError
from caffemem.layers.registry import BuildOptions, SetupContext
from caffemem.logs.model import Net, Run
from caffemem.logs.reconstruct import Reconstruction, complete_layers, reconstruct
from caffemem.net.analyze import analyze_path
from caffemem.net.build import BuiltNet, build_net
from caffemem.net.load import upgrade_net_param
from caffemem.net.prototxt import parse_text
from caffemem.net.state import TEST, TRAIN, compose_state
from caffemem.proto import caffe_pb2

#: ``build(batch)``: the run's nets with every data layer at ``batch`` (None: as they ran).
NetBuilder = Callable[[int | None], list[BuiltNet]]

#: How deep a search folder is walked, and how many files at most: a search is bounded.
SEARCH_DEPTH, SEARCH_FILES = 6, 20000
#: A rebuilt net holding less data than this share of Caffe's own figure is said to underestimate.
PLAUSIBLE_DATA_SHARE = 0.9


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


# --------------------------------------------------------------------------- the net the log names


def _find(named: str, source: str, search: tuple[str, ...]) -> str | None:
    """The file the log names: beside the log (as named, or its base name), else under ``search``."""
    base = os.path.basename(named.replace("\\", "/"))
    if not base:
        return None
    here = os.path.dirname(os.path.abspath(source))
    for candidate in (os.path.join(here, named), os.path.join(here, base)):
        if os.path.isfile(candidate):
            return candidate
    parts = named.replace("\\", "/").split("/")
    best: tuple[int, str] | None = None
    seen = 0
    for root in search:
        root_depth = os.path.abspath(root).rstrip(os.sep).count(os.sep)
        for folder, dirs, files in os.walk(root):
            seen += len(files)
            if seen > SEARCH_FILES:
                break
            if folder.count(os.sep) - root_depth >= SEARCH_DEPTH:
                dirs[:] = []
            dirs.sort()
            if base in files:
                path = os.path.join(folder, base)
                fparts = path.replace("\\", "/").split("/")
                common = 0
                while common < min(len(parts), len(fparts)) and parts[-1 - common] == fparts[-1 - common]:
                    common += 1
                if best is None or common > best[0]:
                    best = (common, path)
    return best[1] if best else None


def _named_nets(run: Run, source: str, search: tuple[str, ...]) -> tuple[dict[int, str], list[str]]:
    """Phase -> file of the nets the log's solver names and the search finds; notes on the others."""
    found: dict[int, str] = {}
    notes: list[str] = []
    for key, phases in (("net", (TRAIN, TEST)), ("train_net", (TRAIN,)), ("test_net", (TEST,))):
        named = run.solver.get(key)
        if not named:
            continue
        path = _find(named, source, search)
        if path is None:
            where = "beside the log" + (" or under " + ", ".join(search) if search else "")
            notes.append(f"the log's solver names {key}: \"{named}\", not found {where}")
            continue
        for ph in phases:
            found.setdefault(ph, path)
    return found, notes


def _from_named(run: Run, source: str, search: tuple[str, ...]) -> tuple[str, NetBuilder, list[str]] | None:
    found, notes = _named_nets(run, source, search)
    if not found:
        return None
    logged = _log_nets(run)
    phases = [_phase_of(n, i) for i, n in enumerate(logged)]
    wanted = {ph: found[ph] for ph in phases if ph in found}
    if not wanted:
        return None

    def from_named(batch: int | None) -> list[BuiltNet]:
        nets = []
        for ph, path in sorted(wanted.items()):
            nets += [n for n in analyze_path(path, phase=ph, options=BuildOptions(batch=batch)).nets
                     if n.phase == ph]
        return nets
    try:
        built = from_named(None)
    except CaffememError:
        return None
    for net, ph in zip(logged, phases, strict=True):
        ours = next((b for b in built if b.phase == ph), None)
        if ours is None or any(c.status not in ("match", "memory mismatch", "data-dependent")
                               for c in compare_net(net, ours).layers):
            return None  # not the net that ran (edited since, or another file of that name)
    files = sorted(set(wanted.values()))
    return "named in the log (" + ", ".join(files) + ")", from_named, notes


# --------------------------------------------------------------------------- rebuilt nets, never aborting

_LAYER_IN_ERROR = re.compile(r"layer '([^']+)'")


def _as_unknown(param: caffe_pb2.NetParameter, name: str, rec: Reconstruction) -> bool:
    """Turn the layer an error names into one that keeps its logged tops; False if it already is."""
    for layer in param.layer:
        if layer.name != name:
            continue
        shapes = rec.logged_tops.get(name)
        if layer.type in ("DummyData", "Silence") or shapes is None:
            return False
        tops = list(layer.top)
        bottoms = list(layer.bottom)
        layer.Clear()
        layer.name = name
        layer.top.extend(tops)
        if tops:
            layer.type = "DummyData"
            for s in shapes[: len(tops)] + [None] * (len(tops) - len(shapes)):
                layer.dummy_data_param.shape.add().dim.extend(s or [1])
        else:
            layer.type = "Silence"
            layer.bottom.extend(bottoms)
        if name not in rec.unknown:
            rec.unknown.append(name)
        return True
    return False


def _build_rebuilt(rec: Reconstruction, phase: int, batch: int | None, source: str) -> BuiltNet:
    """Build a rebuilt net; a layer whose guess Caffe's rules refuse becomes an unknown one, and again."""
    for _ in range(len(rec.param.layer) + 1):
        ctx = SetupContext(phase, BuildOptions(batch=batch), source)
        try:
            return build_net(rec.param, compose_state(phase, rec.param.state if rec.param.HasField("state")
                                                      else None), ctx)
        except CaffememError as err:
            names = _LAYER_IN_ERROR.findall(err.message)
            if not names or not any(_as_unknown(rec.param, n, rec) for n in names):
                raise
    raise CaffememError("the net rebuilt from the log could not be built", source)


def _echo_cut(net: Net) -> caffe_pb2.NetParameter | None:
    return complete_layers(net.text) if net.text else None


def _plausibility(logged: list[Net], nets: list[BuiltNet], recs: list[Reconstruction | None]) -> list[str]:
    notes = []
    for net, built, rec in zip(logged, nets, recs, strict=False):
        if rec is None:
            continue
        ours, theirs = built.memory_required_for_data, net.memory_required_for_data
        if theirs and ours is not None and ours < PLAUSIBLE_DATA_SHARE * theirs:
            notes.append(f"implausible: the rebuilt {built.phase_name} net holds {ours:,} bytes of data, below the "
                         f"{theirs:,} Caffe logged for it: the figures below underestimate the run")
        for name in rec.implausible:
            notes.append(f"implausible: {name}'s kernel was guessed from its shapes alone and is larger than any "
                         "common one: its weights are likely overstated")
    return notes


# --------------------------------------------------------------------------- the entry point


def net_builder(run: Run, net_path: str | None, source: str,
                search: tuple[str, ...] = ()) -> tuple[str, NetBuilder, list[str]]:
    """How to build this run's nets at a given batch, and where they come from; the net the log names
    is looked for beside the log and under the ``search`` folders (``postmortem --search``)."""
    if net_path:
        tested = len(run.test) > 0
        split: list[int] = []  # NVCaffe's per-GPU batch, when the log shows the batch split over its GPUs

        def from_file(batch: int | None) -> list[BuiltNet]:
            nets = analyze_path(net_path, options=BuildOptions(batch=batch or (split[0] if split else None))).nets
            if tested and all(n.phase != TEST for n in nets):  # the log shows test passes of this net
                nets += analyze_path(net_path, phase=TEST, options=BuildOptions(batch=batch)).nets
            return nets
        gpus = len([g for g in (run.gpus or "").split(",") if g.strip()])
        ran = logged_batch(run)
        if gpus > 1 and ran:
            ours = next((b.top_shapes[0][0] for n in from_file(None)[:1] for b in n.layers
                         if not b.bottoms and b.top_shapes and b.top_shapes[0]), None)
            if ours and ours != ran and per_gpu_batch(ours, gpus) == ran:
                split.append(ran)
                return "given", from_file, [f"NVCaffe split the batch over {gpus} GPUs: {ours} -> {ran} per GPU "
                                            "(the figures are per GPU)"]
        return "given", from_file, []
    logged = _log_nets(run)
    named = _from_named(run, source, tuple(search)) if logged else None
    if named is not None:
        return named
    texts = [n.text for n in logged]
    params: list[caffe_pb2.NetParameter | None] = []
    fallback: list[str] = []
    for i, (text, net) in enumerate(zip(texts, logged, strict=True)):
        param: caffe_pb2.NetParameter | None = None
        if text and not net.text_truncated:
            param = caffe_pb2.NetParameter()
            try:
                parse_text(text, param, f"{source} (net #{i + 1} echoed in the log)")
                upgrade_net_param(param, f"{source} (net #{i + 1} echoed in the log)")  # 2014 logs echo V1 nets
            except CaffememError as err:  # glog cuts long messages: big nets' echoed text is often incomplete
                param = None
                fallback.append(f"the net text echoed in the log (net #{i + 1}) could not be read ({err.message})")
        params.append(param)
    if logged and all(p is not None for p in params):

        def from_text(batch: int | None) -> list[BuiltNet]:
            nets = []
            for i, param in enumerate(params):
                assert param is not None
                phase = param.state.phase if param.HasField("state") else _phase_of(logged[i], i)
                ctx = SetupContext(phase, BuildOptions(batch=batch), f"{source} (net #{i + 1})")
                nets.append(build_net(param, compose_state(phase, param.state), ctx))
            return nets
        try:
            from_text(None)
            return "echoed in the log", from_text, []
        except CaffememError as err:
            params = [None] * len(logged)
            fallback.append(f"the net echoed in the log could not be built ({err.message}); the net was rebuilt "
                            "from the logged shapes instead")
    if not logged:
        raise CaffememError("the log shows no net set-up (no 'Top shape' lines) and no --net was given", source)
    return _rebuilt(run, logged, params, fallback, source)


def _rebuilt(run: Run, logged: list[Net], params: list[caffe_pb2.NetParameter | None], fallback: list[str],
             source: str) -> tuple[str, NetBuilder, list[str]]:
    recs: list[Reconstruction | None] = []
    cut = 0
    guesses = list(fallback)
    for i, (net, param) in enumerate(zip(logged, params, strict=True)):
        if param is not None:
            recs.append(None)
            continue
        echoed = _echo_cut(net)
        rec = reconstruct(net, echoed)
        if echoed is not None:
            cut += 1
            guesses.append(f"net #{i + 1}: the echoed net text was cut by glog at {len(net.text or ''):,} characters: "
                           f"its first {rec.from_echo} layers are used as printed, {rec.from_pattern} more typed "
                           "after echoed layers of the same name pattern, the rest rebuilt from the log's shapes")
        recs.append(rec)
    phases = [_phase_of(net, i) for i, net in enumerate(logged)]
    tested = len(run.test) > 0 and TEST not in phases and len(logged) == 1
    first_rec = next(r for r in recs if r is not None)

    def from_parts(batch: int | None) -> list[BuiltNet]:
        nets = []
        for i, (rec, param, phase) in enumerate(zip(recs, params, phases, strict=True)):
            if rec is None:
                assert param is not None
                ctx = SetupContext(phase, BuildOptions(batch=batch), f"{source} (net #{i + 1})")
                nets.append(build_net(param, compose_state(phase, param.state), ctx))
            else:
                nets.append(_build_rebuilt(rec, phase, batch, f"{source} (net #{i + 1} rebuilt)"))
        if tested:
            nets.append(_build_rebuilt(recs[0] or first_rec, TEST, batch, f"{source} (test net assumed)"))
        return nets
    built = from_parts(None)  # settles every guess Caffe's rules refuse, once, before any figure
    guesses += [g for r in recs if r is not None for g in r.guesses]
    guesses += [f"{u}: not recognised; its tops taken as given" for r in recs if r is not None for u in r.unknown]
    if tested:  # test passes ran, but the log does not show the test net's set-up
        guesses.append("the log shows test passes but not the test net's set-up: assumed to test the same net "
                       "(a second copy of its activations)")
    guesses += _plausibility(logged, built, recs)
    if cut:
        origin = "echoed in the log (cut by glog), the rest rebuilt from the log's shapes (estimate)"
    else:
        origin = "rebuilt from the log's shapes"
    return origin, from_parts, guesses


def compare_with_log(run: Run, nets: list[BuiltNet]) -> list[str]:
    """Warnings when the net given does not produce the shapes the log shows."""

    notes = []
    for i, logged in enumerate(_log_nets(run)):
        phase = logged.phase or ("TRAIN" if i == 0 else "TEST")
        built = next((n for n in nets if n.phase_name == phase), None)
        if built is None:
            notes.append(f"the net given has no {phase} net, but the log shows one")
            continue
        bad = [c.name for c in compare_net(logged, built).layers
               if c.status not in ("match", "memory mismatch", "data-dependent")]
        if bad:
            notes.append(f"the net given does not match the log's {phase} net: {len(bad)} layer(s) differ "
                         f"(first: {bad[0]}); the figures are for the net given")
    return notes

"""From a file the user names to the nets Caffe would build from it, in Caffe's order.

A solver gives the TRAIN net and then its TEST nets exactly as ``Solver::InitTrainNet`` and
``InitTestNets`` create them; a train_val net gives TRAIN then TEST (when its layers differ by
phase); ``--phase`` picks one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from caffemem.errors import CaffememError, NetError
from caffemem.layers.registry import BuildOptions, SetupContext, layer_class
from caffemem.net.build import BuiltNet, build_net
from caffemem.net.load import (
    LoadedNet,
    LoadedSolver,
    file_kind,
    is_binary_net_file,
    load_binary_net,
    load_net,
    net_from_text,
    read_text,
    resolve_solver_path,
    solver_from_text,
)
from caffemem.net.prototxt import FORK_FIELD, Diagnostic, first_refusal
from caffemem.net.state import PHASE_NAMES, TEST, TRAIN, compose_state, has_phase_rules
from caffemem.proto import caffe_pb2


@dataclass
class Analysis:
    """Everything caffemem learned from one input file."""

    source: str
    kind: str  # "net" or "solver"
    nets: list[BuiltNet]
    solver: LoadedSolver | None = None
    loaded: list[LoadedNet] = field(default_factory=list)
    #: Index in ``nets`` of the net ``caffe train`` would train (the solver's train net, or a net
    #: file's TRAIN-phase net), None when the analysis holds test/deploy nets only.
    train_index: int | None = None
    #: Why ``train_index`` is what it is (shown with the role).
    train_reason: str = ""

    @property
    def diagnostics(self) -> list[Diagnostic]:
        seen: dict[str, None] = {}
        out = []
        for d in (self.solver.diagnostics if self.solver else []) + [d for n in self.loaded for d in n.diagnostics]:
            if str(d) not in seen:
                seen[str(d)] = None
                out.append(d)
        return out

    @property
    def fork_warnings(self) -> list[str]:
        """Fields of forks' schemas this input uses (once each): BVLC Caffe would refuse them."""
        notes = (self.solver.caffe_notes if self.solver else []) + [d for n in self.loaded for d in n.caffe_notes]
        return list({str(d): None for d in notes if d.kind == FORK_FIELD})

    @property
    def warnings(self) -> list[str]:
        out: dict[str, None] = {}
        for d in self.diagnostics:
            out[str(d)] = None
        for loaded in self.loaded:
            for w in loaded.upgrade_warnings:
                out[f"{loaded.source}: {w}"] = None
        for net in self.nets:
            for w in net.warnings:
                out[f"{net.name or net.source} ({net.phase_name}): {w}"] = None
        return list(out)


def _has_loss(param: caffe_pb2.NetParameter) -> bool:
    """Whether any layer is a loss (by type or by an explicit nonzero loss_weight)."""
    for layer in param.layer:
        cls = layer_class(layer.type)
        if (cls is not None and cls.is_loss) or any(w != 0 for w in layer.loss_weight) \
                or layer.type.endswith("Loss"):
            return True
    return False


def _rule_stages(param: caffe_pb2.NetParameter) -> list[str]:
    found: dict[str, None] = {}
    for layer in param.layer:
        for rule in (*layer.include, *layer.exclude):
            for s in (*rule.stage, *rule.not_stage):
                found[s] = None
    return list(found)


def _build(loaded: LoadedNet, phase: int, solver_state: caffe_pb2.NetState | None, options: BuildOptions,
           level: int | None, stages: tuple[str, ...]) -> BuiltNet:
    state = compose_state(phase, loaded.param.state if loaded.param.HasField("state") else None,
                          solver_state, level, stages)
    ctx = SetupContext(phase=phase, options=options, source=loaded.source)
    try:
        return build_net(loaded.param, state, ctx, loaded.prepared)
    except NetError as err:
        solved = _solve_image_size(loaded, state, ctx)
        if solved is not None:
            return solved
        hints = []
        rule_stages = _rule_stages(loaded.param)
        if rule_stages and not state.stage:
            hints.append(f"this net picks layers by stage ({', '.join(rule_stages)}): give --stage")
        if ctx.assumptions:
            hints.append(f"a data shape was assumed: {ctx.assumptions[0]}")
        if hints:
            err.message += " [" + "; ".join(hints) + "]"
            err.args = (err.location_prefix() + err.message,)
        raise


def _solve_image_size(loaded: LoadedNet, state: caffe_pb2.NetState, failed: SetupContext) -> BuiltNet | None:
    """A net that failed under an assumed image size, built at the size its own layers pin down.

    SegNet's data layer (DenseImageData) says nothing of the image size, and its unpooling layers
    give their outputs in full (``upsample_h``/``upsample_w``): the pooling input they restore. So
    the image is that size times 2**k (k poolings before that one): the smallest k for which the whole
    net builds is the answer, said as an assumption. Only one assumed top, only such layers; None
    when nothing fits (the error then stands, with its hint).
    """
    if len(failed.assumed_tops) != 1:
        return None
    (top, sample), = failed.assumed_tops.items()
    if len(sample) != 3:
        return None
    pinned = [(lp.name, lp.upsample_param.upsample_h, lp.upsample_param.upsample_w) for lp in loaded.param.layer
              if lp.type == "Upsample" and lp.upsample_param.upsample_h > 1 and lp.upsample_param.upsample_w > 1]
    tried: set[tuple[int, int]] = set()
    for name, h, w in pinned:
        for k in range(7):
            size = (h << k, w << k)
            if size in tried:
                continue
            tried.add(size)
            shape = (sample[0], *size)
            options = replace(failed.options, inputs={**failed.options.inputs, top: shape})
            ctx = SetupContext(phase=failed.phase, options=options, source=loaded.source)
            try:
                built = build_net(loaded.param, state, ctx, loaded.prepared)
            except NetError:
                continue
            dims = ",".join(map(str, shape))
            built.warnings.insert(0, f"top '{top}': the image size is in the data, which caffemem does not read; "
                                     f"{dims} per sample is what layer '{name}' (upsample_h {h}, upsample_w {w}) "
                                     f"fits (give --input {top}=C,H,W for another)")
            return built
    return None


def analyze_net(loaded: LoadedNet, phase: int | None = None, options: BuildOptions | None = None,
                level: int | None = None, stages: tuple[str, ...] = ()) -> Analysis:
    options = options or BuildOptions()
    if phase is not None:
        phases = [phase]
    elif loaded.param.HasField("state") and loaded.param.state.HasField("phase"):
        phases = [loaded.param.state.phase]
    elif has_phase_rules(loaded.param):
        phases = [TRAIN, TEST]
    elif loaded.param.force_backward:
        # A deploy net that asks for backward is fine-tuned or visualised: Caffe runs backward on it.
        phases = [TRAIN]
    else:
        # No phase rules: a train net when something is a loss, else a deploy net run forward only.
        phases = [TRAIN] if _has_loss(loaded.param) else [TEST]
    nets: list[BuiltNet] = []
    failures: list[tuple[int, NetError]] = []
    for p in phases:
        try:
            nets.append(_build(loaded, p, None, options, level, stages))
        except NetError as err:
            if len(phases) == 1:
                raise
            failures.append((p, err))
    if not nets:
        raise failures[0][1]
    for p, err in failures:  # e.g. a train-only file: its TEST phase has no data layer
        nets[0].warnings.append(f"no {PHASE_NAMES[p]} net: Caffe could not build one from this file ({err})")
    analysis = Analysis(loaded.source, "net", nets, loaded=[loaded])
    trained = [i for i, net in enumerate(nets) if net.phase == TRAIN]
    if trained:
        analysis.train_index = trained[0]
        if phase == TRAIN:
            analysis.train_reason = "--phase TRAIN: priced as the train net of 'caffe train'"
        elif loaded.param.force_backward and not _has_loss(loaded.param):
            analysis.train_reason = ("force_backward: true and no loss: priced as fine-tuned by 'caffe train' "
                                     "(backward and update run); give --phase TEST for forward only")
        else:
            analysis.train_reason = "a TRAIN-phase net: priced as the train net of 'caffe train'"
    elif loaded.param.force_backward and phase is None:
        analysis.train_index = 0
        analysis.train_reason = ("force_backward: true: priced as fine-tuned by 'caffe train' (backward and "
                                 "update run, whatever the net's own phase); give --phase TEST for forward only")
    return analysis


def refuse_like_caffe(loaded: LoadedNet | LoadedSolver) -> None:
    """Raise the first problem BVLC Caffe would refuse the text for (an unknown field or enum value,
    a negative dimension, a layer without a type), with its place; fork fields stay warnings."""
    err = first_refusal(sorted(loaded.diagnostics + loaded.caffe_notes, key=lambda d: (d.line, d.column)))
    if err is not None:
        raise err


def analyze_solver(solver: LoadedSolver, phase: int | None = None, options: BuildOptions | None = None,
                   level: int | None = None, stages: tuple[str, ...] = (), strict: bool = False,
                   read: dict[str, LoadedNet] | None = None) -> Analysis:
    """The train net, then the test nets, as Caffe's solver creates them (``strict``: see :func:`analyze_path`).

    ``read``: net files already read, by path (their nets are not read again).
    """
    options = options or BuildOptions()
    sp = solver.param
    cache: dict[str, LoadedNet] = dict(read or {})
    if strict:
        refuse_like_caffe(solver)

    def from_file(name: str) -> LoadedNet:
        path = resolve_solver_path(solver.source, name)
        if path not in cache:
            cache[path] = load_net(path)
            if strict:
                refuse_like_caffe(cache[path])
        return cache[path]

    def inline(param: caffe_pb2.NetParameter, what: str) -> LoadedNet:
        # Caffe does not upgrade nets embedded in a solver; neither do we.
        if len(param.layers) and not len(param.layer):
            raise CaffememError(f"the net in the solver's {what} uses the old V1 'layers' format, which Caffe does "
                                "not upgrade inside a solver: it would build an empty net. Move the net to its own "
                                "file (or run 'caffemem upgrade' on it)", solver.source)
        loaded = LoadedNet(caffe_pb2.NetParameter(), f"{solver.source} ({what})")
        loaded.param.CopyFrom(param)
        return loaded

    given = [f for f in ("train_net_param", "train_net", "net_param", "net") if sp.HasField(f)]
    if not given:
        raise CaffememError("this solver names no net (train_net, net, ...); solvers of 2013 took their nets on "
                            "the command line: check the net file itself", solver.source)
    if len(given) != 1:
        raise CaffememError("a solver must name exactly one of train_net_param, train_net, net_param, net "
                            f"(found {', '.join(given)})", solver.source)
    which = given[0]
    train = inline(getattr(sp, which), which) if which.endswith("_param") else from_file(getattr(sp, which))

    tests: list[LoadedNet] = [inline(p, "test_net_param") for p in sp.test_net_param]
    tests += [from_file(name) for name in sp.test_net]
    if which in ("net", "net_param"):
        extra = len(sp.test_iter) - len(tests)
        tests += [train] * max(0, extra)
    if len(sp.test_state) not in (0, len(tests)):
        raise CaffememError(f"test_state must be unspecified or specified once per test net "
                            f"({len(sp.test_state)} given, {len(tests)} test nets)", solver.source)

    nets: list[BuiltNet] = []
    if phase in (None, TRAIN):
        nets.append(_build(train, TRAIN, sp.train_state if sp.HasField("train_state") else None, options,
                           level, stages))
    if phase in (None, TEST):
        for i, loaded in enumerate(tests):
            nets.append(_build(loaded, TEST, sp.test_state[i] if sp.test_state else None, options, level,
                               stages))
    loaded_all = list({id(n): n for n in [train, *tests]}.values())
    analysis = Analysis(solver.source, "solver", nets, solver=solver, loaded=loaded_all)
    if phase in (None, TRAIN):
        analysis.train_index = 0
        own = nets[0].phase_name
        analysis.train_reason = "the solver's train net: 'caffe train' runs its backward and update" + (
            f" whatever its own state says (phase {own})" if nets[0].phase != TRAIN else "")
    return analysis


#: A glog line ("I0817 21:32:48.073011 11306 net.cpp:156] ..."), which no prototxt contains.
_GLOG_LINE = re.compile(r"^[IWEF]\d{4,8} \d\d:\d\d:\d\d\.\d+ +\d+ [\w.-]+:\d+\] ", re.MULTILINE)


def analyze_path(path: str, phase: int | None = None, options: BuildOptions | None = None,
                 level: int | None = None, stages: tuple[str, ...] = (), strict: bool = False) -> Analysis:
    """Analyse a net or solver file (detected from its fields), or a binary caffemodel as a net.

    ``strict`` (``caffemem check``): text BVLC Caffe's parser or net setup refuses is refused here
    too, with its place, instead of analysed past (see :data:`caffemem.net.prototxt.REFUSED_KINDS`).
    Without it (post-mortems of runs a fork's Caffe did run), such problems stay warnings.
    """
    if is_binary_net_file(path):  # solvers are text only; a caffemodel holds the whole net definition
        return analyze_net(load_binary_net(path), phase, options, level, stages)
    return analyze_text(read_text(path), path, phase, options, level, stages, strict)


def analyze_text(text: str, path: str, phase: int | None = None, options: BuildOptions | None = None,
                 level: int | None = None, stages: tuple[str, ...] = (), strict: bool = False) -> Analysis:
    """Analyse prototxt ``text`` (a net or a solver) as if it were the file ``path`` (which names it in
    messages, and is where a solver's relative net paths are looked for); ``strict`` as for
    :func:`analyze_path`."""
    if _GLOG_LINE.search(text[:20000]):
        raise CaffememError("this is a Caffe log, not a net or solver: read it with 'caffemem log' or "
                            "'caffemem postmortem'", path)
    if file_kind(text, path) == "solver":
        return analyze_solver(solver_from_text(text, path), phase, options, level, stages, strict)
    loaded = net_from_text(text, path)
    if strict:
        refuse_like_caffe(loaded)
    return analyze_net(loaded, phase, options, level, stages)


def rebuild(analysis: Analysis, options: BuildOptions, phase: int | None = None, level: int | None = None,
            stages: tuple[str, ...] = ()) -> Analysis:
    """The nets of ``analysis`` built again with other ``options`` (another batch) from the messages
    already read: the same answer as analysing the file again, without reading or parsing it."""
    if analysis.solver is None:
        return analyze_net(analysis.loaded[0], phase, options, level, stages)
    read = {loaded.source: loaded for loaded in analysis.loaded}
    return analyze_solver(analysis.solver, phase, options, level, stages, read=read)

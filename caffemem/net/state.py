"""NetState composition and Caffe's FilterNet: which layers a phase/level/stage keeps.

Caffe decides per net which layers exist before anything else happens (``Net::FilterNet``), so
every figure caffemem prints depends on getting this exactly right, including the order in which
the solver merges states (phase, then the net's own ``state``, then ``train_state``/``test_state``).
"""

from __future__ import annotations

from collections.abc import Iterable

from caffemem.errors import NetError
from caffemem.proto import caffe_pb2

TRAIN = caffe_pb2.TRAIN
TEST = caffe_pb2.TEST
PHASE_NAMES = {TRAIN: "TRAIN", TEST: "TEST"}


def phase_from_name(name: str) -> int:
    try:
        return {"TRAIN": TRAIN, "TEST": TEST}[name.upper()]
    except KeyError:
        raise NetError(f"unknown phase '{name}' (use TRAIN or TEST)") from None


def compose_state(phase: int, net_state: caffe_pb2.NetState | None = None,
                  solver_state: caffe_pb2.NetState | None = None,
                  level: int | None = None, stages: Iterable[str] = ()) -> caffe_pb2.NetState:
    """The state Caffe builds a net with: phase, then merge the net's state, then the solver's.

    ``level``/``stages`` are what the ``caffe`` tool's ``--level``/``--stage`` flags add.
    """
    state = caffe_pb2.NetState()
    state.phase = phase
    if net_state is not None:
        state.MergeFrom(net_state)
    if solver_state is not None:
        state.MergeFrom(solver_state)
    if level is not None:
        state.level = level
    state.stage.extend(stages)
    return state


def state_meets_rule(state: caffe_pb2.NetState, rule: caffe_pb2.NetStateRule) -> bool:
    """Caffe's ``Net::StateMeetsRule``: all conditions of one include/exclude rule hold."""
    if rule.HasField("phase") and rule.phase != state.phase:
        return False
    if rule.HasField("min_level") and state.level < rule.min_level:
        return False
    if rule.HasField("max_level") and state.level > rule.max_level:
        return False
    stages = set(state.stage)
    if any(s not in stages for s in rule.stage):
        return False
    return not any(s in stages for s in rule.not_stage)


def layer_included(state: caffe_pb2.NetState, layer: caffe_pb2.LayerParameter) -> bool:
    """Caffe's per-layer decision in ``FilterNet`` (include rules OR-ed; any exclude drops)."""
    if layer.include and layer.exclude:
        raise NetError(f"layer '{layer.name}' specifies both include and exclude rules; Caffe refuses this")
    if layer.include:
        return any(state_meets_rule(state, r) for r in layer.include)
    return not any(state_meets_rule(state, r) for r in layer.exclude)


def filter_net(param: caffe_pb2.NetParameter, state: caffe_pb2.NetState) -> caffe_pb2.NetParameter:
    """A copy of ``param`` holding only the layers ``state`` keeps, with ``state`` recorded."""
    out = caffe_pb2.NetParameter()
    out.CopyFrom(param)
    del out.layer[:]
    out.state.CopyFrom(state)
    for layer in param.layer:
        if layer_included(state, layer):
            out.layer.add().CopyFrom(layer)
    return out


def has_phase_rules(param: caffe_pb2.NetParameter) -> bool:
    """Whether TRAIN and TEST would keep different layers (a train_val net rather than a deploy net)."""
    return any(r.HasField("phase") for layer in param.layer for r in (*layer.include, *layer.exclude))

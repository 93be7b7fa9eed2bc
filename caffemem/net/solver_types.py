"""Caffe's solver types: the one table of their names, as ``SolverParameter.type`` spells them.

Three spellings reach caffemem: the string ``type: "Adam"`` of current solvers, the deprecated enum
``solver_type: ADAM`` (an int once parsed, its name in a log's echo) and the enum's number, which
old logs print. All of them resolve here.
"""

from __future__ import annotations

from caffemem._strenum import StrEnum
from caffemem.errors import CaffememError
from caffemem.proto import caffe_pb2


class SolverType(StrEnum):
    """The solvers BVLC Caffe registers, by the name its solver factory knows."""

    SGD = "SGD"
    NESTEROV = "Nesterov"
    ADAGRAD = "AdaGrad"
    RMSPROP = "RMSProp"
    ADADELTA = "AdaDelta"
    ADAM = "Adam"


#: ``SolverParameter.SolverType`` enum value -> type name (what ``UpgradeSolverType`` writes).
BY_ENUM: dict[int, SolverType] = {caffe_pb2.SolverParameter.SolverType.Value(t.name): t for t in SolverType}


def canonical_solver_type(name: str) -> SolverType:
    """The type whose name is ``name`` in any case; an unknown one is an error naming the known ones."""
    for known in SolverType:
        if known.lower() == name.lower():
            return known
    raise CaffememError(f"unknown solver type '{name}' (Caffe knows {', '.join(SolverType)})")


def solver_type_from_text(type_text: str, enum_text: str = "") -> SolverType | None:
    """The type a solver's ``type`` or deprecated ``solver_type`` text names (name or number), if any."""
    if type_text:
        try:
            return canonical_solver_type(type_text)
        except CaffememError:
            return None
    if enum_text.isdigit():
        return BY_ENUM.get(int(enum_text))
    try:
        return canonical_solver_type(enum_text) if enum_text else None
    except CaffememError:
        return None

"""Load nets and solvers from files the way Caffe reads them (text, legacy upgrades, solver paths).

Caffe upgrades legacy formats only on the paths that read files (``UpgradeNetAsNeeded``), not for
nets embedded in a solver's ``net_param``; caffemem follows the same rule so that what it analyses
is what Caffe would build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from caffemem.errors import CaffememError, ParseError
from caffemem.net.prototxt import Diagnostic, parse_text, top_level_fields
from caffemem.proto import caffe_pb2

#: Fields that mark a net when the schema alone cannot tell (a file with fields of both kinds).
NET_FIELDS = {"layer", "layers", "input", "input_dim", "input_shape"}


@dataclass
class LoadedNet:
    """A net read from a file: the upgraded message plus what reading it revealed."""

    param: caffe_pb2.NetParameter
    source: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    upgrades: list[str] = field(default_factory=list)
    upgrade_warnings: list[str] = field(default_factory=list)


@dataclass
class LoadedSolver:
    param: caffe_pb2.SolverParameter
    source: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    upgrades: list[str] = field(default_factory=list)


def read_text(path: str) -> str:
    """The file's text. Bytes that are not UTF-8 are kept as replacement characters, not fatal."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise CaffememError("no such file", path) from None
    except IsADirectoryError:
        raise CaffememError("is a directory, not a net or solver file", path) from None
    except OSError as err:
        raise CaffememError(err.strerror or str(err), path) from None
    if data[:1] == b"\n" or b"\0" not in data[:4096]:
        return data.decode("utf-8", errors="replace")
    raise ParseError("looks like a binary file; text prototxt expected (use --weights for .caffemodel)", path)


def file_kind(text: str, source: str) -> str:
    """``"net"`` or ``"solver"``, from the fields at the top level of the text."""
    from caffemem.net.upgrade import classify_fields

    names = top_level_fields(text, source)
    kind = classify_fields(names)
    if kind is not None:
        return kind
    return "net" if set(names) & NET_FIELDS or not names else "solver"


def upgrade_net_param(param: caffe_pb2.NetParameter, source: str) -> tuple[list[str], list[str]]:
    """Apply Caffe's ``UpgradeNetAsNeeded``; return (upgrades applied, warnings Caffe would log)."""
    from caffemem.net import upgrade

    result = upgrade.upgrade_net(param, source)
    applied = list(getattr(result, "applied", result))
    warnings = list(getattr(result, "warnings", []))
    return applied, warnings


def net_from_text(text: str, source: str, upgrade: bool = True) -> LoadedNet:
    param = caffe_pb2.NetParameter()
    diagnostics = parse_text(text, param, source)
    loaded = LoadedNet(param, source, diagnostics)
    if upgrade:
        loaded.upgrades, loaded.upgrade_warnings = upgrade_net_param(param, source)
    return loaded


def load_net(path: str) -> LoadedNet:
    return net_from_text(read_text(path), path)


def solver_from_text(text: str, source: str) -> LoadedSolver:
    param = caffe_pb2.SolverParameter()
    diagnostics = parse_text(text, param, source)
    from caffemem.net import upgrade

    result = upgrade.upgrade_solver(param, source)
    upgrades = list(getattr(result, "applied", result) or [])
    return LoadedSolver(param, source, diagnostics, upgrades)


def load_solver(path: str) -> LoadedSolver:
    return solver_from_text(read_text(path), path)


def resolve_solver_path(solver_path: str, name: str) -> str:
    """Paths inside a solver: relative to the solver's folder first, then the working folder."""
    if os.path.isabs(name):
        if os.path.exists(name):
            return name
        raise CaffememError(f"net file '{name}' named in the solver does not exist", solver_path)
    beside = os.path.join(os.path.dirname(os.path.abspath(solver_path)), name)
    if os.path.exists(beside):
        return beside
    if os.path.exists(name):
        return name
    raise CaffememError(f"net file '{name}' named in the solver was found neither beside the solver nor in "
                        f"the working folder", solver_path)

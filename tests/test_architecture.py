"""The house rules, checked on the code itself: imports run only down the floors, and no two modules
import each other (directly or round a longer circle).

Floors, ground up (``../shared/docs/architecture.md``): the vocabularies and the schema; the layer
catalogue; the net model and the log reader (side by side: neither imports the other); the memory
model; the commands; the report writers; the command line. Function-level imports count too: a
lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "caffemem"

#: Top-level part of the package -> its floor. Equal floors may not import each other.
FLOORS: dict[str, int] = {
    "_strenum": 0, "errors": 0, "proto": 0, "outputs": 1, "sniff": 1,
    "categories": 1, "modes": 1, "wording": 1,
    "layers": 2,
    "net": 3, "logs": 3,
    "memory": 4,
    "commands": 5,
    "report": 6,
    "cli": 7, "__main__": 8,
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The caffemem modules ``name`` imports (a submodule named in ``from pkg import sub`` counts as it)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("caffemem"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if not module.startswith("caffemem"):
                continue
            subs = [f"{module}.{a.name}" for a in node.names if f"{module}.{a.name}" in MODULES]
            found.update(subs)
            if len(subs) < len(node.names):
                found.add(module)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _floor(module: str) -> tuple[str, int | None]:
    part = module.split(".")[1] if "." in module else ""
    return part, FLOORS.get(part)


def test_every_part_of_the_package_has_a_floor() -> None:
    parts = {_floor(m)[0] for m in MODULES if m != "caffemem"}
    assert parts - set(FLOORS) == set()


def test_imports_run_only_down() -> None:
    upward = []
    for src, targets in GRAPH.items():
        if src == "caffemem":  # the package's face may re-export from any floor
            continue
        part, floor = _floor(src)
        for dst in targets:
            dpart, dfloor = _floor(dst)
            if dst == "caffemem" or dpart == part:
                continue
            if floor is None or dfloor is None or dfloor >= floor:
                upward.append(f"{src} -> {dst}")
    assert upward == []


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return out


def test_no_two_modules_import_each_other() -> None:
    assert _cycles() == []


def test_the_graph_sees_imports() -> None:
    """The checks above are only as good as the graph: it sees plain, lazy and package imports."""
    assert "caffemem.errors" in GRAPH["caffemem.commands.check"]  # from caffemem.errors import ...
    assert "caffemem.commands.check" in GRAPH["caffemem.report.check_table"]
    assert "caffemem.commands.check" in GRAPH["caffemem.cli"]  # imported inside a function

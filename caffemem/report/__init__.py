"""Report writers: one table, :data:`WRITERS`, from (command, format) to the module that writes it.

Every writer module has one function, ``write(result, out, options)``: ``result`` is what the
command of :mod:`caffemem.commands` returned, ``out`` a text stream, ``options`` a
:class:`~caffemem.report.options.ReportOptions`. The CLI builds each command's ``--format``
choices from this table, so a new format is one module and one row here. Modules are imported
only when their format is asked for: start-up stays quick however many writers there are.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TextIO

from caffemem.report.options import ReportOptions

Writer = Callable[[Any, TextIO, ReportOptions], None]

#: (command, format) -> module of caffemem.report holding ``write``. The first format listed for a
#: command is its default.
WRITERS: dict[tuple[str, str], str] = {
    ("check", "table"): "check_table",
    ("check", "json"): "check_json",
    ("check", "csv"): "check_csv",
    ("check", "md"): "check_md",
    ("check", "html"): "check_html",
    ("log", "table"): "log_table",
    ("log", "json"): "log_json",
    ("log", "csv"): "log_csv",
    ("postmortem", "text"): "postmortem_text",
    ("postmortem", "json"): "postmortem_json",
    ("reconcile", "text"): "reconcile_text",
    ("reconcile", "json"): "reconcile_json",
    ("audit", "table"): "audit_table",
    ("audit", "json"): "audit_json",
    ("audit", "csv"): "audit_csv",
    ("audit", "md"): "audit_md",
}


def formats(command: str) -> list[str]:
    """The formats ``command`` can be written in, its default first."""
    return [fmt for cmd, fmt in WRITERS if cmd == command]


def writer(command: str, fmt: str) -> Writer:
    """The ``write`` function for ``command`` in ``fmt`` (a KeyError names both when there is none)."""
    module = importlib.import_module(f"caffemem.report.{WRITERS[(command, fmt.lower())]}")
    return module.write  # type: ignore[no-any-return]


def write(command: str, fmt: str, result: Any, out: TextIO, options: ReportOptions | None = None) -> None:
    """Write ``result`` of ``command`` in ``fmt`` to ``out``."""
    writer(command, fmt)(result, out, options or ReportOptions())


def render(result: Any, fmt: str, command: str = "check") -> str:
    """The report as a string (for notebooks and tests; the CLI streams with :func:`write`)."""
    import io

    buffer = io.StringIO()
    write(command, fmt, result, buffer)
    return buffer.getvalue()


__all__ = ["WRITERS", "ReportOptions", "Writer", "formats", "render", "write", "writer"]

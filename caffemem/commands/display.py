"""How results show themselves in notebooks, without the commands importing the writers above them.

A writer module of :mod:`caffemem.report` registers the function that renders a result class as
HTML when it is imported (``caffemem.check`` and ``caffemem.postmortem`` import theirs); a result's
``_repr_html_`` asks this table, and returns None (Jupyter then shows the plain repr) when nothing
was registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: (result class, "html") -> the function rendering it.
DISPLAY: dict[tuple[type, str], Callable[[Any], str]] = {}


def register_display(cls: type, kind: str, render: Callable[[Any], str]) -> None:
    """Let results of ``cls`` show themselves as ``kind`` ("html") with ``render``."""
    DISPLAY[(cls, kind)] = render


class Displayable:
    """Mixin for results: ``_repr_html_`` from the registered writer."""

    def _repr_html_(self) -> str | None:
        show = DISPLAY.get((type(self), "html"))
        return show(self) if show is not None else None

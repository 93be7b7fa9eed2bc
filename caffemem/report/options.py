"""How a report is to be laid out, as opposed to what it says: the same for every writer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReportOptions:
    """Layout choices a writer may honour; every writer takes them (one signature for all)."""

    layers: bool = False  # ``log --layers``: list each net's layers and top shapes
    width: int | None = None  # terminal columns, where a writer fits its lines to them
    wide: bool = False  # ``check --wide``: every column, however wide the lines get
    delimiter: str = ","  # ``log --format csv --delimiter``: the CSV column separator

"""Report writers: each turns a :class:`caffemem.commands.check.CheckResult` into one output format."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from caffemem.commands.check import CheckResult


def render(result: CheckResult, fmt: str) -> str:
    """The report of ``caffemem check`` in ``fmt`` (table, json, csv, md or html)."""
    if fmt == "json":
        from caffemem.report import json_report

        return json_report.render_check(result)
    if fmt == "csv":
        from caffemem.report import csv_report

        return csv_report.render_check(result)
    if fmt == "md":
        from caffemem.report import markdown

        return markdown.render_check(result)
    if fmt == "html":
        from caffemem.report import html

        return html.render_check(result)
    from caffemem.report import table

    return table.render_check(result)

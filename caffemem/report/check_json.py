"""The JSON contract of ``caffemem check``: other tools read it, so keys are added, never renamed.

The dict is :func:`caffemem.commands.check_dict.check_dict`'s, the same that ``CheckResult.to_dict()``
returns.
"""

from __future__ import annotations

from typing import TextIO

from caffemem.commands.check import CheckResult
from caffemem.commands.check_dict import analysis_dict, check_dict, footprint_dict, layer_dict, net_dict
from caffemem.report._json import dump, dumps
from caffemem.report.options import ReportOptions

__all__ = ["analysis_dict", "check_dict", "footprint_dict", "layer_dict", "net_dict", "render_check", "write"]


def render_check(result: CheckResult) -> str:
    return dumps(check_dict(result), indent=1) + "\n"


def write(result: CheckResult, out: TextIO, options: ReportOptions) -> None:
    """``caffemem check --format json``, streamed (a 100,000-layer report is never one string)."""
    dump(check_dict(result), out, indent=1)
    out.write("\n")

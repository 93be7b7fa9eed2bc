"""The post-mortem as JSON: a contract other tools read (keys are only ever added). The dict is
:func:`caffemem.commands.postmortem.postmortem_dict`, the same ``PostMortem.to_dict()`` returns."""

from __future__ import annotations

from typing import TextIO

from caffemem.commands.postmortem import PostMortem, postmortem_dict
from caffemem.report._json import dumps
from caffemem.report.options import ReportOptions


def render_json(pm: PostMortem) -> str:
    return dumps(postmortem_dict(pm), indent=1) + "\n"


def write(pm: PostMortem, out: TextIO, options: ReportOptions) -> None:
    """``caffemem postmortem --format json``."""
    out.write(render_json(pm))

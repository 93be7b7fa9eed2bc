"""``caffemem upgrade`` as a library call: a legacy net or solver rewritten as Caffe's upgrade tools
would, written where asked without ever putting the user's files at risk.

Two promises make this a command of its own rather than a line in the CLI: the input is the
user's original and is never written over (not even with ``force``), and an existing output is
replaced only with ``force``, atomically (written beside it, then renamed), so a failure never
leaves a half-written file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from caffemem.errors import CaffememError
from caffemem.net.upgrade import UpgradedText, format_text, upgrade_text
from caffemem.outputs import open_new_file


@dataclass
class Upgrade:
    """What ``caffemem upgrade`` did: the upgraded text, and the file it went to (None: not written)."""

    source: str
    done: UpgradedText
    text: str
    written: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def applied(self) -> list[str]:
        """The upgrades applied (empty: the file was already current)."""
        return list(self.done.result.applied)


def _refuse_target(source: Path, out_path: str, force: bool) -> None:
    target = Path(out_path)
    same = target.resolve() == source.resolve() or (
        target.exists() and source.exists() and os.path.samefile(target, source))
    if same:
        raise CaffememError("refusing to write over the input file; it is your original (choose another -o)",
                            source=str(source))
    if target.exists() and not force:
        raise CaffememError(f"{out_path} already exists; use --force to overwrite it")


def run_upgrade(in_path: str, out_path: str | None = None, force: bool = False) -> Upgrade:
    """Upgrade ``in_path``; write it to ``out_path`` when one is given (``None`` or ``-``: only return it)."""
    source = Path(in_path)
    to_file = out_path is not None and out_path != "-"
    if to_file:
        _refuse_target(source, out_path, force)
    done = upgrade_text(source.read_text(encoding="utf-8"), in_path)
    warnings = list(done.parse_warnings)
    if done.caffe_would_refuse:
        warnings.append(f"Caffe itself would refuse to read {in_path} (see the warnings above); the output "
                        "leaves those parts out")
    warnings += done.result.warnings
    result = Upgrade(in_path, done, format_text(done.message), warnings=warnings)
    if to_file:
        with open_new_file(out_path, force) as handle:
            handle.write(result.text)
        result.written = out_path
    return result

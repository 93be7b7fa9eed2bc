"""``caffemem audit``'s driver: find the files, audit each on its own, match weights, total up.

One file's failure never stops the others: an audit is run over folders of models collected from
many places, and the broken ones are part of what it has to report.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from caffemem.commands.audit.discover import discover, is_binary_name, pair_weights
from caffemem.commands.audit.model import AuditResult, FileAudit
from caffemem.commands.audit.netfile import AnalysisSettings, audit_text_file, set_layer_types
from caffemem.commands.audit.summary import summarize
from caffemem.commands.audit.weightsfile import audit_binary_file, match_net
from caffemem.errors import CaffememError
from caffemem.net.caffemodel import CaffeModelInfo
from caffemem.net.load import is_binary_net_file


def _binary_content(path: str) -> bool:
    """A caffemodel saved under a text name (``.prototxt``, ``.pt``: it happens) shows by its bytes."""
    try:
        return is_binary_net_file(path)
    except CaffememError:  # a blob or solver-state file: not a net either way
        return False

def _guarded(path: str, binary: bool, settings: AnalysisSettings) -> tuple[FileAudit, CaffeModelInfo | None]:
    """Audit one file; an unexpected failure becomes that file's error rather than the run's end."""
    try:
        if binary:
            audit, info = audit_binary_file(path)
            set_layer_types(audit)
            return audit, info
        return audit_text_file(path, settings), None
    except (RecursionError, MemoryError) as err:
        return FileAudit(path=path, error=f"too large or too deeply nested to analyse ({type(err).__name__})"), None
    except Exception as err:  # noqa: BLE001 - one file's bug must not hide the other files' results
        return FileAudit(path=path, error=f"caffemem could not analyse this file ({type(err).__name__}: {err})"), None


def run_audit(paths: Sequence[str], settings: AnalysisSettings | None = None,
              progress: Callable[[int, int | None], None] | None = None) -> AuditResult:
    """Audit every file under ``paths``. Raises :class:`CaffememError` only for a missing path.

    ``progress(done, total)`` is called with counts of files (a folder of models collected over
    years can take a while: most of the time goes to building its biggest nets), after each one.
    """
    settings = settings or AnalysisSettings()
    candidates = discover(paths)
    pairs = pair_weights(candidates)
    infos: dict[str, tuple[CaffeModelInfo | None, str | None]] = {}
    files: list[FileAudit] = []
    for done, c in enumerate(candidates):
        if progress is not None:
            progress(done, len(candidates))
        audit, info = _guarded(c.path, is_binary_name(c.path), settings)
        if audit.error and not is_binary_name(c.path) and _binary_content(c.path):
            # A caffemodel under a text name: keep the binary reading if it makes sense of the file.
            alt, alt_info = _guarded(c.path, True, settings)
            if alt.error is None:
                audit, info = alt, alt_info
        if audit.kind == "weights":
            infos[os.path.realpath(c.path)] = (info, audit.error)
        files.append(audit)
    if progress is not None:
        progress(len(candidates), len(candidates))
    for audit in files:
        for weights_path in pairs.get(audit.path, []):
            key = os.path.realpath(weights_path)
            if key not in infos:
                scanned, info = _guarded(weights_path, True, settings)
                infos[key] = (info, scanned.error)
            info, error = infos[key]
            audit.weights.append(match_net(audit.built, weights_path, info, error))
    return AuditResult(files, summarize(files))

"""Files caffemem writes for the user, and the promise that goes with them: nothing the user owns
is written over unless they said so (``--force``), and a file is never left half-written.

Every command that writes a file (``upgrade -o``, ``log --csv-prefix``) opens it here.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from caffemem.errors import CaffememError


def refuse_existing(paths: list[str], force: bool) -> None:
    """Stop before writing anything when one of ``paths`` exists and ``force`` was not given."""
    if force:
        return
    for path in paths:
        if os.path.lexists(path):
            raise CaffememError(f"{path} already exists; use --force to overwrite it")


@contextmanager
def open_new_file(path: str, force: bool = False) -> Iterator[TextIO]:
    """A text file to write at ``path``: created only if it does not exist (checked atomically, so a
    file that appears meanwhile is not clobbered either), or with ``force`` written beside it and
    renamed over it once complete."""
    target = Path(path)
    if not force:
        try:
            handle = open(target, "x", encoding="utf-8", newline="")
        except FileExistsError:
            raise CaffememError(f"{path} already exists; use --force to overwrite it") from None
        with handle:
            yield handle
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent if str(target.parent) else ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

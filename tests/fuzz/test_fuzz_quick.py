"""The quick fuzz run inside pytest: a few hundred mutated inputs per kind through the CLI.

Deterministic (seed 0); corpus seeds come from ../shared when it is there, else only our own
seeds. Failing inputs are saved under pytest's temporary folder, named in the failure message;
replay one with ``python -m tests.fuzz --replay FILE.json``. The long run is
``python -m tests.fuzz --cases 10000 --kind prototxt`` (README.md, "Fuzzing").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .run import fuzz

#: Cases per kind, chosen so that the three kinds take well under a minute together.
QUICK_CASES = {"prototxt": 300, "caffemodel": 300, "log": 150}
QUICK_SEED_BYTES = 40_000


@pytest.mark.parametrize("kind", list(QUICK_CASES))
def test_quick_fuzz(kind: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    out: Path = tmp_path_factory.mktemp(f"fuzz-{kind}")
    summary = fuzz(kind, QUICK_CASES[kind], seed=0, out=out, max_seed_bytes=QUICK_SEED_BYTES)
    assert summary.cases == QUICK_CASES[kind]
    assert summary.failures == 0, "\n".join(summary.lines() + [f"inputs saved under {out}"])

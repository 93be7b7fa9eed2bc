"""Shared test helpers: where the examples and the shared ground truth (../shared) live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The shared ground truth: beside the checkout, or where CAFFEMEM_SHARED says (a worktree elsewhere).
SHARED = Path(os.environ.get("CAFFEMEM_SHARED") or ROOT.parent / "shared")
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def need_shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared (the real-Caffe oracle) is not beside the checkout")
    return SHARED

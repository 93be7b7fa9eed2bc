"""Shared test helpers: where the examples and the shared ground truth (../shared) live."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EXAMPLES = ROOT / "examples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def need_shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared (the real-Caffe oracle) is not beside the checkout")
    return SHARED

"""What ``pip install .`` ships: every package of the source tree, and the data files it reads."""

from __future__ import annotations

from conftest import ROOT
from setuptools import find_packages


def test_every_source_folder_is_a_package_that_setup_finds() -> None:
    """A folder without ``__init__.py`` works from the checkout but is left out of a real install."""
    folders = {".".join(p.relative_to(ROOT).parts) for p in (ROOT / "caffemem").rglob("*")
               if p.is_dir() and p.name != "__pycache__" and any(p.glob("*.py"))}
    found = set(find_packages(str(ROOT), include=["caffemem", "caffemem.*"]))
    assert folders - found == set()

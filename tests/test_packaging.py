"""What ``pip install .`` ships: setup.cfg's ``packages = find:`` takes only folders with an
``__init__.py``, so a source folder without one works from the checkout but is left out of a real
install (``caffemem.commands`` once was)."""

from __future__ import annotations

from conftest import ROOT


def test_every_source_folder_is_a_package() -> None:
    folders = [p for p in (ROOT / "caffemem").rglob("*") if p.is_dir() and any(p.glob("*.py"))]
    assert folders and [str(p.relative_to(ROOT)) for p in folders if not (p / "__init__.py").is_file()] == []


def test_the_data_files_the_code_reads_are_declared() -> None:
    """The log grammar is read with importlib.resources: setup.cfg must ship it."""
    setup = (ROOT / "setup.cfg").read_text()
    assert "logs/*.lark" in setup and (ROOT / "caffemem" / "logs" / "glog.lark").is_file()

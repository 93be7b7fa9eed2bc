"""The table of writers is the one place formats are listed: every row has a writer of the one
signature, and the CLI offers exactly the table's formats, default first."""

from __future__ import annotations

import importlib
import inspect
import io

import click
import pytest
from conftest import EXAMPLES

from caffemem.cli import main
from caffemem.commands.check import run_check
from caffemem.report import WRITERS, ReportOptions, formats, render, writer


@pytest.mark.parametrize("key", sorted(WRITERS), ids=lambda k: f"{k[0]}-{k[1]}")
def test_every_row_has_a_writer_of_the_one_signature(key: tuple[str, str]) -> None:
    module = importlib.import_module(f"caffemem.report.{WRITERS[key]}")
    params = list(inspect.signature(module.write).parameters)
    assert params[1:] == ["out", "options"]


@pytest.mark.parametrize("command", sorted({c for c, _ in WRITERS}))
def test_cli_format_choices_come_from_the_table(command: str) -> None:
    cmd = main.commands[command]
    option = next(p for p in cmd.params if p.name == "fmt")
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == formats(command)
    assert option.default == formats(command)[0]


def test_every_check_format_renders_the_example() -> None:
    result = run_check(str(EXAMPLES / "small_train_val.prototxt"))
    for fmt in formats("check"):
        out = io.StringIO()
        writer("check", fmt)(result, out, ReportOptions())
        assert out.getvalue() == render(result, fmt) and out.getvalue()


def test_an_unknown_format_names_the_command_and_format() -> None:
    with pytest.raises(KeyError, match="check.*yaml"):
        writer("check", "yaml")

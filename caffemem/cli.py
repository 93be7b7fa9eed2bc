"""The ``caffemem`` command line: parses options, calls the library, hands results to a report writer.

Nothing here computes memory; every figure comes from the library so that others can import it.
Errors in the user's input become one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from caffemem import __version__
from caffemem.errors import CaffememError

F = TypeVar("F", bound=Callable[..., Any])


def friendly_errors(func: F) -> F:
    """Turn library errors into one line and exit code 2, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except CaffememError as err:
            click.echo(f"caffemem: error: {err}", err=True)
            sys.exit(2)
        except (OSError, UnicodeDecodeError) as err:
            click.echo(f"caffemem: error: {err}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="caffemem")
def main() -> None:
    """How much memory a Caffe net needs, and why a Caffe run died."""

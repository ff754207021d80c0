"""What every command shares: turning errors into diagnostics and exit codes (files are written by
``engine.cli.outputs``)."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer

from dsl.diagnostics import render_all
from engine.model.errors import InputError, WavegateError

P = ParamSpec("P")
R = TypeVar("R")


def report_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: a WavegateError becomes its rendered diagnostics on stderr and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except InputError as e:
            typer.echo(render_all(e.diagnostics, e.sources), err=True)
            raise typer.Exit(e.exit_code) from None
        except WavegateError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(e.exit_code) from None

    return wrapper


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()

"""What every command shares: turning errors into diagnostics and exit codes, and atomic writes."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
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


def write_atomic(path: str | Path, text: str) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, renamed over the target."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=str(target.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        with _suppress():
            os.unlink(tmp)
        raise


class _suppress:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return True


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()

"""What every command shares: turning errors into diagnostics and exit codes (files are written by
``engine.cli.outputs``)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ParamSpec, TextIO, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from dsl import bundled
from dsl.diagnostics import render_all
from engine.model.errors import InputError, WavegateError


class Format(StrEnum):
    """The one word set of --format on every command that prints a result (prove adds junit and sarif)."""

    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option(
    "--format", help="text | json (json: one document on stdout, errors included).")]

RootOption = Annotated[Path | None, typer.Option(
    "--root", help="Project root that a policy's `extends` may not leave (default: the policy's folder; theorem "
    "files: the folder above). Bundled policies (wavegate:NAME) may always be extended.")]

P = ParamSpec("P")
R = TypeVar("R")


def shown_paths(text: str) -> str:
    """Paths as a user reads them: the bundled specs as ``wavegate:NAME.wg`` (not their installed path), paths
    below the working folder relative to it."""
    pairs: list[tuple[str, str]] = []
    folder = bundled.default_folder()
    if folder is not None:
        pairs += [(str(f) + os.sep, bundled.PREFIX) for f in {folder, folder.resolve()}]
    cwd = Path.cwd()
    pairs += [(str(c) + os.sep, "") for c in {cwd, cwd.resolve()} if str(c) != os.sep]
    for old, new in sorted(pairs, key=lambda kv: -len(kv[0])):  # longest first: the bundled folder may be below cwd
        text = text.replace(old, new)
    return text


def wants_json(kwargs: dict[str, object]) -> bool:
    """Whether the command was asked for JSON (its ``fmt`` parameter, --format)."""
    fmt = kwargs.get("fmt")
    return fmt is not None and str(getattr(fmt, "value", fmt)) == "json"


def error_json(e: WavegateError) -> str:
    """A refusal as the JSON document printed on stdout when --format json was asked."""
    diags = [d.to_json() for d in e.diagnostics] if isinstance(e, InputError) else []
    doc = {"ok": False, "exit_code": e.exit_code, "error": shown_paths(str(e)).strip().split("\n", 1)[0],
           "diagnostics": json.loads(shown_paths(json.dumps(diags)))}
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def report_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Wrap a command: a WavegateError becomes its rendered diagnostics on stderr and its exit code (and, when
    --format json was asked, a JSON document on stdout too)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except WavegateError as e:
            if isinstance(e, InputError):
                typer.echo(shown_paths(render_all(e.diagnostics, e.sources)), err=True)
            else:
                typer.echo(f"error: {shown_paths(str(e))}", err=True)
            if wants_json(kwargs):
                typer.echo(error_json(e), nl=False)
            raise typer.Exit(e.exit_code) from None

    return wrapper


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


@contextlib.contextmanager
def progress(label: str, quiet: bool = False) -> Iterator[Callable[[str], None]]:
    """A rich spinner on stderr while ``label`` runs, its line updated by the messages it is given; nothing at all
    unless stderr is a terminal (pipelines, tests and CI logs stay clean)."""
    if quiet or not sys.stderr.isatty():
        yield lambda _msg: None
        return
    console = Console(stderr=True, markup=False, highlight=False)
    # Text objects, not strings: a spinner parses a string as rich markup, and messages carry users' names.
    with console.status(Text(label)) as status:
        yield lambda msg: status.update(Text(f"{label}: {msg}"))


def plain_console(buf: TextIO, width: int = 110) -> Console:
    """A console that renders into ``buf`` with no colour and no markup: users' strings are printed as written."""
    return Console(file=buf, width=width, markup=False, highlight=False, emoji=False, force_terminal=False,
                   color_system=None, soft_wrap=False)

"""`wavegate fmt PATH...`: rewrite .wg files in the canonical layout (or only check or show the change)."""

from __future__ import annotations

import difflib
import json
from pathlib import Path
from typing import Annotated

import typer

from dsl.diagnostics import Diagnostic
from dsl.formatter import format_text
from dsl.parser import decode
from engine.cli.commands.check import wg_files
from engine.cli.common import Format, FormatOption, report_errors
from engine.cli.outputs import write_output
from engine.model.errors import InputError


def plan_format(paths: list[Path]) -> list[tuple[Path, str, str]]:
    """(path, old text, new text) for every file; InputError (nothing written) if any file is unreadable or bad."""
    files, missing = wg_files(paths)
    diags: list[Diagnostic] = list(missing)
    sources: dict[str, str] = {}
    out: list[tuple[Path, str, str]] = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as e:
            diags.append(Diagnostic("E001", f"cannot read `{f}`: {e.strerror or e}"))
            continue
        text, bad = decode(data, str(f))
        diags.extend(bad)
        if text is None:
            continue
        sources[str(f)] = text
        new, errors = format_text(text, str(f))
        diags.extend(errors)
        if new is not None:
            out.append((f, text, new))
    if diags:
        raise InputError(diags, sources)
    return out


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def fmt(
        paths: Annotated[list[Path], typer.Argument(help="Policy or theorem files (.wg), or folders of them.")],
        check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 if a file is not formatted.")] = False,
        diff: Annotated[bool, typer.Option("--diff", help="Change nothing; print the changes as a unified diff "
                                                   "(exit 1 if a file would change).")] = False,
        fmt: FormatOption = Format.text,
    ) -> None:
        """Format .wg files in the canonical layout; comments are kept.

        \b
        Rewrites files in place (atomically, and only when every file parses). --check and --diff change nothing
        and exit 1 when a file would change (--diff prints the change). Exit 2 when a file does not parse.

        \b
        Example:
          wavegate fmt specs proofs
          wavegate fmt --check specs
          wavegate fmt --diff specs/team-strict.wg
        """
        planned = plan_format(paths)
        changed = [(p, old, new) for p, old, new in planned if old != new]
        dry = check or diff
        if not dry:
            for p, _, new in changed:
                write_output(p, new)
        if fmt == Format.json:
            code = 1 if dry and changed else 0
            typer.echo(json.dumps({"ok": code == 0, "exit_code": code, "files": [str(p) for p, _, _ in planned],
                                   "changed": [str(p) for p, _, _ in changed], "written": not dry},
                                  indent=2, sort_keys=True))
            raise typer.Exit(code)
        if diff:
            for p, old, new in changed:
                typer.echo(
                    "".join(
                        difflib.unified_diff(
                            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{p}", f"b/{p}"
                        )
                    ),
                    nl=False,
                )
        if check:
            for p, _, _ in changed:
                typer.echo(f"would reformat {p}")
            typer.echo(f"{len(changed)} of {len(planned)} file(s) would be reformatted")
            raise typer.Exit(1 if changed else 0)
        if diff:
            raise typer.Exit(1 if changed else 0)
        for p, _, _ in changed:
            typer.echo(f"reformatted {p}")
        typer.echo(f"{len(changed)} of {len(planned)} file(s) reformatted")

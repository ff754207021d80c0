"""`wavegate check FILE...`: check policy and theorem files; every diagnostic with file:line:col, caret and hint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dsl.bundled import is_bundled
from dsl.diagnostics import Diagnostic, render_all
from dsl.loader import Checked, check_file
from engine.cli.common import Format, FormatOption, report_errors, shown_paths


def wg_files(paths: list[Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The named files and the .wg files inside named folders (sorted); a missing path is an E001 diagnostic."""
    files: list[Path] = []
    missing: list[Diagnostic] = []
    for p in paths:
        if is_bundled(str(p)):  # wavegate:NAME, resolved (or refused with the bundled names) by the loader
            files.append(p)
        elif p.is_dir():
            found = sorted(x for x in p.rglob("*.wg") if x.is_file())
            if not found:
                missing.append(Diagnostic("E001", f"no .wg files in folder `{p}`", None))
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            missing.append(Diagnostic("E001", f"no such file or folder: `{p}`", None))
    return files, missing


def _summary(n_files: int, diags: list[Diagnostic], strict: bool = False) -> str:
    errors = sum(1 for d in diags if d.is_error)
    warnings = sum(1 for d in diags if d.severity == "warning")
    # The word agrees with the exit code: under --strict a warning fails the check.
    verdict = "failed" if errors else ("failed (--strict: warnings count)" if strict and warnings else "ok")
    return (
        f"checked {n_files} file{'s' if n_files != 1 else ''}: {errors} error{'s' if errors != 1 else ''}, "
        f"{warnings} warning{'s' if warnings != 1 else ''} — {verdict}"
    )


def run_check(paths: list[Path], root: Path | None, fmt: Format, strict: bool = False) -> tuple[str, int]:
    """The report and exit code of a check (0 valid, 1 diagnostics found, 2 missing or unreadable input);
    with ``strict``, warnings count as findings too."""
    files, missing = wg_files(paths)
    results: list[tuple[Path, Checked]] = [(f, check_file(f, root)) for f in files]
    diags: list[Diagnostic] = list(missing)
    sources: dict[str, str] = {}
    seen: set[Diagnostic] = set()
    for _, res in results:
        sources.update(res.sources)
        for d in res.diagnostics:
            if d not in seen:  # a parent's problem is reported once, not once per child
                seen.add(d)
                diags.append(d)
    io_error = bool(missing) or any(d.code == "E001" for d in diags)
    finding = any(d.is_error or (strict and d.severity == "warning") for d in diags)
    code = 2 if io_error else (1 if finding else 0)
    if fmt == Format.json:
        doc = {
            "files": [
                {"path": str(f), "kind": res.kind, "ok": res.ok} for f, res in results
            ],
            "diagnostics": [d.to_json() for d in diags],
            "errors": sum(1 for d in diags if d.is_error),
            "warnings": sum(1 for d in diags if d.severity == "warning"),
            "exit_code": code,
        }
        return json.dumps(doc, indent=2, sort_keys=True), code
    body = render_all(diags, sources)
    summary = _summary(len(files), diags, strict)
    return (body + "\n\n" + summary) if body else summary, code


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def check(
        paths: Annotated[list[Path], typer.Argument(help="Policy or theorem files (.wg), or folders of them.")],
        fmt: FormatOption = Format.text,
        root: Annotated[
            Path | None,
            typer.Option(
                "--root",
                help="Project root that `extends` may not leave (default: the file's folder; "
                "for theorem files, the folder above).",
            ),
        ] = None,
        strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as findings (exit 1).")] = False,
    ) -> None:
        """Check policy and theorem files: syntax, names, types and units, ranges, extends.

        \b
        Prints every diagnostic as file:line:col: error[CODE]: message, the source line with a caret, and a hint.
        Exit 0 when valid (warnings allowed), 1 when diagnostics were found, 2 when a file is missing or unreadable.

        \b
        Example:
          wavegate check specs/*.wg
          wavegate check specs proofs --format json
          wavegate check --strict specs        # warnings fail too
        """
        text, code = run_check(paths, root, fmt, strict)
        typer.echo(shown_paths(text))
        raise typer.Exit(code)

"""`wavegate prove [PATH...]`: prove the theorems of proofs/*.wg; exit 0 only when every theorem is proven."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dsl.diagnostics import Diagnostic
from dsl.loader import load_theorems
from engine.cli.common import RootOption, progress, report_errors, shown_paths
from engine.cli.outputs import check_outputs, write_output
from engine.model.errors import InputError
from engine.model.resources import bundled_proofs_dir

if TYPE_CHECKING:
    from engine.prove.results import TheoremResult


class Format(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    sarif = "sarif"


def theorem_files(paths: list[Path]) -> list[Path]:
    """The .wg files named or inside the named folders (sorted); no path: ./proofs, else the bundled proofs."""
    if not paths:
        local = Path("proofs")
        paths = [local if local.is_dir() and any(local.glob("*.wg")) else bundled_proofs_dir()]
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(p.glob("*.wg")))
        elif p.exists():
            out.append(p)
        else:
            raise InputError([Diagnostic("E-IO", f"no such file or folder: {p}")])
    if not out:
        raise InputError([Diagnostic("E-IO", f"no theorem files (*.wg) in {', '.join(map(str, paths))}",
                                     hint="theorem files start with: theorems about \"../specs/<spec>.wg\"")])
    return out


def prove_paths(paths: list[Path], time_limit: float, root: Path | None = None) -> list[TheoremResult]:
    # deferred: the prover stack (z3) loads only when this command runs
    from engine.prove.prover import prove_theorems

    files = theorem_files(paths)
    results: list[TheoremResult] = []
    loaded = [load_theorems(p, root) for p in files]  # every file checked before any proof runs
    for tf in loaded:
        results.extend(prove_theorems(tf.spec, tf.theorems, time_limit))
    return results


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def prove(
        paths: Annotated[list[Path] | None, typer.Argument(
            help="Theorem files or folders (default: ./proofs, else the bundled proofs).")] = None,
        fmt: Annotated[Format, typer.Option("--format", help="text | json | junit | sarif")] = Format.text,
        time_limit: Annotated[float, typer.Option(
            "--time-limit", min=0.1, help="Seconds per theorem; past it the theorem is unknown.")] = 20.0,
        output: Annotated[Path | None, typer.Option(
            "--output", "-o", help="Write the report here instead of stdout.")] = None,
        no_times: Annotated[bool, typer.Option("--no-times", help="Leave measured times out of the text.")] = False,
        root: RootOption = None,
    ) -> None:
        """Prove the theorems of proofs/*.wg: proven / refuted / unknown / vacuous, each with its scope.

        Only "proven" passes.  A refuted theorem prints a counterexample
        fleet and schedule (or executor trace), replayed through the
        independent checker first; unknown and vacuous fail too.
        Exit 0 when every theorem is proven, 1 otherwise, 2 on bad input.

        \b
        Example:
          wavegate prove            # ./proofs, else the bundled proofs
          wavegate prove proofs/azure-default.wg --format sarif -o prove.sarif
        """
        # deferred: the prover stack (z3) loads only when this command runs
        from engine.prove.reports import render

        check_outputs(output)
        with progress("proving"):
            results = prove_paths(list(paths or []), time_limit, root)
        text = render(results, fmt.value, times=not no_times)
        if fmt in (Format.text, Format.json):  # SARIF and JUnit keep file paths a CI can resolve
            text = shown_paths(text)
        if output is not None:
            write_output(output, text)
        else:
            typer.echo(text, nl=False)
        if not all(r.ok for r in results):
            raise typer.Exit(1)

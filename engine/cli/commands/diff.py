"""`wavegate diff OLD NEW`: equivalent / stricter / looser / incomparable, over all fleets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dsl.loader import load_policy
from engine.cli.common import Format, FormatOption, RootOption, report_errors, shown_paths
from engine.cli.outputs import check_outputs, write_output


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def diff(
        old: Annotated[Path, typer.Argument(help="The policy before the change.")],
        new: Annotated[Path, typer.Argument(help="The policy after the change.")],
        fmt: FormatOption = Format.text,
        time_limit: Annotated[float, typer.Option(
            "--time-limit", min=0.1, help="Seconds per rule comparison; past it the comparison is unknown.")] = 10.0,
        output: Annotated[Path | None, typer.Option(
            "--output", "-o", help="Write the result here instead of stdout.")] = None,
        root: RootOption = None,
    ) -> None:
        """Compare two policies over all fleets: prints equivalent, stricter, looser or incomparable.

        NEW is stricter when every schedule it permits, OLD permits too,
        and its executor gates stop at least as early.  For each direction
        that differs: a distinguishing fleet and schedule, replayed (it
        passes one policy and fails the other).  Exit 0 when NEW is
        equivalent or stricter, 1 when looser, incomparable or unknown,
        2 on bad input.

        \b
        Example:
          wavegate diff specs/azure-default.wg specs/team-strict.wg
          (prints: stricter)
        """
        # deferred: the prover stack (z3) loads only when this command runs
        from engine.prove.policydiff import diff_policies, render_diff_json, render_diff_text

        check_outputs(output)
        old_policy = load_policy(old, root)
        new_policy = load_policy(new, root)
        res = diff_policies(old_policy, new_policy, time_limit)
        text = shown_paths(render_diff_json(res) if fmt == Format.json else render_diff_text(res, str(old), str(new)))
        if output is not None:
            write_output(output, text)
        else:
            typer.echo(text, nl=False)
        raise typer.Exit(res.exit_code)

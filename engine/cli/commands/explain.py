"""`wavegate explain`: which rules keep a VM out of every earlier wave of a schedule."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from engine.cli.common import Format, FormatOption, RootOption, report_errors, shown_paths
from engine.model.digest import check_tied
from engine.model.resources import bundled_spec, sample_fleet


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def explain(
        schedule: Annotated[Path, typer.Option("--schedule", help="The schedule JSON (e.g. from wavegate plan -o).")],
        vm: Annotated[str, typer.Option("--vm", help="The VM to explain.")],
        spec: Annotated[Path | None, typer.Option("--spec", "-s", help="Policy (.wg); default: bundled Azure default.")] = None,
        fleet: Annotated[Path | None, typer.Option("--fleet", "-f", help="Fleet JSON; default: bundled sample fleet.")] = None,
        force: Annotated[bool, typer.Option("--force", help="Explain a schedule planned for another fleet or policy anyway.")] = False,
        fmt: FormatOption = Format.text,
        root: RootOption = None,
    ) -> None:
        """Say which rules bind a VM's wave: for every earlier wave, the rules that moving it there would break.

        Waves with the same reason are grouped into ranges; a wave of an earlier phase is explained by the
        phase-level rules that keep the VM's region out of that phase.  When nothing binds the VM in some earlier
        wave the schedule is not tight for it, and the output says where it could move.

        \b
        Example:
          wavegate explain --fleet my.json --schedule s.json --vm web-3
        """
        # deferred: the planner and checker stack (z3) loads only when this command runs
        from engine.api import load_fleet, load_policy, load_schedule
        from engine.check.explain import explain_vm

        policy = load_policy(spec if spec is not None else bundled_spec(), root)
        the_fleet = load_fleet(fleet if fleet is not None else sample_fleet())
        the_schedule = load_schedule(schedule)
        warning = check_tied(the_schedule, policy, the_fleet, str(schedule), force)
        if warning is not None:
            typer.echo(f"warning: {warning}; explained anyway (--force)", err=True)
        result = explain_vm(policy, the_fleet, the_schedule, vm)
        typer.echo(shown_paths(result.to_json() if fmt == Format.json else result.render()), nl=False)

"""`wavegate plan`: the shortest verified rollout schedule for a fleet under a policy."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dsl.diagnostics import Diagnostic
from dsl.loader import load_policy
from engine.cli.commands import report as report_cmd
from engine.cli.common import report_errors, write_atomic
from engine.model.errors import Infeasible, InputError
from engine.model.fleet import load_fleet
from engine.model.resources import bundled_spec, sample_fleet
from engine.model.schedule import why_lines


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def plan(
        spec: Annotated[Path | None, typer.Option("--spec", "-s", help="Policy (.wg); default: bundled Azure default.")] = None,
        fleet: Annotated[Path | None, typer.Option("--fleet", "-f", help="Fleet JSON; default: bundled sample fleet.")] = None,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the schedule JSON here.")] = None,
        time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds for the whole solve.", min=0.1)] = 60.0,
        fmt: Annotated[str, typer.Option("--format", help="table | json (json prints the schedule on stdout)")] = "table",
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
        report: Annotated[Path | None, typer.Option("--report", help="Also write the HTML rollout report here.")] = None,
        certify_time: Annotated[float, typer.Option(
            "--certify-time", min=0.0,
            help="Seconds for the second solver (CP-SAT) to re-prove bounds and refusals the witness cannot.")] = 30.0,
    ) -> None:
        """Plan the shortest rollout schedule that satisfies every rule, and prove it optimal when possible.

        \b
        Prints phases with their regions, waves, VMs per wave, the lower bound, whether the wave count is proven
        optimal, why it cannot be faster (the certificate's witness), and the time.  Every schedule is re-checked by
        the independent checker before it is shown; its lower bound and every "no schedule exists" are certified
        without trusting Z3 (a combinatorial witness, else a second solver, CP-SAT, within --certify-time).
        Exit codes: 0 planned, 1 no schedule exists (the conflicting rules are explained), 2 bad input.

        \b
        Example:
          wavegate plan --spec specs/team-strict.wg --fleet my-fleet.json -o schedule.json
        """
        if fmt not in ("table", "json"):

            raise InputError([Diagnostic("E-USAGE", f"unknown --format '{fmt}'", hint="use table or json")])
        # deferred: the planner stack (z3) loads only when this command runs
        from engine.plan.synthesis import plan as synthesise

        spec_path = spec if spec is not None else bundled_spec()
        fleet_path = fleet if fleet is not None else sample_fleet()
        policy = load_policy(spec_path)
        the_fleet = load_fleet(fleet_path)
        show = not quiet and sys.stderr.isatty()

        def progress(msg: str) -> None:
            if show:
                typer.echo(f"  .. {msg}", err=True)

        try:
            result = synthesise(policy, the_fleet, time_limit=time_limit, progress=progress, certify_time=certify_time)
        except Infeasible as e:
            typer.echo(e.explanation, err=True)
            raise typer.Exit(1) from None
        text = result.schedule.to_json()
        if output is not None:
            write_atomic(output, text)
        report_cmd.after_plan(report, policy, the_fleet, spec_path, fleet_path, result.schedule)
        if fmt == "json":
            typer.echo(text, nl=False)
            return
        _summary(result, policy.name, fleet_path, output)


def _summary(result: object, policy_name: str, fleet_path: Path, output: Path | None) -> None:

    # deferred: the planner stack (z3) loads only when this command runs
    from engine.plan.synthesis import PlanResult

    assert isinstance(result, PlanResult)
    s = result.schedule
    console = Console(highlight=False, soft_wrap=False, width=max(100, Console().width))
    table = Table(title=f"{policy_name} on {fleet_path.name}", title_justify="left")
    table.add_column("phase", justify="right")
    table.add_column("regions")
    table.add_column("waves", justify="right")
    table.add_column("VMs per wave")
    for ph in s.phases:
        waves = [w for w in s.waves if w.phase == ph.index]
        per_wave = [len({t.vm for t in w.tasks}) for w in waves]
        table.add_row(str(ph.index), ", ".join(ph.regions), f"{waves[0].index}-{waves[-1].index}" if waves else "-",
                      " ".join(str(n) for n in per_wave))
    console.print(table)
    n_tasks = sum(len(w.tasks) for w in s.waves)
    verdict = "proven optimal" if result.optimal else f"not proven optimal (gap {result.waves - result.lower_bound})"
    console.print(f"waves: {result.waves}   lower bound: {s.lower_bound}   {verdict}")
    if s.certificate is not None:
        console.print(f"why not faster: at least {s.certificate.lower_bound} waves (certified, re-checked by "
                      "wavegate verify):")
        for line in why_lines(s.certificate.witness):
            console.print(line, markup=False)
    console.print(f"tasks: {n_tasks}   skipped: {len(s.skipped)}   classes: {s.stats.get('classes')}   "
                  f"solver calls: {result.solver_calls}   spread cost: {result.spread_cost}   "
                  f"time: {result.elapsed:.2f}s")
    for note in result.notes:
        console.print(f"note: {note}")
    if output is not None:
        console.print(f"schedule written to {output}")

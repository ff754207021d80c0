"""`wavegate risk`: how likely a rollout is to halt, where, and how long it takes, before it starts (Monte-Carlo over
seeded fault scenarios drawn from a fault model, on Dask)."""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dsl.diagnostics import Diagnostic, JsonLocation
from engine.cli.bounded import SOLVER_SHARE, run_bounded
from engine.cli.commands import report as report_cmd
from engine.cli.common import Format, FormatOption, RootOption, report_errors, shown_paths
from engine.cli.common import progress as spinner
from engine.cli.outputs import check_outputs, is_stdout, write_output
from engine.model.errors import InputError
from engine.model.fault_model import SAMPLE_FAULT_MODEL, load_fault_model
from engine.model.resources import bundled_spec, sample_fleet

if TYPE_CHECKING:
    from engine.api import Fleet, Policy, Schedule

DEFAULT_SCENARIOS = 1000


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def risk(
        spec: Annotated[Path | None, typer.Option("--spec", "-s", help="Policy (.wg); default: bundled Azure default.")] = None,
        fleet: Annotated[Path | None, typer.Option("--fleet", "-f", help="Fleet JSON; default: bundled sample fleet.")] = None,
        schedule: Annotated[Path | None, typer.Option("--schedule", help="Schedule JSON; default: plan first.")] = None,
        model: Annotated[Path | None, typer.Option("--model", "-m", help="Fault model JSON; default: the bundled sample model (with the sample fleet only).")] = None,
        scenarios: Annotated[int, typer.Option("--scenarios", "-n", help="How many scenarios to run.")] = DEFAULT_SCENARIOS,
        seed: Annotated[int, typer.Option("--seed", help="Run seed: scenario i of seed s is always the same scenario.")] = 0,
        workers: Annotated[int, typer.Option("--workers", "-w", help="Local Dask worker processes; 0: in this process.")] = 2,
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address (tcp://host:8786); default: $DASK_SCHEDULER_ADDRESS, else local workers.")] = None,
        batch_size: Annotated[int | None, typer.Option("--batch-size", help="Scenarios per Dask task; default: about a second of work each.")] = None,
        connect_timeout: Annotated[float, typer.Option("--connect-timeout", min=0.1, help="Seconds to reach the scheduler and its first worker.")] = 10.0,
        max_retries: Annotated[int | None, typer.Option("--max-retries", min=0, help="Retries per failed task; default: the policy's retry gate.")] = None,
        time_limit: Annotated[float, typer.Option("--time-limit", help="Wall-clock seconds for planning when no --schedule.")] = 60.0,
        fmt: FormatOption = Format.text,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here instead of stdout.")] = None,
        results: Annotated[Path | None, typer.Option("--results", help="Write the per-scenario outcomes (JSON Lines; their sha256 is the digest).")] = None,
        report_page: Annotated[Path | None, typer.Option("--report", help="Also write the HTML rollout report (with this risk) here.")] = None,
        root: RootOption = None,
    ) -> None:
        """Estimate a rollout's risk before it starts: run the executor on N seeded fault scenarios.

        \b
        Prints P(halt) with a 95% Wilson interval, why and where runs halt (rules with their source lines, regions,
        sets), the finish time's P50/P95/max (virtual time), mean rollbacks, retries and VMs left on old versions,
        the worst scenarios' seeds (wavegate simulate --model M --seed X replays one), and a digest of the
        per-scenario results that is the same on any scheduler and worker count.
        Exit codes: 0 report written, 2 bad input (model, schedule, options, unreachable scheduler), 1 internal.

        \b
        Example:
          wavegate risk                                   # the bundled sample, 1,000 scenarios, 2 local workers
          wavegate risk --fleet f.json --model m.json --scenarios 5000 --seed 7 --format json -o risk.json
          wavegate risk ... --scheduler tcp://10.0.0.5:8786
        """
        if workers < 0:
            raise InputError([Diagnostic("E-USAGE", f"--workers must be 0 or more, not {workers}",
                                         hint="0 runs the scenarios in this process")])
        if model is None and fleet is not None:
            raise InputError([Diagnostic("E-USAGE", "--model is needed with --fleet",
                                         hint="write a fault model (docs/formats.md#fault-model; wavegate schema "
                                              "fault-model), or start from engine/data/sample-fault-model.json")])
        # deferred: the planner stack (z3), dask and distributed load only when this command runs
        from engine.api import load_fleet, load_policy
        from engine.risk.assess import assess, check_options
        from engine.risk.dispatch import Backend

        # deferred: engine.risk loads dask and distributed (seconds of start-up for the other commands)
        from engine.risk.outcomes import ScenarioOutcome
        from engine.risk.report import RiskContext, build_report, render_json, render_text
        from engine.risk.scenarios import nominal_seconds

        check_options(scenarios, batch_size)
        check_outputs(output, results, report_page)
        with spinner("loading the inputs") as say:
            policy = load_policy(spec if spec is not None else bundled_spec(), root)
            fleet_path = fleet if fleet is not None else sample_fleet()
            the_fleet = load_fleet(fleet_path)
            model_path = model if model is not None else SAMPLE_FAULT_MODEL
            fault_model = load_fault_model(model_path, the_fleet)
            say("planning" if schedule is None else "verifying the schedule")
            sched = _schedule(policy, the_fleet, schedule, time_limit)
        address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
        backend = (Backend("cluster", address=address, connect_timeout=connect_timeout) if address
                   else Backend("local", workers=workers) if workers > 0 else Backend("synchronous"))
        started = time.perf_counter()
        with _progress_bar(scenarios) as progress:
            outcomes: list[ScenarioOutcome] = list(assess(
                policy, the_fleet, sched, fault_model, scenarios=scenarios, seed=seed, backend=backend,
                batch=batch_size, max_retries=max_retries, progress=progress))
        took = time.perf_counter() - started
        replay = _replay_command(spec, fleet, schedule, model_path, max_retries)
        ctx = RiskContext(policy, fleet_path.name, model_path.name, len(sched.waves), sum(len(w.tasks) for w in sched.waves),
                          seed, nominal_seconds(policy, sched), replay, sched.start)
        report = build_report(outcomes, ctx)
        text = shown_paths(render_json(report) if fmt == Format.json else render_text(report))
        if results is not None:
            write_output(results, "".join(o.line() + "\n" for o in outcomes))
        report_cmd.after_risk(report_page, policy, the_fleet, spec if spec is not None else bundled_spec(), fleet_path,
                              sched, report)
        if output is not None:
            write_output(output, text)
        else:  # with `--results -` the outcomes are on stdout; the report goes to stderr
            typer.echo(text, nl=False, err=is_stdout(results))
        if sys.stderr.isatty():
            typer.echo(f"{scenarios:,} scenarios in {took:.1f} s on {backend.describe()} "
                       f"({scenarios / took * 60:,.0f} per minute)", err=True)


def _schedule(policy: Policy, fleet: Fleet, schedule_path: Path | None, time_limit: float) -> Schedule:
    """The given schedule (checked against the fleet and re-verified against the policy), else a planned one."""
    # deferred: the planner and checker stack (z3) loads only when this command runs
    from engine.api import load_schedule, plan, verify
    from engine.run.executor import check_schedule

    if schedule_path is None:
        return run_bounded(lambda _say: plan(policy, fleet, time_limit=time_limit * SOLVER_SHARE), time_limit,
                           lambda _msg: None, "planning: grouping, solving, assembling and the independent re-check")
    sched = load_schedule(schedule_path)
    check_schedule(sched, fleet, str(schedule_path))
    report = verify(policy, fleet, sched)
    if not report.ok:
        raise InputError([Diagnostic("E-SCHEDULE", f"schedule breaks {v.render()}", JsonLocation(str(schedule_path), "$.waves"),
                                     "plan again, or fix the schedule (wavegate verify shows every violation)")
                          for v in report.violations])
    return sched


def _replay_command(spec: Path | None, fleet: Path | None, schedule: Path | None, model: Path,
                    max_retries: int | None) -> str:
    args = ["wavegate", "simulate"]
    for flag, value in (("--spec", spec), ("--fleet", fleet), ("--schedule", schedule), ("--model", model)):
        if value is not None:
            args += [flag, str(value)]
    if max_retries is not None:
        args += ["--max-retries", str(max_retries)]
    return shlex.join(args)


@contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr when it is a terminal; nothing otherwise (pipelines, tests)."""
    if not sys.stderr.isatty():
        yield None
        return
    # deferred: rich's progress machinery only for an interactive run
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("scenarios"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("scenarios", total=total)

        def update(done: int, all_: int) -> None:
            bar.update(task, completed=done)

        yield update

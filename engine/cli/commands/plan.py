"""`wavegate plan`: the shortest verified rollout schedule for a fleet under a policy."""

from __future__ import annotations

import io
import json
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dsl.diagnostics import Diagnostic
from dsl.loader import load_policy
from engine.cli.bounded import SOLVER_SHARE, run_bounded
from engine.cli.commands import report as report_cmd
from engine.cli.common import Format, RootOption, plain_console, progress, report_errors, shown_paths
from engine.cli.outputs import check_outputs, is_stdout, write_output
from engine.model.calendar import CalendarError, parse_instant
from engine.model.errors import Infeasible, InputError
from engine.model.fleet import load_fleet
from engine.model.resources import bundled_spec, sample_fleet
from engine.model.schedule import Schedule, why_lines

if TYPE_CHECKING:
    from dsl.policy import Policy
    from engine.model.fleet import Fleet
    from engine.plan.synthesis import PlanResult


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def plan(
        spec: Annotated[Path | None, typer.Option("--spec", "-s", help="Policy (.wg); default: bundled Azure default.")] = None,
        fleet: Annotated[Path | None, typer.Option("--fleet", "-f", help="Fleet JSON; default: bundled sample fleet.")] = None,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the schedule JSON here.")] = None,
        time_limit: Annotated[float, typer.Option("--time-limit", min=0.1, help="Wall-clock seconds for the whole solve "
                                                  "(grouping, solver, assembly, re-check; not loading the inputs).")] = 60.0,
        fmt: Annotated[Format, typer.Option("--format", help="text | json (json: the schedule on stdout, or the infeasibility or error as JSON)")] = Format.text,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
        report: Annotated[Path | None, typer.Option("--report", help="Also write the HTML rollout report here.")] = None,
        root: RootOption = None,
        scheduler: Annotated[str | None, typer.Option("--scheduler", help="Dask scheduler address (tcp://host:8786) for the per-region solves; default: $DASK_SCHEDULER_ADDRESS, else local processes.")] = None,
        connect_timeout: Annotated[float, typer.Option("--connect-timeout", min=0.1, help="Seconds to reach the scheduler and its first worker.")] = 10.0,
        start: Annotated[str | None, typer.Option("--start", help="With time rules: when the rollout may start (UTC, "
                                                  "2026-12-02T00:00Z); default: now, to the minute.")] = None,
        certify_time: Annotated[float, typer.Option(
            "--certify-time", min=0.0,
            help="Seconds for the second solver (CP-SAT) to re-prove bounds and refusals the witness cannot "
                 "(within --time-limit).")] = 30.0,
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
        check_outputs(output, report)
        begin = _start(start)
        spec_path = spec if spec is not None else bundled_spec()
        fleet_path = fleet if fleet is not None else sample_fleet()
        with progress("loading the policy and the fleet", quiet):
            policy = load_policy(spec_path, root)
            the_fleet = load_fleet(fleet_path)
        address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
        try:
            with progress("planning", quiet) as say:
                # --time-limit bounds the whole solve by the wall clock; the solver gets most of it, the rest is
                # for assembling the schedule and the independent re-check.
                result = run_bounded(
                    lambda say_: _synthesise(policy, the_fleet, time_limit * SOLVER_SHARE, say_, address,
                                             connect_timeout, begin, certify_time),
                    time_limit, say, "the whole solve: grouping, solving, assembling, certifying and the "
                                     "independent re-check")
        except Infeasible as e:
            typer.echo(shown_paths(e.explanation), err=True)
            if fmt == Format.json:  # a JSON result on stdout, infeasible or not
                typer.echo(json.dumps({"ok": False, "feasible": False, "exit_code": 1,
                                       "explanation": shown_paths(e.explanation).strip(),
                                       "conflicting_rules": list(e.conflicting_rules)}, indent=2, sort_keys=True))
            raise typer.Exit(1) from None
        text = result.schedule.to_json()
        summary = _summary(result, policy.name, fleet_path, output)  # before any output: a failure leaves none
        if output is not None:
            write_output(output, text)
        report_cmd.after_plan(report, policy, the_fleet, spec_path, fleet_path, result.schedule)
        if fmt == Format.json:
            if not is_stdout(output):
                typer.echo(text, nl=False)
            return
        # With `-o -` the schedule is on stdout; the summary goes to stderr.
        typer.echo(summary, nl=False, err=is_stdout(output))


def _start(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except CalendarError as e:
        raise InputError([Diagnostic("E-USAGE", f"--start: {e}", hint="e.g. --start 2026-12-02T00:00Z")]) from None


def _calendar(console: Console, s: Schedule) -> None:
    if s.finish is None:
        return
    f = s.finish
    verdict = "optimal for time" if f.planned == f.lower_bound else f"lower bound {f.lower_bound}"
    console.print(f"start: {s.start}   finish: {f.planned}   {verdict}")
    console.print(f"finish set by: {f.set_by}")
    if f.critical_path:
        console.print("critical path:")
        for step in f.critical_path:
            console.print(f"  {step}")


def _synthesise(policy: Policy, fleet: Fleet, time_limit: float, say: Callable[[str], None], address: str | None,
                connect_timeout: float, start: int | None, certify_time: float) -> PlanResult:
    """The planner, with its per-region solves on the cluster at ``address`` when one is given (inside the bounded
    child: a Dask client's threads do not survive a fork, so it is made here)."""
    # deferred: the planner stack (z3) loads only when this command runs
    from engine.plan.synthesis import plan as synthesise

    with _region_map(address, connect_timeout) as region_map:
        return synthesise(policy, fleet, time_limit=time_limit, progress=say, region_map=region_map, start=start,
                          certify_time=certify_time)


@contextmanager
def _region_map(address: str | None, connect_timeout: float) -> Iterator[Any]:
    """The cluster's map for the planner's per-region solves, or None (local processes) without an address."""
    if address is None:
        yield None
        return
    # deferred: dask loads only when a cluster is asked for
    from engine.risk.dispatch import Backend, cluster_map

    with cluster_map(Backend("cluster", address=address, connect_timeout=connect_timeout)) as run:
        yield run


def _vm_counts(s: Schedule) -> str:
    """How many VMs the schedule upgrades, and why the others are left out (each reason with its count)."""
    scheduled = {t.vm for w in s.waves for t in w.tasks}
    left_out = {k.vm for k in s.skipped} - scheduled
    reasons = Counter(k.reason for k in s.skipped)
    line = f"VMs: {len(scheduled):,} scheduled, {len(left_out):,} with nothing to upgrade"
    if reasons:
        line += f"; {len(s.skipped):,} extensions skipped: " + ", ".join(
            f"{reason} {n:,}" for reason, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])))
    return line


def _summary(result: PlanResult, policy_name: str, fleet_path: Path, output: Path | None) -> str:
    s = result.schedule
    buf = io.StringIO()
    console = plain_console(buf, width=max(100, Console().width))
    n_tasks = sum(len(w.tasks) for w in s.waves)
    if n_tasks == 0:
        console.print(f"{policy_name} on {fleet_path.name}: nothing to do — no VM needs an upgrade "
                      "(every extension is current, opted out or disabled)")
        console.print(_vm_counts(s), soft_wrap=True)
    else:
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
        verdict = "proven optimal" if result.optimal else f"not proven optimal (gap {result.waves - result.lower_bound})"
        console.print(f"waves: {result.waves}   lower bound: {s.lower_bound}   {verdict}")
        if s.certificate is not None:
            console.print(f"why not faster: at least {s.certificate.lower_bound} waves (certified, re-checked by "
                          "wavegate verify):")
            for line in why_lines(s.certificate.witness):
                console.print(line, markup=False)
        console.print(_vm_counts(s), soft_wrap=True)
    console.print(f"tasks: {n_tasks}   skipped: {len(s.skipped)}   classes: {s.stats.get('classes')}   "
                  f"solver calls: {result.solver_calls}   spread cost: {result.spread_cost}   "
                  f"time: {result.elapsed:.2f}s")
    _calendar(console, s)
    for note in result.notes:
        console.print(f"note: {note}")
    if output is not None and not is_stdout(output):
        console.print(f"schedule written to {output}")
    return shown_paths(buf.getvalue())

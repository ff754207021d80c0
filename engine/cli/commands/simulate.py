"""`wavegate simulate`: replay a schedule against the simulated fleet with health gates, faults and a journal."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.policy import Policy
from engine.cli.bounded import SOLVER_SHARE, run_bounded
from engine.cli.commands import report as report_cmd
from engine.cli.common import (
    Format,
    FormatOption,
    RootOption,
    plain_console,
    progress,
    report_errors,
    shown_paths,
)
from engine.cli.outputs import EventsOutput, Output, check_outputs, is_stdout, write_output
from engine.model.bounds import capped, loads_bounded
from engine.model.calendar import CalendarError, format_instant, parse_instant
from engine.model.digest import check_tied, fleet_sha256
from engine.model.errors import InputError
from engine.model.fault_model import load_fault_model
from engine.model.faults import NO_FAULTS, FaultScript, load_faults
from engine.model.fleet import Fleet
from engine.model.resources import bundled_spec, sample_faults, sample_fleet
from engine.model.schedule import Schedule, parse_schedule
from engine.risk.scenarios import build_space, draw_faults
from engine.run.driver import SimDriver
from engine.run.events import EventSink, NullSink
from engine.run.executor import RunResult, check_max_retries, check_schedule, execute, final_fleet
from engine.run.journal import Journal, check_not_journal

SHOWN_HALTS = 6


@dataclass
class SimOutcome:
    result: RunResult
    policy: Policy
    schedule: Schedule
    fleet_name: str
    seed: int
    resumed_entries: int
    summary: str = ""


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def simulate(
        spec: Annotated[Path | None, typer.Option("--spec", "-s", help="Policy (.wg); default: bundled Azure default.")] = None,
        fleet: Annotated[Path | None, typer.Option("--fleet", "-f", help="Fleet JSON; default: bundled sample fleet.")] = None,
        schedule: Annotated[Path | None, typer.Option("--schedule", help="Schedule JSON; default: plan first.")] = None,
        faults: Annotated[Path | None, typer.Option("--faults", help="Fault script JSON; default: none (the bundled sample fault script with the sample fleet).")] = None,
        seed: Annotated[int, typer.Option("--seed", help="Seed of the simulated health model.")] = 0,
        journal: Annotated[Path | None, typer.Option("--journal", help="SQLite journal: every decision committed before it is acted on.")] = None,
        resume: Annotated[bool, typer.Option("--resume", help="Continue the run recorded in --journal.")] = False,
        events: Annotated[Path | None, typer.Option("--events", help="Write the JSONL event log here.")] = None,
        final_state: Annotated[Path | None, typer.Option("--final-state", help="Write the fleet after the run here.")] = None,
        max_retries: Annotated[int | None, typer.Option("--max-retries", min=0, help="Retries per failed task; default: the policy's retry gate.")] = None,
        time_limit: Annotated[float, typer.Option("--time-limit", help="Wall-clock seconds for planning when no --schedule.")] = 60.0,
        report: Annotated[Path | None, typer.Option("--report", help="Also write the HTML rollout report here.")] = None,
        model: Annotated[Path | None, typer.Option("--model", "-m", help="Fault model JSON: replay the risk scenario whose seed is --seed (instead of --faults).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Run a schedule planned for another fleet or policy anyway (it is still verified).")] = False,
        root: RootOption = None,
        fmt: FormatOption = Format.text,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress messages.")] = False,
        start: Annotated[str | None, typer.Option("--start", help="With time rules and no --schedule: when the planned rollout starts (UTC, 2026-12-02T00:00Z); default: now.")] = None,
    ) -> None:
        """Carry a schedule out wave by wave on a simulated fleet: health gates, rollback, retries, a summary.

        \b
        With no schedule the policy is planned first; with no arguments at all the bundled sample fleet runs
        under the Azure default spec with the bundled fault script (a rollback and a stop).
        Exit codes: 0 rollout completed, 3 halted by a policy gate (blocked, stopped, failed after retries),
        2 bad input, 1 internal error (a runtime monitor breach).

        \b
        Example:
          wavegate simulate
          wavegate simulate --fleet my.json --faults faults.json --seed 7 --events run.jsonl --final-state after.json
          wavegate simulate --journal run.db ...   # killed?  the same command with --resume continues it
        """
        check_not_journal(journal, {"--events": events, "--final-state": final_state, "--report": report})
        check_outputs(events, final_state, report)
        with report_cmd.events_for_report(events, report) as events_out, progress("simulate", quiet) as say:
            out = run_simulate(spec, fleet, schedule, faults, seed, journal, resume, events_out, final_state,
                               max_retries, time_limit, model, force, root, say, start=_start(start))
            report_cmd.after_simulate(report, out.policy, out.schedule, spec, fleet, events_out, events)
        # An output on stdout (`--events -`) keeps stdout machine-readable: the summary goes to stderr then.
        text = summary_json(out) if fmt == Format.json else out.summary
        typer.echo(text, nl=False, err=any(is_stdout(p) for p in (events, final_state, report)))
        if out.result.exit_code:
            raise typer.Exit(out.result.exit_code)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _start(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except CalendarError as e:
        raise _usage(f"--start: {e}", "e.g. --start 2026-12-02T00:00Z") from None


def _usage(msg: str, hint: str | None = None) -> InputError:
    return InputError([Diagnostic("E-USAGE", msg, hint=hint)])


def run_simulate(
    spec: Path | None = None,
    fleet_path: Path | None = None,
    schedule_path: Path | None = None,
    faults_path: Path | None = None,
    seed: int = 0,
    journal_path: Path | None = None,
    resume: bool = False,
    events_path: Path | None = None,
    final_state: Path | None = None,
    max_retries: int | None = None,
    time_limit: float = 60.0,
    model_path: Path | None = None,
    force: bool = False,
    root: Path | None = None,
    say: Callable[[str], None] = lambda _msg: None,
    *,
    start: int | None = None,
) -> SimOutcome:
    """Load, plan when needed, run, and write the outputs (only after the run finished); the summary's data."""
    # deferred: the planner and checker stack (z3) loads only when this command runs
    from engine.api import load_fleet, load_policy

    check_max_retries(max_retries)
    if resume and journal_path is None:
        raise _usage("--resume needs --journal", "pass the journal of the run to continue: --journal run.db --resume")
    say("loading the policy and the fleet")
    policy = load_policy(spec if spec is not None else bundled_spec(), root)
    fpath = fleet_path if fleet_path is not None else sample_fleet()
    fleet = load_fleet(fpath)
    fault_model = load_fault_model(model_path, fleet) if model_path is not None else None
    if fault_model is not None and faults_path is not None:
        raise _usage("--model and --faults exclude each other", "a risk scenario draws its own fault script")
    if fault_model is not None:
        script: FaultScript = NO_FAULTS  # drawn from the model once the schedule is known
    elif faults_path is not None:
        script = load_faults(faults_path, fleet)
    elif fleet_path is None:
        script = load_faults(sample_faults(), fleet)  # the sample fault script names VMs of the sample fleet
    else:
        script = NO_FAULTS
    faults_text = fault_model.to_json() if fault_model is not None else script.to_json()
    inputs = {"policy": _digest(repr(policy)), "fleet": fleet_sha256(fleet)[:16], "faults": _digest(faults_text),
              "seed": str(seed), "max_retries": str(max_retries)}

    journal = Journal.resume(journal_path) if journal_path is not None and resume else None
    if journal is not None and journal_path is not None:
        sched = _recorded_schedule(journal, journal_path, inputs, schedule_path, policy, fleet, force)
    else:
        if schedule_path is not None:
            sched = _checked_schedule(schedule_path, policy, fleet, force)
        else:
            # deferred: the planner and checker stack (z3) loads only when this command runs
            from engine.api import plan

            say("planning")
            sched = run_bounded(lambda _say: plan(policy, fleet, time_limit=time_limit * SOLVER_SHARE, start=start),
                                time_limit, say, "planning: grouping, solving, assembling and the independent re-check")
        if journal_path is not None:
            journal = Journal.create(journal_path, {**inputs, "schedule": sched.to_json()})

    if fault_model is not None:
        script = draw_faults(build_space(fault_model, policy, fleet, sched), seed).script
    sink: EventSink
    writer = Output(events_path) if events_path is not None else None
    sink = EventsOutput(writer) if writer is not None else NullSink()
    try:
        say("running the schedule")
        driver = SimDriver(fleet, script, seed)
        result = execute(policy, fleet, sched, driver, sink, max_retries=max_retries, journal=journal)
        resumed = journal.replayed if journal is not None else 0
        if journal is not None:
            journal.set_meta("finished", result.outcome)
            journal.close()
        outcome = SimOutcome(result, policy, sched, fpath.name, seed, resumed)
        summary = render_summary(outcome)  # rendered before any output is committed: a failure leaves none
        if final_state is not None:
            write_output(final_state, final_fleet(fleet, result).to_json())
        if writer is not None:
            writer.commit()
    finally:
        if writer is not None:
            writer.abort()
    outcome.summary = summary
    return outcome


def _checked_schedule(path: Path, policy: Policy, fleet: Fleet, force: bool) -> Schedule:
    """The schedule of ``path`` (or of a journal, read already), tied to these inputs and verified."""
    # deferred: the planner and checker stack (z3) loads only when this command runs
    from engine.api import load_schedule

    sched = load_schedule(path)
    return _verified(sched, str(path), policy, fleet, force)


def _verified(sched: Schedule, where: str, policy: Policy, fleet: Fleet, force: bool) -> Schedule:
    # deferred: the planner and checker stack (z3) loads only when this command runs
    from engine.api import verify

    warning = check_tied(sched, policy, fleet, where, force)
    if warning is not None:
        typer.echo(f"warning: {warning}; run anyway (--force)", err=True)
    check_schedule(sched, fleet, where)
    report = verify(policy, fleet, sched)
    if not report.ok:
        raise InputError(capped([Diagnostic("E-SCHEDULE", f"schedule breaks {v.render()}", JsonLocation(where, "$.waves"),
                                            "plan again, or fix the schedule (wavegate verify shows every violation)")
                                 for v in report.violations]))
    return sched


def _recorded_schedule(journal: Journal, journal_path: Path, inputs: dict[str, str], schedule_path: Path | None,
                       policy: Policy, fleet: Fleet, force: bool) -> Schedule:
    """The schedule a journal recorded, for the same inputs, verified again (a journal is an input like another)."""
    # deferred: the planner and checker stack (z3) loads only when this command runs
    from engine.api import load_schedule

    meta = journal.meta()
    changed = sorted(k for k, v in inputs.items() if meta.get(k) != v)
    if changed:
        journal.close()
        raise _usage(f"journal {journal_path} was recorded with a different {', '.join(changed)}",
                     "resume with the same --spec, --fleet, --faults, --seed and --max-retries as the first run")
    where = f"{journal_path}:schedule"
    try:
        sched = parse_schedule(loads_bounded(meta.get("schedule", ""), where), where)
        if schedule_path is not None and load_schedule(schedule_path).to_json() != sched.to_json():
            raise _usage(f"--schedule {schedule_path} differs from the schedule recorded in {journal_path}")
        return _verified(sched, where, policy, fleet, force)
    except ValueError:
        journal.close()
        raise InputError([Diagnostic("E-JOURNAL", f"journal {journal_path} holds no readable schedule",
                                     hint="start a new journal")]) from None
    except InputError:
        journal.close()
        raise


def _duration(seconds: int) -> str:
    m = round(seconds / 60)
    d, rest = divmod(m, 24 * 60)
    h, mm = divmod(rest, 60)
    parts = [f"{d}d"] if d else []
    if h or d:
        parts.append(f"{h}h")
    parts.append(f"{mm}m")
    return " ".join(parts)


def _calendar_line(console: Console, out: SimOutcome) -> None:
    """With a calendar: the planned finish next to the simulated one."""
    s = out.schedule
    if s.start is None or s.finish is None:
        return
    simulated = parse_instant(s.start) + out.result.duration
    planned = parse_instant(s.finish.planned)
    late = simulated - planned
    how = "as planned" if late == 0 else (f"{_duration(late)} later than planned" if late > 0
                                          else f"{_duration(-late)} earlier than planned")
    console.print(f"calendar: planned finish {s.finish.planned}, simulated finish {format_instant(simulated)} ({how})",
                  highlight=False)


def render_summary(out: SimOutcome, width: int = 110) -> str:
    r = out.result
    buf = io.StringIO()
    console = plain_console(buf, width)  # no markup: group, rule and region names are printed as written
    states = r.states
    title = f"wavegate simulate: {out.policy.name} on {out.fleet_name}, seed {out.seed}"
    if out.resumed_entries:
        title += f" (resumed: {out.resumed_entries} journal entries replayed)"
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what", style="bold")
    table.add_column("count", justify="right")
    table.add_column("notes")
    table.add_row("upgraded", f"{states.get('succeeded', 0):,}", f"of {r.tasks:,} tasks in {r.waves} waves")
    table.add_row("rolled back", f"{r.rolled_back:,}", "failed the health wait; previous version reinstalled")
    table.add_row("retried", f"{r.retried:,}", "")
    for state, note in (("retry_pending", "retry still due"), ("failed", "failed, not retried (set halted or retries used up)"),
                        ("blocked", "in blocked sets"), ("stopped", "in stopped sets"),
                        ("refused", "would cross a major version"),
                        ("unhealthy_vm", "never installed: the VM was unhealthy at every attempt"), ("kept_unhealthy", "kept on the new version, unhealthy"),
                        ("held_by_order", "never installed: an extension it must follow did not succeed"),
                        ("not_started", "phase held")):
        if states.get(state):
            table.add_row(state.replace("_", " "), f"{states[state]:,}", note)
    skipped = sum(r.skipped.values())
    table.add_row("skipped", f"{skipped:,}", ", ".join(f"{reason} {n:,}" for reason, n in r.skipped.items()))
    if r.ideal <= r.duration:
        table.add_row("virtual time", _duration(r.duration),
                      f"ideal {_duration(r.ideal)} ({r.waves} waves; every task upgraded first time, fastest installs)")
    else:  # halted before its last waves: the ideal of a complete run is no yardstick for this one
        table.add_row("virtual time", _duration(r.duration),
                      f"halted early; a complete run of the {r.waves} waves takes at least {_duration(r.ideal)}")
    console.print(table)
    _calendar_line(console, out)
    if r.halts:
        console.print(f"{len(r.halts)} halted set{'s' if len(r.halts) != 1 else ''}:")
        for h in r.halts[:SHOWN_HALTS]:
            console.print(f"  {h.group}: {h.kind} by rule {h.rule} at {_duration(h.time)}", highlight=False)
            console.print(f"    why: {h.why}", highlight=False)
            console.print(f"    unblock: {h.unblock}", highlight=False)
        if len(r.halts) > SHOWN_HALTS:
            console.print(f"  ... and {len(r.halts) - SHOWN_HALTS} more (set_blocked / set_stopped in the event log)")
    if r.held is not None:
        reasons = "; ".join(f"{h['reason']} ({h['tasks']} tasks)" for h in r.held["holders"])
        console.print(f"phase {r.held['phase']} held (rule phases): {r.held['unfinished_tasks']} tasks of earlier phases "
                      f"did not succeed: {reasons}", highlight=False)
    verdict = ("completed: every scheduled task upgraded (exit 0)" if r.exit_code == 0
               else "halted by a policy gate (exit 3)")
    console.print(f"outcome: {verdict}; {r.events:,} events")
    # Rule references carry the spec's path: bundled ones as wavegate:NAME.wg, others relative to the working folder.
    return shown_paths(buf.getvalue())



def summary_json(out: SimOutcome) -> str:
    """The summary as one JSON document (``--format json``): the same counts as the text, durations in seconds."""
    r = out.result
    doc = {
        "ok": r.exit_code == 0, "exit_code": r.exit_code, "outcome": r.outcome,
        "policy": out.policy.name, "fleet": out.fleet_name, "seed": out.seed, "resumed_entries": out.resumed_entries,
        "waves": r.waves, "tasks": r.tasks, "states": dict(sorted(r.states.items())),
        "rolled_back": r.rolled_back, "retried": r.retried, "skipped": dict(sorted(r.skipped.items())),
        "duration_seconds": r.duration, "events": r.events,
        # The ideal is a lower bound of a run that upgrades every task: shown only when this run is such a yardstick.
        "ideal_seconds": r.ideal if r.ideal <= r.duration else None, "complete_run_at_least_seconds": r.ideal,
        "halts": [{"kind": h.kind, "scope": h.scope, "group": h.group, "rule": h.rule, "time_seconds": h.time,
                   "why": h.why, "unblock": h.unblock} for h in r.halts],
        "held": r.held,
    }
    return shown_paths(json.dumps(doc, indent=2, sort_keys=True, default=str)) + "\n"

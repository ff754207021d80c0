"""`wavegate report`: one self-contained HTML page of the plan, the run and the risk; and the ``--report FILE``
shortcut of plan and simulate (``after_plan``, ``after_simulate``: one call each, after their own outputs)."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from dsl.policy import Policy
from engine.cli.common import RootOption, report_errors
from engine.cli.outputs import check_outputs, is_stdout, write_output
from engine.model.fleet import Fleet, load_fleet
from engine.model.resources import bundled_spec, sample_fleet
from engine.model.schedule import Schedule
from engine.report import Names, report_from_files, report_html, shown_name
from engine.report.risk import parse_risk


def register(app: typer.Typer) -> None:
    @app.command()
    @report_errors
    def report(
        schedule: Annotated[Path, typer.Option("--schedule", help="Schedule JSON (wavegate plan -o).")],
        output: Annotated[Path, typer.Option("--output", "-o", help="Write the HTML page here.")],
        spec: Annotated[Path | None, typer.Option("--spec", "-s", help="Policy (.wg); default: bundled Azure default.")] = None,
        fleet: Annotated[Path | None, typer.Option("--fleet", "-f", help="Fleet JSON; default: bundled sample fleet.")] = None,
        events: Annotated[Path | None, typer.Option("--events", help="Event log of a run of the schedule (simulate --events).")] = None,
        risk: Annotated[Path | None, typer.Option("--risk", help="Risk document (wavegate risk --format json).")] = None,
        previous: Annotated[Path | None, typer.Option("--previous", help="An earlier schedule: show what changed.")] = None,
        root: RootOption = None,
    ) -> None:
        """Write one self-contained HTML page: swimlanes per region and wave, halts, progress, the lower bound, risk,
        changes against a previous schedule, and the policy's rules with their source lines.

        \b
        The page loads nothing (no network request of any kind) and is the same bytes for the same inputs.
        Exit codes: 0 written, 2 bad input (nothing written).

        \b
        Example:
          wavegate plan -o s.json && wavegate simulate --schedule s.json --events run.jsonl
          wavegate report --schedule s.json --events run.jsonl -o report.html
        """
        check_outputs(output)
        page = report_from_files(spec if spec is not None else bundled_spec(),
                                 fleet if fleet is not None else sample_fleet(), schedule, events, risk, previous, root)
        write_output(output, page)
        # With `-o -` the page is on stdout; the note goes to stderr.
        typer.echo(f"report written to {'stdout' if is_stdout(output) else output} "
                   f"({len(page.encode('utf-8')):,} bytes)", err=is_stdout(output))


def after_plan(output: Path | None, policy: Policy, fleet: Fleet, spec: Path, fleet_path: Path,
               schedule: Schedule) -> None:
    """``plan --report FILE``: the page of the schedule just planned."""
    if output is None:
        return
    names = Names(shown_name(spec), fleet_path.name, "(planned now)")
    write_output(output, report_html(policy, fleet, schedule, names))


@contextlib.contextmanager
def events_for_report(events: Path | None, output: Path | None) -> Iterator[Path | None]:
    """The event log simulate writes: the one asked for, else a scratch file when only ``--report`` needs it (or
    the log goes to stdout)."""
    if output is None or (events is not None and not is_stdout(events)):
        yield events
        return
    with tempfile.TemporaryDirectory(prefix="wavegate-report-") as scratch:
        path = Path(scratch) / "events.jsonl"
        yield path
        if events is not None and path.exists():  # `--events -` with --report: the log goes to stdout too
            with path.open(encoding="utf-8") as f:
                shutil.copyfileobj(f, sys.stdout)


def after_simulate(output: Path | None, policy: Policy, schedule: Schedule, spec: Path | None,
                   fleet_path: Path | None, events: Path | None, given_events: Path | None) -> None:
    """``simulate --report FILE``: the page of the run just made (its schedule and the event log it wrote)."""
    if output is None or events is None:
        return
    fpath = fleet_path if fleet_path is not None else sample_fleet()
    names = Names(shown_name(spec if spec is not None else bundled_spec()), fpath.name, "(of the run)",
                  given_events.name if given_events is not None else "(of the run)")
    # The fleet is read again: run_simulate does not hand out the one it loaded (a second read at 1M VMs: ~30 s).
    write_output(output, report_html(policy, load_fleet(fpath), schedule, names, events))


def after_risk(output: Path | None, policy: Policy, fleet: Fleet, spec: Path, fleet_path: Path, schedule: Schedule,
               risk: dict[str, Any]) -> None:
    """``risk --report FILE``: the page of the schedule with the risk run just made (its JSON document)."""
    if output is None:
        return
    names = Names(shown_name(spec), fleet_path.name, "(of the risk run)", risk="(this run)")
    write_output(output, report_html(policy, fleet, schedule, names, risk=parse_risk(risk, "<risk>")))

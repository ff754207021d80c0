"""Build the rollout report: read the inputs, aggregate per region and wave, render one HTML page.

Same inputs, same bytes: everything emitted is sorted, numbers have a fixed precision, and the page names its
inputs by file name only (a bundled spec as it ships), never by where they lie or when the page was made.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import engine
from dsl.loader import load_policy
from dsl.policy import Capacity, DistinctLimit, NotWhole, Order, OrderBy, Policy
from engine.model.fleet import Fleet, load_fleet
from engine.model.schedule import Schedule, load_schedule
from engine.report.calendar_view import axis_for, bands
from engine.report.changes import changes
from engine.report.page import Report, render
from engine.report.plan_view import plan_view
from engine.report.risk import RiskSummary, load_risk
from engine.report.run_view import read_run
from engine.report.sources import display_path, param_lines, path_cleaner, read_sources, source_lines, where
from engine.report.svg import CalendarAxis


@dataclass(frozen=True)
class Names:
    """How the page names its inputs (file names)."""

    spec: str
    fleet: str
    schedule: str
    events: str | None = None
    risk: str | None = None
    previous: str | None = None


def report_from_files(spec: Path, fleet: Path, schedule: Path, events: Path | None = None, risk: Path | None = None,
                      previous: Path | None = None, root: Path | None = None) -> str:
    """The page for these files (``wavegate report``); bad input raises InputError naming the file."""
    names = Names(shown_name(spec), fleet.name, schedule.name, events.name if events else None, risk.name if risk else None,
                  previous.name if previous else None)
    return report_html(load_policy(spec, root), load_fleet(fleet), load_schedule(schedule), names, events,
                       load_risk(risk) if risk else None, load_schedule(previous) if previous else None,
                       schedule_file=str(schedule))


def report_html(policy: Policy, fleet: Fleet, schedule: Schedule, names: Names, events: Path | None = None,
                risk: RiskSummary | None = None, previous: Schedule | None = None,
                schedule_file: str = "<schedule>") -> str:
    """The page for inputs already loaded (the ``--report`` shortcut of plan and simulate)."""
    vm_region = {vm.name: vm.region for vm in fleet.vms}
    plan = plan_view(schedule, vm_region, sorted({vm.region for vm in fleet.vms}), schedule_file)
    rule_where = {r.name: where(r.span) for r in (*policy.rules, *policy.preferences, *policy.gates)}
    run = None
    if events is not None:
        run = read_run(events, vm_region, plan.tasks, plan.waves,
                       lambda rule: rule_where.get(rule or "", "not a rule of this policy"), path_cleaner(policy))
    sources = read_sources(policy)
    axis = axis_for(plan, run)
    time_bands, undrawn = bands(policy, plan, axis)
    report = Report(
        policy=policy.name, fleet=names.fleet, version=engine.__version__, inputs=_inputs(names), plan=plan, run=run, risk=risk,
        changes=changes(previous, schedule, vm_region) if previous is not None else None,
        rules=tuple(source_lines(policy, sources)), params=tuple(param_lines(policy, sources)),
        rule_where=rule_where, wave_rules=wave_rules(policy),
        axis=axis if isinstance(axis, CalendarAxis) else None, bands=tuple(time_bands), undrawn=tuple(undrawn))
    return render(report)


def shown_name(spec: Path) -> str:
    """A bundled spec as the CLI names it (wavegate:azure-default.wg), any other by its file name."""
    shown = display_path(str(spec))
    return shown if shown != str(spec) else spec.name


def wave_rules(policy: Policy) -> tuple[str, ...]:
    """The rules the planner's lower bound is made of (engine/plan/lower_bounds.py): the wave-unit limits."""
    out = []
    for r in policy.rules:
        if (isinstance(r, Capacity | DistinctLimit | NotWhole) and r.within == "wave") or (
                isinstance(r, Order | OrderBy) and r.unit == "wave"):
            out.append(r.name)
    return tuple(out)


def _inputs(n: Names) -> tuple[tuple[str, str], ...]:
    given = [("spec", n.spec), ("fleet", n.fleet), ("schedule", n.schedule), ("events", n.events),
             ("risk", n.risk), ("previous schedule", n.previous)]
    return tuple((what, name) for what, name in given if name is not None)

"""The calendar on the page, when the schedule has one: the axis of dates, the bands of the time rules (bakes,
maintenance windows, freezes) and the run's window waits at their moment.

Bands are read from the policy and the schedule's times, as the planner placed them: a phase (wave) bake from the
end of the phase's (wave's) last wave for the bake's duration, a first-wave bake in the region's lane from the end of
its first wave; a window's openings and a freeze's interval in the rule's zone.  A window or freeze read in each
VM's own zone (a tag or the region's ``time_zone``) has no single interval to draw: the bands table says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl.policy import Bake, Freeze, Policy, Window
from engine.model.calendar import freeze_interval, openings, parse_instant, zone
from engine.report.plan_view import PlanView
from engine.report.run_view import RunView
from engine.report.svg import DAY, LABEL_W, PAD_R, WIDTH, Axis, CalendarAxis, wave_axis

BANDS_PER_RULE = 200  # openings drawn per window at most (a daily window over a long rollout): the page stays small


@dataclass(frozen=True)
class Band:
    """A stretch of the calendar a time rule marks: a bake (waiting), a window's opening, a freeze."""

    kind: str  # bake | window | freeze
    rule: str
    start: int  # epoch seconds, UTC
    end: int
    region: str | None = None  # a first-wave bake: in its region's lane only
    note: str = ""


def axis_for(plan: PlanView, run: RunView | None) -> Axis:
    """The calendar axis when the schedule has times, else the wave axis (as without the time rules)."""
    if plan.start is None or not plan.times:
        return wave_axis(plan.waves)
    last = max(end for _, end in plan.times)
    if plan.finish is not None:
        last = max(last, parse_instant(plan.finish.planned), parse_instant(plan.finish.lower_bound))
    if run is not None:
        last = max(last, plan.start + round(run.minutes * 60))
    lo = plan.start // DAY * DAY
    hi = max(lo + DAY, -(-last // DAY) * DAY)
    return CalendarAxis(tuple(s for s, _ in plan.times), tuple(e for _, e in plan.times), lo, hi,
                        float(LABEL_W), float(WIDTH - LABEL_W - PAD_R), plan.start)


def bands(policy: Policy, plan: PlanView, axis: Axis) -> tuple[list[Band], list[str]]:
    """The bands to draw, sorted, and the time rules that have none (and why)."""
    if not isinstance(axis, CalendarAxis):
        return [], []
    out: list[Band] = []
    undrawn: list[str] = []
    for rule in policy.times:
        if isinstance(rule, Bake):
            out += _bakes(rule, plan)
        elif isinstance(rule, Window | Freeze):
            if rule.zone_tag is not None or rule.zone_region:
                undrawn.append(f"{rule.name}: read in each VM's own time zone "
                               f"({'its region' if rule.zone_region else 'tag ' + str(rule.zone_tag)}), not drawn")
                continue
            tz = zone(rule.zone)
            if isinstance(rule, Freeze):
                s, e = freeze_interval(rule, tz)
                out.append(Band("freeze", rule.name, s, e, note=f"read in {rule.zone}"))
            else:
                opened = openings(rule, tz, axis.lo, axis.hi)
                out += [Band("window", rule.name, s, e, note=f"read in {rule.zone}")
                        for s, e in opened[:BANDS_PER_RULE]]
                if len(opened) > BANDS_PER_RULE:
                    undrawn.append(f"{rule.name}: {len(opened) - BANDS_PER_RULE:,} later openings not drawn")
    return sorted(out, key=lambda b: (b.start, b.kind, b.rule, b.region or "")), undrawn


def _bakes(rule: Bake, plan: PlanView) -> list[Band]:
    d = rule.duration.seconds
    ends = [e for _, e in plan.times]
    if rule.after == "phase":
        return [Band("bake", rule.name, ends[ph.last_wave], ends[ph.last_wave] + d, note=f"after phase {ph.index}")
                for ph in plan.phases[:-1]]
    if rule.after == "wave":
        return [Band("bake", rule.name, ends[w], ends[w] + d, note=f"after wave {w}")
                for w in range(plan.waves - 1)][:BANDS_PER_RULE]
    out = []
    for region in plan.lanes:  # first_wave / first_zone: from the end of the region's first wave
        first, last = plan.region_span[region]
        if last > first:
            out.append(Band("bake", rule.name, ends[first], ends[first] + d, region,
                            f"after {region}'s first wave ({first})"))
    return out

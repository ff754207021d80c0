"""The schedule's calendar as the checker reads it: the start and each wave's [start, end) in epoch seconds, the
structural checks of the times (a policy with time rules needs them: every wave timed, waves one after another,
none before the start, each long enough for its installs), and the text of a time rule for messages."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from dsl.policy import Freeze, InstallTime, Window
from engine.check.placement import Placement
from engine.model.calendar import (
    DEFAULT_INSTALL_SECONDS,
    CalendarError,
    format_instant,
    parse_instant,
    zone_of,
)
from engine.model.fleet import VM, Fleet

Interval = tuple[int, int]
RULE = "calendar"


def wave_times(at: Placement) -> dict[int, Interval]:
    """Each wave's [start, end) that parses (waves without times, or with unreadable ones, are left out)."""
    out: dict[int, Interval] = {}
    for w in at.schedule.waves:
        if w.start is None or w.end is None:
            continue
        try:
            out[w.index] = (parse_instant(w.start), parse_instant(w.end))
        except CalendarError:
            continue
    return out


def longest_chain(at: Placement, wave: int) -> int:
    """The most tasks one VM has in the wave (its installs run one after another)."""
    counts = Counter(t.vm for w in at.schedule.waves if w.index == wave for t in w.tasks)
    return max(counts.values(), default=0)


def check_calendar(at: Placement) -> None:
    """With time rules: a start, every wave timed, in order, none before the start; without an install time rule,
    each wave lasts at least the executor's nominal install time per task of its longest VM chain."""
    policy, s = at.policy, at.schedule
    if not policy.times:
        return
    if s.start is None:
        at.add(RULE, None, "the policy has time rules but the schedule has no start (plan it with --start)")
        return
    try:
        begin = parse_instant(s.start)
    except CalendarError as e:
        at.add(RULE, None, f"the schedule's start: {e}")
        return
    times = wave_times(at)
    prev_end, prev = begin, None
    for w in s.waves:
        if w.index not in times:
            at.add(RULE, None, f"wave {w.index} has no readable start and end", wave=w.index)
            continue
        ws, we = times[w.index]
        if we < ws:
            at.add(RULE, None, f"wave {w.index} ends ({w.end}) before it starts ({w.start})", wave=w.index)
        if ws < prev_end:
            after = "the rollout's start" if prev is None else f"wave {prev} ends ({format_instant(prev_end)})"
            at.add(RULE, None, f"wave {w.index} starts ({w.start}) before {after}", wave=w.index)
        prev_end, prev = max(prev_end, we), w.index
    if not any(isinstance(r, InstallTime) for r in policy.times):
        check_lengths(at, times, DEFAULT_INSTALL_SECONDS, RULE, None)


def check_lengths(at: Placement, times: dict[int, Interval], install: int, rule: str, span: object) -> None:
    for w, (ws, we) in sorted(times.items()):
        need = install * longest_chain(at, w)
        if we - ws < need:
            at.add(rule, span, f"wave {w} lasts {(we - ws) // 60}m, shorter than its installs ({need // 60}m: "  # type: ignore[arg-type]
                   f"{longest_chain(at, w)} on one VM at {install // 60}m each)", wave=w)


def region_zone(fleet: Fleet, vm: VM) -> str | None:
    region = fleet.region_by_name.get(vm.region)
    return None if region is None else region.time_zone


def rule_zone(rule: Window | Freeze, vm: VM, fleet: Fleet) -> dt.tzinfo:
    """The zone the rule reads this VM's times in (CalendarError: the VM's tag names none)."""
    return zone_of(rule.zone, rule.zone_tag, vm.tags, rule.zone_region, region_zone(fleet, vm))


def zone_text(rule: Window | Freeze) -> str:
    return f"in the zone of tag {rule.zone_tag!r}" if rule.zone_tag is not None else rule.zone

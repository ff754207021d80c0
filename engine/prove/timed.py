"""A candidate counterexample on the spec's calendar: when the spec has time rules, an untimed candidate schedule
(built by a claim's witness, which knows nothing of windows) gets a start and times for its waves, so that the spec
can accept it and the claim's rule decide.

Waves are placed one after another from ``SEARCH_FROM``: each lasts the spec's install time times its longest chain of
one VM's tasks, starts after the previous wave's end plus the longest bake of the spec (waiting longer than a bake
asks never breaks it), and at the earliest instant where every window that selects one of its tasks holds it whole
and no freeze that selects one overlaps it (a fixpoint over the windows' ``next_fit`` and the freezes' ends, bounded).
Nothing here is trusted: the replay then judges the timed schedule with the checker under the spec and the claim,
so a placement this module gets wrong can only leave the answer unknown.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Sequence
from typing import Any

from dsl.policy import Bake, Freeze, InstallTime, Policy, Window
from engine.check.semantics import Semantics
from engine.check.timeline import rule_zone
from engine.model.calendar import (
    DEFAULT_INSTALL_SECONDS,
    CalendarError,
    format_instant,
    freeze_interval,
    next_fit,
    parse_instant,
)
from engine.model.fleet import Fleet, parse_fleet

SEARCH_FROM = "2030-01-07T00:00Z"  # a Monday, as the time claims' own witnesses
HORIZON_DAYS = 400  # how far ahead one wave's opening is looked for
ROUNDS = 200  # rounds of the windows/freezes fixpoint for one wave


def on_calendar(spec: Policy, fleet_json: dict[str, Any], schedule_json: dict[str, Any]) -> dict[str, Any] | None:
    """``schedule_json`` with a start and wave times the spec's time rules admit; unchanged when the spec has no
    time rules or the schedule already has a start; None when a wave finds no place within the horizon."""
    if not spec.times or schedule_json.get("start"):
        return schedule_json
    fleet = parse_fleet(fleet_json, "<counterexample fleet>")
    install = next((r.duration.seconds for r in spec.times if isinstance(r, InstallTime)), DEFAULT_INSTALL_SECONDS)
    gap = max((r.duration.seconds for r in spec.times if isinstance(r, Bake)), default=0)
    begin = parse_instant(SEARCH_FROM)
    out = dict(schedule_json)
    waves = []
    t = begin
    for k, w in enumerate(schedule_json["waves"]):
        tasks = w["tasks"]
        length = install * max(Counter(task["vm"] for task in tasks).values(), default=0)
        start = place_wave(spec, fleet, tasks, t if k == 0 else t + gap, length)
        if start is None:
            return None
        waves.append({**w, "start": format_instant(start), "end": format_instant(start + length)})
        t = start + length
    out["waves"] = waves
    out["start"] = format_instant(begin)
    out.pop("finish", None)
    return out


def place_wave(spec: Policy, fleet: Fleet, tasks: Sequence[dict[str, Any]], earliest: int, length: int) -> int | None:
    """The earliest start >= ``earliest`` at which the wave fits every selecting window and no selecting freeze."""
    windows, freezes = _constraints(spec, fleet, tasks)
    if windows is None or freezes is None:
        return None
    t = earliest
    for _ in range(ROUNDS):
        moved = False
        for w, tz in windows:
            s = next_fit(w, tz, t, length, HORIZON_DAYS)
            if s is None or s > earliest + HORIZON_DAYS * 86400:
                return None
            if s > t:
                t, moved = s, True
        for fs, fe in freezes:
            if t < fe and fs < t + max(length, 1):
                t, moved = fe, True
        if not moved:
            return t
    return None


def _constraints(spec: Policy, fleet: Fleet, tasks: Sequence[dict[str, Any]]
                 ) -> tuple[list[tuple[Window, dt.tzinfo]] | None, list[tuple[int, int]] | None]:
    """The (window, zone) pairs and freeze intervals that select a task of the wave (None: a zone is unreadable)."""
    sem = Semantics(fleet)
    vms = {v.name: v for v in fleet.vms}
    windows: dict[tuple[str, str], tuple[Window, dt.tzinfo]] = {}
    freezes: set[tuple[int, int]] = set()
    for task in tasks:
        vm = vms.get(task["vm"])
        ext = next((e for e in vm.extensions if e.name == task["extension"]), None) if vm is not None else None
        if vm is None or ext is None:
            continue
        for r in spec.times:
            if not isinstance(r, Window | Freeze) or not sem.matches_task(r.where, vm, ext):
                continue
            try:
                tz = rule_zone(r, vm, fleet)
            except CalendarError:
                return None, None
            if isinstance(r, Window):
                windows[(r.name, str(tz))] = (r, tz)
            else:
                freezes.add(freeze_interval(r, tz))
    return [windows[k] for k in sorted(windows)], sorted(freezes)

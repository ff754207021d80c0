"""``never from DATE to DATE [in ZONE] [where P]`` (Freeze): no wave holding a task the ``where`` selects overlaps
the freeze (read in the VM's zone; the end excluded)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from dsl.policy import Freeze
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.timeline import rule_zone, wave_times, zone_text
from engine.model.calendar import CalendarError, format_instant, freeze_interval


class FreezeCheck(RuleCheck[Freeze]):
    kind = Freeze

    def check(self, rule: Freeze, at: Placement) -> None:
        times = wave_times(at)
        frozen: dict[int, list[str]] = defaultdict(list)
        no_zone: dict[str, str] = {}
        spans: dict[dt.tzinfo, tuple[int, int]] = {}
        for w, _task, vm, ext in at.task_refs:
            if vm is None or w not in times or not at.sem.matches_task(rule.where, vm, ext):
                continue
            try:
                tz = rule_zone(rule, vm, at.fleet)
            except CalendarError as e:
                no_zone.setdefault(vm.name, str(e))
                continue
            if tz not in spans:
                spans[tz] = freeze_interval(rule, tz)
            fs, fe = spans[tz]
            ws, we = times[w]
            if ws < fe and fs < we:
                frozen[w].append(vm.name)
        for name, why in sorted(no_zone.items()):
            at.add(rule.name, rule.span, f"VM {name} {why}", vms=[name])
        for w in sorted(frozen):
            ws, we = times[w]
            at.add(rule.name, rule.span, f"wave {w} runs {format_instant(ws)} to {format_instant(we)}, during the "
                   f"freeze from {rule.start} to {rule.end} {zone_text(rule)}", wave=w, vms=frozen[w])

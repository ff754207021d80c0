"""``upgrade only DAYS HH:MM-HH:MM [in ZONE] [where P]`` (Window): every wave holding a task the ``where`` selects
runs, from its start to its end, inside one open interval of the window, read in the VM's zone."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from dsl.policy import Window
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.timeline import rule_zone, wave_times, zone_text
from engine.model.calendar import CalendarError, format_instant, inside


def describe(rule: Window) -> str:
    hours = f"{rule.start // 60:02d}:{rule.start % 60:02d}-{rule.end // 60:02d}:{rule.end % 60:02d}"
    return f"{','.join(str(d) for d in rule.days)} {hours} {zone_text(rule)}"


class WindowCheck(RuleCheck[Window]):
    kind = Window

    def check(self, rule: Window, at: Placement) -> None:
        times = wave_times(at)
        outside: dict[int, list[str]] = defaultdict(list)
        no_zone: dict[str, str] = {}
        fits: dict[tuple[int, dt.tzinfo], bool] = {}
        for w, _task, vm, ext in at.task_refs:
            if vm is None or w not in times or not at.sem.matches_task(rule.where, vm, ext):
                continue
            try:
                tz = rule_zone(rule, vm, at.fleet)
            except CalendarError as e:
                no_zone.setdefault(vm.name, str(e))
                continue
            if (w, tz) not in fits:
                fits[(w, tz)] = inside(rule, tz, *times[w])
            if not fits[(w, tz)]:
                outside[w].append(vm.name)
        for name, why in sorted(no_zone.items()):
            at.add(rule.name, rule.span, f"VM {name} {why}", vms=[name])
        for w in sorted(outside):
            ws, we = times[w]
            at.add(rule.name, rule.span, f"wave {w} runs {format_instant(ws)} to {format_instant(we)}, outside the "
                   f"window {describe(rule)}", wave=w, vms=outside[w])

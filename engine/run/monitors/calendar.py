"""What the time monitors share: the run's start as an instant (virtual second 0 is the schedule's ``start``) and
the zone a window or freeze reads a VM's times in."""

from __future__ import annotations

import datetime as dt

from dsl.policy import Freeze, Window
from engine.model.calendar import CalendarError, parse_instant, zone_of
from engine.model.fleet import VM, Fleet
from engine.run.monitors.base import RunContext, breach


def run_start(run: RunContext) -> int:
    start = run.schedule.start if run.schedule is not None else None
    if start is None:
        raise breach("a window or freeze is monitored but the schedule has no start")
    return parse_instant(start)


def vm_zone(rule: Window | Freeze, vm: VM, fleet: Fleet) -> dt.tzinfo:
    try:
        region = fleet.region_by_name.get(vm.region)
        return zone_of(rule.zone, rule.zone_tag, vm.tags, rule.zone_region, region.time_zone if region else None)
    except CalendarError as e:
        raise breach(f"VM {vm.name} {e} (rule {rule.name})") from None

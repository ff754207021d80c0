"""The executor's calendar: on its virtual clock (second 0 is the schedule's ``start``), a batch starts only while
every window of its VMs is open and no freeze of theirs holds; a phase (a wave) waits out its bake; a region's
later batches wait out the bake after its first wave (or first zone).  A batch that started runs to its end even
when a window closes or a freeze begins meanwhile: only starts are gated.

The run stage's own reading: ``where`` through :class:`engine.run.reading.RunReading`, local times through
``engine.model.calendar``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.policy import Bake, Freeze, Policy, Window
from engine.model.calendar import (
    HORIZON_DAYS,
    CalendarError,
    freeze_interval,
    next_fit,
    parse_instant,
    zone_of,
)
from engine.model.errors import InputError
from engine.model.fleet import VM, Extension, Fleet
from engine.model.schedule import Schedule
from engine.run.reading import RunReading

Interval = tuple[int, int]


@dataclass(frozen=True)
class Wait:
    """A batch may not start before ``until`` (virtual seconds; None: not within the horizon) because of ``rule``."""

    until: int | None
    rule: str
    kind: str  # window | freeze | bake


def _base(schedule: Schedule, needs_start: bool) -> int:
    if schedule.start is None:
        if needs_start:
            raise InputError([Diagnostic("E-SCHEDULE", "the policy has windows or freezes but the schedule has no "
                                         "start", JsonLocation("<schedule>", "$.start"),
                                         hint="plan it with --start, e.g. --start 2026-12-02T00:00Z")])
        return 0
    return parse_instant(schedule.start)


class RunCalendar:
    def __init__(self, policy: Policy, fleet: Fleet, schedule: Schedule) -> None:
        self.windows = [r for r in policy.times if isinstance(r, Window)]
        self.freezes = [r for r in policy.times if isinstance(r, Freeze)]
        bakes = [r for r in policy.times if isinstance(r, Bake)]
        self.base = _base(schedule, bool(self.windows or self.freezes))
        self.reading = RunReading(fleet)
        self.regions = fleet.region_by_name
        self.phase_bake = max((b for b in bakes if b.after == "phase"), key=lambda b: b.duration.seconds, default=None)
        self.wave_bake = max((b for b in bakes if b.after == "wave"), key=lambda b: b.duration.seconds, default=None)
        self.region_bakes = [b for b in bakes if b.after in ("first_wave", "first_zone")]
        self._zones: dict[tuple[int, str], dt.tzinfo | None] = {}
        # Region bakes: each region's first wave, the zones of its VMs there, and when each bake lets it go on.
        self.first_wave: dict[str, int] = {}
        self.first_zones: dict[str, set[str | None]] = {}
        self.ready: dict[tuple[str, str], int] = {}  # (region, rule) -> not before (virtual seconds)

    @property
    def gates_starts(self) -> bool:
        return bool(self.windows or self.freezes or self.region_bakes)

    # -- windows and freezes ---------------------------------------------------------------------------------

    def _zone(self, n: int, rule: Window | Freeze, vm: VM) -> dt.tzinfo:
        key = (n, vm.name)
        if key not in self._zones:
            try:
                region = self.regions.get(vm.region)
                self._zones[key] = zone_of(rule.zone, rule.zone_tag, vm.tags, rule.zone_region,
                                           region.time_zone if region else None)
            except CalendarError as e:
                raise InputError([Diagnostic("E-FLEET", f"VM {vm.name} {e}, which rule {rule.name} reads its times "
                                             "in", JsonLocation("<fleet>", "$.vms"))]) from None
        return self._zones[key]  # type: ignore[return-value]

    def _window_wait(self, vms: Sequence[tuple[VM, Sequence[Extension]]], t: int) -> Wait | None:
        for n, w in enumerate(self.windows):
            zones = {str(z): z for z in (self._zone(n, w, vm) for vm, exts in vms
                                         if self.reading.matches_scheduled(w.where, vm, exts))}
            for key in sorted(zones):
                s = next_fit(w, zones[key], self.base + t, 0, HORIZON_DAYS)
                if s is None:
                    return Wait(None, w.name, "window")
                if s > self.base + t:
                    return Wait(s - self.base, w.name, "window")
        return None

    def _freeze_wait(self, vms: Sequence[tuple[VM, Sequence[Extension]]], t: int) -> Wait | None:
        for n, f in enumerate(self.freezes):
            spans = {freeze_interval(f, self._zone(len(self.windows) + n, f, vm)) for vm, exts in vms
                     if self.reading.matches_scheduled(f.where, vm, exts)}
            for fs, fe in sorted(spans):
                if fs <= self.base + t < fe:
                    return Wait(fe - self.base, f.name, "freeze")
        return None

    def _bake_wait(self, vms: Sequence[tuple[VM, Sequence[Extension]]], t: int) -> Wait | None:
        for b in self.region_bakes:
            for vm, _ in vms:
                ready = self.ready.get((vm.region, b.name))
                if ready is None or ready <= t:
                    continue
                if b.after == "first_zone" and vm.zone in self.first_zones.get(vm.region, set()):
                    continue
                return Wait(ready, b.name, "bake")
        return None

    def wait(self, vms: Sequence[tuple[VM, Sequence[Extension]]], t: int) -> Wait | None:
        """Why a batch of these VMs (with the extensions being upgraded) may not start at ``t``, if it may not."""
        for check in (self._bake_wait, self._freeze_wait, self._window_wait):
            found = check(vms, t)
            if found is not None:
                return found
        return None

    # -- region bakes ----------------------------------------------------------------------------------------

    def wave_finished(self, vms: Sequence[VM], end: int) -> list[tuple[str, Bake, int]]:
        """A scheduled (not retry) wave of these VMs ended at ``end``: the region bakes that start now, as
        (region, bake, until)."""
        started: list[tuple[str, Bake, int]] = []
        regions: dict[str, set[str | None]] = defaultdict(set)
        for vm in vms:
            regions[vm.region].add(vm.zone)
        for region in sorted(regions):
            first = region not in self.first_wave
            if first:
                self.first_wave[region] = end
                self.first_zones[region] = regions[region]
            in_first_zone = bool(regions[region] & self.first_zones[region])
            for b in self.region_bakes:
                if (b.after == "first_wave" and first) or (b.after == "first_zone" and in_first_zone):
                    until = end + b.duration.seconds
                    if until > self.ready.get((region, b.name), -1):
                        self.ready[(region, b.name)] = until
                        if first:
                            started.append((region, b, until))
        return started

"""``upgrade only DAYS HH:MM-HH:MM [in ZONE] [where P]`` (Window) in the calendar: a wave holding VMs the rule selects
starts when it fits, whole, inside one open interval of the window in each of their zones."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from dsl.policy import Window
from engine.model.calendar import next_fit
from engine.model.fleet import VM, Extension
from engine.plan.kinds.timing import TimeKind, WaveFacts, ZoneKeys
from engine.plan.reading import FleetFacts


class WindowPlan(TimeKind[Window]):
    kind = Window

    def __init__(self, rule: Window) -> None:
        super().__init__(rule)
        self.zones: dict[int, list[dt.tzinfo]] = {}  # wave -> the zones of the VMs the rule selects in it
        self.keys = ZoneKeys(rule)

    def prepare(self, waves: Sequence[WaveFacts], facts: FleetFacts) -> None:
        for w in waves:
            found: dict[str, dt.tzinfo] = {}
            for vm, exts in w.vms:
                tz = self.keys.zone(facts, vm, exts)
                if tz is not None:
                    found.setdefault(str(tz), tz)
            self.zones[w.index] = [found[k] for k in sorted(found)]

    def _fit(self, zones: Sequence[dt.tzinfo], t: int, length: int) -> int | None:
        # The latest of each zone's earliest fit; the caller iterates until every zone agrees.
        best = t
        for tz in zones:
            s = next_fit(self.rule, tz, t, length)
            if s is None:
                return None
            best = max(best, s)
        return best

    def earliest(self, wave: int, t: int, length: int, ends: Sequence[int]) -> int | None:
        return self._fit(self.zones.get(wave, ()), t, length)

    def part_earliest(self, facts: FleetFacts, vms: Sequence[tuple[VM, list[Extension]]], wave: int, t: int,
                      length: int, ends: Sequence[int]) -> int | None:
        zones = {str(tz): tz for vm, exts in vms if (tz := self.keys.zone(facts, vm, exts)) is not None}
        return self._fit([zones[k] for k in sorted(zones)], t, length)

    def vm_earliest(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension], t: int, length: int) -> int | None:
        tz = self.keys.zone(facts, vm, exts)
        return t if tz is None else self._fit([tz], t, length)

    def vm_key(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> object:
        tz = self.keys.zone(facts, vm, exts)
        return None if tz is None else str(tz)

    def reason(self, blocker: int | None) -> str:
        return f"window {self.rule.name} opens"

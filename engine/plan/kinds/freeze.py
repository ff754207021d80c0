"""``never from DATE to DATE [in ZONE] [where P]`` (Freeze) in the calendar: a wave holding VMs the rule selects that
would overlap the freeze starts when the freeze ends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from dsl.policy import Freeze
from engine.model.calendar import freeze_interval
from engine.model.fleet import VM, Extension
from engine.plan.kinds.timing import TimeKind, WaveFacts, ZoneKeys
from engine.plan.reading import FleetFacts

Interval = tuple[int, int]


def _after(spans: Sequence[Interval], t: int, length: int) -> int:
    for fs, fe in spans:
        if t < fe and fs < t + length:
            t = max(t, fe)
    return t


class FreezePlan(TimeKind[Freeze]):
    kind = Freeze

    def __init__(self, rule: Freeze) -> None:
        super().__init__(rule)
        self.spans: dict[int, list[Interval]] = {}  # wave -> the freeze in each zone of the VMs it selects
        self.keys = ZoneKeys(rule)
        self._in_zone: dict[str, Interval] = {}

    def _span(self, tz: dt.tzinfo) -> Interval:
        key = str(tz)
        if key not in self._in_zone:
            self._in_zone[key] = freeze_interval(self.rule, tz)
        return self._in_zone[key]

    def prepare(self, waves: Sequence[WaveFacts], facts: FleetFacts) -> None:
        for w in waves:
            zones = {str(tz): tz for vm, exts in w.vms if (tz := self.keys.zone(facts, vm, exts)) is not None}
            self.spans[w.index] = sorted({self._span(tz) for tz in zones.values()})

    def earliest(self, wave: int, t: int, length: int, ends: Sequence[int]) -> int | None:
        return _after(self.spans.get(wave, ()), t, length)

    def part_earliest(self, facts: FleetFacts, vms: Sequence[tuple[VM, list[Extension]]], wave: int, t: int,
                      length: int, ends: Sequence[int]) -> int | None:
        zones = {str(tz): tz for vm, exts in vms if (tz := self.keys.zone(facts, vm, exts)) is not None}
        return _after(sorted({self._span(tz) for tz in zones.values()}), t, length)

    def vm_earliest(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension], t: int, length: int) -> int | None:
        tz = self.keys.zone(facts, vm, exts)
        return t if tz is None else _after([self._span(tz)], t, length)

    def vm_key(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> object:
        tz = self.keys.zone(facts, vm, exts)
        return None if tz is None else str(tz)

    def reason(self, blocker: int | None) -> str:
        return f"freeze {self.rule.name} ends"

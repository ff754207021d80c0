"""``never from DATE to DATE [in ZONE] [where P]`` (Freeze) in the calendar: a wave holding VMs the rule selects that
would overlap the freeze starts when the freeze ends."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.policy import Freeze
from engine.model.calendar import freeze_interval
from engine.model.fleet import VM, Extension
from engine.plan.kinds.timing import TimeKind, WaveFacts, selected, vm_zone, zone_key
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

    def prepare(self, waves: Sequence[WaveFacts], facts: FleetFacts) -> None:
        for w in waves:
            found = {freeze_interval(self.rule, vm_zone(self.rule, vm)) for vm, exts in w.vms
                     if selected(facts, self.rule.where, vm, exts)}
            self.spans[w.index] = sorted(found)

    def earliest(self, wave: int, t: int, length: int, ends: Sequence[int]) -> int | None:
        return _after(self.spans.get(wave, ()), t, length)

    def vm_earliest(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension], t: int, length: int) -> int | None:
        if not selected(facts, self.rule.where, vm, exts):
            return t
        return _after([freeze_interval(self.rule, vm_zone(self.rule, vm))], t, length)

    def vm_key(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> object:
        return zone_key(facts, self.rule, vm, exts)

    def reason(self, blocker: int | None) -> str:
        return f"freeze {self.rule.name} ends"

"""What changed against a previous schedule: waves, VMs moved between waves, regions re-phased; per region, never
per VM (the page lists counts).  A VM's wave is the first wave holding one of its tasks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from engine.model.schedule import Schedule

# Region of a VM the current fleet does not have (it left the fleet since the previous schedule).
GONE = "(no longer in the fleet)"


@dataclass(frozen=True)
class RegionChange:
    region: str
    old_phase: int | None
    new_phase: int | None
    old_waves: tuple[int, int] | None
    new_waves: tuple[int, int] | None
    earlier: int
    later: int
    added: int
    removed: int

    @property
    def rephased(self) -> bool:
        return self.old_phase != self.new_phase


@dataclass(frozen=True)
class Changes:
    old_waves: int
    new_waves: int
    old_lower_bound: int
    new_lower_bound: int
    old_optimal: bool
    new_optimal: bool
    old_tasks: int
    new_tasks: int
    regions: tuple[RegionChange, ...]  # only the regions where something changed

    def total(self, what: str) -> int:
        return sum(int(getattr(r, what)) for r in self.regions)

    @property
    def unchanged(self) -> bool:
        return not self.regions and self.old_waves == self.new_waves and self.old_tasks == self.new_tasks


def region_phases(schedule: Schedule) -> dict[str, int]:
    return {r: ph.index for ph in schedule.phases for r in ph.regions}


def changes(old: Schedule, new: Schedule, vm_region: Mapping[str, str]) -> Changes:
    old_wave, new_wave = old.wave_of_vm(), new.wave_of_vm()
    moves: dict[str, Counter[str]] = {}
    for vm in sorted(old_wave.keys() | new_wave.keys()):
        a, b = old_wave.get(vm), new_wave.get(vm)
        what = ("added" if a is None else "removed" if b is None else
                "earlier" if b < a else "later" if b > a else None)
        if what is not None:
            moves.setdefault(vm_region.get(vm, GONE), Counter())[what] += 1
    old_ph, new_ph = region_phases(old), region_phases(new)
    old_span, new_span = _spans(old, vm_region), _spans(new, vm_region)
    regions = []
    for region in sorted(moves.keys() | old_ph.keys() | new_ph.keys()):
        m = moves.get(region, Counter())
        rc = RegionChange(region, old_ph.get(region), new_ph.get(region), old_span.get(region),
                          new_span.get(region), m["earlier"], m["later"], m["added"], m["removed"])
        if m or rc.rephased or rc.old_waves != rc.new_waves:
            regions.append(rc)
    return Changes(len(old.waves), len(new.waves), old.lower_bound, new.lower_bound, old.optimal, new.optimal,
                   sum(len(w.tasks) for w in old.waves), sum(len(w.tasks) for w in new.waves), tuple(regions))


def _spans(schedule: Schedule, vm_region: Mapping[str, str]) -> dict[str, tuple[int, int]]:
    """The first and last wave holding each region's tasks."""
    out: dict[str, tuple[int, int]] = {}
    for w in schedule.waves:
        for region in {vm_region.get(t.vm, GONE) for t in w.tasks}:
            first, last = out.get(region, (w.index, w.index))
            out[region] = (min(first, w.index), max(last, w.index))
    return out

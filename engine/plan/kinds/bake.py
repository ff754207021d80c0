"""``bake D after each phase|wave`` and ``bake D after the first wave|zone of each region`` (Bake) in the calendar:
a wave that must wait starts at least ``D`` after the planned end of every wave it waits for."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

from dsl.policy import Bake
from engine.plan.kinds.timing import TimeKind, WaveFacts
from engine.plan.reading import FleetFacts


class BakePlan(TimeKind[Bake]):
    kind = Bake

    def __init__(self, rule: Bake) -> None:
        super().__init__(rule)
        self.waits: dict[int, set[int]] = defaultdict(set)  # wave -> the earlier waves it waits for

    def prepare(self, waves: Sequence[WaveFacts], facts: FleetFacts) -> None:
        after = self.rule.after
        if after == "wave":
            for later in waves[1:]:
                self.waits[later.index].add(later.index - 1)
        elif after == "phase":
            by_phase: dict[int, list[int]] = defaultdict(list)
            for facts_ in waves:
                by_phase[facts_.phase].append(facts_.index)
            phases = sorted(by_phase)
            for prev, cur in itertools.pairwise(phases):
                for w in by_phase[cur]:
                    self.waits[w].update(by_phase[prev])
        else:
            self._regions(waves, after == "first_zone")

    def _regions(self, waves: Sequence[WaveFacts], by_zone: bool) -> None:
        zones: dict[str, dict[int, set[str | None]]] = defaultdict(lambda: defaultdict(set))
        for wave in waves:
            for vm, _ in wave.vms:
                zones[vm.region][wave.index].add(vm.zone)
        for region in sorted(zones):
            per_wave = zones[region]
            first = min(per_wave)
            for w in sorted(per_wave):
                if w == first:
                    continue
                if not by_zone:
                    self.waits[w].add(first)
                elif per_wave[w] - per_wave[first]:
                    self.waits[w].update(v for v in per_wave if v < w and per_wave[v] & per_wave[first])

    def earliest(self, wave: int, t: int, length: int, ends: Sequence[int]) -> int | None:
        waited = self.waits.get(wave)
        if not waited:
            return t
        return max(t, max(ends[v] for v in waited) + self.rule.duration.seconds)

    def blocker(self, wave: int, ends: Sequence[int]) -> int | None:
        waited = self.waits.get(wave)
        return max(waited, key=lambda v: (ends[v], v)) if waited else None

    def reason(self, blocker: int | None) -> str:
        return f"wave {blocker} has baked {self.rule.duration} (bake {self.rule.name})"

"""What the two separation kinds share at run time: two regions kept apart never upgrade in one executed wave (or
one phase).  Each rule keeps the regions it has seen per unit of its own (phases for the run, waves for the current
executed wave only)."""

from __future__ import annotations

from abc import abstractmethod
from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

from dsl.policy import SeparatePairs, SeparateRegions
from engine.run.monitors.base import KindMonitor, RunContext, Scheduled, breach, where_text

S = TypeVar("S", bound=SeparatePairs | SeparateRegions)


class SeparationMonitor(KindMonitor[S]):
    def __init__(self, items: Sequence[S], run: RunContext) -> None:
        super().__init__(items, run)
        self._phase_regions: dict[tuple[int, int], set[str]] = defaultdict(set)
        self._wave_regions: dict[tuple[int, int], set[str]] = defaultdict(set)

    @abstractmethod
    def apart(self, rule: S, a: str, b: str) -> bool:
        """Must regions ``a`` and ``b`` (different) stay in different units under ``rule``?"""

    def new_wave(self) -> None:
        self._wave_regions.clear()

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        regions_of = self.index.regions
        first = regions_of[vms[0]]
        batch_regions = [first] if uniform or all(regions_of[v] == first for v in vms) else \
            sorted({regions_of[v] for v in vms})
        for i, rule in enumerate(self.items):
            unit, by_unit = (wave, self._wave_regions) if rule.within == "wave" else (phase, self._phase_regions)
            regions = by_unit[(i, unit)]
            for region in batch_regions:
                if region in regions:
                    continue
                for other in sorted(regions):
                    if self.apart(rule, region, other):
                        raise breach(f"regions {other} and {region} upgrade in the same {rule.within} "
                                     f"({rule.within} {unit}) (rule {rule.name}{where_text(rule)})")
                regions.add(region)

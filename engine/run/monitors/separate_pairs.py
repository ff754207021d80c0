"""``SeparatePairs`` at run time: geo-paired regions (either names the other as its pair) never upgrade in one
executed wave or phase."""

from __future__ import annotations

from dsl.policy import SeparatePairs
from engine.run.monitors.separation import SeparationMonitor


class SeparatePairsMonitor(SeparationMonitor[SeparatePairs]):
    kind = SeparatePairs

    def apart(self, rule: SeparatePairs, a: str, b: str) -> bool:
        return self.index.fleet.paired(a, b)

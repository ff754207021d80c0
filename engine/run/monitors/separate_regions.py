"""``SeparateRegions`` at run time: no two of the listed regions upgrade in one executed wave or phase."""

from __future__ import annotations

from dsl.policy import SeparateRegions
from engine.run.monitors.separation import SeparationMonitor


class SeparateRegionsMonitor(SeparationMonitor[SeparateRegions]):
    kind = SeparateRegions

    def apart(self, rule: SeparateRegions, a: str, b: str) -> bool:
        return a in rule.regions and b in rule.regions

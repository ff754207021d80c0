"""``regions "a", "b" never in one phase|wave``: every two listed regions are in different units."""

from __future__ import annotations

from dsl.policy import SeparateRegions
from engine.plan.kinds.separation import Separation


class SeparateRegionsPlan(Separation[SeparateRegions]):
    kind = SeparateRegions
    why = "listed apart"

    def pairs(self) -> list[tuple[str, str]]:
        listed = sorted(set(self.rule.regions))
        return [(a, b) for k, a in enumerate(listed) for b in listed[k + 1:]]

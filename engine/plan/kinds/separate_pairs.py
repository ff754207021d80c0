"""``geo-paired regions never in one phase|wave``: a region and its geo-pair (either way) never share a unit."""

from __future__ import annotations

from dsl.policy import SeparatePairs
from engine.plan.kinds.separation import Separation


class SeparatePairsPlan(Separation[SeparatePairs]):
    kind = SeparatePairs
    why = "geo-paired"

    def pairs(self) -> list[tuple[str, str]]:
        return list(self.layout.pairs)

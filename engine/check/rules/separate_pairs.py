"""``geo-paired regions never in one phase|wave``: a region and the region it names as its pair (either way) never
share a unit."""

from __future__ import annotations

from dsl.policy import SeparatePairs
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.rules.separation import separate


class SeparatePairsCheck(RuleCheck[SeparatePairs]):
    kind = SeparatePairs

    def check(self, rule: SeparatePairs, at: Placement) -> None:
        pairs = [(r.name, r.pair) for r in at.fleet.regions if r.pair is not None]
        separate(rule, at, pairs, "geo-paired")

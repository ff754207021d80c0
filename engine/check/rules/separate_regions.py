"""``regions "a", "b" never in one phase|wave``: every two listed regions are in different units."""

from __future__ import annotations

from dsl.policy import SeparateRegions
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.rules.separation import separate


class SeparateRegionsCheck(RuleCheck[SeparateRegions]):
    kind = SeparateRegions

    def check(self, rule: SeparateRegions, at: Placement) -> None:
        regs = list(rule.regions)
        separate(rule, at, [(a, b) for i, a in enumerate(regs) for b in regs[i + 1:]], "separated")

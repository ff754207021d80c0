"""``canary region "x" [alone] in the first phase``: the listed regions with tasks come first (with ``alone``, in
phases of their own before every other region).  A phase-only rule: in one region's model it says nothing."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.policy import Canary
from engine.model.fleet import VM, Extension
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import PhaseShape, PlanKind
from engine.plan.reading import FleetFacts


class CanaryPlan(PlanKind[Canary, None]):
    kind = Canary

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> None:
        return None

    def orders_phases(self) -> bool:
        return True

    def first_fit_ready(self) -> bool:
        return True

    def shape_phases(self, shape: PhaseShape) -> None:
        have = set(self.layout.regions)
        shape.canaries.append((frozenset(x for x in self.rule.regions if x in have), self.rule.alone))

    def encode(self, enc: Encoding) -> None:
        rule = self.rule
        canaries = sorted(r for r in set(rule.regions) if r in enc.regions)
        if not canaries or enc.mode == "region":
            return
        for c in canaries:
            for r in enc.regions:
                if r == c:
                    continue
                alone = rule.alone and r not in rule.regions
                expr = enc.rp[c] < enc.rp[r] if alone else enc.rp[c] <= enc.rp[r]
                facts = f"canary region {c} goes first" + (f", alone (not with {r})" if alone else "")
                enc.add(expr, rule.name, c, facts)

"""``canary region "x" [alone] in the first phase``: the listed regions with tasks are in phase 0 only; with ``alone``
no other region is in phase 0.  A listed region without tasks is in no phase: a note, not a violation."""

from __future__ import annotations

from dsl.policy import Canary
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.model.text import nums


class CanaryCheck(RuleCheck[Canary]):
    kind = Canary

    def check(self, rule: Canary, at: Placement) -> None:
        phases = at.region_units("phase")
        canaries = set(rule.regions)
        with_tasks = sorted(r for r in canaries if phases.get(r))
        for r in sorted(canaries - set(with_tasks)):
            at.note(rule.name, rule.span, f"canary region {r} has no tasks on this fleet; the rule cannot place it first")
        for r in with_tasks:
            late = sorted(p for p in phases[r] if p != 0)
            if late:
                at.add(rule.name, rule.span, f"canary region {r} is in phase {nums(late)}, not the first phase (0)",
                       phase=late[0], vms=at.region_vms(r, "phase", late))
        if rule.alone and with_tasks:
            for r in sorted(phases):
                if r not in canaries and 0 in phases[r]:
                    at.add(rule.name, rule.span, f"region {r} shares the first phase with canary region(s) "
                           f"{', '.join(with_tasks)}, which go alone", phase=0, vms=at.region_vms(r, "phase", [0]))

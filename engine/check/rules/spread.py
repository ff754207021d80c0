"""The soft ``spread`` preference: a group (keyed by ``by``) of two or more scheduled VMs should not sit wholly in one
wave.  A miss is a note with its cost, never a violation."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from dsl.policy import GROUP_KEY, Spread
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.semantics import sort_key

_VM_FIELDS = ("region", "zone", "scale_set", "availability_set", "update_domain", "fault_domain", "subscription", "name")


class SpreadCheck(RuleCheck[Spread]):
    kind = Spread

    def check(self, rule: Spread, at: Placement) -> None:
        groups: dict[tuple[Any, ...], list[tuple[str, list[int]]]] = defaultdict(list)
        for vm, waves in at.scheduled(rule.where, "wave"):
            parts: list[Any] = []
            for comp in rule.by:
                for f in GROUP_KEY.get(comp, (comp,)):
                    parts.append(vm.set_name if f == "set" else getattr(vm, f) if f in _VM_FIELDS else None)
            if any(p is None for p in parts):
                continue
            groups[tuple(parts)].append((vm.name, waves))
        for key in sorted(groups, key=sort_key):
            members = groups[key]
            used = {w for _, ws in members for w in ws}
            if len(members) >= 2 and len(used) == 1:
                w = next(iter(used))
                label = " / ".join(f"{c} {v}" for c, v in zip(rule.by, key, strict=False))
                at.note(rule.name, rule.span, f"all {len(members)} VMs of {label} are in wave {w} (cost {rule.weight})",
                        wave=w, vms=[n for n, _ in members])

"""``at most N waves|phases per SCOPE``: each group's scheduled VMs (matching the filter) use at most N units; with
``per fleet`` this bounds the schedule's length."""

from __future__ import annotations

from collections import defaultdict

from dsl.policy import UnitLimit
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.semantics import GroupKey, sort_key
from engine.model.scopes import group_label
from engine.model.text import nums


class UnitLimitCheck(RuleCheck[UnitLimit]):
    kind = UnitLimit
    scope_fields = ("per",)

    def check(self, rule: UnitLimit, at: Placement) -> None:
        units_of: dict[GroupKey, set[int]] = defaultdict(set)
        for vm, units in at.scheduled(rule.where, rule.unit):
            key = at.sem.group_key(rule.per, vm)
            if key is not None:
                units_of[key].update(units)
        for key in sorted(units_of, key=sort_key):
            used = sorted(units_of[key])
            if len(used) <= rule.limit:
                continue
            wave, phase = at.at(rule.unit, used[rule.limit])
            vms = [] if rule.per == "fleet" else self._vms_in(rule, at, key, set(used[rule.limit:]))
            at.add(rule.name, rule.span, f"{group_label(rule.per, key)} has VMs in {len(used)} {rule.unit}s "
                   f"({nums(used)}), limit {rule.limit}", wave=wave, phase=phase, vms=vms)

    @staticmethod
    def _vms_in(rule: UnitLimit, at: Placement, key: GroupKey, units: set[int]) -> list[str]:
        return [vm.name for vm, us in at.scheduled(rule.where, rule.unit)
                if at.sem.group_key(rule.per, vm) == key and units & set(us)]

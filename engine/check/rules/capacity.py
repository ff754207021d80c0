"""``at most N (or P%) of a SCOPE per wave|phase [where ...]``: per group and unit, the scheduled VMs are at most the
cap, a percentage being of the group's size (every VM of the group the filter counts, scheduled or not)."""

from __future__ import annotations

from dsl.policy import Capacity
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.semantics import sort_key
from engine.model.scopes import group_label
from engine.model.text import amount_text


class CapacityCheck(RuleCheck[Capacity]):
    kind = Capacity
    scope_fields = ("of",)

    def check(self, rule: Capacity, at: Placement) -> None:
        sizes = at.sizes(rule.of, rule.where)
        members = at.members_per_unit(rule.of, rule.where, rule.within)
        for (key, u), names in sorted(members.items(), key=lambda kv: (kv[0][1], sort_key(kv[0][0]))):
            size = sizes.get(key, 0)
            cap = rule.amount.of(size)
            if len(names) > cap:
                wave, phase = at.at(rule.within, u)
                at.add(rule.name, rule.span, f"{group_label(rule.of, key)} has {len(names)} VMs in {rule.within} {u}, "
                       f"cap {amount_text(rule.amount, size)} = {cap}", wave=wave, phase=phase, vms=names)

"""``never all of a SCOPE in one wave|phase``: a group of at least ``min_size`` VMs (those the filter counts) never
has all of them scheduled in one unit."""

from __future__ import annotations

from dsl.policy import NotWhole
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.semantics import sort_key
from engine.model.scopes import group_label


class NotWholeCheck(RuleCheck[NotWhole]):
    kind = NotWhole
    scope_fields = ("of",)

    def check(self, rule: NotWhole, at: Placement) -> None:
        sizes = at.sizes(rule.of, rule.where)
        members = at.members_per_unit(rule.of, rule.where, rule.within)
        for (key, u), names in sorted(members.items(), key=lambda kv: (kv[0][1], sort_key(kv[0][0]))):
            size = sizes.get(key, 0)
            if size >= rule.min_size and len(names) >= size:
                wave, phase = at.at(rule.within, u)
                at.add(rule.name, rule.span, f"all {size} VMs of {group_label(rule.of, key)} are in {rule.within} {u} "
                       f"(a group of {rule.min_size} or more never goes whole)", wave=wave, phase=phase, vms=names)

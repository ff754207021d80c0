"""``at most N COUNTs per SCOPE per wave|phase``: per group and unit, the scheduled VMs show at most N distinct values
of the counted scope (a null zone counts for nothing); ``count extension`` counts the extensions of the tasks."""

from __future__ import annotations

from collections import defaultdict

from dsl.policy import DistinctLimit
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.semantics import GroupKey, sort_key
from engine.model.scopes import group_label


def value_name(scope: str, key: GroupKey) -> str:
    """How one counted value reads in a message ("2" for zone 2, "none" for a null set)."""
    if scope == "zone":
        return str(key[1])
    if scope in ("update_domain", "fault_domain"):
        return "unknown" if key[1] is None else str(key[1])
    if not key:
        return "fleet"
    return "none" if key[0] is None else str(key[0])


class DistinctLimitCheck(RuleCheck[DistinctLimit]):
    kind = DistinctLimit
    scope_fields = ("per", "count")

    def check(self, rule: DistinctLimit, at: Placement) -> None:
        seen: dict[tuple[GroupKey, int], dict[GroupKey, list[str]]] = defaultdict(lambda: defaultdict(list))
        for vm, units in at.scheduled(rule.where, rule.within):
            key = at.sem.group_key(rule.per, vm)
            if key is None:
                continue
            if rule.count == "extension":
                for u, ext in at.task_units(vm, rule.where, rule.within):
                    seen[(key, u)][(ext.name,)].append(vm.name)
                continue
            value = at.sem.count_value(rule.count, vm)
            if value is not None:
                for u in units:
                    seen[(key, u)][value].append(vm.name)
        for (key, u), values in sorted(seen.items(), key=lambda kv: (kv[0][1], sort_key(kv[0][0]))):
            if len(values) <= rule.limit:
                continue
            shown = ", ".join(value_name(rule.count, v) for v in sorted(values, key=sort_key))
            wave, phase = at.at(rule.within, u)
            vms = [n for names in values.values() for n in names]
            at.add(rule.name, rule.span, f"{group_label(rule.per, key)} has VMs from {len(values)} "
                   f"{rule.count.replace('_', ' ')}s ({shown}) in {rule.within} {u}, limit {rule.limit}",
                   wave=wave, phase=phase, vms=vms)

"""The prover's one containment table (``engine.prove.containment``) against the checker's grouping
(``engine.check.semantics``) on generated fleets: every guarded "inside" is an inclusion, every "same" an equality,
and every attribute the table calls shared is one value across each group."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings

from engine.check.semantics import GroupKey, Semantics
from engine.model.fleet import VM, Fleet
from engine.prove.containment import IN_ONE_REGION, RELATION, SCOPES, SHARED, relation
from tests.strategies import fleets

CASES = settings(max_examples=300, deadline=None)
SHARED_PROBES = ("vm.region", "vm.zone", "vm.update_domain", "vm.fault_domain", "vm.subscription", "vm.single",
                 "scale_set.name", "scale_set.size", "scale_set.upgrade_mode", "availability_set.name",
                 "availability_set.size", "region.name", "region.zones", "region.paired", "region.geography")


def _present(sem: Semantics, vm: VM, attr: str) -> bool:
    """The guard's reading of one attribute: its presence (``vm.single``: its value; the set flags: membership)."""
    if attr == "vm.in_scale_set":
        return vm.scale_set is not None
    if attr == "vm.in_availability_set":
        return vm.availability_set is not None
    if attr == "vm.single":
        return vm.single
    return sem.attr(tuple(attr.split(".")), vm) is not None


def _groups(sem: Semantics, fleet: Fleet, scope: str) -> dict[GroupKey, list[VM]]:
    out: dict[GroupKey, list[VM]] = defaultdict(list)
    for vm in fleet.vms:
        key = sem.group_key(scope, vm)
        if key is not None:
            out[key].append(vm)
    return out


@CASES
@given(fleets(max_vms=10))
def test_the_containment_table_matches_the_checkers_grouping(fleet: Fleet) -> None:
    sem = Semantics(fleet)
    groups = {s: _groups(sem, fleet, s) for s in SCOPES}
    for (rule_scope, claim_scope), rel in RELATION.items():
        if not rel.inside:
            continue
        for members in groups[claim_scope].values():
            first = members[0]
            for clause in rel.guard:  # the guard is a fact of the group: every member reads it alike
                assert len({any(_present(sem, vm, a) for a in clause) for vm in members}) == 1
            if not all(any(_present(sem, first, a) for a in clause) for clause in rel.guard):
                continue
            keys = {sem.group_key(rule_scope, vm) for vm in members}
            assert len(keys) == 1 and None not in keys, (rule_scope, claim_scope, keys)
            if rel.same:
                (key,) = keys
                assert {v.name for v in groups[rule_scope][key]} == {v.name for v in members}, (
                    rule_scope, claim_scope)


@CASES
@given(fleets(max_vms=10))
def test_shared_attributes_are_one_value_per_group(fleet: Fleet) -> None:
    sem = Semantics(fleet)
    for scope in SCOPES:
        for members in _groups(sem, fleet, scope).values():
            for attr in SHARED_PROBES:
                if attr in SHARED[scope]:
                    assert len({repr(sem.attr(tuple(attr.split(".")), vm)) for vm in members}) == 1, (scope, attr)


def test_the_table_reads_the_fleet_format_facts() -> None:
    """Spot checks of what the derivation gives (the cases issue 10 found wrong when written by hand)."""
    assert relation("scale_set", "set").same and relation("scale_set", "set").guard == (("vm.in_scale_set",),)
    assert relation("scale_set", "update_domain").guard == (("vm.in_scale_set",),)
    assert not relation("scale_set", "availability_set").inside
    assert relation("set", "scale_set").same and not relation("set", "scale_set").guard
    assert relation("zone", "vm").guard == (("vm.zone",),)
    assert not relation("zone", "region").inside and relation("region", "zone").inside
    assert relation("geography", "region").guard == (("region.geography",),)
    assert "subscription" not in IN_ONE_REGION and "update_domain" in IN_ONE_REGION

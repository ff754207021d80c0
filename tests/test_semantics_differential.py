"""Every stage's reading of the language, compared with the normative one (``engine.check.semantics``) on generated
filters, VMs (nulls, tags, sets, domains, geographies) and extensions.  A disagreement found here is a drift: the
stage, not the checker, is fixed (the checker's reading is the specification)."""

from __future__ import annotations

import time

import z3
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import SPAN, fleets, predicates, rules

from dsl.policy import GROUP_KEY, Capacity, DistinctLimit, HasTag, Policy, Predicate, Rule
from engine.check.semantics import Semantics, as_number
from engine.model.fleet import VM, Fleet
from engine.model.solver import Result, Sat, Unsat, solve
from engine.prove.symbolic import AttrVals, Interner, atoms, attr_type, eval_pred, predicate_strings
from engine.run.monitors import Monitor
from engine.run.reading import RunReading, key_getter, value_getter

CASES = settings(max_examples=300, deadline=None)


@CASES
@given(fleets(), predicates())
def test_the_monitors_read_filters_as_the_checker_does(fleet: Fleet, pred: Predicate) -> None:
    sem, run = Semantics(fleet), RunReading(fleet)
    for vm in fleet.vms:
        assert run.matches_for_size(pred, vm) == sem.matches_for_size(pred, vm), (pred, vm.name)
        assert run.matches_scheduled(pred, vm, vm.extensions) == sem.matches_scheduled(pred, vm, vm.extensions)
        for ext in (None, *vm.extensions):
            assert run.holds(pred, vm, ext) == sem.holds(pred, vm, ext), (pred, vm.name, ext)


@CASES
@given(fleets(), st.data())
def test_the_monitors_read_attributes_as_the_checker_does(fleet: Fleet, data: st.DataObject) -> None:
    from strategies import BOOL_ATTRS, INT_ATTRS, STRING_ATTRS

    sem, run = Semantics(fleet), RunReading(fleet)
    for key in (*STRING_ATTRS, *INT_ATTRS, *BOOL_ATTRS, "vm.tags.env"):
        path = tuple(key.split("."))
        for vm in fleet.vms:
            for ext in (None, *vm.extensions):
                assert run.value(path, vm, ext) == sem.attr(path, vm, ext), (key, vm.name)


@CASES
@given(fleets())
def test_the_run_stage_reads_group_keys_and_counted_values_as_the_checker_does(fleet: Fleet) -> None:
    sem = Semantics(fleet)
    for scope in GROUP_KEY:
        get, count = key_getter(scope, fleet), value_getter(scope, fleet)
        for vm in fleet.vms:
            assert get(vm) == sem.group_key(scope, vm), (scope, vm.name)
            assert count(vm) == sem.count_value(scope, vm), (scope, vm.name)


@CASES
@given(fleets(), st.lists(rules(), min_size=1, max_size=4))
def test_the_monitors_index_the_fleet_as_the_checker_reads_it(fleet: Fleet, drawn: list[Rule]) -> None:
    """Keys, members, counted values and capacity sizes of the monitors' index, against the checker's reading."""
    kept = tuple(r for r in drawn if isinstance(r, Capacity | DistinctLimit))
    monitor = Monitor(Policy("p", SPAN, ("<generated>",), rules=kept), fleet, lambda scope, key, names, t: 0)
    sem = Semantics(fleet)
    index = monitor.index
    for scope in GROUP_KEY:
        assert index.keys_of(scope) == [sem.group_key(scope, vm) for vm in fleet.vms], scope
        members: dict[object, list[str]] = {}
        for vm in fleet.vms:
            if (k := sem.group_key(scope, vm)) is not None:
                members.setdefault(k, []).append(vm.name)
        assert {k: index.members(scope, k) for k in members} == members, scope
    distinct = monitor.monitor_of(DistinctLimit)
    for d in distinct.items if distinct is not None else ():
        ids, truth = index.values_of(d.count), [sem.count_value(d.count, vm) for vm in fleet.vms]
        for i in range(len(truth)):
            assert (ids[i] is None) == (truth[i] is None), d.count
            assert all((ids[i] == ids[j]) == (truth[i] == truth[j]) for j in range(len(truth))), d.count
    capacity = monitor.monitor_of(Capacity)
    if capacity is not None:
        for i, c in enumerate(capacity.items):
            assert dict(capacity.sizes(i)) == sem.sizes(c.of, c.where), (c.of, c.where)
# ----------------------------------------------------------------------------------------------------------------
# The planner (engine.plan.reading) against the checker
# ----------------------------------------------------------------------------------------------------------------
# The prover: a filter's encoded truth on one kind of VM whose attributes are pinned to a concrete VM's values


def _pinned(fleet: Fleet, vm: VM, pred: Predicate) -> tuple[z3.BoolRef, list[z3.BoolRef]]:
    """The prover's reading of ``pred`` on one kind of VM, with every attribute it reads pinned to ``vm``'s.

    Strings the filter names are the interner's constants; any other string of the VM gets a fresh id (one per
    distinct string), as it would in a proof; a string's numeric reading is pinned to the checker's."""
    sem = Semantics(fleet)
    strings = Interner(predicate_strings(pred))
    fresh: dict[str, int] = {}

    def string_id(v: str) -> int:
        if v in strings.ids:
            return strings.ids[v]
        return fresh.setdefault(v, len(strings.consts) + len(fresh))

    kv = AttrVals("k", None, (), strings)
    truth = eval_pred(pred, kv)
    pins: list[z3.BoolRef] = []
    done: set[str] = set()
    while set(kv.vals) - done:  # pinning may create attributes the pinned ones depend on
        for key in sorted(set(kv.vals) - done):
            done.add(key)
            val, present = kv.get(key)
            if key in ("vm.in_scale_set", "vm.in_availability_set"):
                pins.append(present == (getattr(vm, key[len("vm.in_"):]) is not None))
                continue
            concrete = sem.attr(tuple(key.split(".")), vm)
            pins.append(present == (concrete is not None))
            if concrete is None:
                continue
            if key == "vm.zone":
                pins.append(val == int(str(concrete)))
            elif attr_type(key) == "string":
                pins.append(val == string_id(str(concrete)))
                reading = kv.read_number(key)
                if reading is not None:
                    number = as_number(concrete)
                    pins.append(reading[0] == (number is not None))
                    if number is not None:
                        pins.append(reading[1] == z3.RealVal(number))
            else:
                pins.append(val == concrete)
    return truth, [*pins, *kv.all_side()]


def _over_approximated(pred: Predicate) -> bool:
    """The filter has an atom the prover reads as a free boolean on purpose: ``extension.*`` (a VM has several
    extensions, read per task) and orderings of two strings."""
    for a in atoms(pred):
        if isinstance(a, HasTag):
            continue
        key = ".".join(a.left.path)
        if key.startswith("extension."):
            return True
        if a.op in ("<", "<=", ">", ">=") and isinstance(a.right, str) and key != "vm.zone" and (
                attr_type(key) == "string"):
            return True
    return False


def _answer(assertions: list[z3.BoolRef]) -> Result:
    return solve(assertions, time.monotonic() + 30)


@CASES
@given(fleets(), predicates())
def test_the_planner_reads_filters_as_the_checker_does(fleet: Fleet, pred: Predicate) -> None:
    from engine.plan.reading import FleetFacts

    sem, facts = Semantics(fleet), FleetFacts(fleet)
    for vm in fleet.vms:
        assert facts.matches_for_size(pred, vm) == sem.matches_for_size(pred, vm), (pred, vm.name)
        for exts in (vm.extensions, vm.extensions[:1], vm.extensions[1:]):
            assert facts.matches_scheduled(pred, vm, exts) == sem.matches_scheduled(pred, vm, exts), (pred, vm.name)
        for ext in vm.extensions:
            assert facts.matches_task(pred, vm, ext) == sem.matches_task(pred, vm, ext), (pred, vm.name, ext.name)
        for ext in (None, *vm.extensions):
            assert facts.holds(pred, vm, ext) == sem.holds(pred, vm, ext), (pred, vm.name, ext)


@CASES
@given(fleets())
def test_the_planner_reads_attributes_and_group_keys_as_the_checker_does(fleet: Fleet) -> None:
    from strategies import BOOL_ATTRS, COUNTED, INT_ATTRS, SCOPES, STRING_ATTRS

    from dsl.policy import ALWAYS
    from engine.plan.reading import FleetFacts

    sem, facts = Semantics(fleet), FleetFacts(fleet)
    for key in (*STRING_ATTRS, *INT_ATTRS, *BOOL_ATTRS, "vm.tags.env", "vm.tags.ring"):
        path = tuple(key.split("."))
        for vm in fleet.vms:
            for ext in (None, *vm.extensions):
                assert facts.attr(path, vm, ext) == sem.attr(path, vm, ext), (key, vm.name)
    for vm in fleet.vms:
        for scope in SCOPES:
            assert facts.group_key(scope, vm) == sem.group_key(scope, vm), (scope, vm.name)
        for scope in COUNTED:
            if scope != "extension":
                assert facts.count_value(scope, vm) == sem.count_value(scope, vm), (scope, vm.name)
    for scope in SCOPES:
        assert facts.sizes(scope, ALWAYS) == sem.sizes(scope, ALWAYS), scope


@CASES
@given(fleets(), predicates(3), st.sampled_from(["fleet", "region", "scale_set", "set", "update_domain",
                                                 "subscription", "geography"]))
def test_the_planner_sizes_groups_as_the_checker_does(fleet: Fleet, pred: Predicate, scope: str) -> None:
    from engine.plan.reading import FleetFacts

    assert FleetFacts(fleet).sizes(scope, pred) == Semantics(fleet).sizes(scope, pred)


@CASES
@given(fleets(), predicates())
def test_the_prover_reads_filters_as_the_checker_does(fleet: Fleet, pred: Predicate) -> None:
    sem = Semantics(fleet)
    for vm in fleet.vms:
        truth, facts = _pinned(fleet, vm, pred)
        assert isinstance(_answer(facts), Sat), ("the prover cannot represent this VM", vm.name)
        if _over_approximated(pred):
            for ext in (None, *vm.extensions):
                expected = sem.holds(pred, vm, ext)
                assert isinstance(_answer([*facts, truth == expected]), Sat), (pred, vm.name, ext, expected)
        else:
            expected = sem.holds(pred, vm)
            assert isinstance(_answer([*facts, truth != expected]), Unsat), (pred, vm.name, expected)

"""Every stage's reading of the language, compared with the normative one (``engine.check.semantics``) on generated
filters, VMs (nulls, tags, sets, domains, geographies) and extensions.  A disagreement found here is a drift: the
stage, not the checker, is fixed (the checker's reading is the specification)."""

from __future__ import annotations

import time

import z3
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import fleets, predicates

from dsl.policy import HasTag, Predicate
from engine.check.semantics import Semantics, as_number
from engine.model.fleet import VM, Fleet
from engine.model.solver import Result, Sat, Unsat, solve
from engine.prove.symbolic import AttrVals, Interner, atoms, attr_type, eval_pred, predicate_strings
from engine.run.reading import RunReading

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

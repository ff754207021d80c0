"""Every stage's reading of the language, compared with the normative one (``engine.check.semantics``) on generated
filters, VMs (nulls, tags, sets, domains, geographies) and extensions.  A disagreement found here is a drift: the
stage, not the checker, is fixed (the checker's reading is the specification)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import fleets, predicates

from dsl.policy import Predicate
from engine.check.semantics import Semantics
from engine.model.fleet import Fleet
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

"""The run stage's own reading of the semantics, for the executor and its runtime monitors: ``where`` filters, and
each VM's group key and counted value per scope (:func:`key_getter`, :func:`value_getter`).

Written apart from the checker's (the normative semantics, ``engine.check``) and the planner's readings on purpose:
a monitor that shared the checker's code could not catch a bug in it.  ``tests/test_semantics_differential.py``
compares this reading with the checker's on generated predicates, VMs, nulls, tags and extensions.

The reading (as the checker's): a comparison with a null attribute is false, except ``!=`` and ``not in``; numbers
compare as numbers (strings that parse as numbers too, unless both sides are strings), strings as strings, booleans
only with booleans; a filter that reads ``extension.*`` holds for a scheduled VM when it holds for one of the
extensions being upgraded, and counts the VM in a group's size when it holds for one of its installed extensions.
Group keys: a null key part puts the VM in no group, except ``fleet`` (one group) and update/fault domains (keyed
within the set; a null domain is a group of its own); a VM's geography is its region's (``Fleet.geography_by_region``).
Counted values: a null zone counts for nothing, any other null is a value of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from fractions import Fraction
from operator import attrgetter
from typing import Any

from dsl.policy import GROUP_KEY, And, Compare, HasTag, Not, Or, Predicate, TrueP, Value
from engine.model.fleet import VM, Extension, Fleet

Getter = Callable[[VM, Extension | None], Value | None]
GroupKey = tuple[Any, ...]
KeyGetter = Callable[[VM], GroupKey | None]


def key_getter(scope: str, fleet: Fleet) -> KeyGetter:
    """Each VM's group key in ``scope`` (None: in no group of it) as a fast function (attrgetter in C); the
    differential tests compare it with the checker's ``Semantics.group_key``."""
    if scope == "fleet":
        return lambda vm: ()
    if scope == "geography":
        geography = fleet.geography_by_region
        return lambda vm: None if (g := geography.get(vm.region)) is None else (g,)
    fields = [("set_name" if f == "set" else f) for f in GROUP_KEY[scope]]
    get = attrgetter(*fields)
    if len(fields) == 1:
        return lambda vm: None if (v := get(vm)) is None else (v,)
    if scope in ("update_domain", "fault_domain"):
        return lambda vm: t if (t := get(vm))[0] is not None else None  # a null domain is a group of its own
    return lambda vm: None if None in (t := get(vm)) else t


def value_getter(scope: str, fleet: Fleet) -> KeyGetter:
    """The value a VM shows when a rule counts distinct values of ``scope`` (the checker's ``count_value``): a null
    zone does not count, other nulls are a value."""
    if scope == "fleet":
        return lambda vm: ()
    if scope == "geography":
        geography = fleet.geography_by_region
        return lambda vm: (geography.get(vm.region),)
    fields = [("set_name" if f == "set" else f) for f in GROUP_KEY[scope]]
    get = attrgetter(*fields)
    if len(fields) == 1:
        return lambda vm: (get(vm),)
    if scope == "zone":
        return lambda vm: None if vm.zone is None else get(vm)
    return get


class RunReading:
    """Evaluates filters over the VMs of one fleet (set sizes, region facts and pairs read once)."""

    def __init__(self, fleet: Fleet) -> None:
        sizes = fleet.set_sizes
        zones = {r.name: r.zones for r in fleet.regions}
        modes = {s.name: s.upgrade_mode for s in fleet.scale_sets}
        geography = fleet.geography_by_region
        paired = {r.name for r in fleet.regions if r.pair is not None} | {r.pair for r in fleet.regions if r.pair}

        def in_ss(f: Callable[[VM], Value | None]) -> Getter:
            return lambda vm, _e: None if vm.scale_set is None else f(vm)

        def in_as(f: Callable[[VM], Value | None]) -> Getter:
            return lambda vm, _e: None if vm.availability_set is None else f(vm)

        def ext(field: str) -> Getter:
            return lambda _vm, e: None if e is None else getattr(e, field)

        self._getters: dict[str, Getter] = {
            "vm.name": lambda vm, _e: vm.name,
            "vm.region": lambda vm, _e: vm.region,
            "vm.zone": lambda vm, _e: vm.zone,
            "vm.subscription": lambda vm, _e: vm.subscription,
            "vm.healthy": lambda vm, _e: vm.healthy,
            "vm.single": lambda vm, _e: vm.scale_set is None and vm.availability_set is None,
            "vm.update_domain": lambda vm, _e: vm.update_domain,
            "vm.fault_domain": lambda vm, _e: vm.fault_domain,
            "scale_set.name": in_ss(lambda vm: vm.scale_set),
            "scale_set.size": in_ss(lambda vm: sizes.get(vm.scale_set or "", 0)),
            "scale_set.upgrade_mode": in_ss(lambda vm: modes.get(vm.scale_set or "")),
            "availability_set.name": in_as(lambda vm: vm.availability_set),
            "availability_set.size": in_as(lambda vm: sizes.get(vm.availability_set or "", 0)),
            "region.name": lambda vm, _e: vm.region,
            "region.zones": lambda vm, _e: zones.get(vm.region),
            "region.paired": lambda vm, _e: vm.region in paired,
            "region.geography": lambda vm, _e: geography.get(vm.region),
            "extension.name": ext("name"),
            "extension.publisher": ext("publisher"),
            "extension.type": ext("type"),
        }

    def value(self, path: tuple[str, ...], vm: VM, ext: Extension | None) -> Value | None:
        if path[:2] == ("vm", "tags"):
            return vm.tags.get(path[2]) if len(path) == 3 else None
        getter = self._getters.get(".".join(path))
        return None if getter is None else getter(vm, ext)

    def holds(self, pred: Predicate, vm: VM, ext: Extension | None = None) -> bool:
        if isinstance(pred, TrueP):
            return True
        if isinstance(pred, HasTag):
            return pred.key in vm.tags
        if isinstance(pred, Not):
            return not self.holds(pred.item, vm, ext)
        if isinstance(pred, And):
            return all(self.holds(p, vm, ext) for p in pred.items)
        if isinstance(pred, Or):
            return any(self.holds(p, vm, ext) for p in pred.items)
        if isinstance(pred, Compare):
            return _compare(pred.op, self.value(pred.left.path, vm, ext), pred.right)
        raise TypeError(f"unknown predicate {pred!r}")

    def matches_scheduled(self, pred: Predicate, vm: VM, upgrading: Sequence[Extension]) -> bool:
        if not _reads_extension(pred):
            return self.holds(pred, vm)
        return any(self.holds(pred, vm, e) for e in upgrading)

    def matches_for_size(self, pred: Predicate, vm: VM) -> bool:
        if not _reads_extension(pred):
            return self.holds(pred, vm)
        return any(self.holds(pred, vm, e) for e in vm.extensions) if vm.extensions else self.holds(pred, vm, None)


def _reads_extension(pred: Predicate) -> bool:
    if isinstance(pred, Compare):
        return pred.left.path[0] == "extension"
    if isinstance(pred, Not):
        return _reads_extension(pred.item)
    if isinstance(pred, And | Or):
        return any(_reads_extension(p) for p in pred.items)
    return False


def _as_number(v: object) -> Fraction | None:
    if isinstance(v, bool) or not isinstance(v, int | Fraction | str):
        return None
    try:
        return Fraction(v.strip()) if isinstance(v, str) else Fraction(v)
    except (ValueError, ZeroDivisionError):
        return None


def _equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is bool and type(b) is bool and a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    na, nb = _as_number(a), _as_number(b)
    return na == nb if na is not None and nb is not None else a == b


def _compare(op: str, left: Value | None, right: Value) -> bool:
    if op in ("in", "not in"):
        options = right if isinstance(right, tuple) else (right,)
        found = left is not None and any(_equal(left, r) for r in options)
        return found == (op == "in")
    if left is None:
        return op == "!="
    if op in ("==", "!="):
        return _equal(left, right) == (op == "==")
    if isinstance(left, str) and isinstance(right, str):
        a: object = left
        b: object = right
    else:
        a, b = _as_number(left), _as_number(right)
        if a is None or b is None:
            return False
    order = {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}  # type: ignore[operator]
    return order[op]

"""The normative semantics of the policy language on a fleet: the reading every other stage is tested against.

What an attribute of a VM is, whether a ``where`` filter holds, which group of a scope a VM belongs to, which value it
shows when a rule counts distinct values, and how big a group is.  Plain code on purpose: the planner
(``engine.plan.groups``), the runtime monitors (``engine.run.reading``) and the prover (``engine.prove.symbolic``) keep
readings of their own, and ``tests/test_semantics_differential.py`` compares each with this one on generated cases.

The readings (docs/language.md):

* A comparison with a null attribute is false, except ``!=`` and ``not in``, which are true.
* ``==`` and ``in``: booleans equal only booleans; two strings compare as strings; otherwise both sides compare as
  numbers when both read as numbers (a string such as "3" reads as 3), else as plain values.
* Orderings (``<`` ...): two strings compare as strings; otherwise as numbers when both read as numbers; else false.
* A filter that mentions ``extension.*`` is read per task: it holds for a scheduled VM in the waves of its tasks
  whose extension matches; a VM counts in a group's size when one of its installed extensions matches (or, with no
  extensions, when the filter holds with every ``extension.*`` attribute null).
* Group keys (``dsl.policy.GROUP_KEY``): a VM with a null key part is in no group of that scope, except ``fleet``
  (one group) and update/fault domains, which are keyed within the VM's set (a null domain is a group of its own;
  a VM in no set is in no domain group).
* A VM's ``geography`` is its region's: the fleet's region entry, else the bundled Azure region table, else null.
* Counting distinct values: a null zone counts for nothing (regional VMs are in no zone); any other null is a value
  of its own (an unknown domain).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from dsl.policy import GROUP_KEY, And, Compare, HasTag, Not, Or, Predicate, TrueP, Value
from engine.model.fleet import VM, Extension, Fleet

GroupKey = tuple[Any, ...]


class Semantics:
    """The facts of one fleet that filters and group keys read, computed once."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.regions = fleet.region_by_name
        self.scale_sets = fleet.scale_set_by_name
        self.set_sizes = fleet.set_sizes
        self.paired: set[str] = set()
        for r in fleet.regions:
            if r.pair is not None:
                self.paired.add(r.name)
                self.paired.add(r.pair)

    # -- attributes --------------------------------------------------------------------------------------------

    def attr(self, path: tuple[str, ...], vm: VM, ext: Extension | None = None) -> Value | None:
        """The value of an attribute path for a VM (and, for ``extension.*``, one of its extensions); None = null."""
        head = path[0]
        name = path[1] if len(path) > 1 else ""
        if head == "vm":
            return self._vm_attr(path, vm)
        if head == "scale_set":
            return self._scale_set_attr(name, vm)
        if head == "availability_set":
            return self._availability_set_attr(name, vm)
        if head == "region":
            return self._region_attr(name, vm)
        if head == "extension":
            if ext is None or name not in ("name", "publisher", "type"):
                return None
            value: str = getattr(ext, name)
            return value
        return None

    def _vm_attr(self, path: tuple[str, ...], vm: VM) -> Value | None:
        name = path[1] if len(path) > 1 else ""
        if name == "tags":
            return vm.tags.get(path[2]) if len(path) > 2 else None
        if name == "single":
            return vm.single
        if name in ("name", "region", "zone", "subscription", "healthy", "update_domain", "fault_domain"):
            value: Value | None = getattr(vm, name)
            return value
        return None

    def _scale_set_attr(self, name: str, vm: VM) -> Value | None:
        if vm.scale_set is None:
            return None
        if name == "name":
            return vm.scale_set
        if name == "size":
            return self.set_sizes.get(vm.scale_set, 0)
        if name == "upgrade_mode":
            s = self.scale_sets.get(vm.scale_set)
            return s.upgrade_mode if s is not None else None
        return None

    def _availability_set_attr(self, name: str, vm: VM) -> Value | None:
        if vm.availability_set is None:
            return None
        if name == "name":
            return vm.availability_set
        if name == "size":
            return self.set_sizes.get(vm.availability_set, 0)
        return None

    def _region_attr(self, name: str, vm: VM) -> Value | None:
        if name == "name":
            return vm.region
        if name == "zones":
            r = self.regions.get(vm.region)
            return r.zones if r is not None else None
        if name == "paired":
            return vm.region in self.paired
        if name == "geography":
            return self.fleet.geography_by_region.get(vm.region)
        return None

    # -- filters -----------------------------------------------------------------------------------------------

    def holds(self, pred: Predicate, vm: VM, ext: Extension | None = None) -> bool:
        """Does the filter hold for the VM (with ``ext`` as the extension that ``extension.*`` reads)?"""
        if isinstance(pred, TrueP):
            return True
        if isinstance(pred, Compare):
            return compare(pred.op, self.attr(pred.left.path, vm, ext), pred.right)
        if isinstance(pred, HasTag):
            return pred.key in vm.tags
        if isinstance(pred, Not):
            return not self.holds(pred.item, vm, ext)
        if isinstance(pred, And):
            return all(self.holds(p, vm, ext) for p in pred.items)
        if isinstance(pred, Or):
            return any(self.holds(p, vm, ext) for p in pred.items)
        raise TypeError(f"unknown predicate {pred!r}")

    def matches_for_size(self, pred: Predicate, vm: VM) -> bool:
        """Does the VM count in its group's size under this filter?"""
        if not uses_extension(pred):
            return self.holds(pred, vm)
        if not vm.extensions:
            return self.holds(pred, vm, None)
        return any(self.holds(pred, vm, e) for e in vm.extensions)

    def matches_task(self, pred: Predicate, vm: VM, ext: Extension | None) -> bool:
        """Does the filter select this task (the VM's upgrade of ``ext``)?"""
        return self.holds(pred, vm, ext) if uses_extension(pred) else self.holds(pred, vm)

    def matches_scheduled(self, pred: Predicate, vm: VM, task_exts: Sequence[Extension]) -> bool:
        """Does the filter select the VM in a wave holding the tasks of ``task_exts``?"""
        return any(self.matches_task(pred, vm, e) for e in task_exts) if uses_extension(pred) else self.holds(pred, vm)

    # -- groups ------------------------------------------------------------------------------------------------

    def group_key(self, scope: str, vm: VM) -> GroupKey | None:
        """The VM's group of ``scope``, or None when the VM is in no group of that scope."""
        if scope == "fleet":
            return ()
        values = tuple(self._field(vm, part) for part in GROUP_KEY[scope])
        if scope in ("update_domain", "fault_domain"):
            return values if values[0] is not None else None
        return None if any(v is None for v in values) else values

    def count_value(self, scope: str, vm: VM) -> GroupKey | None:
        """The value a VM shows when a rule counts distinct values of ``scope``; None counts for nothing."""
        if scope == "fleet":
            return ()
        if scope == "zone" and vm.zone is None:
            return None
        return tuple(self._field(vm, part) for part in GROUP_KEY[scope])

    def _field(self, vm: VM, part: str) -> Any:
        if part == "set":
            return vm.set_name
        if part == "geography":
            return self.fleet.geography_by_region.get(vm.region)
        return getattr(vm, part)

    def sizes(self, scope: str, where: Predicate) -> dict[GroupKey, int]:
        """Every group of ``scope`` with the number of its VMs (scheduled or not) that count under ``where``."""
        out: dict[GroupKey, int] = {}
        for vm in self.fleet.vms:
            if not self.matches_for_size(where, vm):
                continue
            key = self.group_key(scope, vm)
            if key is not None:
                out[key] = out.get(key, 0) + 1
        return out


def uses_extension(pred: Predicate) -> bool:
    """Does the filter read an ``extension.*`` attribute (so it is read per task)?"""
    if isinstance(pred, Compare):
        return pred.left.path[:1] == ("extension",)
    if isinstance(pred, Not):
        return uses_extension(pred.item)
    if isinstance(pred, And | Or):
        return any(uses_extension(p) for p in pred.items)
    return False


def as_number(v: object) -> Fraction | None:
    """A value read as a number: ints, fractions and numeric strings; None for booleans and anything else."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | Fraction):
        return Fraction(v)
    if isinstance(v, str):
        try:
            return Fraction(v.strip())
        except (ValueError, ZeroDivisionError):
            return None
    return None


def equal(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    na, nb = as_number(a), as_number(b)
    if na is not None and nb is not None:
        return na == nb
    return a == b


def compare(op: str, left: Value | None, right: Value) -> bool:
    """``left op right`` for a comparison in a filter (``right`` is a tuple for ``in`` / ``not in``)."""
    if op in ("in", "not in"):
        items = right if isinstance(right, tuple) else (right,)
        hit = left is not None and any(equal(left, r) for r in items)
        return hit if op == "in" else not hit
    if left is None:
        return op == "!="
    if op == "==":
        return equal(left, right)
    if op == "!=":
        return not equal(left, right)
    a: Any
    b: Any
    if isinstance(left, str) and isinstance(right, str):
        a, b = left, right
    else:
        a, b = as_number(left), as_number(right)
        if a is None or b is None:
            return False
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    raise ValueError(f"unknown comparison {op}")


def sort_key(key: GroupKey) -> tuple[tuple[int, Any], ...]:
    """Group keys mix None, booleans, ints and strings: rank by type first so sorting never compares across types;
    None ranks last.  Every stage sorts groups with this one key, so their messages list groups in one order."""
    out: list[tuple[int, Any]] = []
    for v in key:
        if v is None:
            out.append((9, 0))
        elif isinstance(v, bool):
            out.append((1, int(v)))
        elif isinstance(v, int):
            out.append((2, v))
        elif isinstance(v, tuple):
            out.append((4, sort_key(v)))
        else:
            out.append((3, str(v)))
    return tuple(out)

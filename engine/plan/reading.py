"""The planner's own reading of the policy language on a fleet: attributes, filters, group keys, counted values.

Written again on purpose (not imported from ``engine.check.semantics``), so that a slip in one reading cannot hide
itself in the other; ``tests/test_semantics_differential.py`` compares the two on generated fleets and filters.

Comparing a null attribute makes ``==``, ``in`` and orderings false and ``!=``, ``not in`` true; a filter that mentions
``extension.*`` is read per task (a scheduled VM matches in the waves of its matching tasks) and counts a VM in a
group's size when one of its installed extensions matches (with none installed: every ``extension.*`` null).  Group
keys follow ``dsl.policy.GROUP_KEY``; a VM's geography is its region's (``Fleet.geography_by_region``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from dsl.policy import GROUP_KEY, And, Compare, HasTag, Not, Or, Predicate, TrueP, Value
from engine.model.fleet import VM, Extension, Fleet

GroupKey = tuple[Any, ...]

_VM_ATTRS = ("name", "region", "zone", "subscription", "healthy", "update_domain", "fault_domain")
# The VM fields a Spread key may read (any other component reads as null: the group is not formed).
_SPREAD_FIELDS = ("set", "region", "zone", "scale_set", "availability_set", "update_domain", "fault_domain",
                  "subscription", "name")


class FleetFacts:
    """Fleet-level facts that filters and group keys read (set sizes, region zones, pairing, geography)."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.regions = fleet.region_by_name
        self.set_sizes = fleet.set_sizes
        self.scale_sets = fleet.scale_set_by_name
        self.geography = fleet.geography_by_region
        paired: set[str] = set()
        for r in fleet.regions:
            if r.pair is not None:
                paired.update((r.name, r.pair))
        self.paired = paired

    # -- attributes and filters ------------------------------------------------------------------------------

    def attr(self, path: tuple[str, ...], vm: VM, ext: Extension | None) -> Value | None:
        head, rest = path[0], path[1:]
        name = rest[0] if rest else ""
        if head == "vm":
            if name == "tags":
                return vm.tags.get(rest[1]) if len(rest) > 1 else None
            if name == "single":
                return vm.single
            if name in _VM_ATTRS:
                value: Value | None = getattr(vm, name)
                return value
            return None
        if head in ("scale_set", "availability_set"):
            return self._set_attr(head, name, vm)
        if head == "region":
            return self._region_attr(name, vm)
        if head == "extension" and ext is not None and name in ("name", "publisher", "type"):
            ext_value: str = getattr(ext, name)
            return ext_value
        return None

    def _set_attr(self, kind: str, name: str, vm: VM) -> Value | None:
        set_name = vm.scale_set if kind == "scale_set" else vm.availability_set
        if set_name is None:
            return None
        if name == "name":
            return set_name
        if name == "size":
            return self.set_sizes.get(set_name, 0)
        if name == "upgrade_mode" and kind == "scale_set":
            s = self.scale_sets.get(set_name)
            return s.upgrade_mode if s is not None else None
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
            return self.geography.get(vm.region)
        return None

    def holds(self, pred: Predicate, vm: VM, ext: Extension | None = None) -> bool:
        if isinstance(pred, TrueP):
            return True
        if isinstance(pred, Compare):
            return compare_values(pred.op, self.attr(pred.left.path, vm, ext), pred.right)
        if isinstance(pred, HasTag):
            return pred.key in vm.tags
        if isinstance(pred, Not):
            return not self.holds(pred.item, vm, ext)
        if isinstance(pred, And):
            return all(self.holds(p, vm, ext) for p in pred.items)
        if isinstance(pred, Or):
            return any(self.holds(p, vm, ext) for p in pred.items)
        raise TypeError(f"unknown predicate {pred!r}")

    def matches_task(self, pred: Predicate, vm: VM, ext: Extension) -> bool:
        """Does the filter select the VM's task of ``ext``?"""
        return self.holds(pred, vm, ext) if uses_extension(pred) else self.holds(pred, vm)

    def matches_scheduled(self, pred: Predicate, vm: VM, task_exts: Sequence[Extension]) -> bool:
        """Does the filter select the VM in a wave holding its tasks of ``task_exts``?"""
        if isinstance(pred, TrueP):
            return True
        if not uses_extension(pred):
            return self.holds(pred, vm)
        return any(self.holds(pred, vm, e) for e in task_exts)

    def matches_for_size(self, pred: Predicate, vm: VM) -> bool:
        if isinstance(pred, TrueP):
            return True
        if not uses_extension(pred):
            return self.holds(pred, vm)
        if not vm.extensions:
            return self.holds(pred, vm, None)
        return any(self.holds(pred, vm, e) for e in vm.extensions)

    # -- group keys ------------------------------------------------------------------------------------------

    def field(self, vm: VM, name: str) -> Any:
        if name == "set":
            return vm.set_name
        if name == "geography":
            return self.geography.get(vm.region)
        return getattr(vm, name)

    def group_key(self, scope: str, vm: VM) -> GroupKey | None:
        """The VM's group of ``scope``; None when it is in no group of that scope (see dsl.policy.GROUP_KEY)."""
        if scope == "fleet":
            return ()
        values = tuple(self.field(vm, c) for c in GROUP_KEY[scope])
        if scope in ("update_domain", "fault_domain"):
            return values if values[0] is not None else None
        return None if any(v is None for v in values) else values

    def count_value(self, scope: str, vm: VM) -> GroupKey | None:
        """The value a VM shows for a DistinctLimit ``count``: a null zone does not count, other nulls are a value."""
        if scope == "fleet":
            return ()
        if scope == "zone" and vm.zone is None:
            return None
        return tuple(self.field(vm, c) for c in GROUP_KEY[scope])

    def sizes(self, scope: str, where: Predicate) -> dict[GroupKey, int]:
        """Every group of ``scope`` with the number of fleet VMs (scheduled or not) the filter counts."""
        out: dict[GroupKey, int] = defaultdict(int)
        for vm in self.fleet.vms:
            if self.matches_for_size(where, vm):
                key = self.group_key(scope, vm)
                if key is not None:
                    out[key] += 1
        return dict(out)

    def spread_key(self, by: Sequence[str], vm: VM) -> GroupKey | None:
        parts: list[Any] = []
        for comp in by:
            for f in GROUP_KEY.get(comp, (comp,)):
                parts.append(self.field(vm, f) if f in _SPREAD_FIELDS else None)
        return None if any(p is None for p in parts) else tuple(parts)


def uses_extension(pred: Predicate) -> bool:
    if isinstance(pred, Compare):
        return pred.left.path[:1] == ("extension",)
    if isinstance(pred, Not):
        return uses_extension(pred.item)
    if isinstance(pred, And | Or):
        return any(uses_extension(p) for p in pred.items)
    return False


def _number(v: object) -> Fraction | None:
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


def _eq(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return a == b


def compare_values(op: str, left: Value | None, right: Value) -> bool:
    if op in ("in", "not in"):
        items = right if isinstance(right, tuple) else (right,)
        hit = left is not None and any(_eq(left, r) for r in items)
        return hit if op == "in" else not hit
    if left is None:
        return op == "!="
    if op == "==":
        return _eq(left, right)
    if op == "!=":
        return not _eq(left, right)
    na, nb = _number(left), _number(right)
    a: Any
    b: Any
    if na is not None and nb is not None and not (isinstance(left, str) and isinstance(right, str)):
        a, b = na, nb
    elif isinstance(left, str) and isinstance(right, str):
        a, b = left, right
    else:
        return False
    return bool({"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op])


# ----------------------------------------------------------------------------------------------------------------
# OrderBy keys


def order_key_text(raw: Value) -> str:
    return ("true" if raw else "false") if isinstance(raw, bool) else str(raw)


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True


def key_before(a: str, b: str, descending: bool) -> bool:
    """OrderBy: must key ``a`` lie strictly before key ``b``?  Integers when both parse, else strings."""
    lt = int(a) < int(b) if _is_int(a) and _is_int(b) else a < b
    gt = int(a) > int(b) if _is_int(a) and _is_int(b) else a > b
    return gt if descending else lt

"""Aggregation of interchangeable VMs into counted classes, the unit the compiler, bounds and greedy work on.

Two scheduled VMs land in the same class exactly when every rule and preference of the policy sees them the same
way: same region, same group key for every scope a rule reads, same truth value of every ``where`` / ``earlier`` /
``later`` filter, same ``OrderBy`` key and ``Spread`` key.  So any schedule of the classes (a count of each class per
wave) expands to a per-VM schedule that every rule judges exactly as the class schedule: aggregation is exact.

Predicate readings follow the checked-policy semantics (and the independent checker's documented choices, written
here again on purpose so the two share no code): comparing a null attribute makes ``==``, ``in`` and orderings false
and ``!=``, ``not in`` true; a filter that mentions ``extension.*`` matches a scheduled VM when one of its due tasks'
extensions matches, and counts a VM in a group's size when one of its installed extensions matches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from dsl.policy import (
    GROUP_KEY,
    And,
    Canary,
    Capacity,
    Compare,
    DistinctLimit,
    HasTag,
    Not,
    NotWhole,
    Or,
    Order,
    OrderBy,
    Policy,
    Predicate,
    Rule,
    SeparatePairs,
    SeparateRegions,
    Spread,
    TrueP,
    UnitLimit,
    Value,
)
from engine.model.fleet import VM, Extension, Fleet
from engine.model.upgrades import Resolution, UpgradeTask

GroupKey = tuple[Any, ...]


# ----------------------------------------------------------------------------------------------------------------
# Predicates


class FleetFacts:
    """Fleet-level facts predicates read (set sizes, region zones and pairing), computed once."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.regions = fleet.region_by_name
        self.set_sizes = fleet.set_sizes
        self.scale_sets = fleet.scale_set_by_name
        paired: set[str] = set()
        for r in fleet.regions:
            if r.pair is not None:
                paired.update((r.name, r.pair))
        self.paired = paired

    def attr(self, path: tuple[str, ...], vm: VM, ext: Extension | None) -> Value | None:
        head, rest = path[0], path[1:]
        name = rest[0] if rest else ""
        if head == "vm":
            if name == "tags":
                return vm.tags.get(rest[1]) if len(rest) > 1 else None
            if name == "single":
                return vm.single
            if name in ("name", "region", "zone", "subscription", "healthy", "update_domain", "fault_domain"):
                value: Value | None = getattr(vm, name)
                return value
            return None
        if head == "scale_set":
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
        if head == "availability_set":
            if vm.availability_set is None:
                return None
            if name == "name":
                return vm.availability_set
            if name == "size":
                return self.set_sizes.get(vm.availability_set, 0)
            return None
        if head == "region":
            if name == "name":
                return vm.region
            if name == "zones":
                r = self.regions.get(vm.region)
                return r.zones if r is not None else None
            if name == "paired":
                return vm.region in self.paired
            return None
        if head == "extension" and ext is not None and name in ("name", "publisher", "type"):
            ext_value: str = getattr(ext, name)
            return ext_value
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

    def matches_scheduled(self, pred: Predicate, vm: VM, task_exts: Sequence[Extension]) -> bool:
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
# Group keys


def _field(vm: VM, name: str) -> Any:
    if name == "set":
        return vm.set_name
    return getattr(vm, name)


def group_key(scope: str, vm: VM) -> GroupKey | None:
    """The VM's group of ``scope``; None when it is in no group of that scope (see dsl.policy.GROUP_KEY)."""
    if scope == "fleet":
        return ()
    values = tuple(_field(vm, c) for c in GROUP_KEY[scope])
    if scope in ("update_domain", "fault_domain"):
        return values if values[0] is not None else None
    return None if any(v is None for v in values) else values


def count_value(scope: str, vm: VM) -> GroupKey | None:
    """The value a VM shows for a DistinctLimit ``count``: a null zone does not count, other nulls are a value."""
    if scope == "fleet":
        return ()
    if scope == "zone" and vm.zone is None:
        return None
    return tuple(_field(vm, c) for c in GROUP_KEY[scope])


def spread_key(by: Sequence[str], vm: VM) -> GroupKey | None:
    parts: list[Any] = []
    for comp in by:
        for f in GROUP_KEY.get(comp, (comp,)):
            parts.append(_field(vm, f) if f in ("set", "region", "zone", "scale_set", "availability_set",
                                                "update_domain", "fault_domain", "subscription", "name") else None)
    return None if any(p is None for p in parts) else tuple(parts)


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


def sort_key(key: GroupKey) -> tuple[tuple[int, Any], ...]:
    # Keys mix None, ints and strings; rank by type first so sorting never compares across types.
    out: list[tuple[int, Any]] = []
    for v in key:
        if v is None:
            out.append((0, 0))
        elif isinstance(v, bool):
            out.append((1, int(v)))
        elif isinstance(v, int):
            out.append((2, v))
        elif isinstance(v, tuple):
            out.append((4, sort_key(v)))
        else:
            out.append((3, str(v)))
    return tuple(out)


def group_label(scope: str, key: GroupKey) -> str:
    def s(v: Any) -> str:
        return "unknown" if v is None else str(v)

    if scope == "fleet":
        return "the fleet"
    if scope == "zone":
        return f"zone {s(key[1])} of region {s(key[0])}"
    if scope in ("update_domain", "fault_domain"):
        return f"{scope.replace('_', ' ')} {s(key[1])} of set {s(key[0])}"
    label = {"vm": "VM", "set": "set"}.get(scope, scope.replace("_", " "))
    return f"{label} {s(key[0])}"


# ----------------------------------------------------------------------------------------------------------------
# Classes


@dataclass(frozen=True)
class VMClass:
    """Scheduled VMs that no rule can tell apart.  ``views[i]`` is what rule i (rules, then preferences) sees."""

    index: int
    region: str
    vms: tuple[str, ...]
    views: tuple[Any, ...]

    @property
    def count(self) -> int:
        return len(self.vms)


@dataclass(frozen=True)
class Groups:
    """The classes plus, per rule, its groups (class indices) and the sizes the rule's percentages are based on."""

    classes: tuple[VMClass, ...]
    rules: tuple[Rule, ...]
    preferences: tuple[Spread, ...]
    regions: tuple[str, ...]  # regions with tasks, sorted
    pairs: tuple[tuple[str, str], ...]  # geo-pairs among regions with tasks, each sorted, list sorted
    members: tuple[dict[GroupKey, tuple[int, ...]], ...]  # per rule/preference: group key -> class indices
    sizes: tuple[dict[GroupKey, int], ...]  # per rule: group key -> size (all fleet VMs matching where)
    caps: tuple[dict[GroupKey, int], ...]  # per Capacity rule: group key (with scheduled VMs) -> VMs per unit
    tasks: dict[str, tuple[UpgradeTask, ...]]
    unscheduled: int

    def by_region(self) -> dict[str, list[VMClass]]:
        out: dict[str, list[VMClass]] = defaultdict(list)
        for c in self.classes:
            out[c.region].append(c)
        return out

    def rule_index(self, name: str) -> int:
        for i, r in enumerate(self.rules):
            if r.name == name:
                return i
        raise KeyError(name)


def _scope_of(rule: Rule) -> str | None:
    if isinstance(rule, DistinctLimit):
        return rule.per
    if isinstance(rule, Capacity | NotWhole):
        return rule.of
    if isinstance(rule, UnitLimit):
        return rule.per
    return None


def _where(rule: Rule) -> Predicate:
    if isinstance(rule, DistinctLimit | Capacity | NotWhole | UnitLimit | OrderBy):
        return rule.where
    return TrueP()


def _view(rule: Rule | Spread, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> Any:
    if isinstance(rule, SeparatePairs | SeparateRegions | Canary):
        return None
    if isinstance(rule, Order):
        return (facts.matches_scheduled(rule.earlier, vm, exts), facts.matches_scheduled(rule.later, vm, exts))
    if isinstance(rule, Spread):
        if not facts.matches_scheduled(rule.where, vm, exts):
            return None
        return spread_key(rule.by, vm)
    if isinstance(rule, OrderBy):
        if not facts.matches_scheduled(rule.where, vm, exts):
            return None
        raw = facts.attr(rule.key.path, vm, None)
        return None if raw is None else order_key_text(raw)
    if not facts.matches_scheduled(_where(rule), vm, exts):
        return None
    scope = _scope_of(rule)
    assert scope is not None
    key = group_key(scope, vm)
    if key is None:
        return None
    if isinstance(rule, DistinctLimit):
        if rule.count == "extension":
            return (key, tuple(sorted({e.name for e in exts})))
        return (key, count_value(rule.count, vm))
    return key


def build_groups(policy: Policy, fleet: Fleet, resolution: Resolution) -> Groups:
    """Aggregate the scheduled VMs (those with at least one task) into classes; sizes count every fleet VM."""
    facts = FleetFacts(fleet)
    rules = tuple(policy.rules)
    prefs = tuple(p for p in policy.preferences if isinstance(p, Spread))
    everything: tuple[Rule | Spread, ...] = (*rules, *prefs)
    tasks = resolution.tasks_by_vm()
    by_sig: dict[tuple[Any, ...], list[str]] = {}
    for vm in fleet.vms:
        vm_tasks = tasks.get(vm.name)
        if not vm_tasks:
            continue
        ext_by_name = {e.name: e for e in vm.extensions}
        exts = [ext_by_name[t.extension] for t in vm_tasks if t.extension in ext_by_name]
        sig = (vm.region, tuple(_view(r, facts, vm, exts) for r in everything))
        by_sig.setdefault(sig, []).append(vm.name)
    ordered = sorted(by_sig.items(), key=lambda kv: (kv[0][0], min(kv[1])))
    classes = tuple(VMClass(i, sig[0], tuple(sorted(names)), sig[1]) for i, (sig, names) in enumerate(ordered))
    members: list[dict[GroupKey, tuple[int, ...]]] = []
    for i, rule in enumerate(everything):
        acc: dict[GroupKey, list[int]] = defaultdict(list)
        for c in classes:
            v = c.views[i]
            if v is None:
                continue
            if isinstance(rule, DistinctLimit):
                acc[v[0]].append(c.index)
            elif isinstance(rule, (Capacity | NotWhole | UnitLimit, Spread)):
                acc[v].append(c.index)
        members.append({k: tuple(acc[k]) for k in sorted(acc, key=sort_key)})
    sizes: list[dict[GroupKey, int]] = []
    for rule in rules:
        out: dict[GroupKey, int] = defaultdict(int)
        scope = _scope_of(rule)
        if isinstance(rule, Capacity | NotWhole) and scope is not None:
            where = _where(rule)
            for vm in fleet.vms:
                if facts.matches_for_size(where, vm):
                    key = group_key(scope, vm)
                    if key is not None:
                        out[key] += 1
        sizes.append(dict(out))
    caps: list[dict[GroupKey, int]] = []
    for i, rule in enumerate(rules):
        if isinstance(rule, Capacity):
            caps.append({k: rule.amount.of(sizes[i].get(k, 0)) for k in members[i]})
        else:
            caps.append({})
    regions = tuple(sorted({c.region for c in classes}))
    rset = set(regions)
    pairs = sorted({tuple(sorted((r.name, r.pair))) for r in fleet.regions
                    if r.pair is not None and r.name in rset and r.pair in rset})
    n_sched = sum(c.count for c in classes)
    return Groups(
        classes=classes,
        rules=rules,
        preferences=prefs,
        regions=regions,
        pairs=tuple((a, b) for a, b in pairs),
        members=tuple(members),
        sizes=tuple(sizes),
        caps=tuple(caps),
        tasks={k: tuple(v) for k, v in tasks.items()},
        unscheduled=len(fleet.vms) - n_sched,
    )


def distinct_values(groups: Groups, rule_index: int, class_indices: Iterable[int]) -> dict[Any, list[int]]:
    """For a DistinctLimit rule: counted value -> class indices showing it (null zones count for nothing)."""
    out: dict[Any, list[int]] = defaultdict(list)
    rule = groups.rules[rule_index]
    assert isinstance(rule, DistinctLimit)
    for ci in class_indices:
        v = groups.classes[ci].views[rule_index][1]
        if rule.count == "extension":
            for name in v:
                out[(name,)].append(ci)
        elif v is not None:
            out[v].append(ci)
    return dict(out)


def cap_of(groups: Groups, rule_index: int, key: GroupKey) -> int:
    return groups.caps[rule_index][key]


def order_keys(groups: Groups, rule_index: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(list)
    for c in groups.classes:
        v = c.views[rule_index]
        if v is not None:
            out[v].append(c.index)
    return dict(out)


def order_pairs(groups: Groups, rule_index: int) -> list[tuple[str, str]]:
    """For an OrderBy rule: every (a, b) of keys present where a must lie strictly before b."""
    rule = groups.rules[rule_index]
    assert isinstance(rule, OrderBy)
    keys = sorted(order_keys(groups, rule_index))
    return [(a, b) for a in keys for b in keys if a != b and key_before(a, b, rule.descending)]

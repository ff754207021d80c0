"""``at most A of a S per U where P`` (Capacity) and ``never whole in a U: a S ...`` (NotWhole): claims on one group.

The element: one group of the claim's scope S, one unit U, and up to sixteen *kinds* of VM (one per combination of
the VM-level bits: each ``where`` atom that varies per VM within a group of S, and for each filter reading
``extension.*`` its two per-task readings, :class:`TaskReading`), each kind with symbolic attribute values
(:class:`~engine.prove.symbolic.AttrVals`; the attributes every VM of S shares are the group's), a symbolic count
``n_i >= 0`` and a symbolic number scheduled in the unit ``0 <= k_i <= n_i``.  Percentages are exact in linear
integer arithmetic (``f = floor(p*n/100)`` is ``100f <= p*n < 100(f+1)``); sizes and domains are unbounded.

Premises (:data:`GROUP_PREMISES`): a Capacity or NotWhole rule over the same group or one containing it (a containing
group may hold further VMs, ``outer_n``/``outer_k``), and a DistinctLimit rule over the same or a containing group
(the element's distinct values are among that group's), each for a unit that covers U (a phase contains its waves)
and only under the containment table's guard (:mod:`engine.prove.containment`: a rule on scale sets binds a set or a
domain only when it is a scale set's; a geography rule only a region with a known geography).

Soundness: each premise holds on every fleet containing the element, since the element's counts are a group's own
counts and every hard rule is downward closed (taking tasks out of a schedule never breaks one, as sizes count
unscheduled VMs too): a violation with more scheduled VMs implies one with just the violating ones.  Every real group
is represented: VMs with the same bits are interchangeable for every count here (a kind's VMs share their counted
values for DistinctLimit premises, which only lowers a distinct count), and a task reading asserts only what a real
VM's matching extension gives.  Rules beyond the bit budget (``MAX_KIND_ATOMS``) or of other kinds are dropped, which
only weakens the premises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import z3

from dsl.policy import GROUP_KEY, Capacity, DistinctLimit, HasTag, NotWhole, Policy, Predicate
from engine.check.semantics import uses_extension
from engine.model.solver import Sat
from engine.prove.containment import (
    MEMBERSHIP,
    SHARED,
    Shared,
    closure,
    covers,
    guard,
    same_group,
    unit_covers,
)
from engine.prove.kinds.base import Encoding, RuleClaim, Unsupported
from engine.prove.symbolic import AttrVals, atoms, cap_term, eval_pred, guard_term, vm_level_atoms
from engine.prove.witness import (
    NEW_VERSION,
    OLD_VERSION,
    Witness,
    extension_from,
    fleet_and_schedule,
    interner_for,
    vm_from,
    with_extensions,
)

MAX_WITNESS_VMS = 5000  # a larger counterexample is not built (the claim is then unknown, never proven)
MAX_KIND_ATOMS = 4  # 2**4 kinds of VM per element: every combination of four VM-level bits
GroupRule = Capacity | NotWhole
PremiseRule = Capacity | NotWhole | DistinctLimit


@dataclass(frozen=True)
class TaskReading:
    """A filter reading ``extension.*`` on one kind of VM, per task: ``has`` — one of its installed extensions
    matches (it counts in the size); ``in_unit`` — one of its tasks in the unit matches (it counts as scheduled);
    each with the symbolic extension that matches (``has_ext``, ``in_ext``).  Only the implications towards the
    filter are asserted (a VM may have further extensions), which over-approximates every real VM."""

    has: z3.BoolRef
    in_unit: z3.BoolRef
    has_ext: AttrVals
    in_ext: AttrVals


@dataclass
class GroupElement:
    """One group of ``scope`` in one ``unit``: the group's shared values, the kinds of VM and their counts."""

    scope: str
    unit: str
    group: AttrVals
    kinds: list[AttrVals]
    n: list[z3.ArithRef]  # VMs of each kind in the group
    k: list[z3.ArithRef]  # of which scheduled in the unit
    side: list[z3.BoolRef] = field(default_factory=list)  # definitions of rounded amounts, task readings
    tasks: dict[tuple[int, Predicate], TaskReading] = field(default_factory=dict)
    first_task: dict[int, AttrVals] = field(default_factory=dict)  # a task in the unit of each scheduled kind
    outer: list[tuple[str, z3.ArithRef]] = field(default_factory=list)  # containing groups' further VMs, by scope

    def first(self, i: int) -> AttrVals:
        """The extension of one task in the unit that every scheduled VM of kind ``i`` has (it has one at least)."""
        if i not in self.first_task:
            self.first_task[i] = AttrVals(f"x_first{i}", None, (), self.kinds[i].strings)
        return self.first_task[i]

    def reading(self, i: int, p: Predicate) -> TaskReading:
        """How a filter reading ``extension.*`` selects the VMs of kind ``i`` (created on first use)."""
        found = self.tasks.get((i, p))
        if found is None:
            j = len(self.tasks)
            strings = self.kinds[i].strings
            has_ext = AttrVals(f"x{j}h", None, (), strings)
            in_ext = AttrVals(f"x{j}t", None, (), strings)
            found = self.tasks[(i, p)] = TaskReading(z3.Bool(f"x{j}_has"), z3.Bool(f"x{j}_in"), has_ext, in_ext)
            first = self.first(i)
            by_first = z3.And(self.k[i] >= 1, eval_pred(p, self.kinds[i], first))
            self.side += [z3.Implies(found.has, eval_pred(p, self.kinds[i], has_ext)),
                          z3.Implies(found.in_unit, eval_pred(p, self.kinds[i], in_ext)),
                          z3.Implies(found.in_unit, found.has), z3.Implies(by_first, found.in_unit),
                          *has_ext.all_side(), *in_ext.all_side(), *first.all_side()]
        return found

    def size(self, p: Predicate) -> z3.ArithRef:
        """The group's VMs that count in its size under ``p``."""
        if not uses_extension(p):
            return z3.Sum(*[z3.If(eval_pred(p, kv), self.n[i], 0) for i, kv in enumerate(self.kinds)])
        return z3.Sum(*[z3.If(self.reading(i, p).has, self.n[i], 0) for i in range(len(self.kinds))])

    def sched(self, p: Predicate) -> z3.ArithRef:
        """The group's VMs scheduled in the unit that ``p`` selects (per task for ``extension.*``)."""
        if not uses_extension(p):
            return z3.Sum(*[z3.If(eval_pred(p, kv), self.k[i], 0) for i, kv in enumerate(self.kinds)])
        return z3.Sum(*[z3.If(self.reading(i, p).in_unit, self.k[i], 0) for i in range(len(self.kinds))])

    @property
    def total(self) -> z3.ArithRef:
        return z3.Sum(*self.n)


def capacity_premise(r: Capacity, el: GroupElement, j: int) -> list[z3.BoolRef]:
    """At most ``amount`` of the rule's group (this one, or one containing it with ``outer`` VMs more)."""
    size, sched = el.size(r.where), el.sched(r.where)
    out: list[z3.BoolRef] = []
    if not same_group(r.of, el.scope):
        n_o, k_o = z3.Int(f"outer_n{j}"), z3.Int(f"outer_k{j}")
        out += [n_o >= 0, k_o >= 0, k_o <= n_o]
        el.outer.append((r.of, n_o))
        size, sched = size + n_o, sched + k_o
    return [*out, sched <= cap_term(r.amount, size, el.side, f"p{j}")]


def not_whole_premise(r: NotWhole, el: GroupElement, j: int) -> list[z3.BoolRef]:
    """A group with at least ``min_size`` matching VMs never has all of them in the unit (this one, or one
    containing it with ``outer`` VMs more)."""
    size, sched = el.size(r.where), el.sched(r.where)
    out: list[z3.BoolRef] = []
    if not same_group(r.of, el.scope):
        n_o, k_o = z3.Int(f"whole_outer_n{j}"), z3.Int(f"whole_outer_k{j}")
        out += [n_o >= 0, k_o >= 0, k_o <= n_o]
        el.outer.append((r.of, n_o))
        size, sched = size + n_o, sched + k_o
    return [*out, z3.Implies(size >= max(r.min_size, 1), sched < size)]


# The attribute a VM shows when distinct values of a scope are counted, and the key fields that must be the
# element's own for that attribute alone to tell two values apart (a domain's value is (its set, its number)).
COUNTED_ATTR: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "zone": ("vm.zone", ("region",)),
    "update_domain": ("vm.update_domain", ("set",)),
    "fault_domain": ("vm.fault_domain", ("set",)),
    "subscription": ("vm.subscription", ()),
    "region": ("vm.region", ()),
}


def _selected(r: DistinctLimit, el: GroupElement, i: int) -> z3.BoolRef:
    """Kind ``i`` has VMs scheduled in the unit that the rule's filter selects."""
    match = el.reading(i, r.where).in_unit if uses_extension(r.where) else eval_pred(r.where, el.kinds[i])
    return z3.And(el.k[i] >= 1, match)


def distinct_premise(r: DistinctLimit, el: GroupElement, j: int) -> list[z3.BoolRef]:
    """At most ``limit`` distinct counted values among the element's scheduled VMs (they are among the rule's
    group's).  A kind's VMs share their values here, which only lowers the count: any real group is represented
    by giving each kind the value of one of its VMs (the kinds' filters do not change)."""
    attr = COUNTED_ATTR[r.count][0]
    vals = [kv.get(attr) for kv in el.kinds]
    sel = [_selected(r, el, i) for i in range(len(el.kinds))]
    counted = [p if r.count == "zone" else z3.BoolVal(True) for _, p in vals]  # a null zone counts for nothing

    def same(a: int, b: int) -> z3.BoolRef:
        (va, pa), (vb, pb) = vals[a], vals[b]
        return z3.Or(z3.And(pa, pb, va == vb), z3.And(z3.Not(pa), z3.Not(pb)))

    new = [z3.And(sel[i], counted[i], *[z3.Not(z3.And(sel[h], counted[h], same(h, i))) for h in range(i)])
           for i in range(len(el.kinds))]
    return [z3.Sum(*[z3.If(x, 1, 0) for x in new]) <= r.limit] if new else []


def _distinct_speaks(r: DistinctLimit, scope: str) -> bool:
    found = COUNTED_ATTR.get(r.count)
    return found is not None and covers(r.per, scope) and set(found[1]) <= closure(GROUP_KEY[scope])


@dataclass(frozen=True)
class GroupPremise:
    """What a spec rule of one kind contributes on a group element: whether it speaks about a group of the claim's
    scope, and the assertions it implies there."""

    speaks_about: Callable[[Any, str], bool]  # (the rule, the claim's scope)
    premise: Callable[[Any, GroupElement, int], list[z3.BoolRef]]


# What a spec rule of each kind contributes as a premise to a Capacity or NotWhole claim (other kinds: nothing).
GROUP_PREMISES: Mapping[type, GroupPremise] = {
    Capacity: GroupPremise(lambda r, scope: covers(r.of, scope), capacity_premise),
    NotWhole: GroupPremise(lambda r, scope: covers(r.of, scope), not_whole_premise),
    DistinctLimit: GroupPremise(_distinct_speaks, distinct_premise),
}


def rule_scope(r: PremiseRule) -> str:
    return r.per if isinstance(r, DistinctLimit) else r.of


def _candidates(policy: Policy, scope: str, unit: str, dropped: list[str]) -> list[PremiseRule]:
    out: list[PremiseRule] = []
    for r in policy.rules:
        contrib = GROUP_PREMISES.get(type(r))
        if contrib is not None and isinstance(r, Capacity | NotWhole | DistinctLimit) and (
                unit_covers(r.within, unit) and contrib.speaks_about(r, scope)):
            out.append(r)
        else:
            dropped.append(r.name)
    return out


def _within_budget(claim: GroupRule, candidates: list[PremiseRule], shared_keys: Shared,
                   dropped: list[str]) -> tuple[list[PremiseRule], int]:
    """The candidate rules whose ``where`` atoms fit the kind budget, and the number of VM-level atoms."""
    preds: list[Predicate] = [claim.where]
    kept: list[PremiseRule] = []
    for r in candidates:
        if kind_bits([*preds, r.where], shared_keys) > MAX_KIND_ATOMS:
            dropped.append(r.name)
            continue
        preds.append(r.where)
        kept.append(r)
    return kept, kind_bits(preds, shared_keys)


def kind_bits(preds: list[Predicate], shared_keys: Shared) -> int:
    """What tells two VMs of a group apart for these filters: each VM-level atom, and for each filter reading
    ``extension.*`` two bits (an installed extension matches; a task in the unit matches)."""
    ext_atoms = {a for p in preds for a in atoms(p) if not isinstance(a, HasTag) and a.left.path[0] == "extension"}
    plain = [a for a in vm_level_atoms(preds, shared_keys) if a not in ext_atoms]
    return len(plain) + 2 * len({p for p in preds if uses_extension(p)})


def _group_shape(el: GroupElement) -> list[z3.BoolRef]:
    """The group's own size attributes and the attributes that make its VMs members of a group of the scope."""
    scope, group, total = el.scope, el.group, el.total
    out: list[z3.BoolRef] = []
    if scope in ("scale_set", "availability_set", "set", "update_domain", "fault_domain"):
        in_ss = group.get("vm.in_scale_set")[1]
        in_as = group.get("vm.in_availability_set")[1]
        if scope == "scale_set":
            out.append(in_ss)
        elif scope == "availability_set":
            out.append(in_as)
        else:
            out.append(z3.Or(in_ss, in_as))
        for kind_name, flag in (("scale_set", in_ss), ("availability_set", in_as)):
            size = group.get(f"{kind_name}.size")[0]
            if scope in ("update_domain", "fault_domain"):
                out.append(z3.Implies(flag, size >= total))
            else:
                out.append(z3.Implies(flag, size == total))
        if scope in ("update_domain", "fault_domain"):
            out.append(group.get(f"vm.{scope}")[1])
    if scope == "vm":
        out.append(total <= 1)
    if scope == "zone":
        out.append(group.get("vm.zone")[1])
    if scope in MEMBERSHIP:
        out.append(group.get(MEMBERSHIP[scope])[1])
    return out


def _guarded(r: PremiseRule, el: GroupElement, premise: list[z3.BoolRef]) -> list[z3.BoolRef]:
    """A rule binds the element only under the containment table's guard (a rule on scale sets binds a "set" or
    a domain only when it is a scale set's; a geography rule binds only a region with a known geography)."""
    cond = guard_term(guard(rule_scope(r), el.scope), el.group)
    return premise if cond is None else [z3.Implies(cond, p) for p in premise]


def encode_group_claim(policy: Policy, claim: GroupRule,
                       violation: Callable[[GroupElement], z3.BoolRef]) -> Encoding:
    """One group of the claim's scope, one unit, K kinds of VM with symbolic counts n_i and scheduled counts k_i."""
    scope, unit = claim.of, claim.within
    if scope not in SHARED:
        raise Unsupported(f"unknown scope '{scope}'")
    strings = interner_for(policy, claim)
    shared_keys = SHARED[scope]
    group = AttrVals("g", None, (), strings)
    dropped: list[str] = []
    kept, n_atoms = _within_budget(claim, _candidates(policy, scope, unit, dropped), shared_keys, dropped)
    kinds = [AttrVals(f"k{i}", group, shared_keys, strings) for i in range(2**n_atoms)]
    el = GroupElement(scope, unit, group, kinds, [z3.Int(f"n{i}") for i in range(len(kinds))],
                      [z3.Int(f"s{i}") for i in range(len(kinds))])
    premises: list[z3.BoolRef] = []
    for i in range(len(kinds)):
        premises += [el.n[i] >= 0, el.k[i] >= 0, el.k[i] <= el.n[i]]
    premises += _group_shape(el)
    for j, r in enumerate(kept):
        premises += _guarded(r, el, GROUP_PREMISES[type(r)].premise(r, el, j))
    negated = violation(el)
    shape = el.sched(claim.where) >= 1
    for kv in (group, *kinds):
        premises += kv.all_side()
    premises += el.side

    def build(m: Sat, deadline: float) -> Witness:
        total = sum(m.value(x) for x in el.n)
        if total > MAX_WITNESS_VMS:
            raise Unsupported(f"the smallest counterexample found has {total} VMs, more than the {MAX_WITNESS_VMS} "
                              "a witness is built with")
        vms = []
        for i in range(len(kinds)):
            shapes = {flag: _vm_shape(m, el, i, flag) for flag in (True, False)}
            vms += [{**shapes[j < m.value(el.k[i])], "name": f"vm{i}-{j}"} for j in range(m.value(el.n[i]))]
        _own_subscriptions(el, vms)
        vms += _padding(m, el, vms)
        if len(vms) > MAX_WITNESS_VMS:
            raise Unsupported(f"the counterexample found needs {len(vms)} VMs with the groups around it, more than "
                              f"the {MAX_WITNESS_VMS} a witness is built with")
        return fleet_and_schedule(m, group, vms)

    return Encoding("for all fleet sizes", premises, shape, negated, [r.name for r in kept], dropped, build,
                    size=el.total)


def _own_subscriptions(el: GroupElement, vms: list[dict[str, Any]]) -> None:
    """A subscription the model leaves free is each VM's own (so no subscription-wide rule the encoding did not
    read sees the element's VMs together)."""
    if "vm.subscription" in SHARED[el.scope]:
        return
    named = set(el.group.strings.consts)
    for vm in vms:
        if vm.get("subscription") not in named:  # a fresh string of the model: nothing reads which one it is
            vm["subscription"] = f"sub-{vm['name']}"


def _padding(m: Sat, el: GroupElement, vms: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unscheduled VMs around the element that the model counts: the rest of a domain's set (its size), and the
    further VMs of each containing group a percentage of it was taken of (``outer``), each a copy of an element VM
    moved out of the element's group but kept in the containing one."""
    if not vms:
        return []
    out: list[dict[str, Any]] = []
    model = {k: v for k, v in vms[0].items() if k not in ("name", "_tasks")}
    model["_scheduled"] = False
    model["extensions"] = [{**e, "version": NEW_VERSION} for e in vms[0]["extensions"]]
    model.pop("_tasks", None)
    if el.scope in ("update_domain", "fault_domain"):
        key = "scale_set.size" if m.value(el.group.get("vm.in_scale_set")[1]) else "availability_set.size"
        size = m.value(el.group.get(key)[0])
        domain = int(vms[0].get(el.scope, 0) or 0)
        out += [{**model, "name": f"pad-set{i}", el.scope: domain + 1 + i} for i in range(max(0, size - len(vms)))]
    for j, (_, n_o) in enumerate(el.outer):
        for i in range(m.value(n_o)):
            vm = {**model, "name": f"pad{j}-{i}"}
            _move_out(vm, el.scope, i)
            out.append(vm)
    return out


def _move_out(vm: dict[str, Any], scope: str, i: int) -> None:
    """Take a copy of an element VM out of the element's group (staying in every group containing it)."""
    if scope in ("scale_set", "availability_set", "set"):
        vm.pop("scale_set", None)
        vm.pop("availability_set", None)
    elif scope in ("update_domain", "fault_domain"):
        vm[scope] = int(vm.get(scope, 0) or 0) + 1000 + i
    elif scope == "zone":
        vm.pop("zone", None)
    elif scope == "subscription":
        vm["subscription"] = f"{vm['subscription']}-other"
    elif scope in ("region", "geography"):
        vm["region"] = f"{vm['region']}-other"
        vm.pop("zone", None)
        vm.pop("scale_set", None)
        vm.pop("availability_set", None)
        if scope == "geography":
            vm.pop("_geography", None)


def _vm_shape(m: Sat, el: GroupElement, i: int, scheduled: bool) -> dict[str, Any]:
    """A VM of kind ``i``: its attributes, and the extensions its task readings need (matching tasks in the unit
    when scheduled, matching installed extensions for the size)."""
    vm = vm_from(m, el.kinds[i], "", scheduled=scheduled)
    due: list[dict[str, Any]] = []
    installed: list[dict[str, Any]] = []
    if scheduled and i in el.first_task:
        due.append(extension_from(m, el.first_task[i], OLD_VERSION))
    for (kind, _), tr in sorted(el.tasks.items(), key=lambda kv: str(kv[1].has)):
        if kind != i:
            continue
        if scheduled and m.value(tr.in_unit):
            due.append(extension_from(m, tr.in_ext, OLD_VERSION))
        if m.value(tr.has):
            installed.append(extension_from(m, tr.has_ext, NEW_VERSION))
    return with_extensions(vm, due, installed)


class CapacityClaim(RuleClaim[Capacity]):
    """``at most A of a S per U where P``: the violation is more than A of the group's matching VMs in the unit."""

    kind = Capacity

    def encode(self, spec: Policy, claim: Capacity) -> Encoding:
        def violation(el: GroupElement) -> z3.BoolRef:
            size, sched = el.size(claim.where), el.sched(claim.where)
            return sched > cap_term(claim.amount, size, el.side, "claim")

        return encode_group_claim(spec, claim, violation)


class NotWholeClaim(RuleClaim[NotWhole]):
    """``never whole in a U: a S with at least M VMs``: the violation is every matching VM of a group of at least M
    matching VMs in the unit."""

    kind = NotWhole

    def encode(self, spec: Policy, claim: NotWhole) -> Encoding:
        def violation(el: GroupElement) -> z3.BoolRef:
            size, sched = el.size(claim.where), el.sched(claim.where)
            return z3.And(size >= max(claim.min_size, 1), sched == size)

        return encode_group_claim(spec, claim, violation)

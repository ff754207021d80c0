"""``at most A of a S per U where P`` (Capacity) and ``never whole in a U: a S ...`` (NotWhole): claims on one group.

The element: one group of the claim's scope S, one unit U, and up to eight *kinds* of VM (one per combination of the
``where`` atoms that vary per VM within a group of S), each kind with symbolic attribute values
(:class:`~engine.prove.symbolic.AttrVals`; the attributes every VM of S shares are the group's), a symbolic count
``n_i >= 0`` and a symbolic number scheduled in the unit ``0 <= k_i <= n_i``.  Percentages are exact in linear
integer arithmetic (``f = floor(p*n/100)`` is ``100f <= p*n < 100(f+1)``).

Premises (:data:`GROUP_PREMISES`): a Capacity rule over the same group or one containing it
(:mod:`engine.prove.containment`; a containing group may hold further VMs, ``outer_n``/``outer_k``), and a NotWhole
rule over the same group, each for a unit that covers U (a phase contains its waves).  A rule over a scope whose
groups exist only for members (a geography: regions with a known geography) binds only when the element is one.

Soundness: each premise holds on every fleet containing the element, since the element's counts are a group's own
counts and every hard rule is downward closed (taking tasks out of a schedule never breaks one, as sizes count
unscheduled VMs too): a violation with more scheduled VMs implies one with just the violating ones.  Rules beyond
the atom budget (``MAX_KIND_ATOMS``) or of other kinds are dropped, which only weakens the premises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import z3

from dsl.policy import Capacity, HasTag, NotWhole, Policy, Predicate
from engine.check.semantics import uses_extension
from engine.model.solver import Sat
from engine.prove.containment import MEMBERSHIP, SHARED, Shared, covers, guard, same_group, unit_covers
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
        size, sched = size + n_o, sched + k_o
    return [*out, sched <= cap_term(r.amount, size, el.side, f"p{j}")]


def not_whole_premise(r: NotWhole, el: GroupElement, j: int) -> list[z3.BoolRef]:
    """A group with at least ``min_size`` matching VMs never has all of them in the unit."""
    size, sched = el.size(r.where), el.sched(r.where)
    return [z3.Implies(size >= max(r.min_size, 1), sched < size)]


@dataclass(frozen=True)
class GroupPremise:
    """What a spec rule of one kind contributes on a group element: whether it speaks about a group of the claim's
    scope, and the assertions it implies there."""

    speaks_about: Callable[[str, str], bool]  # (rule's scope, claim's scope)
    premise: Callable[[GroupRule, GroupElement, int], list[z3.BoolRef]]


# What a spec rule of each kind contributes as a premise to a Capacity or NotWhole claim (other kinds: nothing).
GROUP_PREMISES: Mapping[type, GroupPremise] = {
    Capacity: GroupPremise(covers, capacity_premise),  # type: ignore[arg-type]
    NotWhole: GroupPremise(same_group, not_whole_premise),  # type: ignore[arg-type]
}


def _candidates(policy: Policy, scope: str, unit: str, dropped: list[str]) -> list[GroupRule]:
    out: list[GroupRule] = []
    for r in policy.rules:
        contrib = GROUP_PREMISES.get(type(r))
        if contrib is not None and isinstance(r, Capacity | NotWhole) and unit_covers(r.within, unit) and (
                contrib.speaks_about(r.of, scope)):
            out.append(r)
        else:
            dropped.append(r.name)
    return out


def _within_budget(claim: GroupRule, candidates: list[GroupRule], shared_keys: Shared,
                   dropped: list[str]) -> tuple[list[GroupRule], int]:
    """The candidate rules whose ``where`` atoms fit the kind budget, and the number of VM-level atoms."""
    preds: list[Predicate] = [claim.where]
    kept: list[GroupRule] = []
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


def _guarded(r: GroupRule, el: GroupElement, premise: list[z3.BoolRef]) -> list[z3.BoolRef]:
    """A rule binds the element only under the containment table's guard (a rule on scale sets binds a "set" or
    a domain only when it is a scale set's; a geography rule binds only a region with a known geography)."""
    cond = guard_term(guard(r.of, el.scope), el.group)
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
        return fleet_and_schedule(m, group, vms)

    return Encoding("for all fleet sizes", premises, shape, negated, [r.name for r in kept], dropped, build,
                    size=el.total)


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

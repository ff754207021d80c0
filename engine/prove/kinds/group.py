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

import z3

from dsl.policy import Capacity, NotWhole, Policy, Predicate
from engine.model.solver import Sat
from engine.prove.containment import MEMBERSHIP, SHARED, Shared, covers, guard, same_group, unit_covers
from engine.prove.kinds.base import Encoding, RuleClaim, Unsupported
from engine.prove.symbolic import AttrVals, cap_term, eval_pred, guard_term, vm_level_atoms
from engine.prove.witness import Witness, fleet_and_schedule, interner_for, vm_from

MAX_WITNESS_VMS = 5000  # a larger counterexample is not built (the claim is then unknown, never proven)
MAX_KIND_ATOMS = 3  # 2**3 kinds of VM per element: enough for three independent VM-level atoms
GroupRule = Capacity | NotWhole


@dataclass
class GroupElement:
    """One group of ``scope`` in one ``unit``: the group's shared values, the kinds of VM and their counts."""

    scope: str
    unit: str
    group: AttrVals
    kinds: list[AttrVals]
    n: list[z3.ArithRef]  # VMs of each kind in the group
    k: list[z3.ArithRef]  # of which scheduled in the unit
    side: list[z3.BoolRef] = field(default_factory=list)  # definitions of rounded amounts

    def count(self, p: Predicate, xs: list[z3.ArithRef]) -> z3.ArithRef:
        return z3.Sum(*[z3.If(eval_pred(p, self.kinds[i]), xs[i], 0) for i in range(len(self.kinds))])

    @property
    def total(self) -> z3.ArithRef:
        return z3.Sum(*self.n)


def capacity_premise(r: Capacity, el: GroupElement, j: int) -> list[z3.BoolRef]:
    """At most ``amount`` of the rule's group (this one, or one containing it with ``outer`` VMs more)."""
    size, sched = el.count(r.where, el.n), el.count(r.where, el.k)
    out: list[z3.BoolRef] = []
    if not same_group(r.of, el.scope):
        n_o, k_o = z3.Int(f"outer_n{j}"), z3.Int(f"outer_k{j}")
        out += [n_o >= 0, k_o >= 0, k_o <= n_o]
        size, sched = size + n_o, sched + k_o
    return [*out, sched <= cap_term(r.amount, size, el.side, f"p{j}")]


def not_whole_premise(r: NotWhole, el: GroupElement, j: int) -> list[z3.BoolRef]:
    """A group with at least ``min_size`` matching VMs never has all of them in the unit."""
    size, sched = el.count(r.where, el.n), el.count(r.where, el.k)
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
        if len(vm_level_atoms([*preds, r.where], shared_keys)) > MAX_KIND_ATOMS:
            dropped.append(r.name)
            continue
        preds.append(r.where)
        kept.append(r)
    return kept, len(vm_level_atoms(preds, shared_keys))


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
    shape = el.count(claim.where, el.k) >= 1
    for kv in (group, *kinds):
        premises += kv.all_side()
    premises += el.side

    def build(m: Sat, deadline: float) -> Witness:
        total = sum(m.value(x) for x in el.n)
        if total > MAX_WITNESS_VMS:
            raise Unsupported(f"the smallest counterexample found has {total} VMs, more than the {MAX_WITNESS_VMS} "
                              "a witness is built with")
        vms = []
        for i, kv in enumerate(kinds):
            shapes = {flag: vm_from(m, kv, "", scheduled=flag) for flag in (True, False)}
            vms += [{**shapes[j < m.value(el.k[i])], "name": f"vm{i}-{j}"} for j in range(m.value(el.n[i]))]
        return fleet_and_schedule(m, group, vms)

    return Encoding("for all fleet sizes", premises, shape, negated, [r.name for r in kept], dropped, build,
                    size=el.total)


class CapacityClaim(RuleClaim[Capacity]):
    """``at most A of a S per U where P``: the violation is more than A of the group's matching VMs in the unit."""

    kind = Capacity

    def encode(self, spec: Policy, claim: Capacity) -> Encoding:
        def violation(el: GroupElement) -> z3.BoolRef:
            size, sched = el.count(claim.where, el.n), el.count(claim.where, el.k)
            return sched > cap_term(claim.amount, size, el.side, "claim")

        return encode_group_claim(spec, claim, violation)


class NotWholeClaim(RuleClaim[NotWhole]):
    """``never whole in a U: a S with at least M VMs``: the violation is every matching VM of a group of at least M
    matching VMs in the unit."""

    kind = NotWhole

    def encode(self, spec: Policy, claim: NotWhole) -> Encoding:
        def violation(el: GroupElement) -> z3.BoolRef:
            size, sched = el.count(claim.where, el.n), el.count(claim.where, el.k)
            return z3.And(size >= max(claim.min_size, 1), sched == size)

        return encode_group_claim(spec, claim, violation)

"""``at most L <count> per <group> per U`` (DistinctLimit): distinct values among a group's scheduled VMs in a unit.

The element: one group of scope ``per`` whose scheduled VMs in one unit show ``d`` pairwise distinct values of
``count`` (``d`` symbolic, up to ``L + 1``), ``size``, the group's VMs matching the claim, and ``total``, all its
VMs, scheduled or not; the group's set kind as its scope requires.  When the group's key determines the counted value
(a zone lies in one region; a domain in one set) it shows one value (``d <= 1``).
Premises (:data:`DISTINCT_PREMISES`): a DistinctLimit rule counting the same scope over the same or a containing
group with no filter or the claim's (``d <= limit``); a Capacity rule without filter over the same or a containing
group (``d`` VMs are scheduled, so ``d <= cap`` of the group's ``total``); a NotWhole rule without filter over the
same group (not all of ``total`` VMs at once).  Every premise binds only under the containment table's guard
(:mod:`engine.prove.containment`: a rule on scale sets binds a set or domain only when it is a scale set's).

Soundness: ``d`` distinct values need ``d`` scheduled VMs, and each premise is its rule applied to the element's
group (a containing group has at least as many VMs and scheduled VMs as the element); every hard rule is downward
closed, so an element with exactly the distinct VMs scheduled is enough.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import z3

from dsl.policy import GROUP_KEY, Capacity, DistinctLimit, NotWhole, Policy, Rule, TrueP
from engine.model.solver import Sat
from engine.prove.containment import MEMBERSHIP, Guard, closure, covers, guard, same_group, unit_covers
from engine.prove.kinds.base import Encoding, RuleClaim, Unsupported
from engine.prove.symbolic import cap_term
from engine.prove.witness import Witness, assemble, plain_vm, region_entry

COUNTABLE = ("zone", "region", "update_domain", "fault_domain", "scale_set", "availability_set", "set",
             "subscription", "geography")
MAX_LIMIT = 12  # the element's distinct values are built one VM each


@dataclass
class DistinctElement:
    """``d`` scheduled VMs of distinct values in one group of the claim's scope (``size`` matching VMs)."""

    claim: DistinctLimit
    d: z3.ArithRef
    size: z3.ArithRef
    total: z3.ArithRef  # every VM of the group, matching the claim or not
    members: dict[str, z3.BoolRef] = field(default_factory=dict)  # membership attributes the element has

    def member(self, attr: str) -> z3.BoolRef:
        if attr not in self.members:
            self.members[attr] = z3.Bool(f"distinct_group_{attr.replace('.', '_')}_known")
        return self.members[attr]

    def holds(self, g: Guard) -> z3.BoolRef | None:
        """The containment guard on this group (None: always)."""
        clauses = [z3.Or(*[self.member(a) for a in clause]) for clause in g]
        return z3.And(*clauses) if clauses else None

    def shape(self) -> list[z3.BoolRef]:
        """The group's set kind as its scope requires (a set is one scale set or one availability set)."""
        per = self.claim.per
        ss, avs = self.member("vm.in_scale_set"), self.member("vm.in_availability_set")
        if per == "scale_set":
            return [ss, z3.Not(avs)]
        if per == "availability_set":
            return [avs, z3.Not(ss)]
        if per in ("set", "update_domain", "fault_domain"):
            return [z3.Xor(ss, avs)]
        return [z3.Not(z3.And(ss, avs))]


def _same_count(r: DistinctLimit, el: DistinctElement, j: int) -> list[z3.BoolRef] | None:
    c = el.claim
    if (r.count == c.count and unit_covers(r.within, c.within) and covers(r.per, c.per)
            and r.where in (TrueP(), c.where)):
        return [el.d <= r.limit]
    return None


def _capacity(r: Capacity, el: DistinctElement, j: int) -> list[z3.BoolRef] | None:
    c = el.claim
    if not (unit_covers(r.within, c.within) and covers(r.of, c.per) and r.where == TrueP()):
        return None
    side: list[z3.BoolRef] = []
    if same_group(r.of, c.per):  # the d VMs are among the group's scheduled ones; the cap is of all its VMs
        return [el.d <= cap_term(r.amount, el.total, side, f"d{j}"), *side]
    outer, sched = z3.Int(f"dsize_{j}"), z3.Int(f"dsched_{j}")
    return [sched >= el.d, outer >= el.total, outer - el.total >= sched - el.d,
            sched <= cap_term(r.amount, outer, side, f"d{j}"), *side]


def _not_whole(r: NotWhole, el: DistinctElement, j: int) -> list[z3.BoolRef] | None:
    c = el.claim
    if same_group(r.of, c.per) and unit_covers(r.within, c.within) and r.where == TrueP():
        return [z3.Implies(el.total >= max(r.min_size, 1), el.d < el.total)]
    return None


# What a spec rule of each kind contributes as a premise to a DistinctLimit claim (None or absent: nothing).
DISTINCT_PREMISES: Mapping[type, Callable[[Any, DistinctElement, int], list[z3.BoolRef] | None]] = {
    DistinctLimit: _same_count,
    Capacity: _capacity,
    NotWhole: _not_whole,
}


def _rule_scope(r: Rule) -> str | None:
    return r.per if isinstance(r, DistinctLimit) else r.of if isinstance(r, Capacity | NotWhole) else None


class DistinctLimitClaim(RuleClaim[DistinctLimit]):
    """The violation: ``L + 1`` distinct values in one group and unit."""

    kind = DistinctLimit

    def encode(self, spec: Policy, claim: DistinctLimit) -> Encoding:
        if claim.count not in COUNTABLE:
            raise Unsupported(f"no encoding for counting distinct '{claim.count}'")
        if claim.limit > MAX_LIMIT:
            raise Unsupported("limit too large for the distinct-values element")
        el = DistinctElement(claim, z3.Int("distinct_values"), z3.Int("group_size"), z3.Int("group_total"))
        premises: list[z3.BoolRef] = [el.d >= 0, el.d <= claim.limit + 1, el.size >= el.d, el.total >= el.size,
                                      *el.shape()]
        if claim.per in MEMBERSHIP:
            premises.append(el.member(MEMBERSHIP[claim.per]))
        if set(GROUP_KEY[claim.count]) <= closure(GROUP_KEY[claim.per]):
            premises.append(el.d <= 1)  # the group's key determines the counted value: its VMs all show one
        involved: list[str] = []
        dropped: list[str] = []
        for j, r in enumerate(spec.rules):
            contribution = DISTINCT_PREMISES.get(type(r))
            premise = contribution(r, el, j) if contribution is not None else None
            if premise is None:
                dropped.append(r.name)
                continue
            scope = _rule_scope(r)
            cond = el.holds(guard(scope, claim.per)) if scope is not None else None
            involved.append(r.name)
            premises += [z3.Implies(cond, p) for p in premise] if cond is not None else premise

        def build(m: Sat, deadline: float) -> Witness:
            in_geography = "region.geography" in el.members and m.value(el.members["region.geography"])
            avset = m.value(el.member("vm.in_availability_set")) is True
            return distinct_witness(claim, m.value(el.d), m.value(el.total) - m.value(el.d), in_geography, avset)

        return Encoding("for all fleet sizes", premises, el.d >= 1, el.d >= claim.limit + 1, involved, dropped,
                        build, size=el.total)


def distinct_witness(claim: DistinctLimit, count: int, extra: int = 0, in_geography: bool = False,
                     availability_set: bool = False) -> Witness:
    """``count`` scheduled VMs of distinct values in one group, plus ``extra`` unscheduled VMs of the same group;
    with ``in_geography`` the group's regions share one geography; with ``availability_set`` a group of sets or
    domains is an availability set's."""
    regions = [region_entry("region0")]
    vms = []
    for i in range(count + extra):
        vm = plain_vm(f"vm{i}", "region0", i < count)
        c = claim.count
        if i >= count:
            i = 0  # an unscheduled VM repeats the first VM's value: it adds size, not a value
        if c == "zone":
            vm["zone"] = str(i + 1)
            regions[0]["zones"] = count
        elif c in ("region", "geography"):
            vm["region"] = f"region{i}"
            if i > 0 and not any(r["name"] == vm["region"] for r in regions):
                regions.append(region_entry(f"region{i}"))
        elif c in ("update_domain", "fault_domain"):
            own_set = "set" not in closure(GROUP_KEY[claim.per])  # then each value in a set of its own
            name = (f"as{i}" if own_set else "as0") if availability_set else (f"ss{i}" if own_set else "ss0")
            vm["availability_set" if availability_set else "scale_set"] = name
            vm[c] = i
        elif c in ("scale_set", "set"):
            vm["scale_set"] = f"ss{i}"
        elif c == "availability_set":
            vm["availability_set"] = f"as{i}"
        elif c == "subscription":
            vm["subscription"] = f"sub{i}"
        if claim.per in ("scale_set", "set", "update_domain", "fault_domain") and not (
                "scale_set" in vm or "availability_set" in vm):
            vm["scale_set"] = "ss0"
        if claim.per == "availability_set" or (availability_set and claim.per in ("set", "update_domain",
                                                                                   "fault_domain")):
            vm.pop("scale_set", None)
            vm["availability_set"] = "as0"
        if claim.per == "subscription":
            vm["subscription"] = "sub0"
        elif c != "subscription":
            vm["subscription"] = f"sub-{vm['name']}"  # no subscription-wide rule sees them together
        vms.append(vm)
    for k, r in enumerate(regions):
        if claim.count == "geography":
            r["geography"] = f"geo{k}"
        elif claim.per == "geography" or in_geography:
            r["geography"] = "geo0"
    scale_sets: list[dict[str, str]] = []
    avsets: list[dict[str, str]] = []
    for vm in vms:
        if "scale_set" in vm and vm["scale_set"] not in {s["name"] for s in scale_sets}:
            scale_sets.append({"name": vm["scale_set"], "region": vm["region"]})
        if "availability_set" in vm and vm["availability_set"] not in {s["name"] for s in avsets}:
            avsets.append({"name": vm["availability_set"], "region": vm["region"]})
    sched_regions = sorted({v["region"] for v in vms})
    scheduled = [v["name"] for v in vms if v["_scheduled"]]
    # Per phase: one wave per VM, so no rule on waves sees two of them together.
    waves = [(0, scheduled)] if claim.within == "wave" else [(0, [n]) for n in scheduled]
    return assemble(regions, scale_sets, avsets, vms, [sched_regions], waves)

"""``at most L waves|phases per <group>`` (UnitLimit): how many units a group's scheduled VMs use.

The element: one group of scope ``per`` whose scheduled VMs use ``d`` distinct units (``d`` symbolic, up to
``L + 1``).  Premises: the schedule format (a region's tasks all lie in one phase, so a group inside one region uses
at most one phase) and (:data:`UNIT_LIMIT_PREMISES`) a UnitLimit rule over the same or a containing group, with no
filter or the claim's, counting the same unit or waves where the claim counts phases (a group using ``d`` phases
uses at least ``d`` waves), each only under the containment table's guard (a rule on scale sets binds a set, a
domain or a VM only when it is a scale set's; a geography rule only a member).

Soundness: the units a group uses are at most the units a containing group uses, and each premise is its rule on
that group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import z3

from dsl.policy import Policy, TrueP, UnitLimit
from engine.model.solver import Sat
from engine.prove.containment import IN_ONE_REGION, MEMBERSHIP, covers, guard
from engine.prove.kinds.base import Encoding, RuleClaim, Unsupported
from engine.prove.witness import Witness, assemble, layout, plain_vm, region_entry

MAX_UNITS = 12  # the element's units are built one VM each


def _unit_limit(r: UnitLimit, claim: UnitLimit, d: z3.ArithRef) -> z3.BoolRef | None:
    same_unit = r.unit == claim.unit or (r.unit == "wave" and claim.unit == "phase")
    if same_unit and covers(r.per, claim.per) and r.where in (TrueP(), claim.where):
        return d <= r.limit
    return None


# What a spec rule of each kind contributes as a premise to a UnitLimit claim (None or absent: nothing).
UNIT_LIMIT_PREMISES: Mapping[type, Callable[[Any, UnitLimit, z3.ArithRef], z3.BoolRef | None]] = {
    UnitLimit: _unit_limit,
}


class UnitLimitClaim(RuleClaim[UnitLimit]):
    """The violation: one group whose scheduled VMs use ``L + 1`` units."""

    kind = UnitLimit

    def encode(self, spec: Policy, claim: UnitLimit) -> Encoding:
        if claim.limit + 1 > MAX_UNITS:
            raise Unsupported("limit too large for the unit-count element")
        d = z3.Int("units_used")
        premises: list[z3.BoolRef] = [d >= 0, d <= claim.limit + 1]
        involved: list[str] = []
        dropped: list[str] = []
        if claim.unit == "phase" and claim.per in IN_ONE_REGION:
            premises.append(d <= 1)  # the schedule format: each region's tasks all lie in one phase
        members: dict[str, z3.BoolRef] = {}

        def member(attr: str) -> z3.BoolRef:
            return members.setdefault(attr, z3.Bool(f"units_group_{attr.replace('.', '_')}_known"))

        if claim.per in MEMBERSHIP:
            premises.append(member(MEMBERSHIP[claim.per]))
        premises += _set_kind(claim.per, member("vm.in_scale_set"), member("vm.in_availability_set"),
                              member("vm.single"))
        for r in spec.rules:
            contribution = UNIT_LIMIT_PREMISES.get(type(r))
            premise = contribution(r, claim, d) if contribution is not None else None
            if premise is None:
                dropped.append(r.name)
                continue
            involved.append(r.name)
            assert isinstance(r, UnitLimit)
            clauses = [z3.Or(*[member(a) for a in clause]) for clause in guard(r.per, claim.per)]
            premises.append(z3.Implies(z3.And(*clauses), premise) if clauses else premise)

        def build(m: Sat, deadline: float) -> Witness:
            found = self.witnesses(spec, claim, deadline)
            if not found:
                raise Unsupported("no witness layout for this unit limit")
            return found[0]

        return Encoding("for all fleet sizes", premises, d >= 1, d >= claim.limit + 1, involved, dropped, build)

    def witnesses(self, spec: Policy, claim: UnitLimit, deadline: float) -> list[Witness]:
        """``L + 1`` VMs of one group, one per unit (regions of their own where the unit is a phase), once for each
        set kind the group may have (a rule on scale sets says nothing of an availability set's group); a group of
        a geography gets one geography, a group with no geography rule to fear gets none."""
        n = claim.limit + 1
        if n > MAX_UNITS:
            return []
        if claim.unit == "phase" and claim.per not in ("fleet", "subscription", "geography"):
            return []  # a region's tasks lie in one phase: a group inside a region never spans two phases
        kinds = {"scale_set": ("scale_set",), "availability_set": ("availability_set",)}.get(
            claim.per, ("scale_set", "availability_set") if claim.per in ("set", "update_domain", "fault_domain")
            else (None, "scale_set", "availability_set") if claim.per == "vm" else (None,))
        out = []
        for kind in kinds:
            vms = []
            for i in range(n):
                region = f"region{i}" if claim.unit == "phase" else "region0"
                vm = plain_vm("vm0" if claim.per == "vm" else f"vm{i}", region, True)
                if kind is not None:
                    vm[kind] = "ss0" if kind == "scale_set" else "as0"
                if claim.per == "geography":
                    vm["_geography"] = "geo0"
                vms.append(vm)
            if claim.per == "vm":
                out.append(_one_vm_over_units(vms[0], n, claim.unit))
            else:
                out.append(layout(vms, claim.unit))
        return out


def _set_kind(per: str, ss: z3.BoolRef, avs: z3.BoolRef, single: z3.BoolRef) -> list[z3.BoolRef]:
    """The group's set kind as its scope requires: exactly one of scale set, availability set, single VM."""
    allowed = {"scale_set": (ss,), "availability_set": (avs,), "set": (ss, avs), "update_domain": (ss, avs),
               "fault_domain": (ss, avs)}.get(per, (ss, avs, single))
    flags = (ss, avs, single)
    return [z3.Or(*allowed), *[z3.Not(z3.And(a, b)) for i, a in enumerate(flags) for b in flags[i + 1:]]]


def _one_vm_over_units(vm: dict[str, Any], n: int, unit: str) -> Witness:
    """One VM whose tasks lie in ``n`` waves, one extension each (a VM's tasks lie in one region: one phase)."""
    if unit == "phase":
        return layout([vm], unit)
    vm["extensions"] = [{**e, "name": f"{e['name']}{i}" if i else e["name"]} for i in range(n)
                        for e in vm["extensions"][:1]]
    return assemble([region_entry(vm["region"])], [{"name": vm[k], "region": vm["region"]} for k in ("scale_set",)
                                                   if k in vm],
                    [{"name": vm[k], "region": vm["region"]} for k in ("availability_set",) if k in vm], [vm],
                    [[vm["region"]]], [(0, [f"{vm['name']}#{e['name']}"]) for e in vm["extensions"]])

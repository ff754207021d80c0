"""``at most L waves|phases per <group>`` (UnitLimit): how many units a group's scheduled VMs use.

The element: one group of scope ``per`` whose scheduled VMs use ``d`` distinct units (``d`` symbolic, up to
``L + 1``).  Premises: the schedule format (a region's tasks all lie in one phase, so a group inside one region uses
at most one phase) and (:data:`UNIT_LIMIT_PREMISES`) a UnitLimit rule over the same or a containing group, with no
filter or the claim's, counting the same unit or waves where the claim counts phases (a group using ``d`` phases
uses at least ``d`` waves).  A rule over a scope with members (a geography) binds only an element that is a member.

Soundness: the units a group uses are at most the units a containing group uses, and each premise is its rule on
that group.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import z3

from dsl.policy import Policy, TrueP, UnitLimit
from engine.model.solver import Sat
from engine.prove.containment import IN_ONE_REGION, MEMBERSHIP, contains, covers, membership
from engine.prove.kinds.base import Encoding, RuleClaim, Unsupported
from engine.prove.witness import Witness, layout, plain_vm

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
        for r in spec.rules:
            contribution = UNIT_LIMIT_PREMISES.get(type(r))
            premise = contribution(r, claim, d) if contribution is not None else None
            if premise is None:
                dropped.append(r.name)
                continue
            involved.append(r.name)
            attr = membership(r.per, claim.per) if isinstance(r, UnitLimit) and contains(r.per, claim.per) else None
            premises.append(z3.Implies(member(attr), premise) if attr is not None else premise)

        def build(m: Sat, deadline: float) -> Witness:
            found = self.witnesses(spec, claim, deadline)
            if not found:
                raise Unsupported("no witness layout for this unit limit")
            return found[0]

        return Encoding("for all fleet sizes", premises, d >= 1, d >= claim.limit + 1, involved, dropped, build)

    def witnesses(self, spec: Policy, claim: UnitLimit, deadline: float) -> list[Witness]:
        """``L + 1`` VMs of one group, one per unit (regions of their own where the unit is a phase); a group of
        a geography gets one geography, a group with no geography rule to fear gets none."""
        n = claim.limit + 1
        if n > MAX_UNITS:
            return []
        vms = []
        for i in range(n):
            region = f"region{i}" if claim.unit == "phase" else "region0"
            vm = plain_vm(f"vm{i}", region, True)
            if claim.per in ("scale_set", "set", "update_domain", "fault_domain"):
                vm["scale_set"] = "ss0"
            elif claim.per == "availability_set":
                vm["availability_set"] = "as0"
            if claim.per == "geography":
                vm["_geography"] = "geo0"
            vms.append(vm)
        if claim.unit == "phase" and claim.per not in ("fleet", "subscription", "geography"):
            return []  # a region's tasks lie in one phase: a group inside a region never spans two phases
        return [layout(vms, claim.unit)]

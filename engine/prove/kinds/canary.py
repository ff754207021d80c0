"""``canary region "a" [alone] in the first phase`` (Canary): listed regions first, and with ``alone`` by themselves.

The element: a listed region a with tasks and another region b (symbolic names: ids of the policy's strings or
fresh), each in phase 0 or 1 — all a canary rule tells apart (the first phase or a later one).  Premises
(:data:`CANARY_PREMISES`): each Canary rule of the spec (its listed regions are in phase 0; with ``alone``, an
unlisted region is not in phase 0 when a listed one has tasks — the element's a has).

Soundness: any two regions with tasks map to the element (phase 0 stays 0, any later phase becomes 1), and each
premise is its rule on those two regions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import z3

from dsl.policy import Canary, Policy
from engine.model.solver import Sat
from engine.prove.kinds.base import Encoding, RuleClaim, Unsupported
from engine.prove.symbolic import Interner
from engine.prove.witness import Witness, assemble, interner_for, plain_vm


@dataclass(frozen=True)
class CanaryElement:
    strings: Interner
    name_a: z3.ArithRef
    name_b: z3.ArithRef
    phase_a: z3.ArithRef
    phase_b: z3.ArithRef

    def listed(self, names: tuple[str, ...], x: z3.ArithRef) -> z3.BoolRef:
        return z3.Or(*[x == self.strings.id(r) for r in names]) if names else z3.BoolVal(False)


def _canary(r: Canary, el: CanaryElement) -> list[z3.BoolRef]:
    la, lb = el.listed(r.regions, el.name_a), el.listed(r.regions, el.name_b)
    out = [z3.Implies(la, el.phase_a == 0), z3.Implies(lb, el.phase_b == 0)]
    if r.alone:
        out += [z3.Implies(z3.And(z3.Or(la, lb), z3.Not(la)), el.phase_a != 0),
                z3.Implies(z3.And(z3.Or(la, lb), z3.Not(lb)), el.phase_b != 0)]
    return out


# What a spec rule of each kind contributes as a premise to a Canary claim (absent: nothing).
CANARY_PREMISES: Mapping[type, Callable[[Any, CanaryElement], list[z3.BoolRef]]] = {Canary: _canary}


class CanaryClaim(RuleClaim[Canary]):
    """The violation: a listed region not in the first phase, or (alone) an unlisted region in it."""

    kind = Canary

    def encode(self, spec: Policy, claim: Canary) -> Encoding:
        if not claim.regions:
            raise Unsupported("a canary claim without regions")
        strings = interner_for(spec, claim)
        el = CanaryElement(strings, z3.Int("canary_a"), z3.Int("canary_b"), z3.Int("phase_a"), z3.Int("phase_b"))
        limit = strings.limit
        premises: list[z3.BoolRef] = [el.name_a != el.name_b, el.phase_a >= 0, el.phase_a <= 1, el.phase_b >= 0,
                                      el.phase_b <= 1, el.name_a >= 0, el.name_a <= limit, el.name_b >= 0,
                                      el.name_b <= limit]
        involved: list[str] = []
        dropped: list[str] = []
        for r in spec.rules:
            contribution = CANARY_PREMISES.get(type(r))
            if contribution is None:
                dropped.append(r.name)
                continue
            involved.append(r.name)
            premises += contribution(r, el)
        in_claim = el.listed(claim.regions, el.name_a)
        violation = z3.And(in_claim, z3.Or(el.phase_a != 0, z3.And(z3.BoolVal(claim.alone), z3.Not(
            el.listed(claim.regions, el.name_b)), el.phase_b == 0)))

        def build(m: Sat, deadline: float) -> Witness:
            found = self.witnesses(spec, claim, deadline)
            if not found:
                raise Unsupported("no witness layout for this claim")
            return found[0]

        return Encoding("for all fleet sizes", premises, in_claim, violation, involved, dropped, build)

    def witnesses(self, spec: Policy, claim: Canary, deadline: float) -> list[Witness]:
        """The canary in a later phase; with ``alone``, another region sharing its first phase."""
        if not claim.regions:
            return []
        canary, other = claim.regions[0], "witness-region"
        a, b = plain_vm("vm-canary", canary, True), plain_vm("vm-other", other, True)
        regions = [{"name": canary, "pair": None, "zones": 0}, {"name": other, "pair": None, "zones": 0}]
        late = assemble(regions, [], [], [a, b], [[other], [canary]], [(0, ["vm-other"]), (1, ["vm-canary"])])
        shared = assemble(regions, [], [], [a, b], [[canary, other]], [(0, ["vm-canary", "vm-other"])])
        return [late, shared] if claim.alone else [late]

"""``VMs where E before VMs where L by U`` (Order): every scheduled E-VM in a strictly earlier unit than every L-VM.

The element: two scheduled VMs a (matching ``earlier``) and b (matching ``later``) with symbolic units
``unit_a, unit_b >= 0``.  Premises (:data:`ORDER_PREMISES`): an Order rule of the spec with the same two filters, by
the same unit or by phases where the claim orders waves (phase indices never decrease along the waves), says
``unit_a < unit_b``.  The violation is ``unit_a >= unit_b``.

Soundness: any violating pair of VMs of any fleet is an instance of the element, and the premise is exactly what
an identical rule says about that pair.  A refutation is a witness of two VMs found by the filters (each making
its side true and the other false), laid out in the wrong order and replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import z3

from dsl.policy import Order, Policy
from engine.model.solver import Sat
from engine.prove.kinds.base import Encoding, RuleClaim, Unsupported
from engine.prove.witness import Witness, layout, satisfying_vms


def orders_units(rule_unit: str, claim_unit: str) -> bool:
    """A rule ordering by ``rule_unit`` orders the claim's units too (an order by phases orders waves)."""
    return rule_unit == claim_unit or (rule_unit == "phase" and claim_unit == "wave")


def two_units_encoding(spec: Policy, claim: Any, premise: Callable[[Any], bool],
                       witness: Callable[[float], list[Witness]]) -> Encoding:
    """Units ``unit_a``, ``unit_b`` of two scheduled VMs the claim orders; each spec rule for which ``premise``
    holds orders them (``unit_a < unit_b``); the violation is ``unit_a >= unit_b``."""
    ua, ub = z3.Int("unit_a"), z3.Int("unit_b")
    premises: list[z3.BoolRef] = [ua >= 0, ub >= 0]
    involved: list[str] = []
    dropped: list[str] = []
    for r in spec.rules:
        if premise(r):
            involved.append(r.name)
            premises.append(ua < ub)
        else:
            dropped.append(r.name)

    def build(m: Sat, deadline: float) -> Witness:
        found = witness(deadline)
        if not found:
            raise Unsupported("no witness layout for this claim")
        return found[0]

    return Encoding("for all fleet sizes", premises, z3.BoolVal(True), ua >= ub, involved, dropped, build)


def _same_order(r: Order, claim: Order) -> bool:
    return orders_units(r.unit, claim.unit) and (r.earlier, r.later) == (claim.earlier, claim.later)


# What a spec rule of each kind contributes to an Order claim: whether it orders the element's two VMs.
ORDER_PREMISES: Mapping[type, Callable[[Any, Order], bool]] = {Order: _same_order}


class OrderClaim(RuleClaim[Order]):
    """The violation: a VM matching ``earlier`` in the same unit as, or a later one than, a VM matching ``later``."""

    kind = Order

    def encode(self, spec: Policy, claim: Order) -> Encoding:
        def premise(r: Any) -> bool:
            contribution = ORDER_PREMISES.get(type(r))
            return contribution is not None and contribution(r, claim)

        return two_units_encoding(spec, claim, premise, lambda deadline: self.witnesses(spec, claim, deadline))

    def witnesses(self, spec: Policy, claim: Order, deadline: float) -> list[Witness]:
        """A VM matching ``later`` (not ``earlier``) in the first unit, one matching ``earlier`` (not ``later``)
        in the next."""
        wants = [[(claim.later, True), (claim.earlier, False)], [(claim.earlier, True), (claim.later, False)]]
        vms = satisfying_vms(spec, claim, wants, claim.unit == "phase", deadline)
        return [] if vms is None else [layout(vms, claim.unit)]

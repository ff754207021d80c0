"""``order waves|phases by tag "k" [descending] where P`` (OrderBy): smaller key values in strictly earlier units.

The element: two scheduled VMs a and b whose keys the claim orders (a's first) with symbolic units.  Premises
(:data:`ORDER_BY_PREMISES`): an OrderBy rule of the spec on the same key in the same direction, with no filter or
the claim's, by the same unit or by phases where the claim orders waves, says ``unit_a < unit_b``.

Soundness: as for :mod:`engine.prove.kinds.order` — any violating pair is an instance, and an identical rule orders
it.  A refutation is a witness of two VMs matching the filter with the keys in the wrong order, replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dsl.policy import OrderBy, Policy, TrueP
from engine.prove.kinds.base import Encoding, RuleClaim
from engine.prove.kinds.order import orders_units, two_units_encoding
from engine.prove.witness import Witness, layout, satisfying_vms


def _same_key(r: OrderBy, claim: OrderBy) -> bool:
    return (orders_units(r.unit, claim.unit) and r.key == claim.key and r.descending == claim.descending
            and r.where in (TrueP(), claim.where))


# What a spec rule of each kind contributes to an OrderBy claim: whether it orders the element's two VMs.
ORDER_BY_PREMISES: Mapping[type, Callable[[Any, OrderBy], bool]] = {OrderBy: _same_key}


class OrderByClaim(RuleClaim[OrderBy]):
    """The violation: a VM with a smaller key (larger, descending) in the same unit as, or a later one than, a VM
    with a larger key."""

    kind = OrderBy

    def encode(self, spec: Policy, claim: OrderBy) -> Encoding:
        def premise(r: Any) -> bool:
            contribution = ORDER_BY_PREMISES.get(type(r))
            return contribution is not None and contribution(r, claim)

        return two_units_encoding(spec, claim, premise, lambda deadline: self.witnesses(spec, claim, deadline))

    def witnesses(self, spec: Policy, claim: OrderBy, deadline: float) -> list[Witness]:
        """Two VMs matching the filter, tagged "1" and "0" (the wrong order), one per unit."""
        if claim.key.path[:2] != ("vm", "tags") or len(claim.key.path) != 3:
            return []
        tag = claim.key.path[2]
        vms = satisfying_vms(spec, claim, [[(claim.where, True)], [(claim.where, True)]], claim.unit == "phase",
                             deadline)
        if vms is None:
            return []
        first, second = ("0", "1") if claim.descending else ("1", "0")  # the wrong order: larger key first
        vms[0]["tags"] = {**vms[0].get("tags", {}), tag: first}
        vms[1]["tags"] = {**vms[1].get("tags", {}), tag: second}
        return [layout(vms, claim.unit)]

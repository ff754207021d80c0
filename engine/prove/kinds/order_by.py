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
        """Two VMs matching the filter with keys 1 and 0 (the wrong order: the larger first), one per unit; the key
        is a tag, an update or fault domain (the VMs then in a scale set each), or a zone (of a region with two)."""
        path = claim.key.path
        if not ((path[:2] == ("vm", "tags") and len(path) == 3)
                or path in (("vm", "update_domain"), ("vm", "fault_domain"), ("vm", "zone"))):
            return []
        vms = satisfying_vms(spec, claim, [[(claim.where, True)], [(claim.where, True)]], claim.unit == "phase",
                             deadline)
        if vms is None:
            return []
        keys = (0, 1) if claim.descending else (1, 0)  # the wrong order: the larger key first
        for vm, key in zip(vms, keys, strict=True):
            if path[1] == "tags":
                vm["tags"] = {**vm.get("tags", {}), path[-1]: str(key)}
            elif path[1] == "zone":
                vm["zone"] = str(key + 1)
            else:
                if not (vm.get("scale_set") or vm.get("availability_set")):
                    vm["scale_set"] = f"ss-{vm['name']}"
                vm[path[1]] = key
            vm["subscription"] = f"sub-{vm['name']}"
        return [layout(vms, claim.unit)]

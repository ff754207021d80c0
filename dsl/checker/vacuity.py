"""Vacuity (W306): a rule whose ``where`` no VM can meet, judged on the conjunction at the top of the condition
(contradictory bounds or equalities), or single VMs in a rule about sets or their domains.  Sound, not complete:
a reason is given only when no VM can match; a condition this misses is simply not warned about."""

from __future__ import annotations

from dsl import policy as ir

SET_SCOPES = ("scale_set", "availability_set", "set", "update_domain", "fault_domain")
NON_NEGATIVE = ("scale_set.size", "availability_set.size", "region.zones", "vm.update_domain", "vm.fault_domain")


def never_applies(rule: object) -> str | None:
    """Why a rule's ``where`` can match no VM (or no VM of its groups), or None when it may apply."""
    where = getattr(rule, "where", None)
    if where is None:
        return None
    reason = unsatisfiable(where)
    if reason is not None:
        return reason
    scope = getattr(rule, "of", None) or getattr(rule, "per", None)
    if scope in SET_SCOPES and requires_single(where):
        return f"single VMs (`vm.single`) belong to no {scope}"
    return None


def conjuncts(p: ir.Predicate) -> list[ir.Predicate]:
    if isinstance(p, ir.And):
        return [c for item in p.items for c in conjuncts(item)]
    return [p]


def requires_single(p: ir.Predicate) -> bool:
    return any(
        isinstance(c, ir.Compare) and c.left.path == ("vm", "single") and c.op == "==" and c.right is True
        for c in conjuncts(p)
    )


def bounds(op: str, v: int) -> tuple[int | None, int | None]:
    """The (lowest, highest) integer a comparison with ``v`` allows; None: unbounded on that side."""
    return {"==": (v, v), "<": (None, v - 1), "<=": (None, v), ">": (v + 1, None), ">=": (v, None)}.get(op, (None, None))


def unsatisfiable(p: ir.Predicate) -> str | None:
    """A reason when the conjunction at the top of ``p`` is contradictory on its own (bounds, equalities)."""
    low: dict[str, int] = {}
    high: dict[str, int] = {}
    equal: dict[str, object] = {}
    for c in conjuncts(p):
        if not isinstance(c, ir.Compare):
            continue
        key = str(c.left)
        if c.op == "==":
            if key in equal and equal[key] != c.right:
                return f"`{key}` cannot equal both {equal[key]!r} and {c.right!r}"
            equal[key] = c.right
        if isinstance(c.right, bool) or not isinstance(c.right, int):
            continue
        lo, hi = bounds(c.op, c.right)
        if key in NON_NEGATIVE:
            low[key] = max(low.get(key, 0), 0)
        if lo is not None:
            low[key] = max(low.get(key, lo), lo)
        if hi is not None:
            high[key] = min(high.get(key, hi), hi)
        if key in low and key in high and low[key] > high[key]:
            return f"no value of `{key}` is both >= {low[key]} and <= {high[key]}"
    return None

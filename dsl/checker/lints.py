"""Checks over a chain's merged statements: one gate per single-valued slot (E214) and rules implied by another
of the same kind (W301)."""

from __future__ import annotations

from collections.abc import Sequence

from dsl import policy as ir
from dsl.checker.statements import Item
from dsl.diagnostics import Diagnostic

GATE_WORDS = {
    "PrecheckGate": "precheck (before a batch)",
    "StopUpgradedGate": "stop-when-upgraded-unhealthy",
    "StopUnhealthyGate": "stop-at-end-of-batch",
    "PauseGate": "pause",
    "HealthWaitGate": "health wait",
    "RetryGate": "retry",
    "PhaseGate": "phase gate",
    "InstallTime": "install time",
}


def gate_slot(g: object) -> tuple[str, str] | None:
    """The slot a gate fills: its kind, and its scope for the scoped kinds."""
    if isinstance(g, ir.PrecheckGate | ir.StopUpgradedGate | ir.StopUnhealthyGate | ir.PauseGate):
        return type(g).__name__, g.of
    if isinstance(g, ir.HealthWaitGate | ir.RetryGate | ir.PhaseGate | ir.InstallTime):
        return type(g).__name__, ""
    return None


def check_single_valued(items: Sequence[Item], diags: list[Diagnostic]) -> None:
    """E214: a second gate of a kind (per scope, for the scoped kinds)."""
    slots: dict[tuple[str, str], Item] = {}
    for it in items:
        slot = gate_slot(it.value)
        if slot is None:
            continue
        first = slots.setdefault(slot, it)
        if first is not it:
            scope = f" for {slot[1]}" if slot[1] else ""
            diags.append(Diagnostic("E214", f"a second {GATE_WORDS[slot[0]]} {'rule' if slot[0] == 'InstallTime' else 'gate'}{scope} (`{first.name}` is the first)",
                                    it.span,
                                    hint=f"one is enough; to change it in a child policy, reuse the name `{first.name}`"))


def implied_warnings(items: Sequence[Item], diags: list[Diagnostic]) -> None:
    """W301: a rule of the same kind and scope as another, with a looser constant, adds nothing; nor does an
    extension order stated a second time."""
    groups: dict[object, list[Item]] = {}
    for it in items:
        if it.category in ("rule", "theorem"):
            key = comparable_key(it.value)
            if key is not None:
                groups.setdefault(key, []).append(it)
    for group in groups.values():
        for a in group:
            # The tightest rule of the group implies every strictly looser one.
            tighter = next((b for b in group if b is not a and looser(a.value, b.value)), None)
            if tighter is not None:
                diags.append(implied(a, tighter))
    for later, first in repeated_orders(items):
        diags.append(implied(later, first, "states the same extension order as"))


def implied(a: Item, by: Item, how: str = "is implied by") -> Diagnostic:
    where = f"{by.span.file}:{by.span.line}"
    return Diagnostic("W301", f"rule `{a.name}` {how} rule `{by.name}` ({where})", a.span,
                      hint="remove the looser rule, or tighten it" if how == "is implied by" else "remove one of them",
                      severity="warning")


def repeated_orders(items: Sequence[Item]) -> list[tuple[Item, Item]]:
    """Each extension order rule (or claim) that repeats an earlier one, with the earlier one."""
    first: dict[tuple[ir.ExtensionSelector, ir.ExtensionSelector], Item] = {}
    out: list[tuple[Item, Item]] = []
    for it in items:
        if it.category in ("rule", "theorem") and isinstance(it.value, ir.ExtensionOrder):
            key = (it.value.first, it.value.second)
            seen = first.setdefault(key, it)
            if seen is not it:
                out.append((it, seen))
    return out


def comparable_key(r: object) -> object | None:
    if isinstance(r, ir.Capacity):
        kind = "count" if isinstance(r.amount, ir.Count) else ("pct", r.amount.rounding)
        return ("cap", kind, r.of, r.within, r.where)
    if isinstance(r, ir.DistinctLimit):
        return ("distinct", r.count, r.per, r.within, r.where)
    if isinstance(r, ir.UnitLimit):
        return ("units", r.unit, r.per, r.where)
    return None


def looser(a: object, b: object) -> bool:
    """True when rule ``a`` allows everything rule ``b`` allows, and strictly more."""
    if isinstance(a, ir.Capacity) and isinstance(b, ir.Capacity):
        return (a.of, a.within, a.where) == (b.of, b.within, b.where) and looser_amount(a.amount, b.amount)
    if isinstance(a, ir.DistinctLimit) and isinstance(b, ir.DistinctLimit):
        return (a.count, a.per, a.within, a.where) == (b.count, b.per, b.within, b.where) and a.limit > b.limit
    if isinstance(a, ir.UnitLimit) and isinstance(b, ir.UnitLimit):
        return (a.unit, a.per, a.where) == (b.unit, b.per, b.where) and a.limit > b.limit
    return False


def looser_amount(a: ir.Amount, b: ir.Amount) -> bool:
    if isinstance(a, ir.Count) and isinstance(b, ir.Count):
        return a.n > b.n
    if isinstance(a, ir.Percent) and isinstance(b, ir.Percent):
        if a.rounding != b.rounding:
            return False
        return a.value >= b.value and a.minimum >= b.minimum and (a.value, a.minimum) != (b.value, b.minimum)
    return False

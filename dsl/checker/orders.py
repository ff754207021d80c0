"""Cycles among a policy's extension order rules (E222), after ``extends`` and params are merged.

``A before B`` on each VM means: B is installed only after A succeeded there.  Rules whose selectors form a cycle
(A before B, B before A; or longer) leave a VM holding all of those extensions with no extension to start with, so
the policy is refused.  Selectors are compared as written (``"A"`` and ``publisher "P" type "A"`` are different
selections): sound, not complete.  Every cycle reported deadlocks each VM holding an extension of each of its
selections, on any fleet; a cycle only through overlapping but different selections is not reported here (whether
it bites depends on the fleet's extensions).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from dsl import policy as ir
from dsl.checker.extensions import selector_source
from dsl.checker.statements import Item
from dsl.diagnostics import Diagnostic

Selector = ir.ExtensionSelector


def check_extension_orders(items: Sequence[Item], diags: list[Diagnostic]) -> None:
    """E222 for each cycle of extension order rules, naming every rule of it; each rule on a cycle is named."""
    orders = distinct_orders(items)
    after: dict[Selector, list[int]] = {}
    for i, it in enumerate(orders):
        after.setdefault(order_of(it).first, []).append(i)
    covered: set[int] = set()
    for i, it in enumerate(orders):
        rule = order_of(it)
        path = None if i in covered else shortest_path(orders, after, rule.second, rule.first)
        if path is not None:
            cycle = rotate([i, *path], min(i, *path))
            covered.update(cycle)
            diags.append(cycle_diagnostic([orders[j] for j in cycle], at=orders[max(cycle)]))


def distinct_orders(items: Sequence[Item]) -> list[Item]:
    """The extension order rules, each order once (a repeated one is W301, not a second edge of a cycle)."""
    out: dict[tuple[Selector, Selector], Item] = {}
    for it in items:
        if it.category == "rule" and isinstance(it.value, ir.ExtensionOrder):
            out.setdefault((it.value.first, it.value.second), it)
    return list(out.values())


def order_of(it: Item) -> ir.ExtensionOrder:
    assert isinstance(it.value, ir.ExtensionOrder)  # only extension order items reach here
    return it.value


def shortest_path(
    orders: Sequence[Item], after: dict[Selector, list[int]], start: Selector, goal: Selector
) -> list[int] | None:
    """The indices of the fewest rules leading from ``start`` to ``goal`` (breadth first), or None."""
    came_by: dict[Selector, int | None] = {start: None}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            return rules_to(orders, came_by, goal)
        for i in after.get(here, []):
            nxt = order_of(orders[i]).second
            if nxt not in came_by:
                came_by[nxt] = i
                queue.append(nxt)
    return None


def rules_to(orders: Sequence[Item], came_by: dict[Selector, int | None], goal: Selector) -> list[int]:
    path: list[int] = []
    step = came_by[goal]
    while step is not None:
        path.append(step)
        step = came_by[order_of(orders[step]).first]
    return path[::-1]


def rotate(cycle: list[int], first: int) -> list[int]:
    k = cycle.index(first)
    return cycle[k:] + cycle[:k]


def rule_text(it: Item) -> str:
    r, sp = order_of(it), it.span
    return f"`{it.name}` ({sp.file}:{sp.line}:{sp.column}: {selector_source(r.first)} before {selector_source(r.second)})"


def cycle_diagnostic(cycle: Sequence[Item], at: Item) -> Diagnostic:
    """At ``at`` (the rule of the cycle merged last), naming every rule of the cycle in its order, with its span."""
    return Diagnostic(
        "E222",
        "extension order rules make a cycle: " + ", then ".join(rule_text(it) for it in cycle),
        at.span,
        hint="a VM with all of these extensions could upgrade none of them first; remove or reverse one rule",
    )

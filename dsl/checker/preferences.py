"""Soft preferences: ``VMs of each G [and H] spread over waves``, optimised by the planner after the wave count."""

from __future__ import annotations

from typing import cast

from dsl import ast
from dsl import policy as ir
from dsl.checker.names import unit, word
from dsl.checker.predicates import pred
from dsl.checker.values import Context
from dsl.diagnostics import Span

# The scopes a spread may group by: the VM fields the planner's and checker's spread keys read (not `geography`).
SPREAD_KEYS = ("region", "zone", "scale_set", "availability_set", "set", "subscription", "update_domain", "fault_domain")


def spread(ctx: Context, name: str, span: Span, b: ast.SpreadBody) -> ir.Spread | None:
    word(ctx, b.noun, ("vm",), "subject")
    by = [word(ctx, n, SPREAD_KEYS, "grouping") for n in b.by]
    u = unit(ctx, b.unit)
    if u == "phase":
        ctx.err("E206", "preferences spread over waves only", b.unit.span, hint="write `spread over waves`")
        return None
    weight = 1 if b.weight is None else ctx.count(b.weight, "weight", 0)
    where = pred(ctx, b.where)
    if any(x is None for x in by) or u is None or weight is None or where is None:
        return None
    if b.single:
        single = ir.Compare("==", ir.Attr(("vm", "single")), True)
        where = single if isinstance(where, ir.TrueP) else ir.And((single, where))
    return ir.Spread(name, span, by=tuple(cast(str, x) for x in by), where=where, weight=weight)

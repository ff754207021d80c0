"""``at most ...``: one form, three rule kinds, told apart by what is counted.

``at most N waves|phases [per G]`` is a :class:`~dsl.policy.UnitLimit`; ``at most AMOUNT VMs [per G] per U`` and
``at most AMOUNT of a G per U`` are a :class:`~dsl.policy.Capacity`; ``at most N SCOPE [per G] per U`` is a
:class:`~dsl.policy.DistinctLimit`.
"""

from __future__ import annotations

from typing import Literal, cast

from dsl import ast, limits
from dsl import policy as ir
from dsl.checker.names import TIME_UNITS, unit, word
from dsl.checker.predicates import pred
from dsl.checker.values import Context
from dsl.diagnostics import Span

REGION_PARTS = ("zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain")
# (outer, inner): every group of the inner scope lies inside one group of the outer scope, so counting the outer
# scope per inner group never exceeds 1 (W302).  A set lies in one region, a region in one geography.
NESTED = frozenset(
    {("region", inner) for inner in REGION_PARTS}
    | {("geography", inner) for inner in ("region", *REGION_PARTS)}
    | {(s, d) for s in ("scale_set", "availability_set", "set") for d in ("update_domain", "fault_domain")}
)
COUNTABLE = tuple(s for s in ir.GROUP_SCOPES if s not in ("fleet", "vm"))


def at_most(ctx: Context, name: str, span: Span, b: ast.AtMostBody) -> ir.Rule | None:
    counted = None
    if b.counted is not None:
        counted = word(ctx, b.counted, (*COUNTABLE, "vm", *TIME_UNITS), "counted item")
        if counted is None:
            return None
    if counted in TIME_UNITS:
        return unit_limit(ctx, name, span, b, cast(ir.TimeUnit, counted))
    where = pred(ctx, b.where)
    if not b.per:
        ctx.err("E206", "say per which time unit: add `per wave` or `per phase`", b.span,
                hint="e.g. at most 1 zone per region per wave")
        return None
    within = unit(ctx, b.per[-1])
    if len(b.per) > 2:
        ctx.err("E205", "at most one `per SCOPE` before the time unit", b.per[1].span)
        return None
    group = word(ctx, b.per[0], ir.GROUP_SCOPES, "scope") if len(b.per) == 2 else "fleet"
    if counted is None or counted == "vm":
        return capacity(ctx, name, span, b, counted, group, within, where)
    return distinct_limit(ctx, name, span, b, counted, group, within, where)


def unit_limit(ctx: Context, name: str, span: Span, b: ast.AtMostBody, counted: ir.TimeUnit) -> ir.Rule | None:
    """``at most 40 waves``, ``at most 3 waves per region``."""
    where = pred(ctx, b.where)
    if b.of is not None:
        ctx.err("E205", "`of` does not go with a count of waves or phases", b.of.span)
    if len(b.per) > 1:
        ctx.err("E205", "count waves or phases per one scope", b.per[1].span, hint="e.g. at most 3 waves per region")
    per = "fleet" if not b.per else word(ctx, b.per[0], ir.GROUP_SCOPES, "scope")
    limit = ctx.count(b.amount, "number of units", 0)
    no_rounding(ctx, b)
    if per is None or limit is None or where is None:
        return None
    if limit == 0:
        impossible(ctx, b.amount.span, f"at most 0 {counted}s")
        return None
    return ir.UnitLimit(name, span, limit=limit, unit=counted, per=per, where=where)


def capacity(
    ctx: Context, name: str, span: Span, b: ast.AtMostBody, counted: str | None, group: str | None,
    within: ir.TimeUnit | None, where: ir.Predicate | None,
) -> ir.Rule | None:
    """``at most 20% (floor, at least 1) of a scale_set per wave``, ``at most 300 VMs per region per wave``."""
    if b.of is not None and len(b.per) == 2:
        ctx.err("E205", "give the group either with `of` or with `per`, not both", b.per[0].span)
        return None
    of = word(ctx, b.of, ir.GROUP_SCOPES, "scope") if b.of is not None else group
    if counted is None and b.of is None:
        ctx.err("E205", "say what is limited: `VMs`, `of a SCOPE`, or a scope such as `zone`", b.span)
        return None
    amount = capacity_amount(ctx, b)
    if amount is None or of is None or within is None or where is None:
        return None
    if isinstance(amount, ir.Percent) and amount.value >= 100:
        ctx.warn("W302", "at most 100% never limits anything", b.amount.span, hint="remove the rule")
    return ir.Capacity(name, span, amount=amount, of=of, within=within, where=where)


def distinct_limit(
    ctx: Context, name: str, span: Span, b: ast.AtMostBody, counted: str, group: str | None,
    within: ir.TimeUnit | None, where: ir.Predicate | None,
) -> ir.Rule | None:
    """``at most 1 zone per region per wave``: distinct values of the counted scope per group and unit."""
    if b.of is not None:
        ctx.err("E205", f"`of` does not go with a count of {counted}s; use `per`", b.of.span)
        return None
    limit = ctx.count(b.amount, f"number of {counted}s", 0)
    no_rounding(ctx, b)
    if limit is None or group is None or within is None or where is None:
        return None
    if limit == 0:
        impossible(ctx, b.amount.span, f"at most 0 {counted}s")
        return None
    if group == counted or group == "vm" or (counted, group) in NESTED:
        ctx.warn("W302", f"each {group} holds VMs of a single {counted}, so this never limits anything", b.span,
                 hint="did you mean another scope after `per`?")
    return ir.DistinctLimit(name, span, limit=limit, count=counted, per=group, within=within, where=where)


def impossible(ctx: Context, sp: Span, what: str) -> None:
    ctx.err("E210", f"{what} makes every non-empty rollout impossible", sp,
            hint="use at least 1; to stop a rollout, leave VMs out of the fleet instead")


def no_rounding(ctx: Context, b: ast.AtMostBody) -> None:
    if b.rounding:
        ctx.err("E208", "rounding and minimums apply to percentages only", b.rounding[0].span,
                hint="remove the parentheses, or write a percentage")


def capacity_amount(ctx: Context, b: ast.AtMostBody) -> ir.Amount | None:
    """A count of VMs, or a percentage of the group's size with its rounding options."""
    tv = ctx.value(b.amount)
    if tv is None:
        return None
    if tv.kind == "int":
        no_rounding(ctx, b)
        n = cast(int, tv.value)
        if n < 0:
            ctx.err("E209", f"a count must be at least 0, not {n}{tv.via()}", tv.span)
            return None
        if n == 0:
            impossible(ctx, tv.span, "at most 0 VMs")
            return None
        if n > limits.COUNT:
            ctx.err("E209", f"a count of VMs must be at most {limits.COUNT:,}, not {n:,}{tv.via()}", tv.span,
                    hint="docs/language.md (Limits) lists the limit of every number")
            return None
        return ir.Count(n)
    if tv.kind != "percent":
        hint = f"add a unit: {tv.value}%" if tv.kind == "number" else "write a count (5) or a percentage (20%)"
        ctx.type_error(tv, "a count or percentage", hint=hint)
        return None
    return percent_amount(ctx, b)


def percent_amount(ctx: Context, b: ast.AtMostBody) -> ir.Percent | None:
    value = ctx.percent(b.amount, "a percentage")
    if value is None:
        return None
    options = rounding_options(ctx, b.rounding)
    if options is None:
        return None
    mode, minimum = options
    pct = ir.Percent(value, cast(Literal["floor", "ceil"], mode or "floor"), minimum or 0)
    if value == 0 and pct.minimum == 0:
        impossible(ctx, b.amount.span, "at most 0% with no minimum")
        return None
    return pct


def rounding_options(ctx: Context, opts: tuple[ast.RoundOpt, ...]) -> tuple[str | None, int | None] | None:
    """``(floor|ceil, at least N)``, each at most once (E210 when given twice)."""
    mode: str | None = None
    minimum: int | None = None
    ok = True
    for opt in opts:
        if opt.mode is not None:
            if mode is not None:
                ctx.err("E210", f"rounding given twice ({mode} and {opt.mode})", opt.span, hint="keep one")
                ok = False
            mode = opt.mode
        elif opt.minimum is not None:
            if minimum is not None:
                ctx.err("E210", "minimum given twice", opt.span, hint="keep one `at least N`")
                ok = False
            m = ctx.count(opt.minimum, "minimum", 0)
            ok = ok and m is not None
            minimum = m if m is not None else minimum
    return (mode, minimum) if ok else None

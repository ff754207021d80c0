"""Named statements (``rule``, ``prefer``, ``gate``, ``theorem``) to IR: one dispatch on the body's type to the
module of its family, and the W306 vacuity warning on the result."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dsl import ast
from dsl import policy as ir
from dsl.checker import claims, gates, limits, preferences, rules, times
from dsl.checker.vacuity import never_applies
from dsl.checker.values import TV, Context
from dsl.diagnostics import Diagnostic, Span

Category = ast.StatementKind
Checked = ir.Rule | ir.Preference | ir.Gate | ir.TimeRule | ir.VersionClaim


@dataclass
class Item:
    """One checked named statement, before a chain's statements are merged by name."""

    category: Category
    name: str
    value: Checked
    span: Span
    file: str


def statement(ctx: Context, st: ast.NamedDecl) -> Checked | None:
    """The IR of a named statement's body; None after an error (the diagnostics are in ``ctx``)."""
    name, span, b = st.name.text, st.span, st.body
    match b:
        case ast.SeparatePairsBody():
            return rules.separate_pairs(ctx, name, span, b)
        case ast.SeparateRegionsBody():
            return rules.separate_regions(ctx, name, span, b)
        case ast.AtMostBody():
            return limits.at_most(ctx, name, span, b)
        case ast.NotWholeBody():
            return rules.not_whole(ctx, name, span, b)
        case ast.CanaryBody():
            return rules.canary(ctx, name, span, b)
        case ast.OrderBody():
            return rules.order(ctx, name, span, b)
        case ast.OrderByBody():
            return rules.order_by(ctx, name, span, b)
        case ast.ExtensionOrderBody():
            return rules.extension_order(ctx, name, span, b)
        case ast.SpreadBody():
            return preferences.spread(ctx, name, span, b)
        case ast.PrecheckBody() | ast.StopUpgradedBody() | ast.StopUnhealthyBody():
            return gates.cap_gate(ctx, name, span, b)
        case ast.HealthWaitBody():
            return gates.health_wait(ctx, name, span, b)
        case ast.PhaseGateBody():
            return gates.phase_gate(ctx, name, span, b)
        case ast.RetryBody():
            return gates.retry(ctx, name, span, b)
        case ast.PauseBody():
            return gates.pause(ctx, name, span, b)
        case ast.InstallTimeBody():
            return times.install_time(ctx, name, span, b)
        case ast.WindowBody():
            return times.window(ctx, name, span, b)
        case ast.FreezeBody():
            return times.freeze(ctx, name, span, b)
        case ast.BakeBody():
            return times.bake(ctx, name, span, b)
        case ast.ExecClaimBody():
            return claims.executor_claim(ctx, name, span, b)
        case ast.VersionClaimBody():
            return claims.version_claim(ctx, b)


def convert_items(
    filename: str,
    tree: ast.File,
    env: dict[str, TV],
    diags: list[Diagnostic],
    allowed: Callable[[ast.Statement], bool],
    used: set[str],
) -> list[Item]:
    """The checked named statements of one file that ``allowed`` admits; adds the params they use to ``used``."""
    ctx = Context(env, diags)
    items: list[Item] = []
    for st in tree.statements:
        if not allowed(st) or not isinstance(st, ast.NamedDecl):
            continue
        value = statement(ctx, st)
        if value is None:
            continue
        reason = never_applies(value)
        if reason is not None:
            ctx.warn("W306", f"`{st.name.text}` never applies: {reason}", st.span,
                     hint="fix the `where` condition, or remove the rule")
        items.append(Item(st.kind, st.name.text, value, st.span, filename))
    used |= ctx.used
    return items

"""Health gates (enforced by the executor): precheck, stop gates, health wait, phase gate, retry, pause."""

from __future__ import annotations

from dsl import ast, limits
from dsl import policy as ir
from dsl.checker.names import word
from dsl.checker.values import Context
from dsl.diagnostics import Span

CapBody = ast.PrecheckBody | ast.StopUpgradedBody | ast.StopUnhealthyBody | ast.ExecClaimBody


def cap_gate(ctx: Context, name: str, span: Span, b: CapBody) -> ir.Gate | None:
    """A gate with an unhealthy cap; a precheck compares with `<=` (start while at most), stop gates with `>`."""
    of = word(ctx, b.of, ir.GROUP_SCOPES, "scope")
    want = "<=" if isinstance(b, ast.PrecheckBody) else ">"
    if b.op != want:
        meaning = "start only while unhealthy <= CAP" if want == "<=" else "the gate trips when unhealthy > CAP"
        ctx.err("E218", f"this gate compares with `{want}`, not `{b.op}`", b.span, hint=meaning)
        return None
    value = ctx.percent(b.cap, "the unhealthy cap")
    if of is None or value is None:
        return None
    cap = ir.Percent(value)
    if isinstance(b, ast.StopUpgradedBody) or (isinstance(b, ast.ExecClaimBody) and b.upgraded):
        return ir.StopUpgradedGate(name, span, of=of, cap=cap)
    if isinstance(b, ast.StopUnhealthyBody):
        return ir.StopUnhealthyGate(name, span, of=of, cap=cap)
    return ir.PrecheckGate(name, span, of=of, cap=cap)


def health_wait(ctx: Context, name: str, span: Span, b: ast.HealthWaitBody) -> ir.Gate | None:
    wait = ctx.duration(b.wait, "health wait")
    if wait is None:
        return None
    return ir.HealthWaitGate(name, span, wait=wait, on_timeout=b.on_timeout or "rollback")


def phase_gate(ctx: Context, name: str, span: Span, b: ast.PhaseGateBody) -> ir.Gate | None:
    return ir.PhaseGate(name, span)


def retry(ctx: Context, name: str, span: Span, b: ast.RetryBody) -> ir.Gate | None:
    after = ctx.duration(b.after, "retry interval")
    if after is not None and after.seconds == 0:
        ctx.err("E209", "the retry interval must be longer than 0", b.after.span, hint="e.g. 3d")
        return None
    attempts = 3 if b.max_attempts is None else ctx.count(b.max_attempts, "retries", maximum=limits.RETRIES)
    if after is None or attempts is None:
        return None
    return ir.RetryGate(name, span, after=after, max_attempts=attempts)


def pause(ctx: Context, name: str, span: Span, b: ast.PauseBody) -> ir.Gate | None:
    length = ctx.duration(b.pause, "pause")
    of = "scale_set" if b.of is None else word(ctx, b.of, ir.GROUP_SCOPES, "scope")
    if length is None or of is None:
        return None
    return ir.PauseGate(name, span, pause=length, of=of)

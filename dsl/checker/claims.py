"""Theorem claims that are not rule or gate bodies: the executor's invariant on batches and the version claims.
(A claim may also be any rule or gate body; those are checked by the rule and gate modules.)"""

from __future__ import annotations

from dsl import ast
from dsl import policy as ir
from dsl.checker.gates import cap_gate
from dsl.checker.names import word
from dsl.checker.values import Context
from dsl.diagnostics import Span


def executor_claim(ctx: Context, name: str, span: Span, b: ast.ExecClaimBody) -> ir.Gate | None:
    """``the executor never starts a batch while unhealthy [among upgraded] in the G > CAP``: the gate it proves."""
    return cap_gate(ctx, name, span, b)


def version_claim(ctx: Context, b: ast.VersionClaimBody) -> ir.VersionClaim | None:
    """``no VM ever moves to a new major version``, ``a VM whose upgrade failed health ends on its previous version``."""
    if word(ctx, b.noun, ("vm",), "subject") is None:
        return None
    return ir.VersionClaim(b.kind)

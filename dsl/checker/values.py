"""Values and their types: literals and param references as :class:`TV`, and the :class:`Context` that checks them.

A statement's values are checked against what its position wants (a count, a percentage, a duration, strings);
each mismatch is one E208/E209 diagnostic at the value, naming the param when the value came from one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Literal, cast

from dsl import ast, limits
from dsl import policy as ir
from dsl.diagnostics import Diagnostic, Span
from dsl.suggest import closest

Kind = Literal["int", "number", "percent", "duration", "string", "bool", "list"]
DESCRIPTION: dict[str, str] = {
    "int": "a count",
    "number": "a fractional number",
    "percent": "a percentage",
    "duration": "a duration",
    "string": "a string",
    "bool": "true/false",
    "list": "a list",
}


@dataclass(frozen=True)
class TV:
    """A typed value: what a literal or a param reference means."""

    kind: Kind
    value: object
    span: Span  # for a param's value: the declaration, where a fix goes
    param: str | None = None
    used_at: Span | None = None

    def via(self) -> str:
        """Where a param's value was used, for messages about it."""
        if self.param is None or self.used_at is None:
            return ""
        return f" (param `{self.param}`, used at {self.used_at.line}:{self.used_at.column})"

    def describe(self) -> str:
        return DESCRIPTION[self.kind]

    def items(self) -> tuple[TV, ...]:
        """The items of a list, or the value itself as a list of one."""
        return cast("tuple[TV, ...]", self.value) if self.kind == "list" else (self,)


def words(options: Sequence[str]) -> str:
    return ", ".join(options)


def did_you_mean(word: str, options: Sequence[str]) -> str | None:
    close = closest(word, options)
    return f"did you mean `{close}`?" if close else None


def literal(node: ast.ValueNode, diags: list[Diagnostic]) -> TV | None:
    """The typed value of a param's literal; a param's value may not name another param."""
    if isinstance(node, ast.Ref):
        diags.append(
            Diagnostic(
                "E208",
                f"a param's value must be a literal, not the name `{node.name}`",
                node.span,
                hint="write the value itself, e.g. 20%, 5m, 3 or \"eastus\" (strings need quotes)",
            )
        )
        return None
    if isinstance(node, ast.ListLit):
        items = [literal(i, diags) for i in node.items]
        return None if any(i is None for i in items) else TV("list", tuple(cast(TV, i) for i in items), node.span)
    return scalar(node)


def scalar(node: ast.NumberLit | ast.PercentLit | ast.DurationLit | ast.StringLit | ast.BoolLit) -> TV:
    sp = node.span
    if isinstance(node, ast.NumberLit):
        v = node.value
        return TV("int", int(v), sp) if v.denominator == 1 else TV("number", v, sp)
    if isinstance(node, ast.PercentLit):
        return TV("percent", node.value, sp)
    if isinstance(node, ast.DurationLit):
        return TV("duration", node.seconds, sp)
    if isinstance(node, ast.StringLit):
        return TV("string", node.value, sp)
    return TV("bool", node.value, sp)


def ir_value(tv: TV) -> ir.Value:
    if tv.kind == "list":
        return tuple(ir_value(i) for i in tv.items())
    return cast(ir.Value, tv.value)


class Context:
    """Checks the values of one file's statements, with the merged params in ``env``; records the params used."""

    def __init__(self, env: dict[str, TV], diags: list[Diagnostic]) -> None:
        self.env = env
        self.diags = diags
        self.used: set[str] = set()

    def err(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint=hint))

    def warn(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint=hint, severity="warning"))

    def type_error(self, tv: TV, want: str, hint: str | None = None) -> None:
        self.err("E208", f"{tv.describe()} where {want} belongs{tv.via()}", tv.span, hint=hint)

    def value(self, node: ast.ValueNode) -> TV | None:
        """The typed value of a literal or param reference (E204 for an unknown param)."""
        if isinstance(node, ast.Ref):
            return self.param(node)
        if isinstance(node, ast.ListLit):
            items = [self.value(i) for i in node.items]
            return None if any(i is None for i in items) else TV("list", tuple(cast(TV, i) for i in items), node.span)
        return scalar(node)

    def param(self, node: ast.Ref) -> TV | None:
        if node.name in self.env:
            self.used.add(node.name)
            return replace(self.env[node.name], param=node.name, used_at=node.span)
        guess = did_you_mean(node.name, sorted(self.env))
        scope_hint = " (strings need quotes)" if not guess else ""
        hint = (guess or f"declare it with `param {node.name} = ...`") + scope_hint
        self.err("E204", f"unknown param `{node.name}`", node.span, hint=hint)
        return None

    def count(self, node: ast.ValueNode, what: str, minimum: int = 0, maximum: int = limits.COUNT) -> int | None:
        tv = self.value(node)
        if tv is None:
            return None
        if tv.kind == "percent":
            self.type_error(tv, f"a count ({what})", hint="percentages are allowed only in `at most X% of a SCOPE`")
            return None
        if tv.kind != "int":
            self.type_error(tv, f"a count ({what})", hint="write a whole number" if tv.kind == "number" else None)
            return None
        n = cast(int, tv.value)
        if n < minimum:
            self.err("E209", f"{what} must be at least {minimum}, not {n}{tv.via()}", tv.span)
            return None
        if n > maximum:
            self.err("E209", f"{what} must be at most {maximum:,}, not {n:,}{tv.via()}", tv.span,
                     hint="docs/language.md (Limits) lists the limit of every number")
            return None
        return n

    def percent(self, node: ast.ValueNode, what: str) -> Fraction | None:
        tv = self.value(node)
        if tv is None:
            return None
        if tv.kind != "percent":
            hint = f"write {tv.value}%" if tv.kind in ("int", "number") else None
            self.type_error(tv, f"a percentage ({what})", hint=hint)
            return None
        v = cast(Fraction, tv.value)
        if not 0 <= v <= 100:
            message = f"{what} must be between 0% and 100%, not {ir.Percent(v)}{tv.via()}"
            self.err("E209", message, tv.span, hint="a percentage of a group's VMs lies between 0% and 100%")
            return None
        return v

    def duration(self, node: ast.ValueNode, what: str) -> ir.Duration | None:
        tv = self.value(node)
        if tv is None:
            return None
        if tv.kind != "duration":
            hint = f"add a unit: {tv.value}s, {tv.value}m, {tv.value}h or {tv.value}d" if tv.kind == "int" else None
            self.type_error(tv, f"a duration ({what})", hint=hint)
            return None
        seconds = cast(int, tv.value)
        if seconds > limits.DURATION_SECONDS:
            self.err("E209", f"{what} must be at most {ir.Duration(limits.DURATION_SECONDS)}, not "
                     f"{seconds:,} seconds{tv.via()}", tv.span, hint="docs/language.md (Limits) lists the limit of every number")
            return None
        return ir.Duration(seconds)

    def strings(self, node: ast.ValueNode, what: str) -> tuple[str, ...] | None:
        """A string or a list of strings; an item listed twice is a warning (W305)."""
        tv = self.value(node)
        if tv is None:
            return None
        wrong = next((it for it in tv.items() if it.kind != "string"), None)
        if wrong is not None:
            self.type_error(wrong, f"a string ({what})", hint='quote names: "eastus"')
            return None
        out = tuple(cast(str, it.value) for it in tv.items())
        for i, s in enumerate(out):
            if s in out[:i]:
                self.warn("W305", f"`{s}` is listed twice", tv.span)
        return out

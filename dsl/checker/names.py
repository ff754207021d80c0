"""Words the grammar leaves open: scopes and time units (singular or plural, with did-you-mean), and the names of
Azure regions and geographies (checked against the bundled table: an unknown one is a warning, not an error, since
a fleet may name private or new regions)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from dsl import ast
from dsl import policy as ir
from dsl.azure import azure_geographies, azure_region_names
from dsl.checker.values import TV, Context, did_you_mean, words

TIME_UNITS: tuple[str, ...] = ("wave", "phase")


def singulars(text: str) -> tuple[str, ...]:
    """The word and the singulars it may be the plural of: ``regions`` -> region, ``geographies`` -> geography."""
    out = [text]
    if text.endswith("ies"):
        out.append(text[:-3] + "y")
    if text.endswith("s"):
        out.append(text[:-1])
    return tuple(out)


def word(ctx: Context, name: ast.Name, allowed: Sequence[str], role: str) -> str | None:
    """A scope or unit word checked against ``allowed``: E206 for a non-unit where a unit belongs, else E205."""
    forms = singulars(name.text.lower())
    found = next((f for f in forms if f in allowed), None)
    if found is not None:
        return found
    stem = forms[-1]
    if all(a in TIME_UNITS for a in allowed):
        hint = did_you_mean(stem, TIME_UNITS) or "write `wave` or `phase`"
        ctx.err("E206", f"`{name.text}` is not a time unit", name.span, hint=hint)
    elif any(f in ir.SCOPES or f in TIME_UNITS for f in forms):
        ctx.err("E205", f"`{name.text}` cannot be the {role} here", name.span, hint=f"expected one of: {words(allowed)}")
    else:
        hint = did_you_mean(stem, list(allowed)) or f"expected one of: {words(allowed)}"
        ctx.err("E205", f"unknown {role} `{name.text}`", name.span, hint=hint)
    return None


def unit(ctx: Context, name: ast.Name | None, default: ir.TimeUnit = "wave") -> ir.TimeUnit | None:
    if name is None:
        return default
    w = word(ctx, name, TIME_UNITS, "time unit")
    return cast(ir.TimeUnit, w) if w is not None else None


def regions(ctx: Context, node: ast.ValueNode, what: str) -> tuple[str, ...] | None:
    """Region names (a string or a list); a name the bundled Azure table does not know is W304."""
    names = ctx.strings(node, what)
    if names is None:
        return None
    known = azure_region_names()
    for r in names:
        if r not in known:
            ctx.warn("W304", f"`{r}` is not a public Azure region", node.span, hint=did_you_mean(r, sorted(known)))
    return names


def check_geographies(ctx: Context, tv: TV) -> None:
    """W307 for each compared geography name the bundled Azure table does not know (``region.geography``)."""
    known = azure_geographies()
    for it in tv.items():
        name = it.value
        if isinstance(name, str) and name not in known:
            hint = did_you_mean(name, sorted(known)) or f"geographies: {words(sorted(known))}"
            ctx.warn("W307", f"`{name}` is not an Azure geography", it.span, hint=hint)

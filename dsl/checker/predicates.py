"""``where`` conditions: attributes and their types (``dsl.policy.ATTRIBUTES``), comparisons, and/or/not."""

from __future__ import annotations

from typing import cast

from dsl import ast
from dsl import policy as ir
from dsl.checker.names import check_geographies
from dsl.checker.values import TV, Context, did_you_mean, ir_value, words

LABELS = {"string": "a string", "int": "a count", "bool": "true/false"}


def attr_type(ctx: Context, a: ast.AttrNode) -> str | None:
    """The type of an attribute path (``vm.tags.KEY`` is a string); E207 for an unknown one."""
    path = a.path
    key = ".".join(path)
    if len(path) == 3 and path[:2] == ("vm", "tags"):
        return "string"
    if key in ir.ATTRIBUTES and ir.ATTRIBUTES[key] != "tag":
        return ir.ATTRIBUTES[key]
    names = [k for k in ir.ATTRIBUTES if k != "vm.tags"] + ["vm.tags.<key>"]
    hint = did_you_mean(key, names)
    if key == "vm.tags":
        hint = 'name the tag: vm.tags.env, or use `has tag "env"`'
    ctx.err("E207", f"unknown attribute `{key}`", a.span, hint=hint or f"attributes: {words(names)}")
    return None


def pred(ctx: Context, p: ast.PredNode | None) -> ir.Predicate | None:
    """The IR of a condition (no condition: always true); None after an error."""
    if p is None:
        return ir.ALWAYS
    if isinstance(p, ast.ParenNode):
        return pred(ctx, p.item)
    if isinstance(p, ast.NotNode):
        inner = pred(ctx, p.item)
        return None if inner is None else ir.Not(inner)
    if isinstance(p, ast.AndNode | ast.OrNode):
        items = [pred(ctx, i) for i in p.items]
        if any(i is None for i in items):
            return None
        parts = tuple(cast(ir.Predicate, i) for i in items)
        return ir.And(parts) if isinstance(p, ast.AndNode) else ir.Or(parts)
    if isinstance(p, ast.HasTagNode):
        return ir.HasTag(p.key.value)
    if isinstance(p, ast.BareNode):
        return bare(ctx, p)
    return compare(ctx, p)


def bare(ctx: Context, p: ast.BareNode) -> ir.Predicate | None:
    """``where vm.single``: a yes/no attribute alone means ``== true``."""
    t = attr_type(ctx, p.attr)
    if t is None:
        return None
    if t != "bool":
        message = f"`{'.'.join(p.attr.path)}` is {t}, not a yes/no attribute"
        ctx.err("E208", message, p.attr.span, hint="compare it: `vm.region == \"eastus\"`")
        return None
    return ir.Compare("==", ir.Attr(p.attr.path), True)


def compare(ctx: Context, p: ast.CompareNode) -> ir.Predicate | None:
    t = attr_type(ctx, p.attr)
    tv = ctx.value(p.value)
    if t is None or tv is None:
        return None
    key = ".".join(p.attr.path)
    if p.op in ("in", "not in"):
        if tv.kind != "list":
            ctx.type_error(tv, f"a list (`{p.op}`)", hint='write `in ["a", "b"]`')
            return None
        if not all(value_fits(ctx, t, it, key) for it in tv.items()):
            return None
    elif p.op in ("<", "<=", ">", ">=") and t != "int":
        ctx.err("E218", f"`{p.op}` compares numbers, but `{key}` is {t}", p.span, hint="use == or != (or `in [...]`)")
        return None
    elif not value_fits(ctx, t, tv, key):
        return None
    if key == "region.geography":
        check_geographies(ctx, tv)
    return ir.Compare(cast(ir.CompareOp, p.op), ir.Attr(p.attr.path), ir_value(tv))


def value_fits(ctx: Context, t: str, tv: TV, key: str) -> bool:
    """True when ``tv`` has the attribute's type; else E208 (with a quoting hint for numbers given to strings)."""
    if tv.kind == t:
        return True
    hint = f'quote it: "{tv.value}"' if t == "string" and tv.kind in ("int", "number") else None
    ctx.type_error(tv, f"{LABELS[t]} (`{key}` is {t})", hint=hint)
    return False

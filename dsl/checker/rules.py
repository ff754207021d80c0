"""Hard rules other than ``at most`` (``dsl.checker.limits``): separation, never whole, canary, order, order by,
and the extension order on each VM."""

from __future__ import annotations

from dsl import ast
from dsl import policy as ir
from dsl.checker.extensions import selector_of
from dsl.checker.names import regions, unit, word
from dsl.checker.predicates import attr_type, pred
from dsl.checker.values import Context
from dsl.diagnostics import Span


def separate_pairs(ctx: Context, name: str, span: Span, b: ast.SeparatePairsBody) -> ir.Rule | None:
    u = unit(ctx, b.unit)
    return None if u is None else ir.SeparatePairs(name, span, within=u)


def separate_regions(ctx: Context, name: str, span: Span, b: ast.SeparateRegionsBody) -> ir.Rule | None:
    u = unit(ctx, b.unit)
    names = regions(ctx, b.regions, "regions")
    if names is not None and len(set(names)) < 2:
        ctx.err("E221", "name at least two regions to keep apart", b.regions.span)
        return None
    return None if u is None or names is None else ir.SeparateRegions(name, span, names, within=u)


def not_whole(ctx: Context, name: str, span: Span, b: ast.NotWholeBody) -> ir.Rule | None:
    u = unit(ctx, b.unit)
    of = word(ctx, b.of, ir.GROUP_SCOPES, "scope")
    min_size = 2
    if b.min_noun is not None:
        word(ctx, b.min_noun, ("vm",), "word after the minimum")
    if b.min_size is not None:
        m = ctx.count(b.min_size, "minimum size", 0)
        if m is None:
            return None
        if m < 2:
            message = f"a group of {m} VM{'s' if m != 1 else ''} cannot avoid being whole in one {u or 'wave'}"
            ctx.err("E210", message, b.min_size.span, hint="use at least 2")
            return None
        min_size = m
    where = pred(ctx, b.where)
    if u is None or of is None or where is None:
        return None
    return ir.NotWhole(name, span, of=of, within=u, min_size=min_size, where=where)


def canary(ctx: Context, name: str, span: Span, b: ast.CanaryBody) -> ir.Rule | None:
    word(ctx, b.noun, ("region",), "word after `canary`")
    names = regions(ctx, b.regions, "canary regions")
    if names is not None and not names:
        ctx.err("E221", "name at least one canary region", b.regions.span)
        return None
    return None if names is None else ir.Canary(name, span, names, alone=b.alone)


def order(ctx: Context, name: str, span: Span, b: ast.OrderBody) -> ir.Rule | None:
    """``region "A" before region "B" [by phase|wave]``, ``VMs where P before VMs where Q``."""
    early = selection(ctx, b.earlier)
    late = selection(ctx, b.later)
    u = unit(ctx, b.unit, "phase")
    if early is None or late is None or u is None:
        return None
    if early == late:
        ctx.err("E210", "a selection cannot come before itself", b.span,
                hint="the rule is impossible as soon as one such VM is scheduled")
        return None
    return ir.Order(name, span, earlier=early, later=late, unit=u)


def selection(ctx: Context, s: ast.Selector) -> ir.Predicate | None:
    """The VMs a side of an order selects: ``region "A"``, ``regions [...]`` or ``VMs where P``."""
    noun = word(ctx, s.noun, ("region", "vm"), "selection")
    if noun is None:
        return None
    if s.where is not None:
        return pred(ctx, s.where)
    if noun == "vm" or s.value is None:
        message = "select VMs with a condition: `VMs where ...`" if noun == "vm" else "name the region(s)"
        ctx.err("E208", message, s.span,
                hint='e.g. region "eastus2" before region "westus2", or VMs where vm.tags.ring == "0" before ...')
        return None
    names = regions(ctx, s.value, "regions")
    if names is None:
        return None
    if not names:
        ctx.err("E221", "name at least one region", s.span)
        return None
    attr = ir.Attr(("vm", "region"))
    return ir.Compare("==", attr, names[0]) if len(names) == 1 else ir.Compare("in", attr, names)


def order_by(ctx: Context, name: str, span: Span, b: ast.OrderByBody) -> ir.Rule | None:
    """``order waves by tag "ring"``, ``order waves by vm.update_domain descending``."""
    u = unit(ctx, b.unit)
    if b.tag is not None:
        key = ir.Attr(("vm", "tags", b.tag.value))
    else:
        assert b.attr is not None  # the grammar gives an order key either a tag or an attribute
        if attr_type(ctx, b.attr) is None:
            return None
        key = ir.Attr(b.attr.path)
    where = pred(ctx, b.where)
    if u is None or where is None:
        return None
    return ir.OrderBy(name, span, key=key, unit=u, descending=b.descending, where=where)


def extension_order(ctx: Context, name: str, span: Span, b: ast.ExtensionOrderBody) -> ir.Rule | None:
    """``extension "A" before extension "B" on each vm`` (Azure's extension sequencing on one VM)."""
    on_vm = on_each_vm(ctx, b.noun)
    first = selector_of(b.first, ctx.diags)
    second = selector_of(b.second, ctx.diags)
    if not on_vm or first is None or second is None:
        return None
    if first == second:
        ctx.err("E210", "an extension cannot be ordered before itself", b.span,
                hint="name two different extensions (a bare string selects by type)")
        return None
    return ir.ExtensionOrder(name, span, first=first, second=second)


def on_each_vm(ctx: Context, noun: ast.Name) -> bool:
    """``on each vm`` (or ``VMs``): extensions are ordered on the VM holding them; any other word is E205."""
    if noun.text.lower() in ("vm", "vms"):
        return True
    ctx.err("E205", f"extensions are ordered on each VM, not on each `{noun.text}`", noun.span,
            hint="did you mean `vm`? write `on each vm`: the order holds on every VM with both extensions")
    return False

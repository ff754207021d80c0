"""Merging a chain of files (``extends``): the parent's params and statements first, a child's param overrides the
parent's default everywhere (keeping its type), a child statement with a parent statement's name replaces it in
place (keeping its kind)."""

from __future__ import annotations

from collections.abc import Sequence

from dsl import ast
from dsl.checker.files import FileResult
from dsl.checker.statements import Item
from dsl.checker.values import TV
from dsl.diagnostics import Diagnostic


def merge_params(
    results: Sequence[FileResult], diags: list[Diagnostic]
) -> tuple[dict[str, TV], dict[str, ast.ParamDecl]]:
    """Params of a chain (given child first): the parent's defaults, overridden by each child."""
    env: dict[str, TV] = {}
    decl: dict[str, ast.ParamDecl] = {}
    for res in reversed(results):
        for pname, (tv, d) in res.params.items():
            old = env.get(pname)
            if old is not None and old.kind != tv.kind:
                message = f"param `{pname}` is {old.describe()} in the extended policy; this override is {tv.describe()}"
                diags.append(Diagnostic("E208", message, tv.span,
                                        hint="keep the parameter's type (e.g. a percentage stays a percentage)"))
                continue
            env[pname] = tv
            decl[pname] = d
    return env, decl


def merge_items(per_file: Sequence[list[Item]], diags: list[Diagnostic]) -> list[Item]:
    """Items of a chain (given parent first): a child item with a parent item's name replaces it in place."""
    merged: list[Item] = []
    index: dict[str, int] = {}
    for items in per_file:
        for it in unique_names(items, diags):
            idx = index.get(it.name)
            if idx is None:
                index[it.name] = len(merged)
                merged.append(it)
            elif merged[idx].category != it.category:
                message = f"`{it.name}` replaces a {merged[idx].category} of the extended policy with a {it.category}"
                diags.append(Diagnostic("E219", message, it.span,
                                        hint="a replacement keeps the kind (rule for rule, gate for gate); pick another name"))
            else:
                merged[idx] = it
    return merged


def unique_names(items: Sequence[Item], diags: list[Diagnostic]) -> list[Item]:
    """The items of one file, the second and later of a name dropped with E202."""
    seen: dict[str, Item] = {}
    for it in items:
        if it.name in seen:
            first = seen[it.name]
            diags.append(Diagnostic("E202", f"`{it.name}` is already defined at {first.span.line}:{first.span.column}",
                                    it.span,
                                    hint="names are unique within a file (a child file may reuse a parent's name to replace it)"))
            continue
        seen[it.name] = it
    return list(seen.values())

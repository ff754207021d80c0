"""Extension selectors, shared by version pins, opt-outs and extension order rules: ``publisher "P" type "T"
name "N"`` (any of the fields, each once), or a bare ``"T"`` after ``extension`` (selects by type)."""

from __future__ import annotations

from collections.abc import Sequence

from dsl import ast
from dsl import policy as ir
from dsl.diagnostics import Diagnostic


def selector_of_fields(fields: Sequence[ast.ExtField], diags: list[Diagnostic]) -> ir.ExtensionSelector | None:
    """The selector the fields give; a field given twice is E222."""
    got: dict[str, str] = {}
    for f in fields:
        if f.key in got:
            diags.append(Diagnostic("E222", f"`{f.key}` given twice", f.span, hint="an extension has one " + f.key))
            return None
        got[f.key] = f.value.value
    return ir.ExtensionSelector(publisher=got.get("publisher"), type=got.get("type"), name=got.get("name"))


def selector_of(node: ast.ExtSelector, diags: list[Diagnostic]) -> ir.ExtensionSelector | None:
    """``extension "T"`` selects by type; ``extension publisher "P" ...`` by the fields given."""
    if node.type is not None:
        return ir.ExtensionSelector(type=node.type.value)
    return selector_of_fields(node.fields, diags)


def selector_source(sel: ir.ExtensionSelector) -> str:
    """The selector as the language writes it (the short form for a type alone), for messages about rules."""
    given = [(k, v) for k, v in (("publisher", sel.publisher), ("type", sel.type), ("name", sel.name)) if v is not None]
    if [k for k, _ in given] == ["type"]:
        return f'extension "{sel.type}"'
    return "extension " + " ".join(f'{k} "{v}"' for k, v in given)

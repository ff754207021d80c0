"""What one file contributes before a chain is merged: its header, its ``extends``, its params and its versions
blocks (named statements are converted later, once the chain's params are known)."""

from __future__ import annotations

from dataclasses import dataclass, field

from dsl import ast
from dsl.checker.values import TV, literal
from dsl.diagnostics import Diagnostic, Span


@dataclass
class FileResult:
    """What one file contributes, before merging."""

    filename: str
    header: ast.PolicyDecl | ast.TheoremsDecl | None
    extends: ast.ExtendsDecl | None
    params: dict[str, tuple[TV, ast.ParamDecl]] = field(default_factory=dict)
    versions: list[ast.VersionsDecl] = field(default_factory=list)


def scan_file(filename: str, tree: ast.File, diags: list[Diagnostic]) -> FileResult:
    """Header, extends, params and versions blocks of one file, each checked for being given once."""
    res = FileResult(filename, None, None)
    for i, st in enumerate(tree.statements):
        if isinstance(st, ast.PolicyDecl | ast.TheoremsDecl):
            scan_header(res, st, i, diags)
        elif isinstance(st, ast.ExtendsDecl):
            scan_extends(res, st, diags)
        elif isinstance(st, ast.ParamDecl):
            scan_param(res, st, diags)
        elif isinstance(st, ast.VersionsDecl):
            res.versions.append(st)
    if res.header is None:
        first = tree.statements[0].span if tree.statements else Span(filename, 1, 1, 1, 2)
        diags.append(Diagnostic("E201", "missing header: a policy file starts with `policy NAME`", first,
                                hint="add `policy my_policy` as the first line (theorem files: `theorems about \"spec.wg\"`)"))
    return res


def scan_header(res: FileResult, st: ast.PolicyDecl | ast.TheoremsDecl, index: int, diags: list[Diagnostic]) -> None:
    if res.header is not None or index != 0:
        diags.append(Diagnostic("E201", "the header must be the first statement, and there is only one", st.span,
                                hint="start the file with `policy NAME` (or `theorems about \"SPEC\"`)"))
    if res.header is None:
        res.header = st


def scan_extends(res: FileResult, st: ast.ExtendsDecl, diags: list[Diagnostic]) -> None:
    if res.extends is not None:
        diags.append(Diagnostic("E215", "a policy extends at most one other policy", st.span,
                                hint="chain them instead: let the parent extend the grandparent"))
    else:
        res.extends = st


def scan_param(res: FileResult, st: ast.ParamDecl, diags: list[Diagnostic]) -> None:
    name = st.name.text
    if name in res.params:
        prev = res.params[name][1]
        diags.append(Diagnostic("E203", f"param `{name}` is declared twice (first at {prev.span.line}:{prev.span.column})",
                                st.name.span, hint="remove one of them"))
        return
    tv = literal(st.value, diags)
    if tv is not None:
        res.params[name] = (tv, st)

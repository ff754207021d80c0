"""Read, parse, check and merge policy and theorem files: the one entry point later stages use.

``load_policy`` returns a checked :class:`dsl.policy.Policy` or raises :class:`dsl.errors.InputError` carrying
every diagnostic and the text of every file they point into.  ``check_text`` never raises on bad input (for the
CLI, tests and fuzzing).  ``load_theorems`` reads a ``proofs/*.wg`` file and the spec it is about.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from dsl import ast
from dsl import bundled as bundled_names
from dsl import checker as ck
from dsl import policy as ir
from dsl.diagnostics import Diagnostic, Span, sort_key
from dsl.errors import InputError
from dsl.parser import decode, parse_text


@dataclass(frozen=True)
class TheoremFile:
    """A checked theorem file: the spec it is about and its named claims."""

    path: str
    spec: ir.Policy
    spec_path: str
    theorems: tuple[ir.Theorem, ...]
    span: Span


@dataclass
class Checked:
    """Everything a check of one file found: the result (if no errors), diagnostics and sources."""

    kind: str  # "policy" | "theorems" | "unknown"
    policy: ir.Policy | None = None
    theorems: TheoremFile | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)


@dataclass
class _Unit:
    filename: str
    tree: ast.File
    scan: ck.FileResult


def _display(path: Path) -> str:
    # Relative paths stay as the user wrote them; normpath removes `a/../` so spans name the real file.
    return os.path.normpath(str(path))


def _read(path: Path, at: Span | None, code: str, what: str, out: Checked) -> str | None:
    name = _display(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        out.diagnostics.append(Diagnostic(code, f"{what} `{name}` does not exist", at, hint=_near(path)))
        return None
    except OSError as e:
        out.diagnostics.append(Diagnostic(code, f"cannot read {what} `{name}`: {e.strerror or e}", at))
        return None
    text, diags = decode(data, name)
    out.diagnostics.extend(diags)
    if text is not None:
        out.sources[name] = text
    return text


def _near(path: Path) -> str | None:
    try:
        options = sorted(p.name for p in path.parent.glob("*.wg"))
    except OSError:
        return None
    guess = ck.did_you_mean(path.name, options)
    return guess or ("files here: " + ", ".join(options[:8]) if options else None)


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _target(ref: ast.StringLit, base: Path, root: Path, bundled: Path | None,
            code: str, out: Checked) -> tuple[Path, Path] | None:
    """The file a reference names (relative to ``base``, or a bundled name) and the root its own chain keeps to;
    None (with the diagnostic) when a bundled name is unknown."""
    if not bundled_names.is_bundled(ref.value):
        return base / ref.value, root
    path, problem, hint = bundled_names.resolve(ref.value, bundled)
    if path is None:
        out.diagnostics.append(Diagnostic(code, problem, ref.span, hint=hint))
        return None
    return path, path.parent


def _chain(
    text: str,
    filename: str,
    root: Path,
    out: Checked,
    seen: tuple[str, ...] = (),
    names: tuple[str, ...] = (),
    tree: ast.File | None = None,
    bundled: Path | None = None,
) -> list[_Unit] | None:
    """Parse a file (unless its tree is given) and everything it extends, child first; None when broken."""
    if tree is None:
        tree, diags = parse_text(text, filename)
        out.diagnostics.extend(diags)
        if tree is None:
            return None
    scan = ck.scan_file(filename, tree, out.diagnostics)
    units = [_Unit(filename, tree, scan)]
    ext = scan.extends
    if ext is None:
        return units
    found = _target(ext.path, Path(filename).parent, root, bundled, "E213", out)
    if found is None:
        return None
    target, root = found
    name = _display(target)
    if not _inside(target, root):
        out.diagnostics.append(
            Diagnostic(
                "E212",
                f"`{ext.path.value}` is outside the project root `{_display(root)}`",
                ext.path.span,
                hint="extend files inside the project, or pass a wider --root",
            )
        )
        return None
    key = str(target.resolve())
    if key in seen or key == str(Path(filename).resolve()):
        out.diagnostics.append(
            Diagnostic(
                "E211",
                f"`extends` makes a cycle: {' -> '.join([*names, filename, name])}",
                ext.path.span,
                hint="a policy cannot extend itself, directly or through others",
            )
        )
        return None
    parent_text = _read(target, ext.path.span, "E213", "extended file", out)
    if parent_text is None:
        return None
    rest = _chain(parent_text, name, root, out, (*seen, str(Path(filename).resolve())), (*names, filename),
                  bundled=bundled)
    if rest is None:
        return None
    return units + rest


def _policy_from_chain(units: list[_Unit], out: Checked) -> ir.Policy | None:
    diags = out.diagnostics
    for u in units:
        if isinstance(u.scan.header, ast.TheoremsDecl):
            diags.append(
                Diagnostic(
                    "E217",
                    "a theorem file cannot be extended or checked as a policy",
                    u.scan.header.span,
                    hint="extend a policy file (one that starts with `policy NAME`)",
                )
            )
            return None
    env, decls = ck.merge_params([u.scan for u in units], diags)
    used: set[str] = set()

    def policy_statement(st: ast.Statement) -> bool:
        if isinstance(st, ast.NamedDecl) and st.kind == "theorem":
            diags.append(
                Diagnostic(
                    "E217",
                    "theorems belong in theorem files (`theorems about \"SPEC\"`), not in a policy",
                    st.span,
                    hint="move it to a file under proofs/",
                )
            )
            return False
        return True

    per_file = [ck.convert_items(u.filename, u.tree, env, diags, policy_statement, used) for u in reversed(units)]
    merged = ck.merge_items(per_file, diags)
    ck.check_single_valued(merged, diags)
    ck.implied_warnings(merged, diags)
    ck.check_extension_orders(merged, diags)
    versions = ck.versions_of([u.scan for u in units], env, diags)
    for pname, d in decls.items():
        if pname not in used:
            diags.append(
                Diagnostic(
                    "W303",
                    f"param `{pname}` is never used",
                    d.name.span,
                    hint="remove it, or use it in a rule",
                    severity="warning",
                )
            )
    if any(d.is_error for d in diags):
        return None
    top = units[0]
    header = cast(ast.PolicyDecl, top.scan.header)
    return ir.Policy(
        name=header.name.text,
        span=header.span,
        files=tuple(u.filename for u in units),
        params={k: ck.ir_value(v) for k, v in sorted(env.items())},
        rules=tuple(cast(ir.Rule, i.value) for i in merged if i.category == "rule" and not _is_time(i.value)),
        preferences=tuple(cast(ir.Spread, i.value) for i in merged if i.category == "prefer"),
        gates=tuple(cast(ir.Gate, i.value) for i in merged if i.category == "gate" and not _is_time(i.value)),
        versions=versions,
        times=tuple(cast(ir.TimeRule, i.value) for i in merged if _is_time(i.value)),
    )


def _is_time(value: object) -> bool:
    """Time rules (written as `rule` or, for bakes, `gate`) go to :attr:`Policy.times`."""
    return isinstance(value, ir.TIME_KINDS)


def _theorems(units: list[_Unit], spec_root: Path, out: Checked, bundled: Path | None) -> TheoremFile | None:
    unit = units[0]
    header = cast(ast.TheoremsDecl, unit.scan.header)
    diags = out.diagnostics
    for st in unit.tree.statements:
        if isinstance(st, ast.PolicyDecl | ast.TheoremsDecl):
            continue
        if isinstance(st, ast.NamedDecl) and st.kind == "theorem":
            continue
        diags.append(
            Diagnostic(
                "E217",
                "a theorem file holds only `theorem NAME: CLAIM` statements",
                st.span,
                hint="rules, gates, params and versions belong in the policy the theorems are about",
            )
        )
    found = _target(header.spec, Path(unit.filename).parent, spec_root, bundled, "E216", out)
    if found is None:
        return None
    spec_path, spec_root = found
    spec_name = _display(spec_path)
    if not _inside(spec_path, spec_root):
        diags.append(
            Diagnostic(
                "E212",
                f"`{header.spec.value}` is outside the project root `{_display(spec_root)}`",
                header.spec.span,
                hint="pass a wider --root",
            )
        )
        return None
    spec_text = _read(spec_path, header.spec.span, "E216", "spec", out)
    spec: ir.Policy | None = None
    if spec_text is not None:
        chain = _chain(spec_text, spec_name, spec_root, out, bundled=bundled)
        if chain is not None:
            spec = _policy_from_chain(chain, out)
    theorems: list[ir.Theorem] = []
    items = ck.convert_items(
        unit.filename,
        unit.tree,
        {},
        diags,
        lambda st: isinstance(st, ast.NamedDecl) and st.kind == "theorem",
        set(),
    )
    ck.merge_items([items], diags)
    for it in items:
        theorems.append(
            ir.Theorem(it.name, it.span, spec_path=spec_name, claim=cast("ir.Rule | ir.Gate | ir.VersionClaim", it.value))
        )
    if spec is None or any(d.is_error for d in diags):
        return None
    return TheoremFile(unit.filename, spec, spec_name, tuple(theorems), header.span)


def _default_root(filename: str, theorems: bool) -> Path:
    folder = Path(filename).parent
    # Theorem files live in proofs/ and name specs in ../specs/, so their default root is the project above.
    return folder.resolve().parent if theorems else folder


def check_source(
    text: str, filename: str, project_root: str | Path | None = None, *, only: str | None = None,
    bundled: Path | None = None,
) -> Checked:
    """Check policy or theorem text; never raises on bad input.  ``bundled`` is the folder ``wavegate:NAME``
    names resolve in (default: the installed bundled specs, :mod:`dsl.bundled`)."""
    out = Checked("unknown")
    out.sources[filename] = text
    try:
        _check_into(text, filename, project_root, out, only,
                    bundled if bundled is not None else bundled_names.default_folder())
    except RecursionError:
        out.diagnostics.append(
            Diagnostic("E006", "input nests too deep to check", Span(filename, 1, 1, 1, 2))
        )
    out.diagnostics = sorted(set(out.diagnostics), key=sort_key)
    if not out.ok:
        out.policy = None
        out.theorems = None
    return out


def _check_into(text: str, filename: str, project_root: str | Path | None, out: Checked, only: str | None,
                bundled: Path | None) -> None:
    tree, diags = parse_text(text, filename)
    if tree is None:
        out.diagnostics.extend(diags)
        return
    is_theorems = bool(tree.statements) and isinstance(tree.statements[0], ast.TheoremsDecl)
    if only == "policy" and is_theorems:
        out.diagnostics.append(
            Diagnostic(
                "E217",
                "this is a theorem file, not a policy",
                tree.statements[0].span,
                hint="load it with load_theorems / `wavegate prove`",
            )
        )
        return
    if only == "theorems" and not is_theorems:
        first = tree.statements[0].span if tree.statements else Span(filename, 1, 1, 1, 2)
        out.diagnostics.append(
            Diagnostic(
                "E201",
                "a theorem file starts with `theorems about \"SPEC\"`",
                first,
                hint='e.g. theorems about "../specs/azure-default.wg"',
            )
        )
        return
    root = Path(project_root) if project_root is not None else _default_root(filename, is_theorems)
    if is_theorems:
        out.kind = "theorems"
        scan = ck.scan_file(filename, tree, out.diagnostics)
        out.theorems = _theorems([_Unit(filename, tree, scan)], root, out, bundled)
        if out.theorems is not None:
            out.policy = out.theorems.spec
        return
    out.kind = "policy"
    chain = _chain(text, filename, root, out, tree=tree, bundled=bundled)
    if chain is not None:
        out.policy = _policy_from_chain(chain, out)


def check_file(path: str | Path, project_root: str | Path | None = None, *, only: str | None = None,
               bundled: Path | None = None) -> Checked:
    """Read and check one file (or a bundled one by name, ``wavegate:NAME``); a missing or unreadable file is a
    diagnostic (E001)."""
    p = Path(path)
    out = Checked("unknown")
    if bundled_names.is_bundled(str(path)):
        folder = bundled if bundled is not None else bundled_names.default_folder()
        found, problem, hint = bundled_names.resolve(str(path), folder)
        if found is None:
            out.diagnostics.append(Diagnostic("E001", problem, None, hint=hint))
            return out
        p = found
    text = _read(p, None, "E001", "file", out)
    if text is None:
        return out
    return check_source(text, _display(p), project_root, only=only, bundled=bundled)


def check_text(
    text: str, filename: str, project_root: str | Path | None = None
) -> tuple[ir.Policy | None, list[Diagnostic]]:
    """Check text; returns the policy (None on errors; a theorem file gives its spec) and all diagnostics."""
    res = check_source(text, filename, project_root)
    return res.policy, res.diagnostics


def _raise(res: Checked) -> None:
    errors = [d for d in res.diagnostics if d.is_error]
    if errors:
        raise InputError(res.diagnostics, res.sources)


def load_policy(path: str | Path, project_root: str | Path | None = None, *,
                bundled: Path | None = None) -> ir.Policy:
    """The checked policy in ``path``; raises InputError with every diagnostic on any problem."""
    res = check_file(path, project_root, only="policy", bundled=bundled)
    _raise(res)
    assert res.policy is not None
    return res.policy


def load_theorems(path: str | Path, project_root: str | Path | None = None, *,
                  bundled: Path | None = None) -> TheoremFile:
    """The checked theorem file in ``path`` with its spec; raises InputError on any problem."""
    res = check_file(path, project_root, only="theorems", bundled=bundled)
    _raise(res)
    assert res.theorems is not None
    return res.theorems


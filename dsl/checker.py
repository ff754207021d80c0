"""AST → checked :class:`dsl.policy.Policy`: names, types and units, ranges, scopes, attributes, merging.

The checker never stops at the first problem: every statement is checked and every diagnostic kept.  A policy is
returned only when no error was found (warnings may accompany it).  ``extends`` chains arrive here already read and
parsed (``dsl.loader``), child first; the checker merges them: parent statements first, a child statement with the
same name replaces the parent's in place, a child ``param`` overrides the parent's default everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Literal, cast

from dsl import ast
from dsl import policy as ir
from dsl.azure import azure_region_names
from dsl.diagnostics import Diagnostic, Span
from dsl.suggest import closest
from dsl.versions import is_version

# Every code the checker and parser can emit, with a one-line title (docs/language.md lists the same codes).
CODES: dict[str, str] = {
    "E001": "file not found or unreadable",
    "E002": "file is not UTF-8",
    "E003": "binary data",
    "E004": "file too large",
    "E005": "line too long",
    "E006": "nesting too deep",
    "E101": "missing colon after a name",
    "E102": "unclosed bracket",
    "E103": "unexpected closing bracket",
    "E104": "unknown keyword",
    "E105": "unterminated string",
    "E106": "unexpected token",
    "E107": "unexpected end of file",
    "E108": "invalid character",
    "E109": "missing name",
    "E110": "unknown rule, gate or preference form",
    "E201": "missing or misplaced header",
    "E202": "duplicate name",
    "E203": "duplicate param",
    "E204": "unknown param",
    "E205": "unknown scope or word",
    "E206": "wrong time unit",
    "E207": "unknown attribute",
    "E208": "wrong type or unit",
    "E209": "value out of range",
    "E210": "contradictory constant",
    "E211": "extends cycle",
    "E212": "extends escapes the project root",
    "E213": "extended file missing",
    "E214": "duplicate single-valued gate or block",
    "E215": "more than one extends",
    "E216": "theorem spec missing",
    "E217": "statement not allowed in this kind of file",
    "E218": "comparison not allowed here",
    "E219": "replacement of a different kind",
    "E220": "invalid version",
    "E221": "too few items",
    "E222": "conflicting statements",
    "W301": "rule implied by another",
    "W302": "rule never constrains",
    "W303": "unused param",
    "W304": "unknown Azure region",
    "W305": "duplicate item",
    "W306": "rule never applies",
}

TIME_UNITS = ("wave", "phase")
# (outer, inner): every group of the inner scope lies inside one group of the outer scope.
NESTED = frozenset(
    {("region", inner) for inner in ("zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain")}
    | {(s, d) for s in ("scale_set", "availability_set", "set") for d in ("update_domain", "fault_domain")}
)
COUNTABLE = tuple(s for s in ir.GROUP_SCOPES if s not in ("fleet", "vm"))
SPREAD_KEYS = ("region", "zone", "scale_set", "availability_set", "set", "subscription", "update_domain", "fault_domain")
Category = Literal["rule", "prefer", "gate", "theorem"]


@dataclass(frozen=True)
class TV:
    """A typed value: what a literal or a param reference means."""

    kind: Literal["int", "number", "percent", "duration", "string", "bool", "list"]
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
        return {
            "int": "a count",
            "number": "a fractional number",
            "percent": "a percentage",
            "duration": "a duration",
            "string": "a string",
            "bool": "true/false",
            "list": "a list",
        }[self.kind]


@dataclass
class Item:
    category: Category
    name: str
    value: object
    span: Span
    file: str


@dataclass
class FileResult:
    """What one file contributes, before merging."""

    filename: str
    header: ast.PolicyDecl | ast.TheoremsDecl | None
    extends: ast.ExtendsDecl | None
    params: dict[str, tuple[TV, ast.ParamDecl]] = field(default_factory=dict)
    items: list[Item] = field(default_factory=list)
    versions: list[ast.VersionsDecl] = field(default_factory=list)


def _words(options: Sequence[str]) -> str:
    return ", ".join(options)


def did_you_mean(word: str, options: Sequence[str]) -> str | None:
    close = closest(word, options)
    return f"did you mean `{close}`?" if close else None


def scan_file(filename: str, tree: ast.File, diags: list[Diagnostic]) -> FileResult:
    """Header, extends and params of one file (statements are converted later, once params are merged)."""
    header: ast.PolicyDecl | ast.TheoremsDecl | None = None
    extends: ast.ExtendsDecl | None = None
    res = FileResult(filename, None, None)
    for i, st in enumerate(tree.statements):
        if isinstance(st, ast.PolicyDecl | ast.TheoremsDecl):
            if header is not None or i != 0:
                diags.append(
                    Diagnostic(
                        "E201",
                        "the header must be the first statement, and there is only one",
                        st.span,
                        hint="start the file with `policy NAME` (or `theorems about \"SPEC\"`)",
                    )
                )
            if header is None:
                header = st
        elif isinstance(st, ast.ExtendsDecl):
            if extends is not None:
                diags.append(
                    Diagnostic(
                        "E215",
                        "a policy extends at most one other policy",
                        st.span,
                        hint="chain them instead: let the parent extend the grandparent",
                    )
                )
            else:
                extends = st
        elif isinstance(st, ast.ParamDecl):
            name = st.name.text
            if name in res.params:
                prev = res.params[name][1]
                diags.append(
                    Diagnostic(
                        "E203",
                        f"param `{name}` is declared twice (first at {prev.span.line}:{prev.span.column})",
                        st.name.span,
                        hint="remove one of them",
                    )
                )
                continue
            tv = literal(st.value, diags)
            if tv is not None:
                res.params[name] = (tv, st)
        elif isinstance(st, ast.VersionsDecl):
            res.versions.append(st)
    if header is None:
        first = tree.statements[0].span if tree.statements else Span(filename, 1, 1, 1, 2)
        diags.append(
            Diagnostic(
                "E201",
                "missing header: a policy file starts with `policy NAME`",
                first,
                hint="add `policy my_policy` as the first line (theorem files: `theorems about \"spec.wg\"`)",
            )
        )
    res.header = header
    res.extends = extends
    return res


def literal(node: ast.ValueNode, diags: list[Diagnostic]) -> TV | None:
    """The typed value of a literal; a param's value may not name another param."""
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
    return _plain(node, {})


def _plain(node: ast.ValueNode, env: dict[str, TV]) -> TV | None:
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
    if isinstance(node, ast.BoolLit):
        return TV("bool", node.value, sp)
    if isinstance(node, ast.ListLit):
        items = [_plain(i, env) for i in node.items]
        if any(i is None for i in items):
            return None
        return TV("list", tuple(cast(TV, i) for i in items), sp)
    ref = env.get(node.name)
    return None if ref is None else replace(ref, span=sp)


def ir_value(tv: TV) -> ir.Value:
    if tv.kind == "list":
        return tuple(ir_value(cast(TV, i)) for i in cast(tuple, tv.value))
    return cast(ir.Value, tv.value)


# ----------------------------------------------------------------------------------------------------------------
# Statement conversion


class StatementChecker:
    """Converts the named statements of one file to IR, with the merged params in ``env``."""

    def __init__(self, filename: str, env: dict[str, TV], diags: list[Diagnostic]) -> None:
        self.filename = filename
        self.env = env
        self.diags = diags
        self.used: set[str] = set()

    def err(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint=hint))

    def warn(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(code, message, span, hint=hint, severity="warning"))

    # -- values ------------------------------------------------------------------------------------------------

    def value(self, node: ast.ValueNode) -> TV | None:
        if isinstance(node, ast.Ref):
            if node.name in self.env:
                self.used.add(node.name)
                return replace(self.env[node.name], param=node.name, used_at=node.span)
            guess = did_you_mean(node.name, sorted(self.env))
            scope_hint = " (strings need quotes)" if not guess else ""
            self.err(
                "E204",
                f"unknown param `{node.name}`",
                node.span,
                hint=(guess or f"declare it with `param {node.name} = ...`") + scope_hint,
            )
            return None
        if isinstance(node, ast.ListLit):
            items = [self.value(i) for i in node.items]
            if any(i is None for i in items):
                return None
            return TV("list", tuple(cast(TV, i) for i in items), node.span)
        return _plain(node, {})

    def _type_error(self, tv: TV, want: str, hint: str | None = None) -> None:
        self.err("E208", f"{tv.describe()} where {want} belongs{tv.via()}", tv.span, hint=hint)

    def count(self, node: ast.ValueNode, what: str, minimum: int = 0) -> int | None:
        tv = self.value(node)
        if tv is None:
            return None
        if tv.kind == "percent":
            self._type_error(tv, f"a count ({what})", hint="percentages are allowed only in `at most X% of a SCOPE`")
            return None
        if tv.kind != "int":
            hint = "write a whole number" if tv.kind == "number" else None
            self._type_error(tv, f"a count ({what})", hint=hint)
            return None
        n = cast(int, tv.value)
        if n < minimum:
            self.err("E209", f"{what} must be at least {minimum}, not {n}{tv.via()}", tv.span)
            return None
        return n

    def percent(self, node: ast.ValueNode, what: str) -> Fraction | None:
        tv = self.value(node)
        if tv is None:
            return None
        if tv.kind != "percent":
            hint = f"write {tv.value}%" if tv.kind in ("int", "number") else None
            self._type_error(tv, f"a percentage ({what})", hint=hint)
            return None
        v = cast(Fraction, tv.value)
        if not 0 <= v <= 100:
            self.err(
                "E209",
                f"{what} must be between 0% and 100%, not {ir.Percent(v)}{tv.via()}",
                tv.span,
                hint="a percentage of a group's VMs lies between 0% and 100%",
            )
            return None
        return v

    def duration(self, node: ast.ValueNode, what: str) -> ir.Duration | None:
        tv = self.value(node)
        if tv is None:
            return None
        if tv.kind != "duration":
            hint = f"add a unit: {tv.value}s, {tv.value}m, {tv.value}h or {tv.value}d" if tv.kind == "int" else None
            self._type_error(tv, f"a duration ({what})", hint=hint)
            return None
        return ir.Duration(cast(int, tv.value))

    def strings(self, node: ast.ValueNode, what: str) -> tuple[str, ...] | None:
        tv = self.value(node)
        if tv is None:
            return None
        items = cast(tuple, tv.value) if tv.kind == "list" else (tv,)
        out: list[str] = []
        for it in items:
            it = cast(TV, it)
            if it.kind != "string":
                self._type_error(it, f"a string ({what})", hint='quote names: "eastus"')
                return None
            out.append(cast(str, it.value))
        seen: set[str] = set()
        for s in out:
            if s in seen:
                self.warn("W305", f"`{s}` is listed twice", tv.span)
            seen.add(s)
        return tuple(out)

    def regions(self, node: ast.ValueNode, what: str) -> tuple[str, ...] | None:
        names = self.strings(node, what)
        if names is None:
            return None
        known = azure_region_names()
        for r in names:
            if r not in known:
                guess = did_you_mean(r, sorted(known))
                self.warn("W304", f"`{r}` is not a public Azure region", node.span, hint=guess)
        return names

    # -- words -------------------------------------------------------------------------------------------------

    def word(self, name: ast.Name, allowed: Sequence[str], role: str) -> str | None:
        """A scope or unit word, singular or plural, checked against ``allowed`` with a did-you-mean."""
        text = name.text.lower()
        for cand in (text, text[:-1] if text.endswith("s") else text):
            if cand in allowed:
                return cand
        cand = text[:-1] if text.endswith("s") else text
        if cand in TIME_UNITS and all(a in TIME_UNITS for a in allowed):
            return cand
        if all(a in TIME_UNITS for a in allowed):
            self.err(
                "E206",
                f"`{name.text}` is not a time unit",
                name.span,
                hint=did_you_mean(cand, TIME_UNITS) or "write `wave` or `phase`",
            )
            return None
        if cand in ir.SCOPES or cand in TIME_UNITS:
            self.err(
                "E205",
                f"`{name.text}` cannot be the {role} here",
                name.span,
                hint=f"expected one of: {_words(allowed)}",
            )
            return None
        self.err(
            "E205",
            f"unknown {role} `{name.text}`",
            name.span,
            hint=did_you_mean(cand, list(allowed)) or f"expected one of: {_words(allowed)}",
        )
        return None

    def unit(self, name: ast.Name | None, default: ir.TimeUnit = "wave") -> ir.TimeUnit | None:
        if name is None:
            return default
        w = self.word(name, TIME_UNITS, "time unit")
        return cast(ir.TimeUnit, w) if w is not None else None

    # -- predicates --------------------------------------------------------------------------------------------

    def attr_type(self, a: ast.AttrNode) -> str | None:
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
        self.err("E207", f"unknown attribute `{key}`", a.span, hint=hint or f"attributes: {_words(names)}")
        return None

    def pred(self, p: ast.PredNode | None) -> ir.Predicate | None:
        if p is None:
            return ir.ALWAYS
        if isinstance(p, ast.ParenNode):
            return self.pred(p.item)
        if isinstance(p, ast.NotNode):
            inner = self.pred(p.item)
            return None if inner is None else ir.Not(inner)
        if isinstance(p, ast.AndNode | ast.OrNode):
            items = [self.pred(i) for i in p.items]
            if any(i is None for i in items):
                return None
            parts = tuple(cast(ir.Predicate, i) for i in items)
            return ir.And(parts) if isinstance(p, ast.AndNode) else ir.Or(parts)
        if isinstance(p, ast.HasTagNode):
            return ir.HasTag(p.key.value)
        if isinstance(p, ast.BareNode):
            t = self.attr_type(p.attr)
            if t is None:
                return None
            if t != "bool":
                self.err(
                    "E208",
                    f"`{'.'.join(p.attr.path)}` is {t}, not a yes/no attribute",
                    p.attr.span,
                    hint="compare it: `vm.region == \"eastus\"`",
                )
                return None
            return ir.Compare("==", ir.Attr(p.attr.path), True)
        t = self.attr_type(p.attr)
        tv = self.value(p.value)
        if t is None or tv is None:
            return None
        attr = ir.Attr(p.attr.path)
        key = ".".join(p.attr.path)
        if p.op in ("in", "not in"):
            if tv.kind != "list":
                self._type_error(tv, f"a list (`{p.op}`)", hint='write `in ["a", "b"]`')
                return None
            for it in cast(tuple, tv.value):
                if not self._value_fits(t, cast(TV, it), key):
                    return None
            return ir.Compare(cast(ir.CompareOp, p.op), attr, ir_value(tv))
        if p.op in ("<", "<=", ">", ">=") and t != "int":
            self.err(
                "E218",
                f"`{p.op}` compares numbers, but `{key}` is {t}",
                p.span,
                hint="use == or != (or `in [...]`)",
            )
            return None
        if not self._value_fits(t, tv, key):
            return None
        return ir.Compare(cast(ir.CompareOp, p.op), attr, ir_value(tv))

    def _value_fits(self, t: str, tv: TV, key: str) -> bool:
        want = {"string": "string", "int": "int", "bool": "bool"}[t]
        if tv.kind != want:
            label = {"string": "a string", "int": "a count", "bool": "true/false"}[t]
            hint = f'quote it: "{tv.value}"' if t == "string" and tv.kind in ("int", "number") else None
            self._type_error(tv, f"{label} (`{key}` is {t})", hint=hint)
            return False
        return True

    # -- statements --------------------------------------------------------------------------------------------

    def statement(self, st: ast.NamedDecl) -> object | None:
        name, span, body = st.name.text, st.span, st.body
        if isinstance(body, ast.SeparatePairsBody):
            u = self.unit(body.unit)
            return None if u is None else ir.SeparatePairs(name, span, within=u)
        if isinstance(body, ast.SeparateRegionsBody):
            u = self.unit(body.unit)
            regions = self.regions(body.regions, "regions")
            if regions is not None and len(set(regions)) < 2:
                self.err("E221", "name at least two regions to keep apart", body.regions.span)
                return None
            return None if u is None or regions is None else ir.SeparateRegions(name, span, regions, within=u)
        if isinstance(body, ast.AtMostBody):
            return self.at_most(name, span, body)
        if isinstance(body, ast.NotWholeBody):
            return self.not_whole(name, span, body)
        if isinstance(body, ast.CanaryBody):
            self.word(body.noun, ("region",), "word after `canary`")
            regions = self.regions(body.regions, "canary regions")
            if regions is not None and not regions:
                self.err("E221", "name at least one canary region", body.regions.span)
                return None
            return None if regions is None else ir.Canary(name, span, regions, alone=body.alone)
        if isinstance(body, ast.OrderBody):
            early = self.selector(body.earlier)
            late = self.selector(body.later)
            u = self.unit(body.unit, "phase")
            if early is None or late is None or u is None:
                return None
            if early == late:
                self.err(
                    "E210",
                    "a selection cannot come before itself",
                    body.span,
                    hint="the rule is impossible as soon as one such VM is scheduled",
                )
                return None
            return ir.Order(name, span, earlier=early, later=late, unit=u)
        if isinstance(body, ast.OrderByBody):
            u = self.unit(body.unit)
            if body.tag is not None:
                key = ir.Attr(("vm", "tags", body.tag.value))
            else:
                assert body.attr is not None
                if self.attr_type(body.attr) is None:
                    return None
                key = ir.Attr(body.attr.path)
            where = self.pred(body.where)
            if u is None or where is None:
                return None
            return ir.OrderBy(name, span, key=key, unit=u, descending=body.descending, where=where)
        if isinstance(body, ast.SpreadBody):
            return self.spread(name, span, body)
        if isinstance(body, ast.PrecheckBody | ast.StopUpgradedBody | ast.StopUnhealthyBody | ast.ExecClaimBody):
            return self.cap_gate(name, span, body)
        if isinstance(body, ast.HealthWaitBody):
            wait = self.duration(body.wait, "health wait")
            if wait is None:
                return None
            return ir.HealthWaitGate(name, span, wait=wait, on_timeout=body.on_timeout or "rollback")
        if isinstance(body, ast.PhaseGateBody):
            return ir.PhaseGate(name, span)
        if isinstance(body, ast.RetryBody):
            after = self.duration(body.after, "retry interval")
            if after is not None and after.seconds == 0:
                self.err("E209", "the retry interval must be longer than 0", body.after.span, hint="e.g. 3d")
                return None
            attempts = 3 if body.max_attempts is None else self.count(body.max_attempts, "retries")
            if after is None or attempts is None:
                return None
            return ir.RetryGate(name, span, after=after, max_attempts=attempts)
        if isinstance(body, ast.PauseBody):
            pause = self.duration(body.pause, "pause")
            of = "scale_set" if body.of is None else self.word(body.of, ir.GROUP_SCOPES, "scope")
            if pause is None or of is None:
                return None
            return ir.PauseGate(name, span, pause=pause, of=of)
        assert isinstance(body, ast.VersionClaimBody)
        if self.word(body.noun, ("vm",), "subject") is None:
            return None
        return ir.VersionClaim(body.kind)

    def at_most(self, name: str, span: Span, b: ast.AtMostBody) -> ir.Rule | None:
        counted = None if b.counted is None else self.word(b.counted, (*COUNTABLE, "vm", *TIME_UNITS), "counted item")
        if b.counted is not None and counted is None:
            return None
        where = self.pred(b.where)
        if counted in TIME_UNITS:
            if b.of is not None:
                self.err("E205", "`of` does not go with a count of waves or phases", b.of.span)
            if len(b.per) > 1:
                self.err("E205", "count waves or phases per one scope", b.per[1].span, hint="e.g. at most 3 waves per region")
            per = "fleet" if not b.per else self.word(b.per[0], ir.GROUP_SCOPES, "scope")
            limit = self.count(b.amount, "number of units", 0)
            self._no_rounding(b)
            if per is None or limit is None or where is None:
                return None
            if limit == 0:
                self._impossible(b.amount.span, f"at most 0 {counted}s")
                return None
            return ir.UnitLimit(name, span, limit=limit, unit=cast(ir.TimeUnit, counted), per=per, where=where)
        within_name = b.per[-1] if b.per else None
        if within_name is None:
            self.err(
                "E206",
                "say per which time unit: add `per wave` or `per phase`",
                b.span,
                hint="e.g. at most 1 zone per region per wave",
            )
            return None
        within = self.unit(within_name)
        if len(b.per) > 2:
            self.err("E205", "at most one `per SCOPE` before the time unit", b.per[1].span)
            return None
        group = self.word(b.per[0], ir.GROUP_SCOPES, "scope") if len(b.per) == 2 else "fleet"
        if counted is None or counted == "vm":
            if b.of is not None and len(b.per) == 2:
                self.err("E205", "give the group either with `of` or with `per`, not both", b.per[0].span)
                return None
            of = self.word(b.of, ir.GROUP_SCOPES, "scope") if b.of is not None else group
            if counted is None and b.of is None:
                self.err("E205", "say what is limited: `VMs`, `of a SCOPE`, or a scope such as `zone`", b.span)
                return None
            amount = self.amount(b)
            if amount is None or of is None or within is None or where is None:
                return None
            if isinstance(amount, ir.Percent) and amount.value >= 100:
                self.warn("W302", "at most 100% never limits anything", b.amount.span, hint="remove the rule")
            return ir.Capacity(name, span, amount=amount, of=of, within=within, where=where)
        if b.of is not None:
            self.err("E205", f"`of` does not go with a count of {counted}s; use `per`", b.of.span)
            return None
        limit = self.count(b.amount, f"number of {counted}s", 0)
        self._no_rounding(b)
        if limit is None or group is None or within is None or where is None:
            return None
        if limit == 0:
            self._impossible(b.amount.span, f"at most 0 {counted}s")
            return None
        if group == counted or group == "vm" or (counted, group) in NESTED:
            self.warn(
                "W302",
                f"each {group} holds VMs of a single {counted}, so this never limits anything",
                b.span,
                hint="did you mean another scope after `per`?",
            )
        return ir.DistinctLimit(name, span, limit=limit, count=counted, per=group, within=within, where=where)

    def _impossible(self, sp: Span, what: str) -> None:
        self.err(
            "E210",
            f"{what} makes every non-empty rollout impossible",
            sp,
            hint="use at least 1; to stop a rollout, leave VMs out of the fleet instead",
        )

    def _no_rounding(self, b: ast.AtMostBody) -> None:
        if b.rounding:
            self.err(
                "E208",
                "rounding and minimums apply to percentages only",
                b.rounding[0].span,
                hint="remove the parentheses, or write a percentage",
            )

    def amount(self, b: ast.AtMostBody) -> ir.Amount | None:
        tv = self.value(b.amount)
        if tv is None:
            return None
        if tv.kind == "int":
            self._no_rounding(b)
            n = cast(int, tv.value)
            if n < 0:
                self.err("E209", f"a count must be at least 0, not {n}{tv.via()}", tv.span)
                return None
            if n == 0:
                self._impossible(tv.span, "at most 0 VMs")
                return None
            return ir.Count(n)
        if tv.kind != "percent":
            hint = f"add a unit: {tv.value}%" if tv.kind == "number" else "write a count (5) or a percentage (20%)"
            self._type_error(tv, "a count or percentage", hint=hint)
            return None
        value = self.percent(b.amount, "a percentage")
        if value is None:
            return None
        mode: str | None = None
        minimum: int | None = None
        ok = True
        for opt in b.rounding:
            if opt.mode is not None:
                if mode is not None:
                    self.err("E210", f"rounding given twice ({mode} and {opt.mode})", opt.span, hint="keep one")
                    ok = False
                mode = opt.mode
            elif opt.minimum is not None:
                if minimum is not None:
                    self.err("E210", "minimum given twice", opt.span, hint="keep one `at least N`")
                    ok = False
                m = self.count(opt.minimum, "minimum", 0)
                if m is None:
                    ok = False
                else:
                    minimum = m
        if not ok:
            return None
        pct = ir.Percent(value, cast(Literal["floor", "ceil"], mode or "floor"), minimum or 0)
        if value == 0 and pct.minimum == 0:
            self._impossible(b.amount.span, "at most 0% with no minimum")
            return None
        return pct

    def not_whole(self, name: str, span: Span, b: ast.NotWholeBody) -> ir.NotWhole | None:
        u = self.unit(b.unit)
        of = self.word(b.of, ir.GROUP_SCOPES, "scope")
        min_size = 2
        if b.min_noun is not None:
            self.word(b.min_noun, ("vm",), "word after the minimum")
        if b.min_size is not None:
            m = self.count(b.min_size, "minimum size", 0)
            if m is None:
                return None
            if m < 2:
                self.err(
                    "E210",
                    f"a group of {m} VM{'s' if m != 1 else ''} cannot avoid being whole in one {u or 'wave'}",
                    b.min_size.span,
                    hint="use at least 2",
                )
                return None
            min_size = m
        where = self.pred(b.where)
        if u is None or of is None or where is None:
            return None
        return ir.NotWhole(name, span, of=of, within=u, min_size=min_size, where=where)

    def selector(self, s: ast.Selector) -> ir.Predicate | None:
        noun = self.word(s.noun, ("region", "vm"), "selection")
        if noun is None:
            return None
        if s.where is not None:
            return self.pred(s.where)
        if noun == "vm" or s.value is None:
            self.err(
                "E208",
                "select VMs with a condition: `VMs where ...`" if noun == "vm" else "name the region(s)",
                s.span,
                hint='e.g. region "eastus2" before region "westus2", or VMs where vm.tags.ring == "0" before ...',
            )
            return None
        regions = self.regions(s.value, "regions")
        if regions is None:
            return None
        if not regions:
            self.err("E221", "name at least one region", s.span)
            return None
        attr = ir.Attr(("vm", "region"))
        return ir.Compare("==", attr, regions[0]) if len(regions) == 1 else ir.Compare("in", attr, regions)

    def spread(self, name: str, span: Span, b: ast.SpreadBody) -> ir.Spread | None:
        self.word(b.noun, ("vm",), "subject")
        by = [self.word(n, SPREAD_KEYS, "grouping") for n in b.by]
        unit = self.unit(b.unit)
        if unit == "phase":
            self.err("E206", "preferences spread over waves only", b.unit.span, hint="write `spread over waves`")
            return None
        weight = 1 if b.weight is None else self.count(b.weight, "weight", 0)
        where = self.pred(b.where)
        if any(x is None for x in by) or unit is None or weight is None or where is None:
            return None
        if b.single:
            single = ir.Compare("==", ir.Attr(("vm", "single")), True)
            where = single if isinstance(where, ir.TrueP) else ir.And((single, where))
        return ir.Spread(name, span, by=tuple(cast(str, x) for x in by), where=where, weight=weight)

    def cap_gate(
        self,
        name: str,
        span: Span,
        b: ast.PrecheckBody | ast.StopUpgradedBody | ast.StopUnhealthyBody | ast.ExecClaimBody,
    ) -> ir.Gate | None:
        of = self.word(b.of, ir.GROUP_SCOPES, "scope")
        want = "<=" if isinstance(b, ast.PrecheckBody) else ">"
        if b.op != want:
            meaning = (
                "start only while unhealthy <= CAP"
                if want == "<="
                else "the gate trips when unhealthy > CAP"
            )
            self.err("E218", f"this gate compares with `{want}`, not `{b.op}`", b.span, hint=meaning)
            return None
        value = self.percent(b.cap, "the unhealthy cap")
        if of is None or value is None:
            return None
        cap = ir.Percent(value)
        if isinstance(b, ast.PrecheckBody):
            return ir.PrecheckGate(name, span, of=of, cap=cap)
        if isinstance(b, ast.StopUpgradedBody) or (isinstance(b, ast.ExecClaimBody) and b.upgraded):
            return ir.StopUpgradedGate(name, span, of=of, cap=cap)
        if isinstance(b, ast.StopUnhealthyBody):
            return ir.StopUnhealthyGate(name, span, of=of, cap=cap)
        return ir.PrecheckGate(name, span, of=of, cap=cap)


# ----------------------------------------------------------------------------------------------------------------
# Merging a chain of files


CATEGORY_OF: dict[str, Category] = {"rule": "rule", "prefer": "prefer", "gate": "gate", "theorem": "theorem"}


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
                diags.append(
                    Diagnostic(
                        "E208",
                        f"param `{pname}` is {old.describe()} in the extended policy; this override is {tv.describe()}",
                        tv.span,
                        hint="keep the parameter's type (e.g. a percentage stays a percentage)",
                    )
                )
                continue
            env[pname] = tv
            decl[pname] = d
    return env, decl


SINGLE_VALUED = (
    ir.HealthWaitGate,
    ir.RetryGate,
    ir.PhaseGate,
    ir.PauseGate,
    ir.PrecheckGate,
    ir.StopUpgradedGate,
    ir.StopUnhealthyGate,
)


def merge_items(per_file: Sequence[list[Item]], diags: list[Diagnostic]) -> list[Item]:
    """Items of a chain (given parent first): a child item with a parent item's name replaces it in place."""
    merged: list[Item] = []
    index: dict[str, int] = {}
    for items in per_file:
        seen: dict[str, Item] = {}
        for it in items:
            if it.name in seen:
                first = seen[it.name]
                diags.append(
                    Diagnostic(
                        "E202",
                        f"`{it.name}` is already defined at {first.span.line}:{first.span.column}",
                        it.span,
                        hint="names are unique within a file (a child file may reuse a parent's name to replace it)",
                    )
                )
                continue
            seen[it.name] = it
            idx = index.get(it.name)
            if idx is None:
                index[it.name] = len(merged)
                merged.append(it)
            elif merged[idx].category != it.category:
                diags.append(
                    Diagnostic(
                        "E219",
                        f"`{it.name}` replaces a {merged[idx].category} of the extended policy with a {it.category}",
                        it.span,
                        hint="a replacement keeps the kind (rule for rule, gate for gate); pick another name",
                    )
                )
            else:
                merged[idx] = it
    return merged


def gate_slot(g: object) -> tuple[str, str] | None:
    if isinstance(g, ir.PrecheckGate | ir.StopUpgradedGate | ir.StopUnhealthyGate | ir.PauseGate):
        return type(g).__name__, g.of
    if isinstance(g, ir.HealthWaitGate | ir.RetryGate | ir.PhaseGate):
        return type(g).__name__, ""
    return None


GATE_WORDS = {
    "PrecheckGate": "precheck (before a batch)",
    "StopUpgradedGate": "stop-when-upgraded-unhealthy",
    "StopUnhealthyGate": "stop-at-end-of-batch",
    "PauseGate": "pause",
    "HealthWaitGate": "health wait",
    "RetryGate": "retry",
    "PhaseGate": "phase gate",
}


def check_single_valued(items: Sequence[Item], diags: list[Diagnostic]) -> None:
    slots: dict[tuple[str, str], Item] = {}
    for it in items:
        slot = gate_slot(it.value)
        if slot is None:
            continue
        if slot in slots:
            first = slots[slot]
            scope = f" for {slot[1]}" if slot[1] else ""
            diags.append(
                Diagnostic(
                    "E214",
                    f"a second {GATE_WORDS[slot[0]]} gate{scope} (`{first.name}` is the first)",
                    it.span,
                    hint=f"one is enough; to change it in a child policy, reuse the name `{first.name}`",
                )
            )
        else:
            slots[slot] = it


def implied_warnings(items: Sequence[Item], diags: list[Diagnostic]) -> None:
    """W301: a rule of the same kind and scope as another, with a looser constant, adds nothing."""
    groups: dict[object, list[Item]] = {}
    for it in items:
        if it.category in ("rule", "theorem"):
            key = _comparable_key(it.value)
            if key is not None:
                groups.setdefault(key, []).append(it)
    for group in groups.values():
        if len(group) < 2:
            continue
        # The tightest rule of the group implies every strictly looser one.
        for a in group:
            tighter = next((b for b in group if b is not a and _looser(a.value, b.value)), None)
            if tighter is not None:
                diags.append(
                    Diagnostic(
                        "W301",
                        f"rule `{a.name}` is implied by rule `{tighter.name}` ({tighter.span.file}:{tighter.span.line})",
                        a.span,
                        hint="remove the looser rule, or tighten it",
                        severity="warning",
                    )
                )


def _comparable_key(r: object) -> object | None:
    if isinstance(r, ir.Capacity):
        kind = "count" if isinstance(r.amount, ir.Count) else ("pct", r.amount.rounding)
        return ("cap", kind, r.of, r.within, r.where)
    if isinstance(r, ir.DistinctLimit):
        return ("distinct", r.count, r.per, r.within, r.where)
    if isinstance(r, ir.UnitLimit):
        return ("units", r.unit, r.per, r.where)
    return None


def _looser(a: object, b: object) -> bool:
    """True when rule ``a`` allows everything rule ``b`` allows (and strictly more, or is listed later)."""
    if isinstance(a, ir.Capacity) and isinstance(b, ir.Capacity):
        if (a.of, a.within, a.where) != (b.of, b.within, b.where):
            return False
        if isinstance(a.amount, ir.Count) and isinstance(b.amount, ir.Count):
            return a.amount.n > b.amount.n
        if isinstance(a.amount, ir.Percent) and isinstance(b.amount, ir.Percent):
            pa, pb = a.amount, b.amount
            if pa.rounding != pb.rounding:
                return False
            return pa.value >= pb.value and pa.minimum >= pb.minimum and (pa.value, pa.minimum) != (pb.value, pb.minimum)
        return False
    if isinstance(a, ir.DistinctLimit) and isinstance(b, ir.DistinctLimit):
        return (a.count, a.per, a.within, a.where) == (b.count, b.per, b.within, b.where) and a.limit > b.limit
    if isinstance(a, ir.UnitLimit) and isinstance(b, ir.UnitLimit):
        return (a.unit, a.per, a.where) == (b.unit, b.per, b.where) and a.limit > b.limit
    return False


def versions_of(
    results: Sequence[FileResult], env: dict[str, TV], diags: list[Diagnostic]
) -> ir.VersionPolicy:
    """The version policy of a chain (child first): explicit child settings win, pins and opt-outs add up."""
    only_enabled: bool | None = None
    allow_major: bool | None = None
    pins: list[ir.VersionPin] = []
    opt_outs: list[ir.OptOut] = []
    span: Span | None = None
    for res in reversed(results):
        for i, block in enumerate(res.versions):
            if i > 0:
                diags.append(
                    Diagnostic("E214", "a second `versions` block", block.span, hint="merge it into the first")
                )
                continue
            span = block.span
            said: dict[str, ast.VersionItem] = {}
            for item in block.items:
                if isinstance(item, ast.VersionItem):
                    group = {
                        "only_enabled": "enabled",
                        "include_disabled": "enabled",
                        "never_major": "major",
                        "allow_major": "major",
                        "newest_minor": "newest",
                    }[item.kind]
                    if group in said:
                        prev = said[group]
                        if prev.kind == item.kind:
                            diags.append(
                                Diagnostic("W305", "said twice", item.span, severity="warning", hint="remove one")
                            )
                        else:
                            diags.append(
                                Diagnostic(
                                    "E222",
                                    "contradicts the line above "
                                    f"({prev.span.line}:{prev.span.column})",
                                    item.span,
                                    hint="keep one of them",
                                )
                            )
                        continue
                    said[group] = item
                    if item.kind in ("only_enabled", "include_disabled"):
                        only_enabled = item.kind == "only_enabled"
                    elif item.kind in ("never_major", "allow_major"):
                        allow_major = item.kind == "allow_major"
                    continue
                sel = _selector(item.fields, diags)
                if sel is None:
                    continue
                if isinstance(item, ast.OptOutItem):
                    opt_outs.append(ir.OptOut(sel, item.span))
                else:
                    if not is_version(item.version.value):
                        diags.append(
                            Diagnostic(
                                "E220",
                                f"`{item.version.value}` is not a version",
                                item.version.span,
                                hint="1 to 4 dot-separated numbers, e.g. \"9.5\" or \"1.2.3\"",
                            )
                        )
                        continue
                    pins.append(ir.VersionPin(sel, item.version.value, item.span))
    return ir.VersionPolicy(
        span=span,
        only_enabled=True if only_enabled is None else only_enabled,
        allow_major=False if allow_major is None else allow_major,
        pins=tuple(pins),
        opt_outs=tuple(opt_outs),
    )


def _selector(fields: Sequence[ast.ExtField], diags: list[Diagnostic]) -> ir.ExtensionSelector | None:
    got: dict[str, str] = {}
    for f in fields:
        if f.key in got:
            diags.append(Diagnostic("E222", f"`{f.key}` given twice", f.span, hint="an extension has one " + f.key))
            return None
        got[f.key] = f.value.value
    return ir.ExtensionSelector(publisher=got.get("publisher"), type=got.get("type"), name=got.get("name"))


def convert_items(
    filename: str,
    tree: ast.File,
    env: dict[str, TV],
    diags: list[Diagnostic],
    allowed: Callable[[ast.Statement], bool],
    used: set[str],
) -> list[Item]:
    checker = StatementChecker(filename, env, diags)
    items: list[Item] = []
    for st in tree.statements:
        if not allowed(st):
            continue
        if not isinstance(st, ast.NamedDecl):
            continue
        value = checker.statement(st)
        if value is None:
            continue
        reason = never_applies(value)
        if reason is not None:
            diags.append(
                Diagnostic(
                    "W306",
                    f"`{st.name.text}` never applies: {reason}",
                    st.span,
                    hint="fix the `where` condition, or remove the rule",
                    severity="warning",
                )
            )
        items.append(Item(CATEGORY_OF[st.kind], st.name.text, value, st.span, filename))
    used |= checker.used
    return items


# ----------------------------------------------------------------------------------------------------------------
# Vacuity: conditions no VM can meet


SET_SCOPES = ("scale_set", "availability_set", "set", "update_domain", "fault_domain")
NON_NEGATIVE = ("scale_set.size", "availability_set.size", "region.zones", "vm.update_domain", "vm.fault_domain")


def never_applies(rule: object) -> str | None:
    """Why a rule's ``where`` can match no VM (or no VM of its groups), or None when it may apply."""
    where = getattr(rule, "where", None)
    if where is None:
        return None
    reason = unsatisfiable(where)
    if reason is not None:
        return reason
    scope = getattr(rule, "of", None) or getattr(rule, "per", None)
    if scope in SET_SCOPES and _requires_single(where):
        return f"single VMs (`vm.single`) belong to no {scope}"
    return None


def _conjuncts(p: ir.Predicate) -> list[ir.Predicate]:
    if isinstance(p, ir.And):
        return [c for item in p.items for c in _conjuncts(item)]
    return [p]


def _requires_single(p: ir.Predicate) -> bool:
    return any(
        isinstance(c, ir.Compare) and c.left.path == ("vm", "single") and c.op == "==" and c.right is True
        for c in _conjuncts(p)
    )


def unsatisfiable(p: ir.Predicate) -> str | None:
    """A reason when the conjunction at the top of ``p`` is contradictory on its own (bounds, equalities)."""
    low: dict[str, int] = {}
    high: dict[str, int] = {}
    equal: dict[str, object] = {}
    for c in _conjuncts(p):
        if not isinstance(c, ir.Compare):
            continue
        key = str(c.left)
        if c.op == "==":
            if key in equal and equal[key] != c.right:
                return f"`{key}` cannot equal both {equal[key]!r} and {c.right!r}"
            equal[key] = c.right
        if isinstance(c.right, bool) or not isinstance(c.right, int):
            continue
        v = c.right
        lo, hi = {"==": (v, v), "<": (None, v - 1), "<=": (None, v), ">": (v + 1, None), ">=": (v, None)}.get(
            c.op, (None, None)
        )
        if key in NON_NEGATIVE:
            low[key] = max(low.get(key, 0), 0)
        if lo is not None:
            low[key] = max(low.get(key, lo), lo)
        if hi is not None:
            high[key] = min(high.get(key, hi), hi)
        if key in low and key in high and low[key] > high[key]:
            return f"no value of `{key}` is both >= {low[key]} and <= {high[key]}"
    return None

"""The canonical layout of a ``.wg`` file, printed from the AST.

One statement per line, single spaces, canonical articles (``a``/``an``/``the``), literals in canonical spelling
(``PT5M`` becomes ``5m``), version items indented by two spaces.  Comments survive: a comment on its own line stays
before the statement that follows it, a comment at the end of a line stays at the end of that statement's line.
Single blank lines between statements are kept, runs of blank lines collapse to one.  ``parse(format(x))`` equals
``parse(x)`` (spans aside) and ``format`` is idempotent; tests/test_dsl_format.py checks both.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from dsl import ast
from dsl import policy as ir
from dsl.diagnostics import Diagnostic
from dsl.parser import parse_text

INDENT = "  "


def format_text(text: str, filename: str) -> tuple[str | None, list[Diagnostic]]:
    """The formatted text, or None and the syntax diagnostics when the text does not parse."""
    tree, diags = parse_text(text, filename)
    if tree is None:
        return None, diags
    return format_file(tree, text), []


def format_file(tree: ast.File, source: str) -> str:
    src_lines = source.split("\n")
    out: list[str] = []
    comments = sorted(tree.comments, key=lambda c: (c.line, c.column))
    next_comment = 0  # comments are consumed in source order, so one cursor keeps this linear
    last_line = 0  # last source line already emitted

    def blank_before(line: int) -> bool:
        # A blank source line right before this unit (and after the previous one) is kept as one blank line.
        return bool(out) and line - 1 > last_line and not src_lines[line - 2].strip()

    def leading(before: int, indent: str) -> None:
        nonlocal last_line, next_comment
        while next_comment < len(comments) and comments[next_comment].line < before:
            c = comments[next_comment]
            if blank_before(c.line) and out and out[-1] != "":
                out.append("")
            out.append(indent + c.text)
            last_line = c.line
            next_comment += 1

    def trailing(first: int, last: int) -> str:
        nonlocal next_comment
        texts = []
        while next_comment < len(comments) and first <= comments[next_comment].line <= last:
            texts.append(comments[next_comment].text)
            next_comment += 1
        return ("  " + " ".join(texts)) if texts else ""

    for st in tree.statements:
        leading(st.span.line, "")
        if blank_before(st.span.line) and out and out[-1] != "":
            out.append("")
        if isinstance(st, ast.VersionsDecl):
            first_item = st.items[0].span.line if st.items else st.span.end_line
            out.append("versions {" + trailing(st.span.line, min(st.span.line, first_item - 1)))
            last_line = st.span.line
            for item in st.items:
                leading(item.span.line, INDENT)
                if blank_before(item.span.line) and out[-1] != "" and not out[-1].endswith("{"):
                    out.append("")
                out.append(INDENT + version_item(item) + trailing(item.span.line, item.span.end_line))
                last_line = item.span.end_line
            leading(st.span.end_line, INDENT)
            out.append("}" + trailing(st.span.end_line, st.span.end_line))
        else:
            out.append(statement(st) + trailing(st.span.line, st.span.end_line))
        last_line = st.span.end_line
    leading(len(src_lines) + 1, "")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""


# ----------------------------------------------------------------------------------------------------------------
# Pieces


def article(word: str) -> str:
    if word.lower() == "fleet":
        return "the"
    return "an" if word[:1].lower() in "aeiou" else "a"


def number(v: Fraction) -> str:
    if v.denominator == 1:
        return str(v.numerator)
    # Parsed decimals have denominators 2^a * 5^b, so an exact decimal expansion with k = max(a, b) digits exists.
    twos = fives = 0
    rest = v.denominator
    while rest % 2 == 0:
        rest, twos = rest // 2, twos + 1
    while rest % 5 == 0:
        rest, fives = rest // 5, fives + 1
    if rest != 1:
        return format(Decimal(v.numerator) / Decimal(v.denominator), "f")
    k = max(twos, fives)
    den = v.denominator
    digits = str(abs(v.numerator) * (10**k // den)).rjust(k + 1, "0")
    sign = "-" if v < 0 else ""
    return f"{sign}{digits[:-k]}.{digits[-k:]}".rstrip("0").rstrip(".")


def string(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def value(v: ast.ValueNode) -> str:
    if isinstance(v, ast.NumberLit):
        return number(v.value)
    if isinstance(v, ast.PercentLit):
        return number(v.value) + "%"
    if isinstance(v, ast.DurationLit):
        return str(ir.Duration(v.seconds)) if v.seconds else "0s"
    if isinstance(v, ast.StringLit):
        return string(v.value)
    if isinstance(v, ast.BoolLit):
        return "true" if v.value else "false"
    if isinstance(v, ast.ListLit):
        return "[" + ", ".join(value(i) for i in v.items) + "]"
    return v.name


def pred(p: ast.PredNode) -> str:
    if isinstance(p, ast.OrNode):
        return " or ".join(pred(i) for i in p.items)
    if isinstance(p, ast.AndNode):
        return " and ".join(pred(i) for i in p.items)
    if isinstance(p, ast.NotNode):
        return "not " + pred(p.item)
    if isinstance(p, ast.ParenNode):
        return "(" + pred(p.item) + ")"
    if isinstance(p, ast.HasTagNode):
        return "has tag " + string(p.key.value)
    if isinstance(p, ast.BareNode):
        return ".".join(p.attr.path)
    return f"{'.'.join(p.attr.path)} {p.op} {value(p.value)}"


def _where(p: ast.PredNode | None) -> str:
    return "" if p is None else " where " + pred(p)


def _the(name: ast.Name) -> str:
    return f"{article(name.text)} {name.text}"


def body(b: ast.Body) -> str:
    """A rule, preference, gate or claim body in canonical layout."""
    if isinstance(b, ast.GateBody | ast.ExecClaimBody | ast.VersionClaimBody):
        return gate_or_claim(b)
    if isinstance(b, ast.SpreadBody):
        text = f"{'single ' if b.single else ''}{b.noun.text} of each {' and '.join(n.text for n in b.by)}"
        text += f" spread over {b.unit.text}" + _where(b.where)
        return text + ("" if b.weight is None else f", weight {value(b.weight)}")
    return rule_body(b)


def rule_body(b: ast.RuleBody) -> str:
    if isinstance(b, ast.SeparatePairsBody):
        return f"never together in {_the(b.unit)}: regions that are paired"
    if isinstance(b, ast.SeparateRegionsBody):
        return f"never together in {_the(b.unit)}: regions {value(b.regions)}"
    if isinstance(b, ast.AtMostBody):
        return at_most(b)
    if isinstance(b, ast.NotWholeBody):
        text = f"never whole in {_the(b.unit)}: {_the(b.of)}"
        if b.min_size is not None and b.min_noun is not None:
            text += f" with at least {value(b.min_size)} {b.min_noun.text}"
        return text + _where(b.where)
    if isinstance(b, ast.CanaryBody):
        return f"canary {b.noun.text} {value(b.regions)}{' alone' if b.alone else ''} in the first phase"
    if isinstance(b, ast.OrderBody):
        unit = "" if b.unit is None else f" by {b.unit.text}"
        return f"{selector(b.earlier)} before {selector(b.later)}{unit}"
    if isinstance(b, ast.ExtensionOrderBody):
        return f"{ext_selector(b.first)} before {ext_selector(b.second)} on each {b.noun.text}"
    if isinstance(b, ast.InstallTimeBody | ast.WindowBody | ast.FreezeBody):
        return time_body(b)
    key = f"tag {string(b.tag.value)}" if b.tag is not None else ".".join(b.attr.path if b.attr else ())
    return f"order {b.unit.text} by {key}{' descending' if b.descending else ''}" + _where(b.where)


def _zone(z: ast.TimeZoneNode | None) -> str:
    if z is None:
        return ""
    if z.region:
        return " in the region zone"
    return f" in {'tag ' if z.tag else ''}{string(z.name.value)}"


def _rec_item(item: ast.RecItem) -> str:
    return item.day if item.day is not None else " ".join(w.text for w in item.words)


def time_body(b: ast.InstallTimeBody | ast.WindowBody | ast.FreezeBody) -> str:
    if isinstance(b, ast.InstallTimeBody):
        return f"install takes {value(b.duration)}"
    if isinstance(b, ast.WindowBody):
        days = ",".join(_rec_item(d) for d in b.days)
        return f"upgrade only {days} {b.hours.text}{_zone(b.zone)}" + _where(b.where)
    return f"never from {b.start.text} to {b.end.text}{_zone(b.zone)}" + _where(b.where)


def at_most(b: ast.AtMostBody) -> str:
    parts = ["at most", value(b.amount)]
    if b.rounding:
        parts.append("(" + ", ".join(_round_opt(o) for o in b.rounding) + ")")
    if b.counted is not None:
        parts.append(b.counted.text)
    if b.of is not None:
        parts.append("of " + _the(b.of))
    parts.extend("per " + p.text for p in b.per)
    return " ".join(parts) + _where(b.where)


def gate_or_claim(b: ast.GateBody | ast.ExecClaimBody | ast.VersionClaimBody) -> str:
    if isinstance(b, ast.PrecheckBody):
        return f"before a batch, unhealthy in the {b.of.text} {b.op} {value(b.cap)}"
    if isinstance(b, ast.HealthWaitBody):
        text = f"after a batch wait up to {value(b.wait)} for health"
        if b.on_timeout is not None:
            text += ", else " + ("roll back" if b.on_timeout == "rollback" else "keep it")
        return text
    if isinstance(b, ast.StopUpgradedBody):
        return f"stop the {b.of.text} when unhealthy among upgraded {b.op} {value(b.cap)}"
    if isinstance(b, ast.StopUnhealthyBody):
        return f"stop the {b.of.text} at the end of the batch when unhealthy {b.op} {value(b.cap)}"
    if isinstance(b, ast.PhaseGateBody):
        return "a phase starts only after the previous phase succeeded"
    if isinstance(b, ast.RetryBody):
        text = f"retry failed after {value(b.after)}"
        return text + ("" if b.max_attempts is None else f", at most {value(b.max_attempts)} times")
    if isinstance(b, ast.BakeBody):
        if b.first is None:
            return f"bake {value(b.duration)} after each {b.unit.text}"
        return f"bake {value(b.duration)} after the first {b.first.text} of each {b.unit.text}"
    if isinstance(b, ast.PauseBody):
        return f"pause {value(b.pause)} between batches" + ("" if b.of is None else " of " + _the(b.of))
    if isinstance(b, ast.ExecClaimBody):
        among = " among upgraded" if b.upgraded else ""
        return f"the executor never starts a batch while unhealthy{among} in the {b.of.text} {b.op} {value(b.cap)}"
    if b.kind == "no_major":
        return f"no {b.noun.text} ever moves to a new major version"
    return f"a {b.noun.text} whose upgrade failed health ends on its previous version"


def _round_opt(o: ast.RoundOpt) -> str:
    if o.mode is not None:
        return o.mode
    assert o.minimum is not None  # the grammar gives a round option either a mode or a minimum
    return f"at least {value(o.minimum)}"


def selector(s: ast.Selector) -> str:
    if s.where is not None:
        return f"{s.noun.text} where {pred(s.where)}"
    return s.noun.text if s.value is None else f"{s.noun.text} {value(s.value)}"


def ext_fields(fields: tuple[ast.ExtField, ...]) -> str:
    return " ".join(f"{f.key} {string(f.value.value)}" for f in fields)


def ext_selector(s: ast.ExtSelector) -> str:
    return "extension " + (string(s.type.value) if s.type is not None else ext_fields(s.fields))


def version_item(item: ast.VersionEntry) -> str:
    if isinstance(item, ast.VersionItem):
        return {
            "only_enabled": "only enabled",
            "include_disabled": "include disabled",
            "newest_minor": "newest of the installed major",
            "never_major": "never a new major",
            "allow_major": "allow a new major",
        }[item.kind]
    fields = ext_fields(item.fields)
    if isinstance(item, ast.OptOutItem):
        return f"opt out {fields}"
    return f"pin {fields} to {string(item.version.value)}"


def statement(st: ast.Statement) -> str:
    if isinstance(st, ast.PolicyDecl):
        return f"policy {st.name.text}"
    if isinstance(st, ast.TheoremsDecl):
        return f"theorems about {string(st.spec.value)}"
    if isinstance(st, ast.ExtendsDecl):
        return f"extends {string(st.path.value)}"
    if isinstance(st, ast.ParamDecl):
        return f"param {st.name.text} = {value(st.value)}"
    if isinstance(st, ast.NamedDecl):
        return f"{st.kind} {st.name.text}: {body(st.body)}"
    return "versions { " + " ".join(version_item(i) for i in st.items) + " }"

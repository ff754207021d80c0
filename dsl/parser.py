"""Text → :class:`dsl.ast.File`, with named syntax errors and guards against absurd input.

The parser is Lark's LALR(1) with the contextual lexer and ``propagate_positions``, so every AST node gets the span
of its text.  Lark's exceptions never leave this module: each is classified into a named diagnostic (E101 missing
colon, E102 unclosed bracket, E104 unknown keyword, ...) in the spirit of Lark's ``error_reporting_lalr`` example,
but by the parser's expected-token set rather than by example strings, so the names stay right as the grammar
grows.  After a syntax error the statement holding it is blanked (newlines kept, so positions do not move) and the
file re-parsed, so one run reports the syntax errors of several statements.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Literal, cast

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput

from dsl import ast
from dsl.diagnostics import Diagnostic, Span
from dsl.suggest import closest

MAX_BYTES = 1_000_000  # a policy is a page of text; a megabyte is a mistake or an attack
MAX_LINE = 4_000
MAX_DEPTH = 64  # brackets nested deeper than this are not a policy anybody reads
MAX_SYNTAX_ERRORS = 20

STATEMENT_KEYWORDS: tuple[str, ...] = (
    "policy",
    "theorems",
    "extends",
    "param",
    "rule",
    "prefer",
    "gate",
    "theorem",
    "versions",
)
VERSION_KEYWORDS: tuple[str, ...] = ("only", "include", "newest", "never", "allow", "opt", "pin")
RULE_FORMS = (
    "at most ..., never together in a phase: ..., never whole in a wave: ..., canary region ..., "
    "region \"A\" before region \"B\", order waves by tag \"ring\", "
    "extension \"A\" before extension \"B\" on each vm"
)
RULE_STARTS = frozenset({"at", "never", "canary", "order", "extension", "install", "upgrade"})
GATE_STARTS = frozenset({"before", "after", "stop", "a", "retry", "pause", "bake"})

_FRIENDLY = {
    "NAME": "a name",
    "NUMBER": "a number",
    "PERCENT": "a percentage",
    "DURATION": "a duration",
    "ISO_DURATION": "a duration",
    "STRING": "a string",
    "BOOL": "true or false",
    "COMPARE": "a comparison (==, !=, <, <=, >, >=)",
    "ROUNDING": "floor or ceil",
    "EXT_KEY": "publisher, type or name",
    "TIME_RANGE": "a time range (22:00-06:00)",
    "DATE": "a date (2026-12-20 or 2026-12-20T18:00)",
    "ORDINAL": "a day of the month (1st, 15th, 31st)",
    "$END": "the end of the file",
}
_CLOSERS = {"(": ")", "[": "]", "{": "}"}
_OPENERS = {v: k for k, v in _CLOSERS.items()}


@functools.lru_cache(maxsize=1)
def lark_parser() -> Lark:
    grammar = resources.files("dsl").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", propagate_positions=True, maybe_placeholders=False)


@functools.lru_cache(maxsize=1)
def _terminal_text() -> dict[str, str]:
    out: dict[str, str] = {}
    for t in lark_parser().terminals:
        if t.name in _FRIENDLY:
            out[t.name] = _FRIENDLY[t.name]
        elif t.pattern.type == "str":
            out[t.name] = f"`{t.pattern.value}`"
        else:
            out[t.name] = t.name.lower()
    out["$END"] = _FRIENDLY["$END"]
    return out


# ----------------------------------------------------------------------------------------------------------------
# Bytes → text


def decode(data: bytes, filename: str) -> tuple[str | None, list[Diagnostic]]:
    """Decode a file's bytes as UTF-8, refusing binary data and oversized files with a diagnostic."""
    if len(data) > MAX_BYTES:
        return None, [
            Diagnostic(
                "E004",
                f"file is too large ({len(data)} bytes; the limit is {MAX_BYTES})",
                Span(filename, 1, 1, 1, 2),
                hint="a policy is a page of text; split it with `extends`",
            )
        ]
    nul = data.find(b"\x00")
    if nul >= 0:
        line, col = _line_col_bytes(data, nul)
        return None, [
            Diagnostic(
                "E003",
                "file holds binary data (a NUL byte), not policy text",
                Span(filename, line, col, line, col + 1),
                hint="is this the right file?",
            )
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line, col = _line_col_bytes(data, e.start)
        return None, [
            Diagnostic(
                "E002",
                f"file is not UTF-8 (byte 0x{data[e.start]:02x} at offset {e.start})",
                Span(filename, line, col, line, col + 1),
                hint="save the file as UTF-8",
            )
        ]
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, []


def _line_col_bytes(data: bytes, offset: int) -> tuple[int, int]:
    line = data.count(b"\n", 0, offset) + 1
    start = data.rfind(b"\n", 0, offset) + 1
    return line, offset - start + 1


# ----------------------------------------------------------------------------------------------------------------
# Pre-checks on text


@dataclass(frozen=True)
class _Bracket:
    char: str
    line: int
    column: int


def _scan_brackets(text: str, stop: int | None = None) -> tuple[list[_Bracket], _Bracket | None, int]:
    """Open brackets left at ``stop`` (outside strings and comments), the first stray closer, and the max depth."""
    stack: list[_Bracket] = []
    stray: _Bracket | None = None
    depth = 0
    line, col = 1, 1
    i = 0
    end = len(text) if stop is None else min(stop, len(text))
    in_string = in_comment = False
    while i < end:
        c = text[i]
        if c == "\n":
            line, col = line + 1, 1
            in_string = in_comment = False
            i += 1
            continue
        if in_comment:
            pass
        elif in_string:
            if c == "\\":
                i += 1
                col += 1
            elif c == '"':
                in_string = False
        elif c == "#":
            in_comment = True
        elif c == '"':
            in_string = True
        elif c in _CLOSERS:
            stack.append(_Bracket(c, line, col))
            depth = max(depth, len(stack))
        elif c in _OPENERS:
            if stack and stack[-1].char == _OPENERS[c]:
                stack.pop()
            elif stray is None:
                stray = _Bracket(c, line, col)
        i += 1
        col += 1
    return stack, stray, depth


def precheck(text: str, filename: str) -> list[Diagnostic]:
    """Refuse text that is too large, has absurdly long lines or nests too deep, before Lark sees it."""
    if len(text) > MAX_BYTES:
        return [
            Diagnostic(
                "E004",
                f"file is too large ({len(text)} characters; the limit is {MAX_BYTES})",
                Span(filename, 1, 1, 1, 2),
                hint="a policy is a page of text; split it with `extends`",
            )
        ]
    for n, line in enumerate(text.split("\n"), start=1):
        if len(line) > MAX_LINE:
            return [
                Diagnostic(
                    "E005",
                    f"line is too long ({len(line)} characters; the limit is {MAX_LINE})",
                    Span(filename, n, 1, n, 2),
                    hint="break the statement over several lines",
                )
            ]
        if "\x00" in line:
            col = line.index("\x00") + 1
            return [
                Diagnostic(
                    "E003",
                    "text holds a NUL character, not policy text",
                    Span(filename, n, col, n, col + 1),
                    hint="is this the right file?",
                )
            ]
    _, _, depth = _scan_brackets(text)
    if depth > MAX_DEPTH:
        stack: list[_Bracket] = []
        for b in _iter_openers(text):
            stack.append(b)
            if len(stack) > MAX_DEPTH:
                break
        b = stack[-1]
        return [
            Diagnostic(
                "E006",
                f"brackets nest {depth} deep; the limit is {MAX_DEPTH}",
                Span(filename, b.line, b.column, b.line, b.column + 1),
                hint="simplify the condition; `and`/`or` need no extra parentheses",
            )
        ]
    return []


def _iter_openers(text: str) -> Iterator[_Bracket]:
    # Only used once depth is known to be excessive: report where the limit is crossed.
    line, col, in_string, in_comment, level = 1, 1, False, False, 0
    for c in text:
        if c == "\n":
            line, col, in_string, in_comment = line + 1, 1, False, False
            continue
        if not in_comment and not in_string:
            if c == "#":
                in_comment = True
            elif c == '"':
                in_string = True
            elif c in _CLOSERS:
                level += 1
                if level > MAX_DEPTH:
                    yield _Bracket(c, line, col)
                    return
                yield _Bracket(c, line, col)
            elif c in _OPENERS:
                level = max(0, level - 1)
        elif in_string and c == '"':
            in_string = False
        col += 1


# ----------------------------------------------------------------------------------------------------------------
# Parsing with named errors


def parse_text(text: str, filename: str) -> tuple[ast.File | None, list[Diagnostic]]:
    """Parse policy or theorem text; returns the AST, or None and at least one named syntax diagnostic."""
    pre = precheck(text, filename)
    if pre:
        return None, pre
    parser = lark_parser()
    diags: list[Diagnostic] = []
    work = text
    last_offset = -1
    for _ in range(MAX_SYNTAX_ERRORS):
        try:
            tree = parser.parse(work)
        except UnexpectedInput as e:
            offset = _offset(work, e)
            if offset <= last_offset:
                break
            last_offset = offset
            diag = classify(e, work, filename)
            if any((d.code, d.location) == (diag.code, diag.location) for d in diags):
                break  # the same unclosed bracket again: a cascade, not a new error
            diags.append(diag)
            blanked = _blank_statement(work, offset)
            if blanked is None:
                break
            work = blanked
            continue
        except RecursionError:
            return None, [Diagnostic("E006", "input nests too deep to parse", Span(filename, 1, 1, 1, 2))]
        if diags:
            return None, diags
        try:
            return _Builder(filename).file(tree, comments_of(text)), []
        except RecursionError:
            return None, [Diagnostic("E006", "input nests too deep to parse", Span(filename, 1, 1, 1, 2))]
    return None, diags


def comments_of(text: str) -> tuple[ast.Comment, ...]:
    """Every `#` comment outside strings, with its position (the formatter puts them back)."""
    out: list[ast.Comment] = []
    for n, line in enumerate(text.split("\n"), start=1):
        in_string = False
        i = 0
        while i < len(line):
            c = line[i]
            if in_string:
                if c == "\\":
                    i += 1
                elif c == '"':
                    in_string = False
            elif c == '"':
                in_string = True
            elif c == "#":
                out.append(ast.Comment(n, i + 1, line[i:].rstrip()))
                break
            i += 1
    return tuple(out)


def _offset(text: str, e: UnexpectedInput) -> int:
    pos = getattr(e, "pos_in_stream", None)
    if isinstance(pos, int) and pos >= 0:
        return pos
    tok = getattr(e, "token", None)
    if isinstance(tok, Token) and tok.start_pos is not None:
        return tok.start_pos
    return len(text)


_STATEMENT_START = re.compile(r"^[ \t]*(" + "|".join(STATEMENT_KEYWORDS) + r")\b", re.MULTILINE)


def _blank_statement(text: str, offset: int) -> str | None:
    """Blank the statement holding ``offset`` up to the next statement keyword at a line start."""
    starts = [m.start() for m in _STATEMENT_START.finditer(text)]
    begin = max((s for s in starts if s <= offset), default=0)
    nxt = [s for s in starts if s > offset]
    if not nxt:
        return None
    end = nxt[0]
    return text[:begin] + re.sub(r"[^\n]", " ", text[begin:end]) + text[end:]


def _span_at(filename: str, line: int, column: int, width: int = 1) -> Span:
    line, column = max(1, line), max(1, column)
    return Span(filename, line, column, line, column + max(1, width))


def _expected_text(expected: set[str]) -> str:
    # Statement keywords are always acceptable after a complete statement; listing them only adds noise.
    inner = {x for x in expected if x.lower() not in STATEMENT_KEYWORDS and x != "$END"} or expected
    names = sorted({_terminal_text().get(x, x) for x in inner})
    shown = names[:10]
    more = "" if len(names) <= 10 else f" (and {len(names) - 10} more)"
    return ", ".join(shown) + more


def _prev_word(text: str, offset: int) -> str:
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)\W*$", text[:offset])
    return m.group(1) if m else ""


def classify(e: UnexpectedInput, text: str, filename: str) -> Diagnostic:
    """Name a Lark syntax error: a code, a message in the language's words, a span and a hint."""
    offset = _offset(text, e)
    if isinstance(e, UnexpectedCharacters):
        ch = text[offset] if offset < len(text) else ""
        if ch == '"':
            rest = text[offset:].split("\n", 1)[0]
            return Diagnostic(
                "E105",
                "unterminated string",
                _span_at(filename, e.line, e.column, len(rest)),
                hint='close the string with `"` on the same line',
            )
        if ch.isdigit() and not ch.isascii():  # a digit that is not 0-9, e.g. a full-width "５": numbers are ASCII only
            return Diagnostic(
                "E108",
                f"unexpected character {ch!r} (a digit other than 0-9)",
                _span_at(filename, e.line, e.column),
                hint="write numbers, percentages and durations with the ASCII digits 0-9",
            )
        return Diagnostic(
            "E108",
            f"unexpected character {ch!r}",
            _span_at(filename, e.line, e.column),
            hint="policies use words, numbers, percentages (20%), durations (5m), strings and [lists]",
        )
    expected: set[str] = set(getattr(e, "expected", None) or ())
    tok = getattr(e, "token", None)
    tok_type = tok.type if isinstance(tok, Token) else "$END"
    tok_text = str(tok) if isinstance(tok, Token) else ""
    line = tok.line if isinstance(tok, Token) and tok.line else e.line
    column = tok.column if isinstance(tok, Token) and tok.column else e.column
    wrong_start = _wrong_body_start(text, offset, filename)
    if wrong_start is not None:
        return wrong_start
    if isinstance(e, UnexpectedEOF) or tok_type == "$END":
        open_, _, _ = _scan_brackets(text)
        if open_:
            b = open_[-1]
            return Diagnostic(
                "E102",
                f"unclosed `{b.char}`",
                _span_at(filename, b.line, b.column),
                hint=f"close it with `{_CLOSERS[b.char]}`",
            )
        last_line = text.rstrip().count("\n") + 1
        last_col = len(text.rstrip().split("\n")[-1]) + 1
        return Diagnostic(
            "E107",
            "unexpected end of file: the statement is incomplete",
            _span_at(filename, last_line, last_col),
            hint=f"expected {_expected_text(expected)}",
        )
    width = max(1, len(tok_text))
    here = _span_at(filename, line, column, width)
    open_, _, _ = _scan_brackets(text, offset)
    stmt_terms = {k.upper() for k in STATEMENT_KEYWORDS}
    line_start = text.rfind("\n", 0, offset) + 1
    first_on_line = not text[line_start:offset].strip()
    in_block = "RBRACE" in expected and bool(expected & _version_terms())
    if tok_type == "NAME" and (in_block or (first_on_line and expected & stmt_terms)):
        words = VERSION_KEYWORDS if in_block else STATEMENT_KEYWORDS
        return Diagnostic(
            "E104",
            f"unknown keyword `{tok_text}`",
            here,
            hint=_did_you_mean(tok_text, words) or f"expected one of: {', '.join(words)}",
        )
    closer_expected = expected & {"RBRACE", "RSQB", "RPAR"}
    closing_wrong = tok_type in {"RBRACE", "RSQB", "RPAR"}
    if open_ and (closing_wrong or (closer_expected and tok_type in stmt_terms)) and tok_type not in expected:
        b = open_[-1]
        return Diagnostic(
            "E102",
            f"unclosed `{b.char}` (opened at {b.line}:{b.column}) before `{tok_text}`",
            _span_at(filename, b.line, b.column),
            hint=f"close it with `{_CLOSERS[b.char]}` before line {line}",
        )
    if tok_type in {"RBRACE", "RSQB", "RPAR"} and not open_:
        return Diagnostic(
            "E103",
            f"unexpected `{tok_text}`: nothing to close",
            here,
            hint="remove it, or add the opening bracket it belongs to",
        )
    if "COLON" in expected and _prev_word(text, offset) and tok_type != "COLON":
        named = re.search(r"\b(rule|gate|prefer|theorem)\s+[A-Za-z_]\w*\s*$", text[:offset])
        if named:
            return Diagnostic(
                "E101",
                f"missing `:` after the name `{_prev_word(text, offset)}`",
                here,
                hint=f"write `{named.group(1)} NAME: BODY`",
            )
        return Diagnostic(
            "E101",
            f"missing `:` after `{_prev_word(text, offset)}`",
            here,
            hint=f"write `{text[text.rfind(chr(10), 0, offset) + 1 : offset].strip()[-80:]}: ...`",
        )
    if expected == {"NAME"} and _prev_word(text, offset) in STATEMENT_KEYWORDS:
        return Diagnostic(
            "E109",
            f"missing name after `{_prev_word(text, offset)}`",
            here,
            hint="every rule, gate, preference, theorem and param has a name, e.g. `rule one_zone: ...`",
        )
    if tok_text == "=" and "COMPARE" in expected:
        return Diagnostic("E106", "unexpected `=`", here, hint="compare with `==`")
    pattern = _terminal_text().get(tok_type, tok_type)
    what = f"`{tok_text}`" if pattern.startswith("`") else f"{'word' if tok_type == 'NAME' else pattern} `{tok_text}`"
    return Diagnostic("E106", f"unexpected {what}", here, hint=f"expected {_expected_text(expected)}")


_BODY_START = re.compile(r"^[ \t]*(rule|gate|prefer)[ \t]+[A-Za-z_]\w*[ \t]*:[ \t]*([A-Za-z_]\w*)", re.MULTILINE)
SELECTOR_NOUNS = frozenset({"region", "regions", "vm", "vms"})


def _wrong_body_start(text: str, offset: int, filename: str) -> Diagnostic | None:
    """E110 when the statement holding the error starts its body with a word no rule or gate starts with."""
    found = None
    for m in _BODY_START.finditer(text):
        if m.start() > offset:
            break
        found = m
    if found is None or found.start(2) > offset:
        return None
    kind, word = found.group(1), found.group(2)
    starts = {"rule": RULE_STARTS | SELECTOR_NOUNS, "gate": GATE_STARTS, "prefer": frozenset({"single", "vms"})}[kind]
    if word.lower() in starts:
        return None
    line = text.count("\n", 0, found.start(2)) + 1
    col = found.start(2) - (text.rfind("\n", 0, found.start(2)) + 1) + 1
    forms = {
        "rule": RULE_FORMS,
        "gate": "before a batch, ..., after a batch wait up to 5m for health, stop the scale_set when ..., "
        "a phase starts only after the previous phase succeeded, retry failed after 3d, pause 30s between batches",
        "prefer": "single VMs of each subscription and region spread over waves, weight 1",
    }[kind]
    guess = _did_you_mean(word, sorted(starts | {"at most", "atmost"}))
    guess = guess.replace("`atmost`", "`at most`") if guess else None
    return Diagnostic(
        "E110",
        f"`{word}` does not start a {kind}",
        Span(filename, line, col, line, col + len(word)),
        hint=(guess + " " if guess else "") + f"a {kind} reads like: {forms}",
    )


@functools.lru_cache(maxsize=1)
def _version_terms() -> frozenset[str]:
    return frozenset(k.upper() for k in VERSION_KEYWORDS)


def _did_you_mean(word: str, options: tuple[str, ...] | list[str]) -> str | None:
    close = closest(word.lower(), options)
    return f"did you mean `{close}`?" if close else None


# ----------------------------------------------------------------------------------------------------------------
# Parse tree → AST


def parse_duration(text: str) -> int | None:
    """Seconds of ``5m``, ``90s``, ``2h``, ``3d``, ``1h30m``, ``PT5M``, ``P3D``, ``PT1H30M``; None if not one."""
    m = re.fullmatch(r"(([0-9]+)[dhms])+", text)
    if m:
        total = 0
        for n, unit in re.findall(r"([0-9]+)([dhms])", text):
            total += int(n) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[unit]
        return total
    m = re.fullmatch(r"P(?:([0-9]+)W)?(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?(?:([0-9]+)S)?)?", text)
    if m and any(m.groups()) and not text.endswith("T"):
        w, d, h, mi, s = (int(x) if x else 0 for x in m.groups())
        return (((w * 7 + d) * 24 + h) * 60 + mi) * 60 + s
    return None


class _Builder:
    def __init__(self, filename: str) -> None:
        self.filename = filename

    def span(self, node: Tree | Token) -> Span:
        if isinstance(node, Token):
            line, col = node.line or 1, node.column or 1
            end_line = node.end_line or line
            end_col = node.end_column or col + len(node)
            return Span(self.filename, line, col, end_line, end_col)
        m = node.meta
        if m.empty:
            return Span(self.filename, 1, 1, 1, 1)
        return Span(self.filename, m.line, m.column, m.end_line, m.end_column)

    def file(self, tree: Tree, comments: tuple[ast.Comment, ...]) -> ast.File:
        stmts = tuple(self.statement(c) for c in tree.children if isinstance(c, Tree))
        return ast.File(span=self.span(tree), statements=stmts, comments=comments)

    def name(self, tok: Tree | Token) -> ast.Name:
        assert isinstance(tok, Token)
        return ast.Name(span=self.span(tok), text=str(tok))

    def statement(self, t: Tree) -> ast.Statement:
        sp = self.span(t)
        ch = t.children
        kind = str(t.data)
        if kind == "policy_decl":
            return ast.PolicyDecl(span=sp, name=self.name(ch[0]))
        if kind == "theorems_decl":
            return ast.TheoremsDecl(span=sp, spec=self.string(ch[0]))
        if kind == "extends_decl":
            return ast.ExtendsDecl(span=sp, path=self.string(ch[0]))
        if kind == "param_decl":
            return ast.ParamDecl(span=sp, name=self.name(ch[0]), value=self.value(ch[1]))
        if kind in ("rule_decl", "prefer_decl", "gate_decl", "theorem_decl"):
            skind = cast(ast.StatementKind, str(kind).removesuffix("_decl"))
            body = ch[1]
            assert isinstance(body, Tree)
            return ast.NamedDecl(span=sp, kind=skind, name=self.name(ch[0]), body=self.body(body))
        if kind == "versions_decl":
            return ast.VersionsDecl(span=sp, items=tuple(self.version_item(c) for c in ch if isinstance(c, Tree)))
        raise ValueError(f"unknown statement {kind}")  # the grammar has no other statements

    def string(self, tok: Tree | Token) -> ast.StringLit:
        if isinstance(tok, Tree):  # a `value` subtree holding a string
            tok = tok.children[0]
        assert isinstance(tok, Token)
        raw = str(tok)[1:-1]
        text = re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), raw)
        return ast.StringLit(span=self.span(tok), value=text)

    def value(self, t: Tree | Token) -> ast.ValueNode:
        assert isinstance(t, Tree)
        sp = self.span(t)
        kind = t.data
        if kind == "list":
            return ast.ListLit(span=sp, items=tuple(self.value(c) for c in t.children if c is not None))
        tok = t.children[0]
        assert isinstance(tok, Token)
        text = str(tok)
        if kind == "number":
            return ast.NumberLit(span=sp, value=Fraction(text))
        if kind == "percent":
            return ast.PercentLit(span=sp, value=Fraction(text[:-1]))
        if kind in ("duration", "iso_duration"):
            return ast.DurationLit(span=sp, seconds=parse_duration(text) or 0, text=text)
        if kind == "string":
            return self.string(tok)
        if kind == "boolean":
            return ast.BoolLit(span=sp, value=text == "true")
        return ast.Ref(span=sp, name=text)

    def _opt(self, t: Tree, data: str) -> Tree | None:
        for c in t.children:
            if isinstance(c, Tree) and c.data == data:
                return c
        return None

    def _tokens(self, t: Tree, type_: str | None = None) -> list[Token]:
        return [c for c in t.children if isinstance(c, Token) and (type_ is None or c.type == type_)]

    def _where(self, t: Tree) -> ast.PredNode | None:
        w = self._opt(t, "where")
        if w is None:
            return None
        p = w.children[0]
        return self.pred(p)

    def _names(self, t: Tree) -> list[ast.Name]:
        return [self.name(x) for x in self._tokens(t, "NAME")]

    def body(self, t: Tree) -> ast.Body:
        """The AST of a rule, preference, gate or claim body, by the grammar rule that matched it."""
        build = _BODY_BUILDERS.get(str(t.data))
        if build is None:
            raise ValueError(f"unknown body {t.data}")  # the grammar has no other bodies
        return build(self, t)

    # -- hard rules

    def separate_pairs(self, t: Tree) -> ast.Body:
        return ast.SeparatePairsBody(span=self.span(t), unit=self._names(t)[0])

    def separate_regions(self, t: Tree) -> ast.Body:
        return ast.SeparateRegionsBody(span=self.span(t), unit=self._names(t)[0], regions=self.value(t.children[1]))

    def at_most(self, t: Tree) -> ast.Body:
        rnd = self._opt(t, "rounding")
        counted = self._opt(t, "counted")
        of = self._opt(t, "of_clause")
        return ast.AtMostBody(
            span=self.span(t),
            amount=self.value(t.children[0]),
            rounding=tuple(self.round_opt(r) for r in rnd.children if isinstance(r, Tree)) if rnd else (),
            counted=self.name(counted.children[0]) if counted else None,
            of=self.name(of.children[0]) if of else None,
            per=tuple(self.name(c.children[0]) for c in t.children if isinstance(c, Tree) and c.data == "per_clause"),
            where=self._where(t),
        )

    def not_whole(self, t: Tree) -> ast.Body:
        names = self._names(t)
        ms = self._opt(t, "min_size")
        return ast.NotWholeBody(
            span=self.span(t),
            unit=names[0],
            of=names[1],
            min_size=self.value(ms.children[0]) if ms else None,
            min_noun=self.name(ms.children[1]) if ms else None,
            where=self._where(t),
        )

    def canary(self, t: Tree) -> ast.Body:
        return ast.CanaryBody(span=self.span(t), noun=self._names(t)[0], regions=self.value(t.children[1]),
                              alone=bool(self._tokens(t, "ALONE")))

    def order(self, t: Tree) -> ast.Body:
        sels = [c for c in t.children if isinstance(c, Tree) and c.data in ("selector", "selector_where")]
        unit = self._opt(t, "by_unit")
        return ast.OrderBody(span=self.span(t), earlier=self.selector(sels[0]), later=self.selector(sels[1]),
                             unit=self.name(unit.children[0]) if unit else None)

    def ext_order(self, t: Tree) -> ast.Body:
        sels = [c for c in t.children if isinstance(c, Tree)]
        return ast.ExtensionOrderBody(span=self.span(t), first=self.ext_selector(sels[0]),
                                      second=self.ext_selector(sels[1]), noun=self._names(t)[0])

    def order_by(self, t: Tree) -> ast.Body:
        key = next(c for c in t.children if isinstance(c, Tree) and c.data in ("key_tag", "key_attr"))
        return ast.OrderByBody(
            span=self.span(t),
            unit=self._names(t)[0],
            tag=self.string(key.children[0]) if key.data == "key_tag" else None,
            attr=self.attr(cast(Tree, key.children[0])) if key.data == "key_attr" else None,
            descending=bool(self._tokens(t, "DESCENDING")),
            where=self._where(t),
        )

    # -- preferences

    def spread(self, t: Tree) -> ast.Body:
        names = self._names(t)
        weight = [c for c in t.children if isinstance(c, Tree) and c.data != "where"]
        return ast.SpreadBody(
            span=self.span(t),
            single=bool(self._tokens(t, "SINGLE")),
            noun=names[0],
            by=tuple(names[1:-1]),
            unit=names[-1],
            where=self._where(t),
            weight=self.value(weight[0]) if weight else None,
        )

    # -- gates and claims

    def capped(self, t: Tree) -> ast.Body:
        """The gates (and the executor claim) with an unhealthy cap: ``... SCOPE OP CAP``."""
        sp, k, of = self.span(t), str(t.data), self._names(t)[0]
        op = str(self._tokens(t, "COMPARE")[0])
        cap = self.value(t.children[-1])
        if k == "precheck":
            return ast.PrecheckBody(span=sp, of=of, op=op, cap=cap)
        if k == "stop_upgraded":
            return ast.StopUpgradedBody(span=sp, of=of, op=op, cap=cap)
        if k == "stop_unhealthy":
            return ast.StopUnhealthyBody(span=sp, of=of, op=op, cap=cap)
        return ast.ExecClaimBody(span=sp, upgraded=self._opt(t, "among_upgraded") is not None, of=of, op=op, cap=cap)

    def health_wait(self, t: Tree) -> ast.Body:
        timeout = [c for c in t.children if isinstance(c, Tree) and c.data in ("rollback", "keep")]
        return ast.HealthWaitBody(
            span=self.span(t),
            wait=self.value(t.children[0]),
            on_timeout=cast('Literal["rollback", "keep"]', str(timeout[0].data)) if timeout else None,
        )

    def phase_gate(self, t: Tree) -> ast.Body:
        return ast.PhaseGateBody(span=self.span(t))

    def retry(self, t: Tree) -> ast.Body:
        ch = t.children
        return ast.RetryBody(span=self.span(t), after=self.value(ch[0]),
                             max_attempts=self.value(ch[1]) if len(ch) > 1 else None)

    def pause(self, t: Tree) -> ast.Body:
        of = self._opt(t, "of_clause")
        return ast.PauseBody(span=self.span(t), pause=self.value(t.children[0]),
                             of=self.name(of.children[0]) if of else None)

    # -- time

    def install_time(self, t: Tree) -> ast.Body:
        return ast.InstallTimeBody(span=self.span(t), duration=self.value(t.children[0]))

    def _zone(self, t: Tree) -> ast.TimeZoneNode | None:
        z = next((c for c in t.children if isinstance(c, Tree) and c.data in ("tz_literal", "tz_tag", "tz_region")),
                 None)
        if z is None:
            return None
        if z.data == "tz_region":
            return ast.TimeZoneNode(span=self.span(z), name=ast.StringLit(span=self.span(z), value=""), region=True)
        return ast.TimeZoneNode(span=self.span(z), name=self.string(z.children[0]), tag=z.data == "tz_tag")

    def _rec_item(self, t: Tree) -> ast.RecItem:
        if t.data == "rec_day":
            return ast.RecItem(span=self.span(t), day=str(t.children[0]))
        return ast.RecItem(span=self.span(t), words=tuple(self.name(c) for c in t.children))

    def window(self, t: Tree) -> ast.Body:
        rec = self._opt(t, "recurrence")
        assert rec is not None  # the grammar requires it
        return ast.WindowBody(span=self.span(t), days=tuple(self._rec_item(c) for c in rec.children
                                                             if isinstance(c, Tree)),
                              hours=self.name(self._tokens(t, "TIME_RANGE")[0]), zone=self._zone(t),
                              where=self._where(t))

    def freeze(self, t: Tree) -> ast.Body:
        start, end = self._tokens(t, "DATE")
        return ast.FreezeBody(span=self.span(t), start=self.name(start), end=self.name(end), zone=self._zone(t),
                              where=self._where(t))

    def bake(self, t: Tree) -> ast.Body:
        names = self._names(t)
        first = names[0] if t.data == "bake_first" else None
        return ast.BakeBody(span=self.span(t), duration=self.value(t.children[0]), unit=names[-1], first=first)

    def no_major_claim(self, t: Tree) -> ast.Body:
        return ast.VersionClaimBody(span=self.span(t), kind="no_major", noun=self._names(t)[0])

    def rollback_claim(self, t: Tree) -> ast.Body:
        return ast.VersionClaimBody(span=self.span(t), kind="rollback_restores", noun=self._names(t)[0])

    def round_opt(self, t: Tree) -> ast.RoundOpt:
        if t.data == "round_mode":
            return ast.RoundOpt(span=self.span(t), mode=str(t.children[0]))
        return ast.RoundOpt(span=self.span(t), minimum=self.value(t.children[0]))

    def selector(self, t: Tree) -> ast.Selector:
        noun = self.name(t.children[0])
        if t.data == "selector_where":
            return ast.Selector(span=self.span(t), noun=noun, where=self.pred(t.children[1]))
        value = self.value(t.children[1]) if len(t.children) > 1 else None
        return ast.Selector(span=self.span(t), noun=noun, value=value)

    def ext_selector(self, t: Tree) -> ast.ExtSelector:
        if t.data == "ext_by_type":
            return ast.ExtSelector(span=self.span(t), type=self.string(t.children[0]))
        return ast.ExtSelector(span=self.span(t), fields=self.ext_fields(t))

    def ext_fields(self, t: Tree) -> tuple[ast.ExtField, ...]:
        return tuple(
            ast.ExtField(span=self.span(c), key=str(c.children[0]), value=self.string(c.children[1]))
            for c in t.children
            if isinstance(c, Tree)
        )

    def attr(self, t: Tree) -> ast.AttrNode:
        return ast.AttrNode(span=self.span(t), path=tuple(str(c) for c in t.children))

    def pred(self, t: Tree | Token) -> ast.PredNode:
        assert isinstance(t, Tree)
        sp = self.span(t)
        k = t.data
        ch = t.children
        if k == "or_pred":
            return ast.OrNode(span=sp, items=tuple(self.pred(c) for c in ch))
        if k == "and_pred":
            return ast.AndNode(span=sp, items=tuple(self.pred(c) for c in ch))
        if k == "not_":
            return ast.NotNode(span=sp, item=self.pred(ch[0]))
        if k == "paren":
            return ast.ParenNode(span=sp, item=self.pred(ch[0]))
        if k == "has_tag":
            return ast.HasTagNode(span=sp, key=self.string(ch[0]))
        if k == "bare":
            return ast.BareNode(span=sp, attr=self.attr(cast(Tree, ch[0])))
        a = self.attr(cast(Tree, ch[0]))
        if k == "compare":
            return ast.CompareNode(span=sp, op=str(ch[1]), attr=a, value=self.value(ch[2]))
        if k == "in_":
            return ast.CompareNode(span=sp, op="in", attr=a, value=self.value(ch[1]))
        if k == "not_in":
            return ast.CompareNode(span=sp, op="not in", attr=a, value=self.value(ch[1]))
        raise ValueError(f"unknown predicate {k}")  # the grammar has no other predicates

    def version_item(self, t: Tree) -> ast.VersionEntry:
        sp = self.span(t)
        k = str(t.data)
        if k in ("only_enabled", "include_disabled", "newest_minor", "never_major", "allow_major"):
            kind = cast('Literal["only_enabled", "include_disabled", "newest_minor", "never_major", "allow_major"]', k)
            return ast.VersionItem(span=sp, kind=kind)
        fields = self.ext_fields(t)
        if k == "opt_out":
            return ast.OptOutItem(span=sp, fields=fields)
        return ast.PinItem(span=sp, fields=fields, version=self.string(t.children[-1]))


# Each body rule of the grammar, with the builder of its AST node.
_BODY_BUILDERS: dict[str, Callable[[_Builder, Tree], ast.Body]] = {
    "separate_pairs": _Builder.separate_pairs,
    "separate_regions": _Builder.separate_regions,
    "at_most": _Builder.at_most,
    "not_whole": _Builder.not_whole,
    "canary": _Builder.canary,
    "order": _Builder.order,
    "ext_order": _Builder.ext_order,
    "order_by": _Builder.order_by,
    "spread": _Builder.spread,
    "precheck": _Builder.capped,
    "stop_upgraded": _Builder.capped,
    "stop_unhealthy": _Builder.capped,
    "exec_claim": _Builder.capped,
    "health_wait": _Builder.health_wait,
    "phase_gate": _Builder.phase_gate,
    "retry": _Builder.retry,
    "pause": _Builder.pause,
    "install_time": _Builder.install_time,
    "window": _Builder.window,
    "freeze": _Builder.freeze,
    "bake_each": _Builder.bake,
    "bake_first": _Builder.bake,
    "no_major_claim": _Builder.no_major_claim,
    "rollback_claim": _Builder.rollback_claim,
}

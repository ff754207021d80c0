"""The policy's rules with their source lines (file:line and the text), and how paths are spelled on the page.

A bundled spec is spelled as the CLI spells it (``wavegate:azure-default.wg``), any other file as it was given; the event log's
texts name the spec by the path the run was given, so those paths are respelled the same way.  So the page does not
depend on where the package is installed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from dsl.bundled import shown
from dsl.diagnostics import Span
from dsl.policy import Policy
from engine.model.resources import bundled_specs_dir

# Longest source text shown for one rule (a rule is a sentence; this only guards the page's size).
TEXT_CHARS = 600
PARAM_LINE = re.compile(r"^\s*param\s+\w+")


@dataclass(frozen=True)
class SourceLine:
    """A statement of the policy: its name, family, where it is and its text, with the comment just above it."""

    name: str
    family: str  # rule | preference | gate | versions | param
    kind: str
    where: str
    text: str
    note: str


def display_path(file: str) -> str:
    """A policy file as the CLI names it: a bundled spec as ``wavegate:NAME.wg`` (dsl.bundled), others unchanged."""
    return shown(file, bundled_specs_dir())


def path_cleaner(policy: Policy) -> Callable[[str], str]:
    """Respell the policy's files in a text (the event log's why / unblock name them as the run was given)."""
    pairs: dict[str, str] = {}
    for file in policy.files:
        shown = display_path(file)
        for spelling in (file, str(Path(file).resolve())):
            if spelling != shown:
                pairs[spelling + ":"] = shown + ":"
    ordered = sorted(pairs.items(), key=lambda kv: -len(kv[0]))  # longest first: a path may end another

    def clean(text: str) -> str:
        for old, new in ordered:
            text = text.replace(old, new)
        return text

    return clean


def where(span: Span | None) -> str:
    return f"{display_path(span.file)}:{span.line}" if span is not None else "-"


def read_sources(policy: Policy) -> dict[str, list[str]]:
    """Each policy file's lines; a file that cannot be read any more gives no lines (the page says so)."""
    out: dict[str, list[str]] = {}
    for file in policy.files:
        try:
            out[file] = Path(file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            out[file] = []
    return out


def statement_text(lines: list[str], span: Span) -> tuple[str, str]:
    """The span's lines and the comment block right above them, each as one string."""
    if not lines or span.line > len(lines):
        return "(source not readable)", ""
    text = "\n".join(lines[span.line - 1:span.end_line]).strip()
    above: list[str] = []
    i = span.line - 2
    while i >= 0 and lines[i].lstrip().startswith("#"):
        above.insert(0, lines[i].lstrip()[1:].strip())
        i -= 1
    return _cut(text), _cut(" ".join(above))


def source_lines(policy: Policy, sources: Mapping[str, list[str]]) -> list[SourceLine]:
    items: list[tuple[str, str, str, Span]] = []
    for family, rules in (("rule", policy.rules), ("preference", policy.preferences), ("gate", policy.gates)):
        items += [(r.name, family, _kind(type(r).__name__), r.span) for r in rules]
    if policy.versions.span is not None:
        items.append(("versions", "versions", "version policy", policy.versions.span))
    out = []
    for name, family, kind, span in items:
        text, note = statement_text(sources.get(span.file, []), span)
        out.append(SourceLine(name, family, kind, where(span), text, note))
    return out


def param_lines(policy: Policy, sources: Mapping[str, list[str]]) -> list[SourceLine]:
    """The ``param`` statements of every policy file, as written (a value keeps its unit: 20%, 5m)."""
    out = []
    for file in policy.files:
        for i, line in enumerate(sources.get(file, []), 1):
            if PARAM_LINE.match(line):
                name = line.split()[1]
                out.append(SourceLine(name, "param", "parameter", f"{display_path(file)}:{i}", line.strip(), ""))
    return out


def _kind(class_name: str) -> str:
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", class_name).lower()
    return words.removesuffix(" gate")  # "gate: precheck", not "gate: precheck gate"


def _cut(text: str) -> str:
    return text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS] + "…"

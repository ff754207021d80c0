"""The one registry of diagnostic codes: every code any stage emits, with its title and the page documenting it.

The policy language's codes (``E0xx`` reading a file, ``E1xx`` syntax, ``E2xx`` meaning, ``W3xx`` warnings) are
documented one heading each in docs/language.md; the engine's codes (``E-FLEET``, ``E-SCHEDULE``, ...) in the table
of docs/formats.md.  It lives in the lowest layer so every stage can name a code it uses;
tests/test_dsl_codes.py fails when a code used in ``dsl/`` or ``engine/`` is missing here, or a code here is used
nowhere or documented nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

LANGUAGE_DOC = "docs/language.md"
ENGINE_DOC = "docs/formats.md"


@dataclass(frozen=True)
class CodeInfo:
    """A code's one-line title and the page (relative to the repository root) that documents it."""

    title: str
    doc: str


LANGUAGE_TITLES: Mapping[str, str] = {
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
    "E223": "unknown time zone",
    "E224": "invalid time of day, time range or day of a month",
    "E225": "invalid date or freeze interval",
    "W301": "rule implied by another",
    "W302": "rule never constrains",
    "W303": "unused param",
    "W304": "unknown Azure region",
    "W305": "duplicate item",
    "W306": "rule never applies",
    "W307": "unknown Azure geography",
}

ENGINE_TITLES: Mapping[str, str] = {
    "E-IO": "a file or folder cannot be read or written",
    "E-JSON": "malformed JSON input",
    "E-FLEET": "invalid fleet",
    "E-SCHEDULE": "invalid schedule, or one that does not fit the fleet or policy",
    "E-FAULTS": "invalid fault script",
    "E-JOURNAL": "unusable run journal",
    "E-IMPORT": "import refused",
    "E-USAGE": "bad command-line usage",
    "E-EVENTS": "invalid event log",
    "E-RISK": "invalid risk summary",
    "E-MODEL": "invalid fault model",
    "E-DASK": "the Dask scheduler cannot be reached or used",
    "E-EXTENSION-ORDER": "extension order rules that cannot be followed on a VM",
}

LANGUAGE_CODES: Mapping[str, CodeInfo] = {c: CodeInfo(t, LANGUAGE_DOC) for c, t in LANGUAGE_TITLES.items()}
ENGINE_CODES: Mapping[str, CodeInfo] = {c: CodeInfo(t, ENGINE_DOC) for c, t in ENGINE_TITLES.items()}
REGISTRY: Mapping[str, CodeInfo] = {**LANGUAGE_CODES, **ENGINE_CODES}


def title(code: str) -> str:
    """The code's one-line title; raises KeyError for a code nobody registered."""
    return REGISTRY[code].title

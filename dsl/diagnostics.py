"""One diagnostic type for every stage: code, severity, location, message, hint.

Rendered as ``file:line:col: error[CODE]: message`` followed by the source line with a caret under the
span and the hint, the layout rustc and Lark's error-reporting example made familiar.  Locations in JSON
inputs (fleet, schedule, fault script) use a JSON path instead of a line and column.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "note"]


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file; lines and columns count from 1, end is exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def render(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
        }


@dataclass(frozen=True)
class JsonLocation:
    """A place in a JSON document: the file and a JSON path such as ``$.vms[3].region``."""

    file: str
    path: str

    def render(self) -> str:
        return f"{self.file}: {self.path}"

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "json_path": self.path}


Location = Span | JsonLocation | None


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    location: Location = None
    hint: str | None = None
    severity: Severity = "error"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def render(self, source: str | None = None) -> str:
        """Render for people; ``source`` is the text of the span's file, for the caret line."""
        where = self.location.render() + ": " if self.location is not None else ""
        lines = [f"{where}{self.severity}[{self.code}]: {self.message}"]
        if isinstance(self.location, Span) and source is not None:
            lines.extend(_caret_lines(source, self.location))
        if self.hint:
            lines.append(f"  = hint: {self.hint}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "location": self.location.to_json() if self.location is not None else None,
            "hint": self.hint,
        }


def _caret_lines(source: str, span: Span) -> list[str]:
    src_lines = source.splitlines()
    if not 1 <= span.line <= len(src_lines):
        return []
    text = src_lines[span.line - 1]
    shown = text if len(text) <= 200 else text[: max(0, span.column - 1) + 80]
    width = span.end_column - span.column if span.end_line == span.line else len(text) - span.column + 1
    width = max(1, min(width, max(1, len(shown) - span.column + 1)))
    gutter = f"{span.line:>4} | "
    pad = " " * (len(gutter) - 2) + "| "
    return [gutter + shown, pad + " " * (span.column - 1) + "^" * width]


def render_all(diagnostics: Iterable[Diagnostic], sources: dict[str, str] | None = None) -> str:
    """Render a list of diagnostics, each with its source line when the file's text is known."""
    sources = sources or {}
    out = []
    for d in diagnostics:
        src = sources.get(d.location.file) if isinstance(d.location, Span) else None
        out.append(d.render(src))
    return "\n".join(out)


def diagnostics_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2, sort_keys=True)


def sort_key(d: Diagnostic) -> tuple[str, int, int, str]:
    loc = d.location
    if isinstance(loc, Span):
        return (loc.file, loc.line, loc.column, d.code)
    if isinstance(loc, JsonLocation):
        return (loc.file, 0, 0, loc.path + d.code)
    return ("", 0, 0, d.code)

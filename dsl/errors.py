"""The root of wavegate's error hierarchy, in the lowest layer so that the language can raise it.

One exception class per way a run can fail (the pySMT way), so callers and the CLI map each to an exit code; the
classes for later stages (solver, infeasible, monitor) extend these in ``engine.model.errors``.
"""

from __future__ import annotations

from collections.abc import Sequence

from dsl.diagnostics import Diagnostic, render_all


class WavegateError(Exception):
    """Base of every error wavegate raises on purpose."""

    exit_code = 1


class InputError(WavegateError):
    """Bad input: a malformed policy, fleet, schedule or fault script, or a missing file.  Exit 2."""

    exit_code = 2

    def __init__(self, diagnostics: Sequence[Diagnostic], sources: dict[str, str] | None = None) -> None:
        self.diagnostics = tuple(diagnostics)
        self.sources = dict(sources or {})
        super().__init__(render_all(self.diagnostics, self.sources))

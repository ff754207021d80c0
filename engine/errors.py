"""One exception class per way a run can fail (the pySMT way), so callers and the CLI map each to an exit code."""

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


class SolverError(WavegateError):
    """Base of solver failures."""


class SolverTimeout(SolverError):
    """The solver hit its time limit before answering: the answer is *unknown*, never a pass."""


class SolverUnknown(SolverError):
    """The solver answered unknown for a reason other than time (incompleteness, resource limit)."""


class Infeasible(WavegateError):
    """No schedule satisfies the policy on this fleet; ``explanation`` names the minimal conflicting rules.  Exit 1."""

    def __init__(self, explanation: str, conflicting_rules: Sequence[str] = ()) -> None:
        self.explanation = explanation
        self.conflicting_rules = tuple(conflicting_rules)
        super().__init__(explanation)


class CheckFailed(WavegateError):
    """An answer of the solver did not survive the independent re-check: a bug in the encoding, never shown as a
    result."""


class MonitorBreach(WavegateError):
    """A runtime monitor saw an invariant break during execution; the run aborts.  Exit 1."""

"""One exception class per way a run can fail (the pySMT way), so callers and the CLI map each to an exit code.

The root classes (``WavegateError``, ``InputError``) live in ``dsl.errors`` so the language can raise them."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.errors import InputError, WavegateError

__all__ = ["CalendarUnplaced", "CheckFailed", "Infeasible", "InputError", "MonitorBreach", "SolverError", "SolverTimeout", "WavegateError"]


class SolverError(WavegateError):
    """Base of solver failures."""


class CalendarUnplaced(SolverError):
    """The calendar's bounded search placed no wave sequence (a horizon, a split limit, a split that breaks a rule):
    whether a timed schedule exists is *unknown*; never reported as "no schedule exists"."""


class SolverTimeout(SolverError):
    """The solver hit its time limit before answering: the answer is *unknown*, never a pass."""


class Infeasible(WavegateError):
    """No schedule satisfies the policy on this fleet; ``explanation`` names the minimal conflicting rules (and
    ``regions`` the part of the fleet where they conflict, when they were isolated on one).  Exit 1."""

    def __init__(self, explanation: str, conflicting_rules: Sequence[str] = (), regions: Sequence[str] = ()) -> None:
        self.explanation = explanation
        self.conflicting_rules = tuple(conflicting_rules)
        self.regions = tuple(regions)
        super().__init__(explanation)


class CheckFailed(WavegateError):
    """An answer of the solver did not survive the independent re-check: a bug in the encoding, never shown as a
    result."""


class MonitorBreach(WavegateError):
    """A runtime monitor saw an invariant break during execution; the run aborts.  Exit 1."""

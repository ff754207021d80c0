"""The one solver layer: every Z3 query of the planner and the prover goes through :class:`Solver`.

Like pySMT's single solver interface: a check returns a typed answer (:class:`Sat` with its model, :class:`Unsat`
with the names of the tracked assertions in its core, :class:`Unknown` with the reason), never a bare string, so a
caller cannot mistake "unknown" for a pass.  Every solver is seeded (same answer on every run and machine, given the
same model and enough time) and every check is bounded by an absolute deadline (``time.monotonic()`` seconds).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import z3

SEED = 7


@dataclass(frozen=True)
class Sat:
    model: z3.ModelRef

    def value(self, term: Any) -> Any:
        """The model's value of ``term`` as a Python int or bool (completing the model where it is silent)."""
        v = self.model.eval(term, model_completion=True)
        if z3.is_true(v):
            return True
        if z3.is_false(v):
            return False
        if z3.is_int_value(v):
            return v.as_long()
        return v


@dataclass(frozen=True)
class Unsat:
    core: tuple[str, ...] = ()  # names of the tracked assertions in the unsat core (empty when none are tracked)


@dataclass(frozen=True)
class Unknown:
    reason: str


Result = Sat | Unsat | Unknown


class Solver:
    """A seeded, deadline-bounded Z3 solver (or optimizer) in a context of its own.

    ``track(name, expr)`` adds an assertion guarded by a named literal, so that an unsat answer names the tracked
    assertions in its core and ``check(..., only=names)`` re-checks a subset (core minimisation)."""

    def __init__(self, *, seed: int = SEED, optimize: bool = False, ctx: z3.Context | None = None) -> None:
        # A context of its own: answers depend only on this model, not on what the process solved before.
        self.ctx = ctx if ctx is not None else z3.Context()
        self.optimize = optimize
        self.raw: z3.Solver | z3.Optimize = z3.Optimize(ctx=self.ctx) if optimize else z3.Solver(ctx=self.ctx)
        self.raw.set("random_seed", seed)
        self._tracked: dict[str, z3.BoolRef] = {}

    def add(self, *exprs: Any) -> None:
        for e in exprs:
            self.raw.add(z3.BoolVal(e, self.ctx) if isinstance(e, bool) else e)

    def track(self, name: str, expr: Any) -> None:
        literal = z3.Bool(name, self.ctx)
        self._tracked[name] = literal
        self.raw.add(z3.Implies(literal, z3.BoolVal(expr, self.ctx) if isinstance(expr, bool) else expr))

    @property
    def tracked(self) -> Sequence[str]:
        return tuple(self._tracked)

    def push(self) -> None:
        self.raw.push()

    def pop(self) -> None:
        self.raw.pop()

    def check(self, deadline: float, only: Iterable[str] | None = None) -> Result:
        """Sat / Unsat / Unknown by ``deadline``; with tracked assertions, ``only`` names those in force (all)."""
        left = deadline - time.monotonic()
        if left <= 0:
            return Unknown("the time limit was reached before the solver ran")
        self.raw.set("timeout", max(1, int(left * 1000)))
        names = list(self._tracked) if only is None else list(only)
        answer = self.raw.check(*[self._tracked[n] for n in names])
        if answer == z3.sat:
            return Sat(self.raw.model())
        if answer == z3.unsat:
            core: tuple[str, ...] = ()
            if isinstance(self.raw, z3.Solver) and names:
                core = tuple(str(b) for b in self.raw.unsat_core() if str(b) in self._tracked)
            return Unsat(core)
        reason = self.raw.reason_unknown()
        if time.monotonic() >= deadline:
            return Unknown(f"the time limit was reached ({reason})")
        return Unknown(reason or "the solver gave no answer")


def solve(assertions: Sequence[Any], deadline: float, *, seed: int = SEED) -> Result:
    """One query on a fresh seeded solver over the global Z3 context (for encodings built there)."""
    s = Solver(seed=seed, ctx=z3.main_ctx())
    s.add(*assertions)
    return s.check(deadline)

"""What the prover answers, as plain data: a status per theorem, its counterexample, its proof obligations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from dsl.diagnostics import Span

Status = Literal["proven", "refuted", "unknown", "vacuous"]


@dataclass(frozen=True)
class Counterexample:
    """A concrete witness: fleet JSON plus a schedule (hard rules) or an executor trace (gates)."""

    fleet: dict[str, Any]
    schedule: dict[str, Any] | None = None
    trace: tuple[dict[str, Any], ...] = ()
    explanation: str = ""


@dataclass(frozen=True)
class Obligation:
    """One proof obligation of an inductive argument (initiation, consecution, safety), PASS or FAIL."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class TheoremResult:
    name: str
    status: Status
    scope: str
    seconds: float
    span: Span | None
    spec_name: str
    message: str = ""
    counterexample: Counterexample | None = None
    rules: tuple[tuple[str, Span], ...] = ()  # spec rules involved, with their spans
    obligations: tuple[Obligation, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "proven"


@dataclass(frozen=True)
class Outcome:
    """The prover's answer on one claim before it is attached to a theorem."""

    status: Status
    scope: str
    message: str = ""
    counterexample: Counterexample | None = None
    involved: tuple[str, ...] = ()
    obligations: tuple[Obligation, ...] = ()
    rechecked: str = ""  # how an unsat answer was confirmed independently of Z3 ('' : not yet)

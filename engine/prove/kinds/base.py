"""The interface every claim kind implements in the prove stage, and the pipeline that turns an encoding into an answer.

A :class:`ClaimKind` proves claims of one IR type (``kind``).  Most kinds are symbolic (:class:`SymbolicClaim`):
``encode`` gives an :class:`Encoding`, a set of assertions that is unsatisfiable exactly when no element of the claim's scope
violates it (as in Cedar's symbolic compiler), made of

* ``premises``: what the spec's rules imply on one *generic element* of the claim's scope, plus the element's
  well-formedness (each kind's module says which rule kinds contribute, in one table);
* ``shape``: a non-trivial element of the claim's shape (at least one matching VM scheduled), for the vacuity check;
* ``violation``: the negated claim;
* ``build``: the witness builder, a model to a concrete fleet + schedule.

The pipeline (:func:`prove_encoded`), through the one solver layer (``engine.model.solver``, seeded and deadline
bounded; "unknown" never passes):

* unsat  -> the premises are checked together with ``shape``: unsat too is *vacuous*, sat is *proven*;
* sat    -> the model, shrunk to few VMs, is built into a fleet + schedule and replayed through the independent
  checker (:mod:`engine.prove.replay`): only a replayed one is a counterexample (*refuted*); when it does not
  replay, a seeded search over small concrete fleets and schedules (:mod:`engine.prove.search`) may still find one
  the checker separates, else *unknown*;
* unknown -> *unknown*.

A claim whose parameters the encoding cannot express (``Unsupported``) goes to the kind's candidate witnesses; one
that replays refutes it, else it is *unknown* — never proven.

Soundness of "proven" (every encoding states its own argument too): every premise is a consequence of a spec rule
on every fleet containing the element; a rule the encoding cannot express is left out, which only weakens the
premises.  The element is small but its sizes are symbolic integers, so an unsat answer holds for every fleet size.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import ClassVar, Generic, TypeVar

import z3

from dsl.policy import Policy, Rule
from engine.model.solver import Sat, Unknown, Unsat, solve
from engine.prove.certificate import certify
from engine.prove.recheck import recheck_unsat
from engine.prove.replay import Precondition, complete_schedule, replay, rule_claim_policy
from engine.prove.results import Counterexample, Outcome
from engine.prove.search import search_counterexample
from engine.prove.witness import Witness

C = TypeVar("C")
R = TypeVar("R", bound=Rule)
SHRINK_STEPS = 8  # a counterexample is asked for a strictly smaller element this many times at most
SEARCH_SECONDS = 1.0  # the concrete search after a model's witness failed


class Unsupported(Exception):
    """The claim has no symbolic encoding here (the prover reports it as unknown, with this reason)."""


@dataclass
class Encoding:
    """Assertions for one claim: ``premises`` (policy + well-formedness), ``shape`` (a non-trivial element of the
    claim's shape, for vacuity), ``violation`` (the negated claim).  ``build`` turns a model into fleet + schedule."""

    scope: str
    premises: list[z3.BoolRef]
    shape: z3.BoolRef
    violation: z3.BoolRef
    involved: list[str]  # names of the spec rules encoded as premises
    dropped: list[str]
    build: Callable[[Sat, float], Witness]  # a model (and the deadline) to a candidate counterexample
    size: z3.ArithRef | None = None  # number of VMs of the element, minimised in counterexamples
    covers: str = ""  # what a proof covers beyond "holds <scope>", when that needs saying


class ClaimKind(ABC, Generic[C]):
    """How claims of one IR type are proven: ``prove(spec, claim, deadline)`` answers proven / refuted / unknown /
    vacuous with the scope of the answer."""

    kind: ClassVar[type]

    @abstractmethod
    def prove(self, spec: Policy, claim: C, deadline: float) -> Outcome: ...


class SymbolicClaim(ClaimKind[C]):
    """A claim kind proven on a generic element (see the module docstring)."""

    @abstractmethod
    def encode(self, spec: Policy, claim: C) -> Encoding:
        """The claim's encoding under ``spec``; raises :class:`Unsupported` for parameters it cannot express."""

    def witnesses(self, spec: Policy, claim: C, deadline: float) -> list[Witness]:
        """Candidate counterexamples for a claim :meth:`encode` does not support (each replayed before use)."""
        return []

    @abstractmethod
    def claim_policy(self, spec: Policy, claim: C) -> Policy:
        """The policy a counterexample must break: the spec's settings with the claim as its only obligation."""

    def precondition(self, spec: Policy, claim: C) -> Precondition | None:
        """What a counterexample fleet must satisfy beyond breaking :meth:`claim_policy` (None: nothing)."""
        return None

    def prove(self, spec: Policy, claim: C, deadline: float) -> Outcome:
        return prove_encoded(self, spec, claim, deadline)

    def replay(self, spec: Policy, claim: C, witness: Witness) -> tuple[bool, str]:
        fleet_json, schedule_json = witness
        return replay(spec, self.claim_policy(spec, claim), fleet_json, schedule_json,
                      self.precondition(spec, claim))


class RuleClaim(SymbolicClaim[R]):
    """A claim written like a hard rule: a counterexample must break the claim as the spec's only rule."""

    def claim_policy(self, spec: Policy, claim: R) -> Policy:
        return rule_claim_policy(spec, claim)


def check_with_counterexample(enc: Encoding, deadline: float) -> Sat | Unsat | Unknown:
    """Unsat when the claim holds on every element; sat with a model of few VMs when it fails (shrunk a few times,
    the same answers on any machine); else unknown."""
    result = solve([*enc.premises, enc.violation], deadline)
    if not isinstance(result, Sat) or enc.size is None:
        return result
    best = result
    for _ in range(SHRINK_STEPS):
        bound = best.value(enc.size)
        if bound <= 1:
            break
        smaller = solve([*enc.premises, enc.violation, enc.size < bound], deadline)
        if not isinstance(smaller, Sat):
            break
        best = smaller
    return best


def prove_encoded(kind: SymbolicClaim[C], spec: Policy, claim: C, deadline: float) -> Outcome:
    try:
        enc = kind.encode(spec, claim)
    except Unsupported as e:
        return refute_by_witness(kind, spec, claim, str(e), deadline)
    involved = tuple(enc.involved)
    result = check_with_counterexample(enc, deadline)
    if isinstance(result, Unknown):
        return Outcome("unknown", enc.scope, "the solver gave no answer within the time limit", involved=involved)
    if isinstance(result, Unsat):
        out = _proven_unless_vacuous(enc, deadline)
        # A claim with a plain-Python certificate is confirmed by it (engine.prove.prover); the rest by cvc5.
        if out.status == "proven" and certify(spec, claim) is None and recheck_unsat(  # type: ignore[arg-type]
                [*enc.premises, enc.violation], deadline):
            out = replace(out, rechecked="cvc5 (a second solver) finds the same query unsatisfiable")
        return out
    try:
        witness = enc.build(result, deadline)
    except Unsupported as e:
        return _searched(kind, spec, claim, deadline, Outcome(
            "unknown", enc.scope, f"a candidate counterexample could not be built: {e}", involved=involved))
    ok, why = kind.replay(spec, claim, witness)
    if not ok:
        return _searched(kind, spec, claim, deadline, Outcome(
            "unknown", enc.scope, f"a candidate counterexample did not replay: {why}", involved=involved))
    cex = Counterexample(witness[0], complete_schedule(spec, *witness), explanation=why)
    return Outcome("refuted", enc.scope, f"counterexample: {why}", counterexample=cex, involved=involved)


def _searched(kind: SymbolicClaim[C], spec: Policy, claim: C, deadline: float, unknown: Outcome) -> Outcome:
    """The model's witness failed: search small concrete fleets and schedules (:mod:`engine.prove.search`); one the
    checker separates refutes the claim (after the same replay), else the answer stays unknown."""
    found = search_counterexample(spec, kind.claim_policy(spec, claim), deadline, SEARCH_SECONDS,
                                  kind.precondition(spec, claim), key=f"{spec.name}|{claim!r}")
    if found is None:
        return unknown
    ok, why = kind.replay(spec, claim, found)
    if not ok:
        return unknown
    cex = Counterexample(found[0], complete_schedule(spec, *found), explanation=why)
    return Outcome("refuted", unknown.scope, f"counterexample (found by search): {why}", counterexample=cex,
                   involved=unknown.involved)


def _proven_unless_vacuous(enc: Encoding, deadline: float) -> Outcome:
    involved = tuple(enc.involved)
    vacuity = solve([*enc.premises, enc.shape], deadline)
    if isinstance(vacuity, Unsat):
        return Outcome("vacuous", enc.scope, "the spec permits no schedule of the claim's shape: the claim holds "
                       "only because nothing is allowed", involved=involved)
    if isinstance(vacuity, Unknown):
        return Outcome("unknown", enc.scope, "the vacuity check gave no answer within the time limit",
                       involved=involved)
    basis = f", from {', '.join(enc.involved)}" if enc.involved else " (needs no rule of the spec)"
    covers = f"; {enc.covers}" if enc.covers else ""
    return Outcome("proven", enc.scope, f"holds {enc.scope}{basis}{covers}", involved=involved)


def refute_by_witness(kind: SymbolicClaim[C], spec: Policy, claim: C, reason: str, deadline: float) -> Outcome:
    """No encoding: try the kind's candidate witnesses; one that replays refutes the claim, else unknown."""
    candidates = kind.witnesses(spec, claim, deadline)
    for witness in candidates:
        ok, why = kind.replay(spec, claim, witness)
        if ok:
            cex = Counterexample(witness[0], complete_schedule(spec, *witness), explanation=why)
            return Outcome("refuted", "by a replayed witness", f"counterexample: {why}", counterexample=cex)
    tried = f"; none of {len(candidates)} candidate witness(es) replayed" if candidates else ""
    return _searched(kind, spec, claim, deadline, Outcome("unknown", "none", f"{reason}: cannot be proven here{tried}"))

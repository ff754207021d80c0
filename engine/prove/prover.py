"""The prover: each theorem of ``proofs/*.wg`` becomes proven / refuted / unknown / vacuous, with its scope.

A claim is proven by its kind (:mod:`engine.prove.kinds`, one module per claim kind, registered by IR type): a
symbolic encoding on a generic element, or the executor's transition model for gate claims.  Every answer is typed
by the solver layer: unsat leads to proven (after the vacuity check) or vacuous, sat to a counterexample that is
replayed through the independent checker (or the real executor) before it refutes anything, unknown or a timeout to
unknown.  Only *proven* passes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from dsl.policy import Gate, Policy, Rule, Theorem, TimeRule, VersionClaim, VersionPolicy
from engine.prove.certificate import certify
from engine.prove.kinds import CLAIMS, UNSUPPORTED
from engine.prove.kinds.base import ClaimKind, SymbolicClaim
from engine.prove.results import Outcome, TheoremResult

Claim = Rule | Gate | TimeRule | VersionClaim


def prove_claim(spec: Policy, claim: Claim, time_limit: float = 10.0,
                kinds: Mapping[type, ClaimKind[Any]] = CLAIMS) -> Outcome:
    """The answer on one claim under ``spec`` within ``time_limit`` seconds (by the claim kinds of ``kinds``)."""
    deadline = time.monotonic() + time_limit
    kind = kinds.get(type(claim))
    if kind is None:
        reason = UNSUPPORTED.get(type(claim), f"no proof method for claims of kind {type(claim).__name__}")
        return Outcome("unknown", "none", f"{reason}: cannot be proven here")
    return confirmed(spec, claim, kind.prove(spec, claim, deadline))


def confirmed(spec: Policy, claim: Claim, out: Outcome) -> Outcome:
    """A "proven" stands only when re-checked without trusting Z3: by a plain-Python implication certificate
    (:mod:`engine.prove.certificate`), else by a second solver on the same query; otherwise it is unknown."""
    if out.status != "proven":
        return out
    # Time claims carry their own re-check (engine.prove.kinds.timing.TIME_RECHECK); certify reads the others.
    cert = None if isinstance(claim, TimeRule) else certify(spec, claim)
    if cert is not None:
        return replace(out, message=f"{out.message}; re-derived without a solver: {cert}",
                       rechecked=f"certificate: {cert}")
    if out.rechecked:
        return replace(out, message=f"{out.message}; re-checked: {out.rechecked}")
    return replace(out, status="unknown", message=f"{out.message}; but no check independent of Z3 confirmed it "
                   "(no implication certificate, and no second solver's answer), so it is not reported proven")


def claim_policy(spec: Policy, claim: Rule | VersionClaim) -> Policy:
    """The policy whose only obligation is the claim (the one a counterexample is replayed against)."""
    kind = CLAIMS[type(claim)]
    assert isinstance(kind, SymbolicClaim)
    return kind.claim_policy(spec, claim)


def prove_theorem(spec: Policy, theorem: Theorem, time_limit: float = 10.0) -> TheoremResult:
    start = time.monotonic()
    if theorem.claim is None:
        out = Outcome("unknown", "none", "the theorem has no claim")
    else:
        out = prove_claim(spec, theorem.claim, time_limit)
    spans = []
    for name in out.involved:
        r = spec.rule(name)
        if r is not None:
            spans.append((name, r.span))
        elif name == "versions" and isinstance(spec.versions, VersionPolicy) and spec.versions.span is not None:
            spans.append((name, spec.versions.span))
    return TheoremResult(
        name=theorem.name,
        status=out.status,
        scope=out.scope,
        seconds=round(time.monotonic() - start, 3),
        span=theorem.span,
        spec_name=spec.name,
        message=out.message,
        counterexample=out.counterexample,
        rules=tuple(spans),
        obligations=out.obligations,
    )


def prove_theorems(spec: Policy, theorems: Sequence[Theorem], time_limit: float = 10.0) -> list[TheoremResult]:
    return [prove_theorem(spec, t, time_limit) for t in theorems]

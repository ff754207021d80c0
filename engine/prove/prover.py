"""The prover: each theorem of ``proofs/*.wg`` becomes proven / refuted / unknown / vacuous, with its scope.

A claim is encoded by :mod:`engine.prove.symbolic` (hard rules, version claims) or :mod:`engine.prove.transition` (executor
gates) as assertions that are unsatisfiable exactly when the claim holds.  The three answers of Z3 map as follows:

* unsat  -> the premises are then checked for satisfiability on a non-trivial element of the claim's shape; if they
  are unsatisfiable too the theorem is *vacuous* (a policy that permits nothing proves everything), else *proven*;
* sat    -> the model becomes a small fleet + schedule, shrunk to few VMs, and replayed: it must pass the
  independent checker under the spec and fail it under the claim; only then is it a *counterexample* (*refuted*),
  otherwise *unknown* with the reason (an encoding bug can never produce a false refutation);
* unknown / timeout -> *unknown*, never proven.

Only *proven* passes.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import z3

from dsl.policy import (
    Gate,
    Policy,
    Rule,
    Theorem,
    VersionClaim,
    VersionPolicy,
)
from dsl.versions import major
from engine.check.verify import verify_schedule
from engine.model.errors import InputError
from engine.model.fleet import parse_fleet
from engine.model.schedule import Skipped, parse_schedule
from engine.model.upgrades import resolve_upgrades
from engine.prove.results import Counterexample, Outcome, TheoremResult
from engine.prove.symbolic import Encoding, Unsupported, encode, witness_candidates
from engine.prove.transition import prove_gate_claim

GATE_TYPES = ("PrecheckGate", "HealthWaitGate", "StopUpgradedGate", "StopUnhealthyGate", "PhaseGate", "RetryGate",
              "PauseGate")


# ----------------------------------------------------------------------------------------------------------------
# Solving


def _check(assertions: Sequence[z3.BoolRef], deadline: float) -> tuple[str, z3.ModelRef | None]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return "unknown", None
    s = z3.Solver()
    s.set("timeout", max(1, int(remaining * 1000)))
    s.add(*assertions)
    r = s.check()
    if r == z3.sat:
        return "sat", s.model()
    if r == z3.unsat:
        return "unsat", None
    return "unknown", None


def check_claim(enc: Encoding, deadline: float) -> str:
    """'unsat' when the claim holds on every element, 'sat' when some element violates it, else 'unknown'."""
    return _check([*enc.premises, enc.violation], deadline)[0]


def check_claim_with_counterexample(enc: Encoding, deadline: float) -> tuple[str, z3.ModelRef | None]:
    """Like :func:`check_claim`, with a model of few VMs when the claim fails (shrunk while time allows)."""
    result, model = _check([*enc.premises, enc.violation], deadline)
    if result != "sat" or model is None or enc.size is None:
        return result, model
    best = model
    for _ in range(8):  # shrink: ask for a strictly smaller element a few times (same answers on any machine)
        bound = best.eval(enc.size, model_completion=True).as_long()
        if bound <= 1:
            break
        r, m = _check([*enc.premises, enc.violation, enc.size < bound], deadline)
        if r != "sat" or m is None:
            break
        best = m
    return "sat", best


def premises_satisfiable(enc: Encoding, deadline: float) -> str:
    """Vacuity check: 'sat' when the policy permits a non-trivial element of the claim's shape."""
    return _check([*enc.premises, enc.shape], deadline)[0]


# ----------------------------------------------------------------------------------------------------------------
# Replay through the independent checker


def claim_policy(spec: Policy, claim: Rule | VersionClaim) -> Policy:
    """The policy whose only obligation is the claim (versions as in the spec, but no majors for ``no_major``)."""
    if isinstance(claim, VersionClaim):
        return replace(spec, name=f"{spec.name} (claim)", rules=(), preferences=(), gates=(),
                       versions=replace(spec.versions, allow_major=False))
    return replace(spec, name=f"{spec.name} (claim)", rules=(claim,), preferences=(), gates=())


def _verify_ok(policy: Policy, fleet_json: dict[str, Any], schedule_json: dict[str, Any]) -> tuple[bool, str]:
    fleet = parse_fleet(fleet_json, "<counterexample fleet>")
    schedule = parse_schedule(schedule_json, "<counterexample schedule>")
    report = verify_schedule(policy, fleet, schedule)
    msgs = [str(getattr(v, "message", v)) for v in getattr(report, "violations", ())]
    return bool(report.ok), "; ".join(msgs[:3])


def _complete_schedule(spec: Policy, fleet_json: dict[str, Any], schedule_json: dict[str, Any]) -> dict[str, Any]:
    """Fill the schedule's skipped list from the real upgrade resolution, so only the claim can make it fail."""
    fleet = parse_fleet(fleet_json, "<counterexample fleet>")
    res = resolve_upgrades(fleet, spec.versions)
    out = dict(schedule_json)
    out["skipped"] = [s.model_dump(mode="json") for s in sorted(res.skipped, key=_skip_key)]
    return out


def _skip_key(s: Skipped) -> tuple[str, str]:
    return (s.vm, s.extension)


def replay(spec: Policy, claim: Rule | VersionClaim, fleet_json: dict[str, Any],
           schedule_json: dict[str, Any]) -> tuple[bool, str]:
    """True when the schedule passes the checker under the spec and fails it under the claim."""
    try:
        schedule_json = _complete_schedule(spec, fleet_json, schedule_json)
        if isinstance(claim, VersionClaim):
            # The real upgrade resolution must choose a task that crosses a major version.
            fleet = parse_fleet(fleet_json, "<counterexample fleet>")
            crossing = [t for t in resolve_upgrades(fleet, spec.versions).tasks
                        if major(t.from_version) != major(t.to_version)]
            if not crossing:
                return False, "upgrade resolution chose no task across a major version"
        ok_spec, why_spec = _verify_ok(spec, fleet_json, schedule_json)
        if not ok_spec:
            return False, f"the candidate schedule breaks the spec itself ({why_spec})"
        ok_claim, why_claim = _verify_ok(claim_policy(spec, claim), fleet_json, schedule_json)
        if ok_claim:
            return False, "the candidate schedule satisfies the claim after all"
        return True, why_claim
    except ImportError:
        return False, "the independent checker (engine.check.verify) is not available to replay the counterexample"
    except InputError as e:
        return False, f"the candidate fleet or schedule is not valid input: {e}"


# ----------------------------------------------------------------------------------------------------------------
# Proving


def prove_claim(spec: Policy, claim: Rule | Gate | VersionClaim, time_limit: float = 10.0) -> Outcome:
    deadline = time.monotonic() + time_limit
    if type(claim).__name__ in GATE_TYPES or (isinstance(claim, VersionClaim) and claim.kind == "rollback_restores"):
        return prove_gate_claim(spec, claim, deadline)
    try:
        enc = encode(spec, claim)
    except Unsupported as e:
        assert not isinstance(claim, Gate)
        return refute_by_witness(spec, claim, str(e))
    assert not isinstance(claim, Gate)
    result, model = check_claim_with_counterexample(enc, deadline)
    involved = tuple(enc.involved)
    if result == "unknown":
        return Outcome("unknown", enc.scope, "the solver gave no answer within the time limit", involved=involved)
    if result == "unsat":
        vac = premises_satisfiable(enc, deadline)
        if vac == "unsat":
            return Outcome("vacuous", enc.scope, "the spec permits no schedule of the claim's shape: the claim holds "
                           "only because nothing is allowed", involved=involved)
        if vac == "unknown":
            return Outcome("unknown", enc.scope, "the vacuity check gave no answer within the time limit",
                           involved=involved)
        basis = f", from {', '.join(enc.involved)}" if enc.involved else " (needs no rule of the spec)"
        return Outcome("proven", enc.scope, f"holds {enc.scope}{basis}", involved=involved, notes=tuple(enc.notes))
    assert model is not None
    try:
        fleet_json, schedule_json = enc.build(model)
    except Unsupported as e:
        return Outcome("unknown", enc.scope, f"a candidate counterexample could not be built: {e}", involved=involved)
    ok, why = replay(spec, claim, fleet_json, schedule_json)
    if not ok:
        return Outcome("unknown", enc.scope, f"a candidate counterexample did not replay: {why}", involved=involved)
    schedule_json = _complete_schedule(spec, fleet_json, schedule_json)
    cex = Counterexample(fleet_json, schedule_json, explanation=why)
    return Outcome("refuted", enc.scope, f"counterexample: {why}", counterexample=cex, involved=involved)


def refute_by_witness(spec: Policy, claim: Rule | VersionClaim, reason: str) -> Outcome:
    """No encoding: try the candidate witnesses; one that replays refutes the claim, else unknown (never proven)."""
    candidates = witness_candidates(spec, claim)
    for fleet_json, schedule_json in candidates:
        ok, why = replay(spec, claim, fleet_json, schedule_json)
        if ok:
            cex = Counterexample(fleet_json, _complete_schedule(spec, fleet_json, schedule_json), explanation=why)
            return Outcome("refuted", "by a replayed witness", f"counterexample: {why}", counterexample=cex)
    tried = f"; none of {len(candidates)} candidate witness(es) replayed" if candidates else ""
    return Outcome("unknown", "none", f"{reason}: cannot be proven here{tried}")


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

"""Honesty of proofs (issue 5 item 4): every rule, gate and cap of the default spec is guarded by some theorem.

Each mutant drops one rule or gate of the Azure default spec, or loosens one cap, programmatically on the Policy IR;
the theorems of proofs/azure-default.wg must then have at least one *refuted* (a replayed counterexample), never
only unknowns.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from dsl.loader import load_theorems
from dsl.policy import (
    Capacity,
    DistinctLimit,
    HealthWaitGate,
    NotWhole,
    Percent,
    PhaseGate,
    Policy,
    PrecheckGate,
    RetryGate,
    SeparatePairs,
    StopUnhealthyGate,
    StopUpgradedGate,
)
from engine.prove.prover import prove_claim

ROOT = Path(__file__).resolve().parent.parent
# Dropping the retry gate only removes executions (no retries at all): a stricter policy, so no theorem may fail.
NOT_LOOSENED_BY_DROPPING = (RetryGate,)


def _theorems() -> tuple[Policy, list]:
    tf = load_theorems(ROOT / "proofs" / "azure-default.wg", ROOT)
    return tf.spec, list(tf.theorems)


def _loosen(item: object) -> object | None:
    if isinstance(item, Capacity) and isinstance(item.amount, Percent):
        return replace(item, amount=replace(item.amount, value=item.amount.value * 2 + 10))
    if isinstance(item, DistinctLimit):
        return replace(item, limit=item.limit + 1)
    if isinstance(item, NotWhole):
        return replace(item, min_size=item.min_size + 1)
    if isinstance(item, SeparatePairs) and item.within == "phase":
        return replace(item, within="wave")
    if isinstance(item, PrecheckGate | StopUpgradedGate | StopUnhealthyGate):
        return replace(item, cap=Percent(item.cap.value + 30))
    if isinstance(item, HealthWaitGate):
        return replace(item, on_timeout="keep")
    if isinstance(item, RetryGate):
        return replace(item, max_attempts=item.max_attempts + 2)
    return None


def mutants() -> list[tuple[str, Policy]]:
    spec, _ = _theorems()
    out: list[tuple[str, Policy]] = []
    for r in spec.rules:
        out.append((f"drop rule {r.name}", replace(spec, rules=tuple(x for x in spec.rules if x is not r))))
        loose = _loosen(r)
        assert loose is not None, f"no way to loosen rule {r.name}"
        out.append((f"loosen rule {r.name}", replace(spec, rules=tuple(loose if x is r else x for x in spec.rules))))
    for g in spec.gates:
        if not isinstance(g, NOT_LOOSENED_BY_DROPPING):
            out.append((f"drop gate {g.name}", replace(spec, gates=tuple(x for x in spec.gates if x is not g))))
        loose = _loosen(g)
        if loose is not None:  # a phase gate has no cap: dropping it is its only loosening
            out.append((f"loosen gate {g.name}", replace(spec, gates=tuple(loose if x is g else x for x in spec.gates))))
        else:
            assert isinstance(g, PhaseGate), f"no way to loosen gate {g.name}"
    out.append(("allow a new major", replace(spec, versions=replace(spec.versions, allow_major=True))))
    return out


MUTANTS = mutants()


def test_every_rule_and_gate_is_mutated() -> None:
    spec, _ = _theorems()
    names = {m.split(" ", 2)[2] for m, _ in MUTANTS if m.startswith(("drop", "loosen"))}
    assert {r.name for r in spec.rules} <= names
    assert {g.name for g in spec.gates} <= names
    assert len(MUTANTS) >= 2 * len(spec.rules) + 2 * len(spec.gates) - 1


@pytest.mark.parametrize("label,mutant", MUTANTS, ids=[m for m, _ in MUTANTS])
def test_some_theorem_refutes_the_mutant(label: str, mutant: Policy) -> None:
    _, theorems = _theorems()
    statuses = []
    for t in theorems:
        out = prove_claim(mutant, t.claim, time_limit=10.0)
        statuses.append((t.name, out.status, out.message))
        if out.status == "refuted":
            assert out.counterexample is not None and "counterexample" in out.message
            return
    pytest.fail(f"{label}: no theorem refuted; results: {statuses}")


def test_default_spec_itself_is_not_refuted() -> None:
    spec, theorems = _theorems()
    for t in theorems:
        assert prove_claim(spec, t.claim, time_limit=10.0).status == "proven", t.name

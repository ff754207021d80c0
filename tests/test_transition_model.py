"""The executor's gate logic as a transition system: obligations, induction, and conformance with the executor.

The conformance tests run the real executor (simulated driver, random fault scripts, small fleets) and replay every
event log against the model: each batch start must be allowed by the model's start guard on the logged counts, the
counts must move as the model moves them, and groups must stop exactly when the model's stop decision fires.  A
broken gate function in the executor must be caught, so the model cannot drift from the code unnoticed.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from dsl.loader import load_policy
from dsl.policy import HealthWaitGate, Percent, Policy, PrecheckGate, StopUnhealthyGate, StopUpgradedGate
from engine.model.faults import parse_faults
from engine.model.fleet import parse_fleet
from engine.model.schedule import parse_schedule
from engine.prove.kinds import CLAIMS
from engine.prove.kinds.gates import StopUpgradedClaim
from engine.prove.results import Outcome
from engine.prove.transition import (
    BAD_TYPE,
    WITNESS,
    GateModel,
    conformance_errors,
    gate_params,
    prove_invariant,
    run_executor,
)
from engine.run.driver import SimDriver
from engine.run.events import MemorySink
from engine.run.executor import execute
from engine.run.gates import GateFns

ROOT = Path(__file__).resolve().parent.parent


def prove_gate_claim(spec: Policy, claim: Any, deadline: float) -> Outcome:
    """A gate (or rollback) claim by its kind's proof on the transition model."""
    return CLAIMS[type(claim)].prove(spec, claim, deadline)
SEEDS = range(40)


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy(ROOT / "specs" / "azure-default.wg", ROOT)


def _loose(spec: Policy, pct: int) -> Policy:
    gates = tuple(replace(g, cap=Percent(Fraction(pct))) if isinstance(g, PrecheckGate | StopUpgradedGate |
                                                                       StopUnhealthyGate) else g for g in spec.gates)
    return replace(spec, gates=gates)


def _keep(spec: Policy) -> Policy:
    return replace(spec, gates=tuple(replace(g, on_timeout="keep") if isinstance(g, HealthWaitGate) else g
                                     for g in spec.gates))


# ----------------------------------------------------------------------------------------------------------------
# Obligations


def test_each_obligation_is_reported_pass(default: Policy) -> None:
    for claim in (StopUpgradedGate("c", default.span), PrecheckGate("c", default.span),
                  StopUnhealthyGate("c", default.span)):
        out = prove_gate_claim(default, claim, time.monotonic() + 20)
        assert out.status == "proven", out.message
        assert [(o.name, o.ok) for o in out.obligations] == [("initiation", True), ("consecution", True),
                                                             ("safety", True)]
        assert out.scope.startswith("for all set sizes")


def test_without_strengthening_consecution_fails_and_nothing_is_proven(default: Policy) -> None:
    claim = StopUpgradedGate("c", default.span)
    model = GateModel(gate_params(default, "scale_set"), None)
    prop = StopUpgradedClaim().prop(claim, model)
    res = prove_invariant(model, prop, time.monotonic() + 20, lemmas_on=False)
    assert res.status == "unknown"  # the bare property is not inductive: an unreachable state breaks it
    assert ("consecution", False) in [(o.name, o.ok) for o in res.obligations]
    with_lemmas = prove_invariant(model, prop, time.monotonic() + 20)
    assert with_lemmas.status == "proven" and "upgraded-guard" in with_lemmas.lemmas


@pytest.mark.parametrize("claim_kind", ["precheck", "upgraded", "unhealthy"])
def test_a_looser_spec_refutes_the_claim_with_an_executor_trace(default: Policy, claim_kind: str) -> None:
    claim = {"precheck": PrecheckGate("c", default.span), "upgraded": StopUpgradedGate("c", default.span),
             "unhealthy": StopUnhealthyGate("c", default.span)}[claim_kind]
    out = prove_gate_claim(_loose(default, 50), claim, time.monotonic() + 20)
    assert out.status == "refuted", out.message
    cex = out.counterexample
    assert cex is not None and cex.trace and cex.trace[-1]["started"]
    assert cex.fleet["fleet"]["vms"] and cex.fleet["faults"]["bad_versions"]  # the replayed scenario


def test_keep_on_timeout_refutes_rollback(default: Policy) -> None:
    from dsl.policy import VersionClaim

    out = prove_gate_claim(_keep(default), VersionClaim("rollback_restores"), time.monotonic() + 20)
    assert out.status == "refuted" and "kept" in out.message


def test_vacuous_when_no_batch_can_ever_start(default: Policy) -> None:
    # A precheck with a negative cap refuses every batch (0 unhealthy is already "more than -1%").
    never = replace(default, gates=(*default.gates, PrecheckGate("never", default.span, cap=Percent(Fraction(-1)))))
    out = prove_gate_claim(never, StopUpgradedGate("c", default.span), time.monotonic() + 20)
    assert out.status == "vacuous"


# ----------------------------------------------------------------------------------------------------------------
# Conformance


def random_scenario(rng: random.Random, cap_pct: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    sets = rng.randint(1, 3)
    vms: list[dict[str, Any]] = []
    waves: dict[int, list[dict[str, str]]] = {}
    bad_vms: list[str] = []
    for s in range(sets):
        n = rng.randint(2, 12)
        batch = max(1, (cap_pct * n) // 100)
        names = []
        for i in range(n):
            name = f"s{s}vm{i:02d}"
            bad = rng.random() < 0.25
            vms.append({"name": name, "region": "region0", "scale_set": f"ss{s}", "update_domain": 0,
                        "subscription": "sub0", "healthy": rng.random() > 0.12,
                        "extensions": [{"name": "agent", "publisher": WITNESS["publisher"],
                                        "type": BAD_TYPE if bad else WITNESS["type"], "version": "1.0",
                                        "enable_automatic_upgrade": True}]})
            names.append(name)
            if bad:
                bad_vms.append(name)
        for w, start in enumerate(range(0, n, batch)):
            waves.setdefault(w, []).extend({"vm": nm, "extension": "agent", "from_version": "1.0",
                                            "to_version": "1.1"} for nm in names[start:start + batch])
    fleet = {"regions": [{"name": "region0", "pair": None, "zones": 0}],
             "catalog": [{"publisher": WITNESS["publisher"], "type": t, "versions": ["1.0", "1.1"]}
                         for t in (WITNESS["type"], BAD_TYPE)],
             "scale_sets": [{"name": f"ss{s}", "region": "region0"} for s in range(sets)],
             "availability_sets": [], "vms": vms}
    schedule = {"phases": [{"index": 0, "regions": ["region0"]}],
                "waves": [{"index": w, "phase": 0, "tasks": waves[w]} for w in sorted(waves)],
                "skipped": [], "lower_bound": 0, "optimal": False, "stats": {}}
    maintenance = [{"at_minutes": rng.randint(0, 40), "vms": rng.sample([v["name"] for v in vms], k=rng.randint(1, 3)),
                    "minutes": rng.randint(1, 30)} for _ in range(rng.randint(0, 3))]
    faults = {"bad_versions": [{"publisher": WITNESS["publisher"], "type": BAD_TYPE, "version": "1.1",
                                "fail_rate": rng.choice([0.5, 1.0])}],
              "maintenance": maintenance}
    return fleet, schedule, faults


@pytest.mark.parametrize("variant", ["default", "loose", "keep"])
def test_random_executor_traces_are_model_transitions(default: Policy, variant: str) -> None:
    policy = {"default": default, "loose": _loose(default, 50), "keep": _keep(default)}[variant]
    starts = stops = 0
    for seed in SEEDS:
        rng = random.Random(seed)
        fleet, schedule, faults = random_scenario(rng, 20)
        events, _ = run_executor(policy, fleet, schedule, faults, seed=seed)
        errors = conformance_errors(policy, events)
        assert errors == [], f"seed {seed}: {errors}"
        starts += sum(1 for e in events if e["event"] == "batch_started")
        stops += sum(1 for e in events if e["event"] in ("set_stopped", "set_blocked"))
    assert starts > 50 and stops > 0  # the traces exercise starts and stops, so agreement means something


def test_a_broken_gate_in_the_executor_is_caught(default: Policy) -> None:
    # The executor's runtime monitors do not re-check the stop-unhealthy decision; the conformance replay must.
    never_stop = GateFns(set_breach=lambda size, bad, gate: False)
    caught = 0
    for seed in SEEDS:
        fleet, schedule, faults = random_scenario(random.Random(seed), 20)
        f = parse_fleet(fleet)
        sink = MemorySink()
        execute(default, f, parse_schedule(schedule), SimDriver(f, parse_faults(faults, f), seed=seed), sink,
                gates=never_stop)
        if conformance_errors(default, [json.loads(line) for line in sink.lines]):
            caught += 1
    assert caught > 0


def test_k_induction_closes_what_plain_induction_cannot(default: Policy) -> None:
    """'A batch starts only with at most n unhealthy' is not 1-inductive on its own (an unreachable state with
    u > n starts a batch), but it is 2-inductive: every step into a start goes through a state with u <= n."""
    import z3

    model = GateModel(gate_params(default, "scale_set"), None)

    def prop(s: Any) -> Any:
        return z3.Implies(s["started"], s["su"] <= model.n)

    res = prove_invariant(model, prop, time.monotonic() + 20, lemmas_on=False)
    assert res.status == "proven" and res.message.startswith("2-induction")
    assert [(o.name, o.ok) for o in res.obligations] == [
        ("initiation", True), ("consecution", False), ("safety", True),  # plain induction: reported as failing
        ("initiation (k=2)", True), ("consecution (k=2)", True), ("safety (k=2)", True)]


def test_phase_and_retry_claims(default: Policy) -> None:
    from dsl.policy import Duration, PhaseGate, RetryGate

    phase, retry = PhaseGate("p", default.span), RetryGate("r", default.span)
    deadline = time.monotonic() + 20
    assert prove_gate_claim(default, phase, deadline).status == "proven"
    assert prove_gate_claim(default, retry, deadline).status == "proven"
    no_phase = replace(default, gates=tuple(g for g in default.gates if not isinstance(g, PhaseGate)))
    out = prove_gate_claim(no_phase, phase, deadline)
    assert out.status == "refuted" and "phase 1 started" in out.message
    sooner = replace(default, gates=tuple(replace(g, after=Duration(3600)) if isinstance(g, RetryGate) else g
                                          for g in default.gates))
    out = prove_gate_claim(sooner, retry, deadline)
    assert out.status == "refuted" and "sooner than 3d" in out.message
    assert out.counterexample is not None and out.counterexample.fleet["faults"]["vm_failures"]

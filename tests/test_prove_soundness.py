"""Differential check of "proven": on many random small fleets and schedules, whatever the spec permits, the claim
permits too, whenever the prover said proven (and a refutation's counterexample really separates them)."""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from dsl.diagnostics import Span
from dsl.loader import load_policy
from dsl.policy import (
    Attr,
    Capacity,
    Compare,
    Count,
    DistinctLimit,
    Duration,
    HealthWaitGate,
    Not,
    NotWhole,
    OrderBy,
    PauseGate,
    Percent,
    Policy,
    PrecheckGate,
    RetryGate,
)
from engine.check.verify import verify_schedule
from engine.model.fleet import parse_fleet
from engine.model.schedule import parse_schedule
from engine.prove.prover import claim_policy, prove_claim

ROOT = Path(__file__).resolve().parent.parent
SPAN = Span("t.wg", 1, 1, 1, 2)


def random_instance(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    vms, tasks_by_wave = [], {}
    zones = rng.choice([0, 0, 2, 3])
    for s in range(rng.randint(1, 2)):
        kind = rng.choice(["scale_set", "availability_set"])
        for i in range(rng.randint(1, 12)):
            scheduled = rng.random() < 0.3
            vm = {"name": f"s{s}v{i}", "region": "r0", kind: f"set{s}", "subscription": "sub0",
                  "update_domain": rng.randint(0, 2),
                  "extensions": [{"name": "agent", "publisher": "P", "type": "T",
                                  "version": "1.0" if scheduled else "1.1", "enable_automatic_upgrade": True}]}
            if zones:
                vm["zone"] = str(rng.randint(1, zones))
            vms.append(vm)
            if scheduled:
                tasks_by_wave.setdefault(rng.randint(0, 6), []).append(
                    {"vm": vm["name"], "extension": "agent", "from_version": "1.0", "to_version": "1.1"})
    sets = sorted({(k, v[k]) for v in vms for k in ("scale_set", "availability_set") if k in v})
    fleet = {"regions": [{"name": "r0", "zones": zones}], "catalog": [{"publisher": "P", "type": "T",
                                                                      "versions": ["1.0", "1.1"]}],
             "scale_sets": [{"name": n, "region": "r0"} for k, n in sets if k == "scale_set"],
             "availability_sets": [{"name": n, "region": "r0"} for k, n in sets if k == "availability_set"],
             "vms": vms}
    waves = [{"index": i, "phase": 0, "tasks": tasks_by_wave[w]} for i, w in enumerate(sorted(tasks_by_wave))]
    skipped = [{"vm": v["name"], "extension": "agent", "reason": "up to date"} for v in vms
               if v["extensions"][0]["version"] == "1.1"]
    schedule = {"phases": [{"index": 0, "regions": ["r0"]}] if waves else [], "waves": waves, "skipped": skipped,
                "lower_bound": 0, "optimal": False}
    return fleet, schedule


def _batch(spec: Policy, pct: int) -> Policy:
    return replace(spec, rules=tuple(replace(r, amount=replace(r.amount, value=Fraction(pct)))
                                     if isinstance(r, Capacity) and isinstance(r.amount, Percent) else r
                                     for r in spec.rules))


CLAIMS = [
    Capacity("c20", SPAN, amount=Percent(Fraction(20)), of="scale_set", within="wave",
             where=Compare(">=", Attr(("scale_set", "size")), 5)),
    Capacity("c34", SPAN, amount=Percent(Fraction(34), "ceil", 1), of="scale_set", within="wave"),
    DistinctLimit("z1", SPAN, limit=1, count="zone", per="region", within="wave"),
    DistinctLimit("u1", SPAN, limit=1, count="update_domain", per="set", within="wave"),
    NotWhole("w2", SPAN, of="availability_set", within="wave", min_size=2),
]


@pytest.mark.parametrize("pct", [20, 50])
def test_proven_claims_hold_on_random_instances(pct: int) -> None:
    spec = _batch(load_policy(ROOT / "specs" / "azure-default.wg", ROOT), pct)
    verdicts = {c.name: prove_claim(spec, c, 20.0).status for c in CLAIMS}
    assert "unknown" not in verdicts.values(), verdicts
    rng = random.Random(pct)
    permitted = 0
    for _ in range(600):
        fleet_json, schedule_json = random_instance(rng)
        fleet, schedule = parse_fleet(fleet_json), parse_schedule(schedule_json)
        if not verify_schedule(spec, fleet, schedule).ok:
            continue
        permitted += 1
        for c in CLAIMS:
            if verdicts[c.name] == "proven":
                assert verify_schedule(claim_policy(spec, c), fleet, schedule).ok, (c.name, fleet_json, schedule_json)
    assert permitted >= 20  # enough instances got past the spec for the check to mean something


# ----------------------------------------------------------------------------------------------------------------
# Issue 10: the five classes of false theorems once reported proven.  Each must come back refuted with a
# counterexample that replays (through the checker, or the real executor for run-level claims), or unknown; never
# proven.


def _default() -> Policy:
    return load_policy(ROOT / "specs" / "azure-default.wg", ROOT)


def _without(spec: Policy, *names: str) -> Policy:
    return replace(spec, rules=tuple(r for r in spec.rules if r.name not in names),
                   gates=tuple(g for g in spec.gates if g.name not in names))


def _replays(spec: Policy, claim: Any, out: Any) -> None:
    """A refutation's counterexample passes the spec and breaks the claim (schedule claims, through the checker)."""
    assert out.status in ("refuted", "unknown"), (out.status, out.message)
    if out.status == "refuted" and out.counterexample is not None and out.counterexample.schedule is not None:
        cex = out.counterexample
        fleet, schedule = parse_fleet(cex.fleet), parse_schedule(cex.schedule)
        assert verify_schedule(spec, fleet, schedule).ok
        assert not verify_schedule(claim_policy(spec, claim), fleet, schedule).ok


def test_class1_no_implicit_bound_on_set_sizes() -> None:
    """``at most 20000 VMs per scale_set per wave`` does not follow from a 20% cap: sets are unbounded."""
    spec = _default()
    claim = Capacity("t", SPAN, amount=Count(20000), of="scale_set", within="wave")
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "unknown" and "VMs" in out.message, out.message  # the witness would have 100,005 VMs
    small = Capacity("t", SPAN, amount=Count(2), of="scale_set", within="wave")
    out = prove_claim(spec, small, 20.0)
    assert out.status == "refuted"  # the same argument, small enough to build: 15 VMs, 3 in one wave
    _replays(spec, small, out)


def test_class1_no_implicit_bound_on_domains() -> None:
    """Update domains are unbounded too: a claim that needs them below 1000 is not proven."""
    spec = _default()
    claim = Capacity("t", SPAN, amount=Count(1), of="scale_set", within="wave",
                     where=Compare(">", Attr(("vm", "update_domain")), 1000))
    _replays(spec, claim, prove_claim(spec, claim, 20.0))


def test_class2_a_scale_set_rule_does_not_cover_availability_sets() -> None:
    spec = _without(_default(), "as_domains")
    claim = DistinctLimit("t", SPAN, limit=1, count="update_domain", per="set", within="wave")
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "refuted", out.message
    _replays(spec, claim, out)
    assert out.counterexample is not None and out.counterexample.fleet["availability_sets"]


def test_class2_a_scale_set_rule_does_not_cover_domains_outside_scale_sets() -> None:
    spec = _without(_default(), "as_domains", "as_not_whole")
    claim = Capacity("t", SPAN, amount=Percent(Fraction(20), "floor", 1), of="update_domain", within="wave")
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "refuted", out.message
    _replays(spec, claim, out)


def test_class3_a_split_extension_budget_is_not_one_budget() -> None:
    monitor = Compare("==", Attr(("extension", "name")), "monitor")
    spec = replace(_default(), rules=(
        *(r for r in _default().rules if r.name != "ss_batch"),
        Capacity("mon", SPAN, amount=Percent(Fraction(10), "floor", 1), of="scale_set", where=monitor),
        Capacity("rest", SPAN, amount=Percent(Fraction(10), "floor", 1), of="scale_set", where=Not(monitor))))
    for claim in (Capacity("t", SPAN, amount=Percent(Fraction(10), "floor"), of="scale_set"),
                  Capacity("t", SPAN, amount=Percent(Fraction(10), "floor", 1), of="scale_set")):
        out = prove_claim(spec, claim, 20.0)
        assert out.status == "refuted", out.message  # per task: one VM's monitor task, another's agent task
        _replays(spec, claim, out)
    identical = Capacity("t", SPAN, amount=Percent(Fraction(10), "floor", 1), of="scale_set", where=monitor)
    assert prove_claim(spec, identical, 20.0).status == "proven"


def test_class4_executor_claims_only_from_gates_on_that_scope() -> None:
    spec = _default()
    for scope in ("set", "availability_set"):
        claim = PrecheckGate("t", SPAN, of=scope, cap=Percent(Fraction(20)))
        out = prove_claim(spec, claim, 20.0)
        assert out.status == "refuted", (scope, out.message)
        assert out.counterexample is not None
        assert out.counterexample.fleet["fleet"]["availability_sets"], out.counterexample.fleet
    region = PrecheckGate("t", SPAN, of="region", cap=Percent(Fraction(20)))
    assert prove_claim(replace(spec, gates=(*spec.gates, replace(region, name="pre_region"))), region,
                       20.0).status == "unknown"  # batches of a region overlap: not the model's group


def test_class5_pause_between_batches_of_a_region_is_refuted_by_two_sets() -> None:
    spec = replace(_default(), gates=(*_default().gates, PauseGate("pause", SPAN, pause=Duration(30), of="scale_set")))
    out = prove_claim(spec, PauseGate("t", SPAN, pause=Duration(30), of="region"), 20.0)
    assert out.status == "refuted", out.message
    assert "same time" in out.message
    out = prove_claim(spec, PauseGate("t", SPAN, pause=Duration(30), of="set"), 20.0)
    assert out.status == "refuted", out.message  # an availability set is not paused by a scale-set gate
    assert prove_claim(spec, PauseGate("t", SPAN, pause=Duration(30), of="scale_set"), 20.0).status == "proven"


def test_class5_retries_bounded_without_a_retry_gate_is_vacuous() -> None:
    spec = _without(_default(), "retry")
    out = prove_claim(spec, RetryGate("t", SPAN, after=Duration(3 * 86400), max_attempts=3), 20.0)
    assert out.status == "vacuous", out.message
    assert prove_claim(_default(), RetryGate("t", SPAN), 20.0).status == "proven"


def test_class5_rollback_end_state_covers_later_retries() -> None:
    """The rollback claim is read on the whole run: the model retries a rolled-back VM whenever the spec does, and
    the claim is still proven (its last failed attempt is rolled back); without a health watch it is refuted."""
    claim = HealthWaitGate("t", SPAN, wait=Duration(300))
    out = prove_claim(_default(), claim, 20.0)
    assert out.status == "proven", out.message
    out = prove_claim(_without(_default(), "health"), claim, 20.0)
    assert out.status == "refuted", out.message


# ----------------------------------------------------------------------------------------------------------------
# Witnesses that need several sets, waves or phases (issue 10, item 3)


def test_a_phase_claim_is_refuted_by_several_waves_of_one_phase() -> None:
    spec = _default()
    claim = DistinctLimit("t", SPAN, limit=1, count="zone", per="region", within="phase")
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "refuted", out.message  # one_zone holds per wave: two zones in two waves of one phase
    _replays(spec, claim, out)
    assert out.counterexample is not None and len(out.counterexample.schedule["waves"]) >= 2


def test_a_fleet_claim_is_refuted_by_several_sets() -> None:
    spec = _default()
    claim = DistinctLimit("t", SPAN, limit=2, count="update_domain", per="fleet", within="wave")
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "refuted", out.message  # one update domain per set: three sets, three domains
    _replays(spec, claim, out)
    assert out.counterexample is not None
    fleet = out.counterexample.fleet
    assert len(fleet["scale_sets"]) + len(fleet["availability_sets"]) >= 3


def test_a_group_claim_is_refuted_with_the_containing_set_built_around_it() -> None:
    """One VM per update domain per wave does not follow from the default; the counterexample's domain needs its
    set's other VMs (unscheduled), or the set's own rules would fail."""
    spec = _default()
    claim = Capacity("t", SPAN, amount=Count(1), of="update_domain", within="wave")
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "refuted", out.message
    _replays(spec, claim, out)


def test_an_order_by_domain_claim_is_refuted_over_two_waves() -> None:
    spec = _default()
    claim = OrderBy("t", SPAN, key=Attr(("vm", "update_domain")), unit="wave")
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "refuted", out.message
    _replays(spec, claim, out)

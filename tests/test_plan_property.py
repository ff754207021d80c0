"""Property tests: random fleets plan to schedules the independent checker accepts, and on tiny fleets the wave
count equals a brute-force optimum computed here from the default rules' semantics (no planner code involved)."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plan_support import FleetBuilder, ext, policy, span

from dsl.policy import Attr, Canary, Capacity, Compare, Count, DistinctLimit, OrderBy, Rule, UnitLimit
from engine.check.verify import verify_schedule
from engine.model.errors import Infeasible
from engine.model.fleet import Fleet
from engine.model.generator import generate_fleet
from engine.plan.synthesis import plan


@st.composite
def tiny_fleets(draw: Any) -> Fleet:
    b = FleetBuilder()
    two = draw(st.booleans())
    zones = {"r1": draw(st.sampled_from([0, 2])), "r2": draw(st.sampled_from([0, 2]))}
    pairing = draw(st.sampled_from(["none", "one-way", "both"])) if two else "none"
    b.region("r1", zones["r1"], "r2" if pairing in ("one-way", "both") else None)
    if two:
        b.region("r2", zones["r2"], "r1" if pairing == "both" else None)
    home = {"ssA": "r1", "ssB": "r2" if two else "r1", "asC": "r1"}
    for s in ("ssA", "ssB"):
        b.scale_sets.append({"name": s, "region": home[s], "upgrade_mode": "automatic"})
    b.avsets.append({"name": "asC", "region": "r1"})
    n = draw(st.integers(1, 6))
    for i in range(n):
        member = draw(st.sampled_from(["ssA", "ssB", "asC", "single"]))
        region = home[member] if member != "single" else draw(st.sampled_from(["r1", "r2"] if two else ["r1"]))
        zone = draw(st.sampled_from([None, "1", "2"])) if zones[region] else None
        ud = draw(st.sampled_from([None, 0, 1]))
        due = draw(st.integers(0, 4)) > 0
        b.vm(f"v{i}", region, zone=zone, ss=member if member.startswith("ss") else None,
             avset=member if member == "asC" else None, ud=ud, sub=draw(st.sampled_from(["s1", "s2"])),
             exts=[ext(auto=due)])
    return b.build()


def brute_force_waves(fleet: Fleet) -> int:
    """Fewest waves of any schedule meeting the Azure default rules, by enumerating every wave assignment."""
    due = [v for v in fleet.vms if any(e.enable_automatic_upgrade and e.version == "9.5" for e in v.extensions)]
    size: dict[str, int] = defaultdict(int)
    for v in fleet.vms:
        if v.scale_set or v.availability_set:
            size[v.scale_set or v.availability_set or ""] += 1
    pairs = {(r.name, r.pair) for r in fleet.regions if r.pair}
    regions = sorted({v.region for v in due})
    n = len(due)
    if n == 0:
        return 0

    def waves_ok(assign: tuple[int, ...], k: int) -> bool:
        for w in range(k):
            members = [v for v, a in zip(due, assign, strict=True) if a == w]
            for r in regions:
                if len({v.zone for v in members if v.region == r and v.zone is not None}) > 1:
                    return False
            by_set: dict[str, list[Any]] = defaultdict(list)
            for v in members:
                if v.scale_set or v.availability_set:
                    by_set[v.scale_set or v.availability_set or ""].append(v)
            for s, vs in by_set.items():
                if len({v.update_domain for v in vs}) > 1:
                    return False
                if s.startswith("ss") and len(vs) > max(1, math.floor(size[s] * 20 / 100)):
                    return False
                if s.startswith("as") and size[s] >= 2 and len(vs) == size[s]:
                    return False
        return True

    def phases_ok(assign: tuple[int, ...], k: int) -> bool:
        for steps in itertools.product((0, 1), repeat=k - 1):
            label = [0]
            for s in steps:
                label.append(label[-1] + s)
            region_phase: dict[str, set[int]] = defaultdict(set)
            for v, a in zip(due, assign, strict=True):
                region_phase[v.region].add(label[a])
            if any(len(p) > 1 for p in region_phase.values()):
                continue
            if any(a in region_phase and b in region_phase and region_phase[a] == region_phase[b] for a, b in pairs):
                continue
            return True
        return False

    for k in range(1, n + 1):
        for assign in itertools.product(range(k), repeat=n):
            if len(set(assign)) == k and waves_ok(assign, k) and phases_ok(assign, k):
                return k
    raise AssertionError("no schedule at all")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_fleets())
def test_tiny_fleets_match_brute_force(fleet: Fleet) -> None:
    pol = policy()
    res = plan(pol, fleet, time_limit=10, workers=1)
    report = verify_schedule(pol, fleet, res.schedule)
    assert report.ok, [v.render() for v in report.violations]
    assert res.waves == brute_force_waves(fleet)
    assert res.optimal and res.lower_bound == res.waves


EXTRA: list[Rule] = [
    Capacity("fleet_cap", span(40), amount=Count(25), of="fleet"),
    Capacity("sub_budget", span(41), amount=Count(6), of="subscription"),
    DistinctLimit("rpp", span(42), limit=3, count="region", per="fleet", within="phase"),
    UnitLimit("sub_phases", span(43), limit=2, unit="phase", per="subscription"),
    OrderBy("rings", span(44), key=Attr(("vm", "tags", "ring")), unit="phase"),
    Capacity("prod_cap", span(45), amount=Count(3), of="region", where=Compare("==", Attr(("vm", "tags", "env")), "prod")),
]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.lists(st.sampled_from(range(len(EXTRA))), max_size=2, unique=True),
       st.booleans())
def test_random_fleets_and_rules_plan_to_verified_schedules(seed: int, extra: list[int], canary: bool) -> None:
    fleet = generate_fleet(150, seed)
    rules = [EXTRA[i] for i in extra]
    if canary:
        first = sorted({v.region for v in fleet.vms})[0]
        rules.append(Canary("canary", span(46), regions=(first,), alone=True))
    pol = policy(*rules)
    try:
        res = plan(pol, fleet, time_limit=8, workers=1)
    except Infeasible as e:
        assert e.conflicting_rules and e.explanation.startswith("no schedule exists")
        return
    report = verify_schedule(pol, fleet, res.schedule)
    assert report.ok, [v.render() for v in report.violations]
    assert res.lower_bound <= res.waves
    assert res.optimal == (res.lower_bound == res.waves)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_fleets())
def test_solver_alone_matches_brute_force(fleet: Fleet) -> None:
    """With the constructive planner switched off, every wave count comes from the Z3 models (region, phase and
    joint): the compiler alone must find brute-force-optimal schedules the checker accepts."""
    import pytest

    import engine.plan.synthesis as synthesis

    pol = policy()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(synthesis, "construct", lambda *a, **k: None)
        res = plan(pol, fleet, time_limit=10, workers=1)
    assert verify_schedule(pol, fleet, res.schedule).ok
    assert res.waves == brute_force_waves(fleet)
    assert res.optimal


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_fleets())
def test_joint_model_is_exact_at_the_optimum(fleet: Fleet) -> None:
    """The joint model (all rules at once, phases as variables) is sat at the brute-force optimum, unsat below."""
    import time

    from engine.model.solver import Sat, Unsat
    from engine.model.upgrades import resolve_upgrades
    from engine.plan.compiler import compile_model
    from engine.plan.groups import build_groups

    pol = policy()
    groups = build_groups(pol, fleet, resolve_upgrades(fleet, pol.versions))
    best = brute_force_waves(fleet)
    ids = [c.index for c in groups.classes]
    if best == 0:
        return
    assert isinstance(compile_model(groups, ids, best, "joint").check(time.monotonic() + 10), Sat)
    assert isinstance(compile_model(groups, ids, best - 1, "joint").check(time.monotonic() + 10), Unsat)

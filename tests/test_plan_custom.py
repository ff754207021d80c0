"""Custom rules each change the schedule as they should; infeasible policies name exactly the conflicting rules."""

from __future__ import annotations

import pytest
from plan_support import FleetBuilder, policy, span

from dsl.policy import (
    Attr,
    Canary,
    Capacity,
    Compare,
    Count,
    DistinctLimit,
    NotWhole,
    Order,
    OrderBy,
    Rule,
    SeparatePairs,
    SeparateRegions,
    UnitLimit,
)
from engine.check.verify import verify_schedule
from engine.model.errors import Infeasible
from engine.model.fleet import Fleet
from engine.plan.synthesis import PlanResult, plan


def run(fleet: Fleet, *extra: Rule) -> PlanResult:
    pol = policy(*extra)
    res = plan(pol, fleet, time_limit=20, workers=1)
    assert verify_schedule(pol, fleet, res.schedule).ok
    return res


def phase_of(res: PlanResult) -> dict[str, int]:
    return {r: p.index for p in res.schedule.phases for r in p.regions}


def three_regions(per_region: int = 1) -> Fleet:
    b = FleetBuilder().region("a").region("b").region("c")
    for r in ("a", "b", "c"):
        for i in range(per_region):
            b.vm(f"{r}-{i}", r, sub=f"{r}{i}")
    return b.build()


def test_fleet_cap_per_wave() -> None:
    fleet = three_regions(2)
    assert run(fleet).waves == 1
    res = run(fleet, Capacity("fleet_cap", span(20), amount=Count(2), of="fleet"))
    assert res.waves == 3 and res.optimal
    assert all(len(w.tasks) <= 2 for w in res.schedule.waves)


def test_canary_alone_goes_first() -> None:
    res = run(three_regions(), Canary("canary", span(20), regions=("b",), alone=True))
    ph = phase_of(res)
    assert ph["b"] == 0 and ph["a"] == ph["c"] == 1 and res.waves == 2 and res.optimal


def test_canary_not_alone_shares_the_first_phase() -> None:
    res = run(three_regions(), Canary("canary", span(20), regions=("b",), alone=False))
    assert res.waves == 1


def test_separate_regions() -> None:
    res = run(three_regions(), SeparateRegions("apart", span(20), regions=("a", "c")))
    ph = phase_of(res)
    assert ph["a"] != ph["c"] and res.waves == 2


def test_separate_regions_within_wave_only() -> None:
    res = run(three_regions(), SeparateRegions("apart", span(20), regions=("a", "c"), within="wave"))
    waves = res.schedule.wave_of_vm()
    assert waves["a-0"] != waves["c-0"] and res.waves == 2 and res.optimal


def test_order_regions_by_phase() -> None:
    later = Compare("==", Attr(("vm", "region")), "a")
    earlier = Compare("==", Attr(("vm", "region")), "c")
    res = run(three_regions(), Order("c_first", span(20), earlier=earlier, later=later, unit="phase"))
    ph = phase_of(res)
    assert ph["c"] < ph["a"] and res.waves == 2


def test_order_by_ring_tag_within_a_region() -> None:
    b = FleetBuilder().region("r")
    for i, ring in enumerate(["2", "0", "1", "0"]):
        b.vm(f"v{i}", "r", tags={"ring": ring}, sub=f"s{i}")
    res = run(b.build(), OrderBy("rings", span(20), key=Attr(("vm", "tags", "ring"))))
    waves = res.schedule.wave_of_vm()
    assert waves["v1"] == waves["v3"] < waves["v2"] < waves["v0"] and res.waves == 3 and res.optimal


def test_regions_per_phase() -> None:
    res = run(three_regions(), DistinctLimit("rpp", span(20), limit=1, count="region", per="fleet", within="phase"))
    assert len(res.schedule.phases) == 3 and res.waves == 3 and res.optimal


def test_subscription_budget_per_phase() -> None:
    b = FleetBuilder().region("a").region("b")
    for r in ("a", "b"):
        b.vm(f"{r}-0", r, sub="s").vm(f"{r}-1", r, sub="s")
    res = run(b.build(), Capacity("sub_phase", span(20), amount=Count(2), of="subscription", within="phase"))
    assert len(res.schedule.phases) == 2


def test_not_whole_region() -> None:
    fleet = FleetBuilder().region("r").vm("x", "r", sub="s1").vm("y", "r", sub="s2").build()
    assert run(fleet).waves == 1
    assert run(fleet, NotWhole("nw", span(20), of="region")).waves == 2


def test_capacity_with_where_filter() -> None:
    b = FleetBuilder().region("r")
    for i in range(4):
        b.vm(f"p{i}", "r", tags={"env": "prod"}, sub=f"s{i}")
        b.vm(f"d{i}", "r", tags={"env": "dev"}, sub=f"t{i}")
    prod = Compare("==", Attr(("vm", "tags", "env")), "prod")
    res = run(b.build(), Capacity("prod_cap", span(20), amount=Count(2), of="region", where=prod))
    assert res.waves == 2 and res.optimal
    for w in res.schedule.waves:
        assert sum(1 for t in w.tasks if t.vm.startswith("p")) <= 2


def test_unit_limit_per_scale_set_packs_batches() -> None:
    fleet = FleetBuilder().region("r").scale_set("web", "r", 10, uds=2).build()
    # 10 VMs in 2 update domains, cap 2: 3 + 3 batches = 6 waves, whatever the limit on its waves allows.
    assert run(fleet).waves == 6


# ----------------------------------------------------------------------------------------------------------------
# Infeasible policies


def infeasible(fleet: Fleet, *extra: Rule) -> Infeasible:
    with pytest.raises(Infeasible) as e:
        plan(policy(*extra), fleet, time_limit=20, workers=1)
    return e.value


def test_max_waves_against_a_seven_vm_scale_set() -> None:
    fleet = FleetBuilder().region("r").scale_set("web", "r", 7).build()
    err = infeasible(fleet, UnitLimit("max_waves", span(30), limit=4))
    assert set(err.conflicting_rules) == {"ss_batch", "max_waves"}
    assert "ss_batch (specs/x.wg:4)" in err.explanation and "max_waves (specs/x.wg:30)" in err.explanation
    assert "scale set web: 7 VMs" in err.explanation and "1 per wave" in err.explanation


def test_canary_alone_against_a_pairing() -> None:
    fleet = FleetBuilder().region("a", pair="b").region("b", pair="a").vm("x", "a").vm("y", "b").build()
    err = infeasible(fleet, Canary("canary", span(30), regions=("a", "b"), alone=True))
    assert set(err.conflicting_rules) == {"geo_pairs", "canary"}
    assert "geo-paired" in err.explanation


def test_wave_budget_against_paired_regions() -> None:
    fleet = (FleetBuilder().region("a", pair="b").region("b", pair="a")
             .scale_set("s1", "a", 3).scale_set("s2", "b", 3).build())
    err = infeasible(fleet, UnitLimit("max_waves", span(30), limit=5))
    assert set(err.conflicting_rules) == {"geo_pairs", "ss_batch", "max_waves"}
    assert "region a needs 3 waves" in err.explanation


def test_one_phase_against_a_pairing() -> None:
    fleet = FleetBuilder().region("a", pair="b").region("b").vm("x", "a").vm("y", "b").build()
    err = infeasible(fleet, UnitLimit("one_phase", span(30), limit=1, unit="phase"))
    assert set(err.conflicting_rules) == {"geo_pairs", "one_phase"}


def test_order_inside_one_region_by_phase_is_impossible() -> None:
    b = FleetBuilder().region("r").vm("x", "r", tags={"t": "1"}).vm("y", "r", tags={"t": "2"})
    early = Compare("==", Attr(("vm", "tags", "t")), "1")
    late = Compare("==", Attr(("vm", "tags", "t")), "2")
    err = infeasible(b.build(), Order("ord", span(30), earlier=early, later=late, unit="phase"))
    assert err.conflicting_rules == ("ord",)


def test_rules_that_do_not_conflict_are_not_named() -> None:
    fleet = (FleetBuilder().region("a", pair="b").region("b", pair="a").region("c")
             .scale_set("web", "c", 7).vm("x", "a").vm("y", "b").build())
    err = infeasible(fleet, UnitLimit("max_waves", span(30), limit=4), SeparatePairs("pairs2", span(31)))
    assert set(err.conflicting_rules) == {"ss_batch", "max_waves"}

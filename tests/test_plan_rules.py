"""Hand-built fleets for every default rule and edge: wave counts, phases, skipped reasons, proven optimality."""

from __future__ import annotations

import pytest
from plan_support import FleetBuilder, ext, policy

from dsl.loader import load_policy
from engine.check.verify import verify_schedule
from engine.model.fleet import Fleet
from engine.plan.synthesis import PlanResult, plan


def run(fleet: Fleet, *extra: object, base: bool = True) -> PlanResult:
    pol = policy(*extra, base=base)  # type: ignore[arg-type]
    res = plan(pol, fleet, time_limit=20, workers=1)
    assert verify_schedule(pol, fleet, res.schedule).ok
    return res


def vm_waves(res: PlanResult) -> dict[str, int]:
    return res.schedule.wave_of_vm()


@pytest.mark.parametrize(("n", "waves"), [(1, 1), (4, 4), (7, 7), (10, 5)])
def test_scale_set_batches(n: int, waves: int) -> None:
    # cap = max(1, floor(20% of n)): 1 -> 1, 4 -> 1, 7 -> 1, 10 -> 2
    fleet = FleetBuilder().region("r1").scale_set("web", "r1", n).build()
    res = run(fleet)
    assert res.waves == waves
    assert res.optimal and res.lower_bound == waves


def test_scale_set_size_counts_vms_without_tasks() -> None:
    # 10 VMs in the set, only 5 due: the cap is still 2 (size counts all VMs), so 3 waves.
    b = FleetBuilder().region("r1").scale_set("web", "r1", 10)
    for v in b.vms[5:]:
        v["extensions"] = [ext(version="9.10")]
    res = run(b.build())
    assert res.waves == 3 and res.optimal


def test_availability_set_in_one_update_domain_needs_two_waves() -> None:
    fleet = FleetBuilder().region("r1").avset("as1", "r1", 4, uds=1).build()
    res = run(fleet)
    assert res.waves == 2 and res.optimal


def test_availability_set_update_domains() -> None:
    fleet = FleetBuilder().region("r1").avset("as1", "r1", 6, uds=3).build()
    res = run(fleet)
    assert res.waves == 3 and res.optimal
    waves = vm_waves(res)
    for i in range(6):
        for j in range(6):
            if waves[f"as1-{i:02d}"] == waves[f"as1-{j:02d}"]:
                assert i % 3 == j % 3


def test_zonal_scale_set_over_three_zones() -> None:
    # 15 VMs, 5 per zone, cap 3: each zone needs 2 waves, zones never share a wave: 6 waves.
    fleet = FleetBuilder().region("r1", zones=3).scale_set("web", "r1", 15, zones=["1", "2", "3"]).build()
    res = run(fleet)
    assert res.waves == 6 and res.optimal
    sched = res.schedule
    zone_of = {v.name: v.zone for v in fleet.vms}
    for w in sched.waves:
        assert len({zone_of[t.vm] for t in w.tasks}) == 1


def test_two_sets_sharing_a_zone_run_together() -> None:
    fleet = (FleetBuilder().region("r1", zones=3)
             .scale_set("a", "r1", 5, zones=["1"]).scale_set("b", "r1", 5, zones=["1"]).build())
    res = run(fleet)
    assert res.waves == 5 and res.optimal
    assert all(len(w.tasks) == 2 for w in res.schedule.waves)


def test_sets_in_different_zones_take_turns() -> None:
    fleet = (FleetBuilder().region("r1", zones=3)
             .scale_set("a", "r1", 3, zones=["1"]).scale_set("b", "r1", 4, zones=["2"]).build())
    assert run(fleet).waves == 7


def test_region_without_zones_runs_sets_in_parallel() -> None:
    fleet = (FleetBuilder().region("r1").scale_set("a", "r1", 3).scale_set("b", "r1", 4)
             .vm("single", "r1").build())
    res = run(fleet)
    assert res.waves == 4 and res.optimal


def test_regional_vms_do_not_count_as_a_zone() -> None:
    fleet = (FleetBuilder().region("r1", zones=2)
             .scale_set("z", "r1", 3, zones=["1"]).scale_set("reg", "r1", 3).build())
    res = run(fleet)
    assert res.waves == 3


def test_one_way_pair_still_separates() -> None:
    fleet = (FleetBuilder().region("a", pair="b").region("b").region("c", pair="a")
             .vm("va", "a").vm("vb", "b").vm("vc", "c").build())
    res = run(fleet)
    phase_of = {r: p.index for p in res.schedule.phases for r in p.regions}
    assert phase_of["a"] != phase_of["b"] and phase_of["a"] != phase_of["c"]
    assert res.waves == 2 and res.optimal


def test_skipped_reasons() -> None:
    kv = {"publisher": "Microsoft.Azure.KeyVault", "type_": "KeyVaultForLinux"}
    fleet = (FleetBuilder().region("r1")
             .vm("major", "r1", exts=[ext(version="9.10")])  # 9.10 is newest 9.x; only 10.0 is newer
             .vm("off", "r1", exts=[ext(auto=False)])
             .vm("fresh", "r1", exts=[ext("kv", "2.1", **kv)])
             .vm("due", "r1").build())
    fleet.catalog[0].versions.remove("9.10")
    fleet.catalog[0].versions.append("9.10")
    res = run(fleet)
    reasons = {(s.vm, s.reason) for s in res.schedule.skipped}
    assert ("off", "automatic upgrade not enabled") in reasons
    assert ("fresh", "up to date") in reasons
    assert ("major", "only a new major available") in reasons
    tasks = [t for w in res.schedule.waves for t in w.tasks]
    assert [(t.vm, t.to_version) for t in tasks] == [("due", "9.10")]


def test_vm_with_two_extensions_due_is_in_one_wave() -> None:
    kv = {"publisher": "Microsoft.Azure.KeyVault", "type_": "KeyVaultForLinux"}
    fleet = FleetBuilder().region("r1").vm("v", "r1", exts=[ext(), ext("kv", "2.0", **kv)]).build()
    res = run(fleet)
    assert len(res.schedule.waves) == 1
    assert sorted(t.extension for t in res.schedule.waves[0].tasks) == ["da", "kv"]


def test_empty_fleet_plans_nothing() -> None:
    fleet = FleetBuilder().region("r1").vm("v", "r1", exts=[ext(auto=False)]).build()
    res = run(fleet)
    assert res.waves == 0 and res.schedule.phases == [] and res.optimal


def test_spread_single_vms_over_waves_when_free() -> None:
    # A 5-VM scale set makes the region 5 waves long; the two single VMs of one subscription get split for free.
    fleet = FleetBuilder().region("r1").scale_set("web", "r1", 5).vm("s-a", "r1").vm("s-b", "r1").build()
    res = run(fleet)
    waves = vm_waves(res)
    assert waves["s-a"] != waves["s-b"] and res.spread_cost == 0 and res.waves == 5


def test_bundled_default_spec_on_bundled_sample_is_proven_optimal() -> None:
    from engine.model.fleet import load_fleet
    from engine.model.resources import bundled_spec, sample_fleet

    pol = load_policy(bundled_spec())
    fleet = load_fleet(sample_fleet())
    res = plan(pol, fleet, time_limit=60, workers=1)
    assert res.optimal and res.lower_bound == res.waves
    assert verify_schedule(pol, fleet, res.schedule).ok


def test_determinism_byte_for_byte() -> None:
    from engine.model.generator import generate_fleet

    fleet = generate_fleet(400, 3)
    pol = policy()
    a = plan(pol, fleet, time_limit=30, workers=1).schedule.to_json()
    b = plan(pol, fleet, time_limit=30, workers=2).schedule.to_json()
    assert a == b

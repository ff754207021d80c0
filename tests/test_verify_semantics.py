"""The checker's reading of each rule kind on tiny fleets, and a differential test against a naive oracle."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.diagnostics import Span
from dsl.policy import (
    And,
    Attr,
    Canary,
    Capacity,
    Compare,
    Count,
    DistinctLimit,
    HasTag,
    Not,
    NotWhole,
    Or,
    Order,
    OrderBy,
    Percent,
    Policy,
    Rule,
    SeparatePairs,
    UnitLimit,
)
from engine.check.verify import VerifyReport, verify_schedule
from engine.model.fleet import Fleet, parse_fleet
from engine.model.schedule import Schedule, parse_schedule

AT = Span("p.wg", 1, 1, 1, 2)
REGIONS = [{"name": "a", "pair": "b", "zones": 3}, {"name": "b", "pair": None, "zones": 0},
           {"name": "c", "pair": None, "zones": 2}]


def ext(name: str = "mon") -> dict[str, Any]:
    return {"name": name, "publisher": "P", "type": name.upper(), "version": "1.0", "enable_automatic_upgrade": True}


def make_fleet(vms: list[dict[str, Any]]) -> Fleet:
    sets = sorted({v["scale_set"] for v in vms if v.get("scale_set")})
    avs = sorted({v["availability_set"] for v in vms if v.get("availability_set")})
    region_of = {v.get("scale_set") or v.get("availability_set"): v["region"] for v in vms}
    full = [{"subscription": "s", "extensions": [ext()], **v} for v in vms]
    return parse_fleet({
        "regions": REGIONS,
        "catalog": [{"publisher": "P", "type": "MON", "versions": ["1.1"]}, {"publisher": "P", "type": "DEP", "versions": ["1.1"]}],
        "scale_sets": [{"name": s, "region": region_of[s]} for s in sets],
        "availability_sets": [{"name": s, "region": region_of[s]} for s in avs],
        "vms": full,
    })


def make_schedule(fleet: Fleet, waves: list[list[str]], phase_of: list[int] | None = None) -> Schedule:
    """waves: VM names per wave; every task of a VM goes in the listed wave."""
    phase_of = phase_of or [0] * len(waves)
    vm = fleet.vm_by_name
    regions: dict[int, set[str]] = {}
    for i, names in enumerate(waves):
        regions.setdefault(phase_of[i], set()).update(vm[n].region for n in names)
    return parse_schedule({
        "phases": [{"index": p, "regions": sorted(regions[p])} for p in sorted(regions)],
        "waves": [{"index": i, "phase": phase_of[i], "tasks": [
            {"vm": n, "extension": e.name, "from_version": "1.0", "to_version": "1.1"} for n in names for e in vm[n].extensions
        ]} for i, names in enumerate(waves)],
        "lower_bound": 0, "optimal": False,
    })


def check(rule: Rule, fleet: Fleet, waves: list[list[str]], phase_of: list[int] | None = None) -> VerifyReport:
    return verify_schedule(Policy("p", AT, ("p.wg",), rules=(rule,)), fleet, make_schedule(fleet, waves, phase_of))


def broken(rule: Rule, fleet: Fleet, waves: list[list[str]], phase_of: list[int] | None = None) -> list[str]:
    """The messages of ``rule``'s violations (partial schedules also miss tasks: that is not under test here)."""
    report = check(rule, fleet, waves, phase_of)
    assert {v.rule for v in report.violations} <= {rule.name, "tasks", "structure"}
    return [v.message for v in report.violations if v.rule == rule.name]


def ss(name: str, n: int, region: str = "c", zone: str | None = None, ud: int | None = 0) -> list[dict[str, Any]]:
    return [{"name": f"{name}-{i}", "region": region, "zone": zone, "scale_set": name, "update_domain": ud}
            for i in range(n)]


# ---------------------------------------------------------------------------------------------------------------


def test_capacity_percent_of_set_size_counts_unscheduled_vms() -> None:
    fleet = make_fleet(ss("w", 10))
    rule = Capacity("cap", AT, amount=Percent(Fraction(20), "floor", 1), of="scale_set")
    assert broken(rule, fleet, [[f"w-{i}", f"w-{i + 5}"] for i in range(5)]) == []
    assert broken(rule, fleet, [["w-0", "w-1", "w-2"], ["w-3"]]) == [
        "scale set w has 3 VMs in wave 0, cap max(1, floor(20% x 10)) = 2"]


def test_capacity_minimum_one_for_small_sets_and_count_per_fleet() -> None:
    fleet = make_fleet(ss("w", 4))
    rule = Capacity("cap", AT, amount=Percent(Fraction(20), "floor", 1), of="scale_set")
    assert broken(rule, fleet, [["w-0"], ["w-1"], ["w-2"], ["w-3"]]) == []
    assert len(broken(rule, fleet, [["w-0", "w-1"], ["w-2"], ["w-3"]])) == 1
    fleet_cap = Capacity("fleet_cap", AT, amount=Count(2), of="fleet")
    assert broken(fleet_cap, fleet, [["w-0", "w-1", "w-2"], ["w-3"]]) == ["the fleet has 3 VMs in wave 0, cap 2 = 2"]


def test_capacity_within_phase() -> None:
    fleet = make_fleet(ss("w", 4))
    rule = Capacity("per_phase", AT, amount=Count(2), of="region", within="phase")
    assert broken(rule, fleet, [["w-0"], ["w-1"], ["w-2"], ["w-3"]], [0, 0, 1, 1]) == []
    assert broken(rule, fleet, [["w-0"], ["w-1"], ["w-2"], ["w-3"]], [0, 0, 0, 1]) == [
        "region c has 3 VMs in phase 0, cap 2 = 2"]


def test_distinct_zone_ignores_regional_vms() -> None:
    fleet = make_fleet([*ss("z1", 2, "a", "1"), *ss("z2", 2, "a", "2"), *ss("r", 2, "a", None)])
    rule = DistinctLimit("one_zone", AT, limit=1, count="zone", per="region")
    assert broken(rule, fleet, [["z1-0", "z1-1", "r-0", "r-1"], ["z2-0", "z2-1"]]) == []
    assert broken(rule, fleet, [["z1-0", "z2-0"], ["z1-1", "z2-1", "r-0", "r-1"]]) == [
        "region a has VMs from 2 zones (1, 2) in wave 0, limit 1",
        "region a has VMs from 2 zones (1, 2) in wave 1, limit 1"]


def test_distinct_null_update_domain_is_a_value_of_its_own() -> None:
    fleet = make_fleet([*ss("w", 1, ud=0), {"name": "w-x", "region": "c", "scale_set": "w", "update_domain": None}])
    rule = DistinctLimit("one_ud", AT, limit=1, count="update_domain", per="scale_set")
    assert broken(rule, fleet, [["w-0", "w-x"]]) == [
        "scale set w has VMs from 2 update domains (0, unknown) in wave 0, limit 1"]


def test_distinct_regions_per_phase_across_the_fleet() -> None:
    fleet = make_fleet([*ss("x", 1, "a"), *ss("y", 1, "b"), *ss("z", 1, "c")])
    rule = DistinctLimit("regions_per_phase", AT, limit=2, count="region", per="fleet", within="phase")
    assert broken(rule, fleet, [["x-0"], ["z-0"], ["y-0"]], [0, 0, 1]) == []
    assert broken(rule, fleet, [["x-0"], ["z-0"], ["y-0"]], [0, 0, 0]) == [
        "the fleet has VMs from 3 regions (a, b, c) in phase 0, limit 2"]


def test_distinct_extensions_counts_task_extension_names() -> None:
    fleet = make_fleet([{"name": "v", "region": "c", "extensions": [ext("mon"), ext("dep")]}])
    rule = DistinctLimit("one_ext", AT, limit=1, count="extension", per="vm")
    assert broken(rule, fleet, [["v"]]) == ["VM v has VMs from 2 extensions (dep, mon) in wave 0, limit 1"]


def test_not_whole_and_min_size() -> None:
    fleet = make_fleet([{"name": f"d-{i}", "region": "b", "availability_set": "d", "update_domain": 0} for i in range(3)]
                       + [{"name": "e-0", "region": "b", "availability_set": "e"}])
    rule = NotWhole("nw", AT, of="availability_set", min_size=2)
    assert broken(rule, fleet, [["d-0", "d-1"], ["d-2", "e-0"]]) == []
    assert broken(rule, fleet, [["d-0", "d-1", "d-2", "e-0"]]) == [
        "all 3 VMs of availability set d are in wave 0 (a group of 2 or more never goes whole)"]


def test_unit_limit_phases_per_region_and_waves_per_set() -> None:
    fleet = make_fleet(ss("w", 3))
    rule = UnitLimit("waves_per_set", AT, limit=2, unit="wave", per="scale_set")
    assert broken(rule, fleet, [["w-0", "w-1"], ["w-2"]]) == []
    [msg] = broken(rule, fleet, [["w-0"], ["w-1"], ["w-2"]])
    assert msg == "scale set w has VMs in 3 waves (0, 1, 2), limit 2"


def test_separate_pairs_is_symmetric_and_one_way_pairs_count() -> None:
    fleet = make_fleet([*ss("x", 1, "a"), *ss("y", 1, "b")])  # a names b; b names nobody
    rule = SeparatePairs("pairs", AT)
    assert broken(rule, fleet, [["x-0"], ["y-0"]], [0, 1]) == []
    assert broken(rule, fleet, [["x-0"], ["y-0"]], [0, 0]) == ["geo-paired regions a and b are both in phase 0"]
    within_wave = SeparatePairs("pairs_w", AT, within="wave")
    assert broken(within_wave, fleet, [["x-0"], ["y-0"]], [0, 0]) == []


def test_canary_first_alone_and_missing() -> None:
    fleet = make_fleet([*ss("x", 1, "a"), *ss("z", 1, "c")])
    alone = Canary("canary", AT, regions=("c",), alone=True)
    assert broken(alone, fleet, [["z-0"], ["x-0"]], [0, 1]) == []
    assert broken(alone, fleet, [["x-0"], ["z-0"]], [0, 1]) == [
        "canary region c is in phase 1, not the first phase (0)",
        "region a shares the first phase with canary region(s) c, which go alone"]
    together = Canary("canary", AT, regions=("c",), alone=False)
    assert broken(together, fleet, [["z-0", "x-0"]], [0]) == []
    absent = Canary("canary", AT, regions=("b",), alone=True)
    report = check(absent, fleet, [["z-0", "x-0"]], [0])
    assert report.ok and [n.message for n in report.notes] == [
        "canary region b has no tasks on this fleet; the rule cannot place it first"]


def test_order_by_phase_and_by_wave() -> None:
    fleet = make_fleet([*ss("x", 2, "a"), *ss("z", 2, "c")])
    rule = Order("a_first", AT, earlier=Compare("==", Attr(("vm", "region")), "a"),
                 later=Compare("==", Attr(("vm", "region")), "c"), unit="phase")
    assert broken(rule, fleet, [["x-0", "x-1"], ["z-0", "z-1"]], [0, 1]) == []
    [msg] = broken(rule, fleet, [["z-0", "z-1"], ["x-0", "x-1"]], [0, 1])
    assert "2 of them are in phase 0 or later" in msg
    by_wave = Order("a_first_w", AT, earlier=Compare("==", Attr(("vm", "region")), "a"),
                    later=Compare("==", Attr(("vm", "region")), "c"), unit="wave")
    assert len(broken(by_wave, fleet, [["x-0", "z-0"], ["x-1", "z-1"]])) == 1


def test_order_by_integers_strings_descending_and_free_vms() -> None:
    vms = [{"name": n, "region": "c", "tags": {"ring": r}} for n, r in
           (("r2", "2"), ("r10", "10"), ("ra", "alpha"), ("rb", "beta"))] + [{"name": "free", "region": "c"}]
    fleet = make_fleet(vms)
    key = Attr(("vm", "tags", "ring"))
    rule = OrderBy("rings", AT, key=key)
    # 2 < 10 as integers; "10" < "alpha" < "beta" as strings; "2" < "alpha" as strings
    assert broken(rule, fleet, [["r2", "free"], ["r10"], ["ra"], ["rb"]]) == []
    assert len(broken(rule, fleet, [["r10"], ["r2"], ["ra"], ["rb"]])) == 1
    assert len(broken(rule, fleet, [["r2"], ["r10"], ["rb"], ["ra"]])) == 1
    desc = OrderBy("rings_desc", AT, key=key, descending=True)
    assert broken(desc, fleet, [["rb"], ["ra"], ["r10"], ["r2"]]) == []
    assert len(broken(desc, fleet, [["r2"], ["r10"], ["ra"], ["rb"]])) == 3


def test_where_predicates_null_semantics_and_tags() -> None:
    fleet = make_fleet([*ss("w", 5, "a", "1"), {"name": "s", "region": "a", "zone": "2", "tags": {"env": "prod"}}])
    cap = Percent(Fraction(20), "floor", 1)
    # null scale_set.size: a single VM never matches "scale_set.size > 2", and "!=" matches it
    big = Capacity("big", AT, amount=Count(1), of="region", where=Compare(">", Attr(("scale_set", "size")), 2))
    assert broken(big, fleet, [["w-0", "s"], ["w-1"], ["w-2"], ["w-3"], ["w-4"]]) == []
    not_w = Capacity("not_w", AT, amount=Count(1), of="region", where=Compare("!=", Attr(("scale_set", "name")), "w"))
    assert broken(not_w, fleet, [["w-0", "w-1", "s"]]) == []
    tagged = Capacity("tagged", AT, amount=Count(0), of="fleet", where=And((HasTag("env"), Not(Or((
        Compare("==", Attr(("vm", "tags", "env")), "dev"), Compare("in", Attr(("vm", "zone")), ("3",))))))))
    assert broken(tagged, fleet, [["s"]]) == ["the fleet has 1 VMs in wave 0, cap 0 = 0"]
    zone_num = Capacity("zone_num", AT, amount=cap, of="fleet", where=Compare("==", Attr(("vm", "zone")), 1))
    assert broken(zone_num, fleet, [["w-0", "w-1", "s"]]) == [
        "the fleet has 2 VMs in wave 0, cap max(1, floor(20% x 5)) = 1"]


def test_where_on_extension_counts_per_task() -> None:
    fleet = make_fleet([{"name": f"v{i}", "region": "c", "extensions": [ext("mon"), ext("dep")]} for i in range(2)])
    rule = Capacity("mon_only", AT, amount=Count(1), of="fleet", where=Compare("==", Attr(("extension", "name")), "mon"))
    sched = make_schedule(fleet, [["v0", "v1"]]).model_dump(mode="json")
    # split: v0's and v1's dep tasks in wave 0, their mon tasks in waves 1 and 2
    tasks = sched["waves"][0]["tasks"]
    mon = [t for t in tasks if t["extension"] == "mon"]
    sched["waves"][0]["tasks"] = [t for t in tasks if t["extension"] == "dep"]
    sched["waves"] += [{"index": 1, "phase": 0, "tasks": [mon[0]]}, {"index": 2, "phase": 0, "tasks": [mon[1]]}]
    policy = Policy("p", AT, ("p.wg",), rules=(rule,))
    assert verify_schedule(policy, fleet, parse_schedule(sched)).ok
    sched["waves"][1]["tasks"].append(mon[1])
    sched["waves"].pop()
    assert [v.message for v in verify_schedule(policy, fleet, parse_schedule(sched)).violations] == [
        "the fleet has 2 VMs in wave 1, cap 1 = 1"]


# ---------------------------------------------------------------------------------------------------------------
# differential: the checker against a naive quadratic oracle written straight from the rule texts


def naive(fleet: Fleet, waves: list[list[str]], cap_pct: int) -> set[str]:
    broken_rules: set[str] = set()
    vm = fleet.vm_by_name
    sizes = fleet.set_sizes
    for names in waves:
        for a in names:
            same_set = [b for b in names if vm[b].scale_set == vm[a].scale_set]
            if len(same_set) > max(1, sizes[vm[a].scale_set] * cap_pct // 100):  # type: ignore[index]
                broken_rules.add("cap")
            for b in names:
                za, zb = vm[a].zone, vm[b].zone
                if vm[a].region == vm[b].region and za is not None and zb is not None and za != zb:
                    broken_rules.add("zone")
                if vm[a].scale_set == vm[b].scale_set and vm[a].update_domain != vm[b].update_domain:
                    broken_rules.add("ud")
    return broken_rules


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.data())
def test_checker_agrees_with_naive_oracle(data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 9))
    vms = [{"name": f"v{i}", "region": "a", "scale_set": data.draw(st.sampled_from(["s", "t"])),
            "zone": data.draw(st.sampled_from([None, "1", "2"])), "update_domain": data.draw(st.integers(0, 2))}
           for i in range(n)]
    fleet = make_fleet(vms)
    k = data.draw(st.integers(1, n))
    assign = [data.draw(st.integers(0, k - 1)) for _ in range(n)]
    waves = [[f"v{i}" for i in range(n) if assign[i] == w] for w in range(k)]
    waves = [w for w in waves if w]
    pct = data.draw(st.sampled_from([20, 34, 50]))
    rules = (
        Capacity("cap", AT, amount=Percent(Fraction(pct), "floor", 1), of="scale_set"),
        DistinctLimit("zone", AT, limit=1, count="zone", per="region"),
        DistinctLimit("ud", AT, limit=1, count="update_domain", per="scale_set"),
    )
    report = verify_schedule(Policy("p", AT, ("p.wg",), rules=rules), fleet, make_schedule(fleet, waves))
    assert {v.rule for v in report.violations} == naive(fleet, waves, pct)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(st.data())
def test_checker_never_crashes_on_any_well_formed_schedule(data: st.DataObject) -> None:
    """Whatever a schedule says (unknown VMs, wrong phases, gaps, duplicates), the checker reports, never raises."""
    from pathlib import Path

    from dsl.loader import load_policy
    from engine.model.fleet import load_fleet

    fix = Path(__file__).parent / "fixtures" / "fleets"
    policy = load_policy(fix / "rules.wg")
    fleet = load_fleet(fix / "rules.json")
    names = [*fleet.vm_by_name, "ghost"]
    n_waves = data.draw(st.integers(0, 5))
    waves = [{"index": data.draw(st.integers(0, 6)), "phase": data.draw(st.integers(0, 3)), "tasks": [
        {"vm": data.draw(st.sampled_from(names)), "extension": data.draw(st.sampled_from(["mon", "dep", "x"])),
         "from_version": data.draw(st.sampled_from(["1.20", "1.0", "bad"])),
         "to_version": data.draw(st.sampled_from(["1.22", "2.0", "1.22.0", "x.y"]))}
        for _ in range(data.draw(st.integers(0, 4)))]} for _ in range(n_waves)]
    phases = [{"index": data.draw(st.integers(0, 3)),
               "regions": data.draw(st.lists(st.sampled_from(["canary", "eastus", "westus", "northeurope", "mars"]),
                                             max_size=3))} for _ in range(data.draw(st.integers(0, 3)))]
    schedule = parse_schedule({"phases": phases, "waves": waves, "lower_bound": 0, "optimal": False,
                               "skipped": [{"vm": data.draw(st.sampled_from(names)), "extension": "mon", "reason": "?"}]})
    report = verify_schedule(policy, fleet, schedule)
    assert all(v.message for v in report.violations)
    assert report.ok == (not report.violations)

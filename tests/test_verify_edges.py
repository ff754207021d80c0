"""The Azure default spec on the rule-edge fixture fleets: the minimal schedule passes, one wave fewer breaks the
rule that forces it (scale sets of 1, 4, 7, 10; one-UD availability set; zones; shared zone; one-way pairs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.loader import load_policy
from dsl.policy import Policy
from engine.check.verify import VerifyReport, verify_schedule
from engine.model.fleet import Fleet, load_fleet
from engine.model.schedule import parse_schedule

FIX = Path(__file__).parent / "fixtures" / "fleets"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def azure() -> Policy:
    return load_policy(ROOT / "specs" / "azure-default.wg")


def run(policy: Policy, fleet: Fleet, phases: list[list[list[str]]]) -> VerifyReport:
    """phases: per phase, its waves (VM names); every due task of a VM goes in its wave."""
    vm = fleet.vm_by_name
    waves, out_phases = [], []
    for p, ws in enumerate(phases):
        out_phases.append({"index": p, "regions": sorted({vm[n].region for w in ws for n in w})})
        for w in ws:
            waves.append({"index": len(waves), "phase": p, "tasks": [
                {"vm": n, "extension": e.name, "from_version": e.version,
                 "to_version": "1.22" if e.name == "mon" else "9.10.2"} for n in w for e in vm[n].extensions]})
    schedule = parse_schedule({"phases": out_phases, "waves": waves, "lower_bound": 0, "optimal": False})
    return verify_schedule(policy, fleet, schedule)


def chunks(names: list[str], size: int) -> list[list[str]]:
    return [names[i:i + size] for i in range(0, len(names), size)]


@pytest.mark.parametrize(("n", "cap", "waves"), [(1, 1, 1), (4, 1, 4), (7, 1, 7), (10, 2, 5)])
def test_scale_set_cap(azure: Policy, n: int, cap: int, waves: int) -> None:
    fleet = load_fleet(FIX / f"scale-set-{n}.json")
    names = [f"ss{n}-{i}" for i in range(n)]
    ok = chunks(names, cap)
    assert len(ok) == waves
    assert run(azure, fleet, [ok]).ok
    if n > 1:
        report = run(azure, fleet, [chunks(names, cap + 1)])
        assert {v.rule for v in report.violations} == {"ss_batch"}
        assert f"cap max(1, floor(20% x {n})) = {cap}" in report.violations[0].message


def test_availability_set_in_one_update_domain_needs_two_waves(azure: Policy) -> None:
    fleet = load_fleet(FIX / "avset-one-ud.json")
    assert run(azure, fleet, [[["as1-0", "as1-1"], ["as1-2"]]]).ok
    report = run(azure, fleet, [[["as1-0", "as1-1", "as1-2"]]])
    assert {v.rule for v in report.violations} == {"as_not_whole"}


def test_zonal_set_over_three_zones_goes_zone_by_zone(azure: Policy) -> None:
    fleet = load_fleet(FIX / "zonal-3-zones.json")
    by_zone = [[f"zss-{i}" for i in range(15) if i % 3 == z] for z in range(3)]
    assert run(azure, fleet, [[w for zone in by_zone for w in chunks(zone, 3)]]).ok
    mixed = chunks([f"zss-{i}" for i in range(15)], 3)
    report = run(azure, fleet, [mixed])
    assert {v.rule for v in report.violations} == {"one_zone"}


def test_two_sets_sharing_a_zone_share_its_waves(azure: Policy) -> None:
    fleet = load_fleet(FIX / "two-sets-shared-zone.json")
    zone1 = [["a-0", "b-0", "b-1"], ["a-1", "b-2", "b-3"], ["a-2", "b-4"], ["a-3"], ["a-4"]]
    zone2 = [["b-5", "b-6"], ["b-7", "b-8"], ["b-9"]]
    assert run(azure, fleet, [zone1 + zone2]).ok
    report = run(azure, fleet, [[["a-0", "b-0", "b-1", "b-5"], *zone1[1:], ["b-6"], *zone2[1:]]])
    assert {v.rule for v in report.violations} == {"one_zone", "ss_batch"}


def test_region_without_zones_only_domains_and_batches_bind(azure: Policy) -> None:
    fleet = load_fleet(FIX / "region-no-zones.json")
    waves = [[f"rss-{i}" for i in range(10) if i % 5 == u] + ([f"single-{u}"] if u < 3 else []) for u in range(5)]
    report = run(azure, fleet, [waves])
    assert report.ok and report.notes == ()
    together = [[*waves[0], "single-1", "single-2"], [n for n in waves[1] if n != "single-1"],
                [n for n in waves[2] if n != "single-2"], waves[3], waves[4]]
    report = run(azure, fleet, [together])
    assert report.ok  # the single VMs' spread is soft: a note, not a violation
    assert [(n.rule, n.vms) for n in report.notes] == [("spread_single", ("single-0", "single-1", "single-2"))]


def test_one_way_pairs_separate_both_directions(azure: Policy) -> None:
    fleet = load_fleet(FIX / "one-way-pairs.json")
    assert run(azure, fleet, [[["e-0"]], [["w-0", "w3-0"]]]).ok  # westus and westus3 are not paired
    report = run(azure, fleet, [[["e-0", "w3-0"]], [["w-0"]]])  # westus3 names eastus: still a pair
    assert [v.message for v in report.violations] == ["geo-paired regions eastus and westus3 are both in phase 0"]


def test_vm_with_two_extensions_due(azure: Policy) -> None:
    fleet = load_fleet(FIX / "two-extensions.json")
    assert run(azure, fleet, [[["twin", "solo"]]]).ok

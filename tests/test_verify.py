"""The independent checker: each hand-written invalid schedule breaks exactly its rule; structure and task checks."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from dsl.diagnostics import Span
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
    Percent,
    Policy,
    SeparatePairs,
    SeparateRegions,
    Spread,
    UnitLimit,
)
from engine.check.verify import verify_schedule
from engine.model.fleet import Fleet, load_fleet
from engine.model.schedule import Schedule, parse_schedule

FIXTURES = Path(__file__).parent / "fixtures" / "fleets"
SCHEDULES = FIXTURES / "schedules"
SPEC = "specs/test-rules.wg"


def span(line: int) -> Span:
    return Span(SPEC, line, 1, line, 20)


def rules_policy() -> Policy:
    """One rule of every kind, tuned so that schedules/rules-valid.json satisfies all of them."""
    return Policy(
        name="test_rules",
        span=span(1),
        files=(SPEC,),
        rules=(
            SeparatePairs("geo_pairs", span(2)),
            SeparateRegions("apart", span(3), regions=("eastus", "northeurope"), within="wave"),
            DistinctLimit("one_zone", span(4), limit=1, count="zone", per="region"),
            DistinctLimit("one_ud", span(5), limit=1, count="update_domain", per="set"),
            Capacity("ss_batch", span(6), amount=Percent(Fraction(20), "floor", 1), of="scale_set"),
            NotWhole("avset_not_whole", span(7), of="availability_set", min_size=2),
            UnitLimit("max_waves", span(8), limit=11, unit="wave", per="fleet"),
            Canary("canary", span(9), regions=("canary",), alone=True),
            Order("region_order", span(10), earlier=Compare("==", Attr(("vm", "region")), "eastus"),
                  later=Compare("==", Attr(("vm", "region")), "westus"), unit="wave"),
            OrderBy("rings", span(11), key=Attr(("vm", "tags", "ring")), unit="wave"),
        ),
        preferences=(Spread("spread_singles", span(12), by=("subscription", "region"),
                            where=Compare("==", Attr(("vm", "single")), True)),),
    )


@pytest.fixture(scope="module")
def fleet() -> Fleet:
    return load_fleet(FIXTURES / "rules.json")


def sched(name: str) -> Schedule:
    return parse_schedule(json.loads((SCHEDULES / name).read_text()), name)


def edit(s: Schedule, fn: Any) -> Schedule:
    data = s.model_dump(mode="json")
    fn(data)
    return parse_schedule(data)


def test_valid_schedule_passes_every_rule(fleet: Fleet) -> None:
    report = verify_schedule(rules_policy(), fleet, sched("rules-valid.json"))
    assert report.ok, [v.render() for v in report.violations]
    assert report.rules_checked == 10
    # can-0 and can-1 are the single VMs of s1 in canary, both in wave 0: a soft miss, reported as a note
    assert [(n.rule, n.wave, n.vms) for n in report.notes] == [("spread_singles", 0, ("can-0", "can-1"))]


BAD = ["geo_pairs", "apart", "one_zone", "one_ud", "ss_batch", "avset_not_whole", "max_waves", "canary",
       "region_order", "rings"]


@pytest.mark.parametrize("rule", BAD)
def test_each_invalid_schedule_breaks_exactly_its_rule(fleet: Fleet, rule: str) -> None:
    report = verify_schedule(rules_policy(), fleet, sched(f"rules-bad-{rule}.json"))
    assert not report.ok
    assert {v.rule for v in report.violations} == {rule}, [v.render() for v in report.violations]
    for v in report.violations:
        assert v.span == rules_policy().rule(rule).span  # type: ignore[union-attr]


def test_every_rule_kind_has_an_invalid_fixture() -> None:
    kinds = {type(r).__name__ for r in rules_policy().rules if r.name in BAD}
    assert kinds == {"SeparatePairs", "SeparateRegions", "DistinctLimit", "Capacity", "NotWhole", "UnitLimit",
                     "Canary", "Order", "OrderBy"}


def test_messages_carry_the_concrete_facts(fleet: Fleet) -> None:
    by_rule = {v.rule: v for name in BAD
               for v in verify_schedule(rules_policy(), fleet, sched(f"rules-bad-{name}.json")).violations}
    ss = by_rule["ss_batch"]
    assert ss.message == "scale set web has 3 VMs in wave 1, cap max(1, floor(20% x 10)) = 2"
    assert ss.wave == 1 and ss.vms == ("web-0", "web-1", "web-2")
    assert by_rule["geo_pairs"].message == "geo-paired regions eastus and westus are both in phase 1"
    assert by_rule["one_zone"].message == "region eastus has VMs from 2 zones (1, 2) in wave 4, limit 1"
    assert by_rule["one_ud"].message == "set web has VMs from 2 update domains (0, 1) in wave 1, limit 1"
    assert by_rule["avset_not_whole"].vms == ("db-0", "db-1")
    assert "has VMs in 12 waves" in by_rule["max_waves"].message
    assert "northeurope shares the first phase" in by_rule["canary"].message
    rings = by_rule["rings"]
    # 9 < 10 as integers (as strings "10" < "9" would invert the order)
    assert "vm.tags.ring = 9 must lie in earlier waves than vm.tags.ring = 10" in rings.message
    assert rings.vms == ("e-1", "web-8")
    assert "[vm.region == \"eastus\"] must come before" in by_rule["region_order"].message
    assert by_rule["apart"].wave == 7


# ---------------------------------------------------------------------------------------------------------------
# structure, tasks, skipped


def rules_of(report: Any) -> list[str]:
    return sorted(v.rule for v in report.violations)


def test_waves_out_of_order_and_unknown_phase(fleet: Fleet) -> None:
    def fn(d: dict[str, Any]) -> None:
        d["waves"][1]["index"] = 5
        d["waves"][3]["phase"] = 7

    report = verify_schedule(rules_policy(), fleet, edit(sched("rules-valid.json"), fn))
    msgs = [v.message for v in report.violations if v.rule == "structure"]
    assert "wave at position 1 has index 5; waves are numbered 0..n-1 in order" in msgs
    assert "wave 3 is in phase 7, which the schedule does not list" in msgs


def test_phase_going_back_and_region_split(fleet: Fleet) -> None:
    def fn(d: dict[str, Any]) -> None:
        d["waves"][9]["phase"] = 1  # db-0 in phase 1 after... keeps order; westus now split over phases 1 and 2
        d["waves"][2]["phase"] = 2  # a wave of eastus in phase 2 between phase-1 waves

    report = verify_schedule(rules_policy(), fleet, edit(sched("rules-valid.json"), fn))
    msgs = " | ".join(v.message for v in report.violations if v.rule == "structure")
    assert "phase indices never decrease" in msgs
    assert "region eastus has tasks in phases 1, 2" in msgs
    assert "region westus has tasks in phases 1, 2" in msgs


def test_empty_wave_and_empty_phase_and_unlisted_region(fleet: Fleet) -> None:
    def fn(d: dict[str, Any]) -> None:
        d["phases"].append({"index": 3, "regions": []})
        d["waves"].append({"index": 11, "phase": 2, "tasks": []})
        d["phases"][1]["regions"] = ["eastus", "northeurope", "nowhere"]
        d["phases"][0]["regions"] = ["canary", "westus3"]

    report = verify_schedule(rules_policy(), fleet, edit(sched("rules-valid.json"), fn))
    msgs = [v.message for v in report.violations if v.rule == "structure"]
    assert "wave 11 has no tasks" in msgs
    assert "phase 3 has no waves" in msgs
    assert "phase 3 lists no regions" in msgs
    assert any(m.startswith("phase 1 lists unknown region 'nowhere'") for m in msgs)
    assert any(m.startswith("phase 0 lists unknown region 'westus3'") for m in msgs)


def test_region_listed_in_wrong_phase_or_twice(fleet: Fleet) -> None:
    def fn(d: dict[str, Any]) -> None:
        d["phases"][2]["regions"] = ["westus", "northeurope"]
        d["phases"][1]["regions"] = ["eastus"]

    report = verify_schedule(rules_policy(), fleet, edit(sched("rules-valid.json"), fn))
    msgs = [v.message for v in report.violations if v.rule == "structure"]
    assert msgs == ["region northeurope is listed in phase 2 but its tasks are in phase 1"]


def test_missing_extra_duplicate_and_wrong_tasks(fleet: Fleet) -> None:
    def fn(d: dict[str, Any]) -> None:
        w = d["waves"]
        w[0]["tasks"].append({"vm": "can-1", "extension": "dep", "from_version": "9.5", "to_version": "9.10.2"})
        w[1]["tasks"].append({"vm": "web-0", "extension": "mon", "from_version": "1.20", "to_version": "1.22"})
        w[2]["tasks"].append({"vm": "web-0x", "extension": "mon", "from_version": "1.20", "to_version": "1.22"})
        w[3]["tasks"][0]["to_version"] = "1.21"
        w[3]["tasks"][1]["from_version"] = "1.19"
        w[4]["tasks"][0]["to_version"] = "2.0"
        w[4]["tasks"].append({"vm": "web-7", "extension": "agent", "from_version": "1", "to_version": "2"})
        w[5]["tasks"] = []
        w[7]["tasks"][0]["to_version"] = "1.22.0"  # the same version spelled longer is fine

    report = verify_schedule(rules_policy(), fleet, edit(sched("rules-valid.json"), fn))
    msgs = [v.message for v in report.violations if v.rule == "tasks"]
    assert msgs == [
        "task can-1/dep is not due: automatic upgrade not enabled",
        "task web-0/mon appears twice (waves 1 and 1)",
        "task names unknown VM 'web-0x' (did you mean 'web-0'?)",
        "task web-3/mon targets 1.21 but the resolved target is 1.22",
        "task web-4/mon says from_version 1.19 but 1.20 is installed",
        "task web-5/mon crosses a major version (1.20 -> 2.0) and the policy does not allow majors",
        "VM web-7 has no extension named 'agent'",
        "1 due task(s) missing from the schedule: web-7/mon",
    ]
    assert "skipped" in rules_of(report)  # can-1/dep is scheduled and listed as skipped


def test_skipped_list_must_match_the_resolution(fleet: Fleet) -> None:
    def fn(d: dict[str, Any]) -> None:
        d["skipped"] = [{"vm": "can-1", "extension": "dep", "reason": "up to date"},
                        {"vm": "can-0", "extension": "mon", "reason": "up to date"}]

    report = verify_schedule(rules_policy(), fleet, edit(sched("rules-valid.json"), fn))
    msgs = [v.message for v in report.violations if v.rule == "skipped"]
    assert msgs == [
        "skipped[0]: can-1/dep has reason 'up to date', expected 'automatic upgrade not enabled'",
        "skipped[1]: can-0/mon is listed as skipped but also scheduled (wave 0)",
    ]

    def drop(d: dict[str, Any]) -> None:
        d["skipped"] = []

    report = verify_schedule(rules_policy(), fleet, edit(sched("rules-valid.json"), drop))
    assert [v.message for v in report.violations] == ["1 skipped (VM, extension) pair(s) not listed: can-1/dep"]


def test_unknown_scope_fails_closed(fleet: Fleet) -> None:
    policy = Policy("p", span(1), (SPEC,), rules=(Capacity("odd", span(2), amount=Count(1), of="galaxy"),))
    report = verify_schedule(policy, fleet, sched("rules-valid.json"))
    assert [v.message for v in report.violations] == ["the checker does not know scope 'galaxy'"]

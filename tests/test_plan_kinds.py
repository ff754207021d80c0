"""The planner's kinds on hand-made fleets: each drift fix of its reading (before: "no schedule exists" or a reading
the checker does not share), task units of a VM split over waves, the geography scope, extension order, and the
one wall-clock deadline."""

from __future__ import annotations

import time

import pytest
from plan_support import FleetBuilder, ext, policy, span

from dsl.policy import (
    Attr,
    Compare,
    DistinctLimit,
    ExtensionOrder,
    ExtensionSelector,
    Order,
    Rule,
)
from engine.check.verify import verify_schedule
from engine.model.errors import Infeasible, SolverTimeout
from engine.model.fleet import Fleet
from engine.model.upgrades import resolve_upgrades
from engine.plan.groups import build_groups
from engine.plan.phases import greedy_phases, phase_bound
from engine.plan.synthesis import PlanResult, plan

AMA_TYPE, DA_TYPE = "AzureMonitorLinuxAgent", "DependencyAgentLinux"


def is_type(t: str) -> Compare:
    return Compare("==", Attr(("extension", "type")), t)


def two_extension_fleet(vms: int = 1) -> Fleet:
    b = FleetBuilder().region("r1")
    b.catalog.append({"publisher": "Microsoft.Azure.Monitor", "type": AMA_TYPE, "versions": ["1.0", "1.1"]})
    ama = ext("ama", version="1.0", publisher="Microsoft.Azure.Monitor", type_=AMA_TYPE)
    for i in range(vms):
        b.vm(f"v{i}", "r1", exts=[ext("da"), ama])
    return b.build()


def run(fleet: Fleet, *rules: Rule) -> PlanResult:
    pol = policy(*rules, base=False, prefer=False)
    res = plan(pol, fleet, time_limit=20, workers=1)
    assert verify_schedule(pol, fleet, res.schedule).ok
    return res


def task_waves(res: PlanResult) -> dict[tuple[str, str], int]:
    return {(t.vm, t.extension): w.index for w in res.schedule.waves for t in w.tasks}


def test_distinct_extensions_count_only_the_tasks_the_filter_selects() -> None:
    # Before: the planner counted both extensions of v0 and said no schedule exists; only ama is selected.
    rule = DistinctLimit("one_ext", span(10), limit=1, count="extension", per="fleet", where=is_type(AMA_TYPE))
    assert run(two_extension_fleet(), rule).waves == 1


def test_a_vm_with_more_extensions_than_the_limit_has_its_tasks_split() -> None:
    rule = DistinctLimit("one_ext", span(10), limit=1, count="extension", per="fleet")
    res = run(two_extension_fleet(3), rule)
    assert res.waves == 2 and res.optimal
    waves = task_waves(res)
    for i in range(3):
        assert waves[(f"v{i}", "ama")] != waves[(f"v{i}", "da")]


def test_an_extension_order_rule_splits_a_vm_with_tasks_on_both_sides() -> None:
    # Before: "no schedule exists" (a VM's tasks were kept in one wave); the checker accepts them in two waves.
    rule = Order("ama_first", span(11), earlier=is_type(AMA_TYPE), later=is_type(DA_TYPE), unit="wave")
    res = run(two_extension_fleet(2), rule)
    waves = task_waves(res)
    assert res.waves == 2 and res.optimal
    assert all(waves[(f"v{i}", "ama")] < waves[(f"v{i}", "da")] for i in range(2))


def test_an_order_that_cannot_hold_names_its_conditions() -> None:
    # By phase one VM cannot be on both sides (its tasks share its region's phase): the refusal shows the conditions.
    rule = Order("ama_first", span(11), earlier=is_type(AMA_TYPE), later=is_type(DA_TYPE), unit="phase")
    with pytest.raises(Infeasible) as e:
        run(two_extension_fleet(), rule)
    text = e.value.explanation
    assert f'extension.type == "{AMA_TYPE}"' in text and f'extension.type == "{DA_TYPE}"' in text, text
    assert "VMs with earlier" not in text


def test_a_split_keeps_the_first_extension_no_later_than_the_second() -> None:
    # Without the extension order the units would go by name (ama first); with it, da never comes after ama.
    limit = DistinctLimit("one_ext", span(10), limit=1, count="extension", per="fleet")
    first_da = ExtensionOrder("da_first", span(12), first=ExtensionSelector(type=DA_TYPE),
                              second=ExtensionSelector(type=AMA_TYPE))
    waves = task_waves(run(two_extension_fleet(2), limit, first_da))
    assert all(waves[(f"v{i}", "da")] < waves[(f"v{i}", "ama")] for i in range(2))


def test_an_order_against_the_extension_order_has_no_schedule() -> None:
    ama_first = Order("ama_first", span(11), earlier=is_type(AMA_TYPE), later=is_type(DA_TYPE), unit="wave")
    first_da = ExtensionOrder("da_first", span(12), first=ExtensionSelector(type=DA_TYPE),
                              second=ExtensionSelector(type=AMA_TYPE))
    with pytest.raises(Infeasible) as e:
        run(two_extension_fleet(), ama_first, first_da)
    assert e.value.conflicting_rules == ("ama_first", "da_first"), e.value.explanation


def test_regions_per_geography_per_phase() -> None:
    # eastus and westus are both in the United States (the bundled Azure table); westeurope is not.
    b = FleetBuilder().region("eastus").region("westus").region("westeurope")
    for r in ("eastus", "westus", "westeurope"):
        b.vm(f"{r}-0", r)
    fleet = b.build()
    rule = DistinctLimit("one_us_region", span(13), limit=1, count="region", per="geography", within="phase")
    res = run(fleet, rule)
    phase = {r: p.index for p in res.schedule.phases for r in p.regions}
    assert phase["eastus"] != phase["westus"] and len(res.schedule.phases) == 2


def test_regions_per_phase_counts_only_regions_matching_the_filter() -> None:
    # One reading for the first-fit phases and the phase bound: only regions with prod VMs count.
    b = FleetBuilder().region("a").region("b").region("c")
    b.vm("a-0", "a", tags={"env": "prod"}).vm("b-0", "b", tags={"env": "prod"}).vm("c-0", "c")
    fleet = b.build()
    rule = DistinctLimit("one_prod_region", span(14), limit=1, count="region", per="fleet", within="phase",
                         where=Compare("==", Attr(("vm", "tags", "env")), "prod"))
    pol = policy(rule, base=False, prefer=False)
    groups = build_groups(pol, fleet, resolve_upgrades(fleet, pol.versions))
    assign = greedy_phases(groups)
    assert assign["a"] != assign["b"] and len(set(assign.values())) == 2
    assert phase_bound(groups, {"a": 3, "b": 2, "c": 1}) == 5
    assert len(run(fleet, rule).schedule.phases) == 2


def test_groups_with_an_unknown_domain_sort_last() -> None:
    # The checker's order (engine.check.semantics.sort_key): None last; the planner ranked it first.
    b = FleetBuilder().region("r1")
    b.vm("v0", "r1", ss="web", ud=None).vm("v1", "r1", ss="web", ud=0)
    b.scale_sets.append({"name": "web", "region": "r1", "upgrade_mode": "automatic"})
    fleet = b.build()
    rule = DistinctLimit("per_domain", span(15), limit=1, count="zone", per="update_domain")
    pol = policy(rule, base=False, prefer=False)
    groups = build_groups(pol, fleet, resolve_upgrades(fleet, pol.versions))
    assert list(groups.plans[0].members) == [("web", 0), ("web", None)]


def test_the_time_limit_bounds_the_whole_solve() -> None:
    # Before, this took 25 s (--time-limit 15 could run 52 s): models were built, and cores computed, past the deadline.
    from dsl.loader import load_policy
    from engine.model.generator import generate_fleet
    from engine.model.resources import bundled_spec

    pol = load_policy(bundled_spec("team-strict.wg"))
    fleet = generate_fleet(2000, 3)
    start = time.monotonic()
    try:
        res = plan(pol, fleet, time_limit=5, workers=1)
        solve = res.elapsed
    except (Infeasible, SolverTimeout):
        solve = time.monotonic() - start
    assert solve < 5 + 5, solve  # the deadline, plus the independent re-check and the last step's overrun

"""Runtime monitors: a deliberately broken gate is caught; on the real gates they never fire."""

from __future__ import annotations

import json
from typing import Any

import exec_support as X
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.model.errors import MonitorBreach
from engine.model.faults import parse_faults
from engine.model.schedule import parse_schedule
from engine.run.driver import SimDriver
from engine.run.events import MemorySink
from engine.run.executor import execute, final_fleet
from engine.run.gates import GateFns

DA = {"publisher": "Microsoft.Azure.Monitoring.DependencyAgent", "type": "DependencyAgentLinux"}


def test_broken_precheck_is_caught() -> None:
    fl = X.fleet({"ss": 10}, unhealthy=("ss-1", "ss-2", "ss-3"))
    broken = GateFns(may_start_batch=lambda size, unhealthy, gate: True)
    with pytest.raises(MonitorBreach, match=r"3 of 10 VMs of scale set ss were unhealthy, more than 20% \(rule precheck"):
        execute(X.policy(), fl, X.schedule(fl), SimDriver(fl), MemorySink(), gates=broken)


def test_broken_major_check_is_caught() -> None:
    fl = X.fleet({}, singles=1)
    broken = GateFns(install_allowed=lambda a, b, allow: True)
    with pytest.raises(MonitorBreach, match="crosses a major version"):
        execute(X.policy(), fl, X.schedule(fl, to={"da": "10.0"}), SimDriver(fl), MemorySink(), gates=broken)


def test_broken_stop_gate_is_caught_at_the_next_batch() -> None:
    fl = X.fleet({"ss": 10})
    broken = GateFns(upgraded_breach=lambda up, bad, gate: False)
    faults = parse_faults({"bad_versions": [{**DA, "version": "9.10"}]}, fl)
    with pytest.raises(MonitorBreach, match=r"after 2 of 2 upgraded VMs of scale set ss turned unhealthy"):
        execute(X.policy(), fl, X.schedule(fl), SimDriver(fl, faults), MemorySink(), gates=broken, max_retries=0)


def test_schedule_breaking_the_batch_cap_is_caught() -> None:
    fl = X.fleet({"ss": 10})
    tasks = [{"vm": f"ss-{i}", "extension": "da", "from_version": "9.5", "to_version": "9.10"} for i in (0, 5, 1)]
    sch = parse_schedule({"phases": [{"index": 0, "regions": ["eastus"]}],
                          "waves": [{"index": 0, "phase": 0, "tasks": tasks}], "lower_bound": 1, "optimal": False})
    with pytest.raises(MonitorBreach, match=r"3 VMs of scale set ss in one wave \(wave 0\), more than the cap 2"):
        execute(X.policy(rules=X.default_rules()[:1]), fl, sch, SimDriver(fl), MemorySink())
    with pytest.raises(MonitorBreach, match="distinct update domains of set ss"):
        execute(X.policy(rules=X.default_rules()[2:3]), fl, sch, SimDriver(fl), MemorySink())


def test_paired_regions_in_one_phase_are_caught() -> None:
    fl_data = json.loads(X.fleet({}, singles=2, regions=("eastus", "westus")).to_json())
    fl_data["regions"][0]["pair"] = "westus"
    from engine.model.fleet import parse_fleet

    fl = parse_fleet(fl_data)
    with pytest.raises(MonitorBreach, match="regions eastus and westus upgrade in the same phase"):
        execute(X.policy(), fl, X.schedule(fl), SimDriver(fl), MemorySink())


names = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Any, dict[str, Any], int]:
    sets = draw(st.dictionaries(names, st.integers(1, 12), max_size=3))
    singles = draw(st.integers(0 if sets else 1, 3))
    exts = draw(st.sampled_from([("da",), ("da", "ama")]))
    fl = X.fleet(sets, singles=singles, exts=exts, regions=("eastus", "westus"), zones=draw(st.booleans()))
    vm_names = [v.name for v in fl.vms]
    unhealthy = draw(st.lists(st.sampled_from(vm_names), max_size=3, unique=True))
    if unhealthy:
        data = json.loads(fl.to_json())
        for v in data["vms"]:
            v["healthy"] = v["name"] not in unhealthy
        from engine.model.fleet import parse_fleet

        fl = parse_fleet(data)
    faults = {
        "bad_versions": draw(st.lists(st.builds(lambda r: {**DA, "version": "9.10", "fail_rate": r},
                                                st.sampled_from([0.2, 0.5, 1.0])), max_size=1)),
        "vm_failures": [{"vm": v, "extension": "da", "attempts": draw(st.sampled_from([1, None]))}
                        for v in draw(st.lists(st.sampled_from(vm_names), max_size=2, unique=True))],
        "maintenance": [{"at_minutes": draw(st.integers(0, 30)), "vms": draw(st.lists(st.sampled_from(vm_names),
                                                                                     min_size=1, max_size=4, unique=True)),
                         "minutes": draw(st.integers(1, 60))} for _ in range(draw(st.integers(0, 2)))],
    }
    return fl, faults, draw(st.integers(0, 1000))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.booleans(), st.booleans())
def test_real_gates_never_trip_a_monitor(case: tuple[Any, dict[str, Any], int], phased: bool, keep: bool) -> None:
    fl, faults, seed = case
    sch = X.schedule(fl, phase_of_region={"eastus": 0, "westus": 1} if phased else None)
    pol = X.policy(X.default_gates(retry_after=3600, max_attempts=2, on_timeout="keep" if keep else "rollback"))
    sink = MemorySink()
    result = execute(pol, fl, sch, SimDriver(fl, parse_faults(faults, fl), seed), sink)  # raises on a breach
    terminal = {"succeeded", "failed", "blocked", "stopped", "refused", "kept_unhealthy", "not_started", "unhealthy_vm"}
    assert set(result.states) <= terminal
    assert (result.outcome == "completed") == (set(result.states) == {"succeeded"} or not result.states)
    after = final_fleet(fl, result)
    bad_for_all = any(b["fail_rate"] == 1.0 for b in faults["bad_versions"])
    if bad_for_all and not keep:
        assert all(e.version != "9.10" for vm in after.vms for e in vm.extensions)  # rollback restores
    events = [json.loads(line) for line in sink.lines]
    assert [e["time"] for e in events] == sorted(e["time"] for e in events)
    started = sum(1 for e in events if e["event"] == "install_started")
    assert started == sum(1 for e in events if e["event"] in ("install_succeeded", "install_failed"))


def test_monitor_indexes_agree_with_engine_groups() -> None:
    """The monitor reads its own lists by VM index: each must say what engine.plan.groups says of the VM."""
    from collections import Counter

    from dsl.policy import GROUP_KEY
    from engine.plan.reading import FleetFacts
    from engine.run.monitors import Monitor

    fl = X.fleet({"a": 7, "b": 3}, singles=3, zones=True, regions=("eastus", "westus"))
    data = fl.model_dump()
    data["vms"][0]["update_domain"] = None
    data["vms"][1]["zone"] = None
    from engine.model.fleet import Fleet

    fl = Fleet.model_validate(data)
    group_key, count_value = FleetFacts(fl).group_key, FleetFacts(fl).count_value
    monitor = Monitor(X.policy(), fl, lambda scope, key, names, t: 0)
    for scope in [s for s in GROUP_KEY if s != "geography"]:  # WIP(run stage): geography reads the region table
        keys = monitor.keys_of(scope)
        assert keys == [group_key(scope, vm) for vm in fl.vms], scope
        by_key: dict[Any, list[str]] = {}
        for vm in fl.vms:
            if (k := group_key(scope, vm)) is not None:
                by_key.setdefault(k, []).append(vm.name)
        for k, members in by_key.items():
            assert monitor.members(scope, k) == members, (scope, k)
    for _, rule, _, values, _ in monitor._distinct_rules:
        truth = [count_value(rule.count, vm) for vm in fl.vms]
        for i in range(len(fl.vms)):
            for j in range(len(fl.vms)):
                assert (values[i] == values[j]) == (truth[i] == truth[j]), (rule.count, i, j)
            assert (values[i] is None) == (truth[i] is None)
    for i, rule in enumerate(monitor.capacities):
        expected = Counter(k for vm in fl.vms if (k := group_key(rule.of, vm)) is not None)
        assert dict(monitor._capacity_sizes(i, rule)) == dict(expected)
        assert set(monitor._sizes) == set(range(len(monitor.capacities)))  # each rule's sizes counted once, kept


def test_wave_counts_start_afresh_each_wave_and_waves_never_go_back() -> None:
    from engine.run.monitors import Monitor

    fl = X.fleet({"ss": 10})
    monitor = Monitor(X.policy(rules=X.default_rules()[:1]), fl, lambda scope, key, names, t: 0)  # cap 2 per wave
    monitor.on_batch_start(0, 0, 0, [0, 1], "ss")
    monitor.on_batch_start(1, 0, 600, [2, 3], "ss")  # a new wave: two more are fine
    with pytest.raises(MonitorBreach, match=r"3 VMs of scale set ss in one wave \(wave 1\), more than the cap 2"):
        monitor.on_batch_start(1, 0, 700, [4], "ss")
    with pytest.raises(MonitorBreach, match="started in executed wave 0 after wave 1"):
        monitor.on_batch_start(0, 0, 800, [5], "ss")

"""Each gate alone on hand-built fleets (issue 4, "Tests"), through the executor in-process."""

from __future__ import annotations

import json
from typing import Any

import exec_support as X

from engine.model.faults import parse_faults
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule
from engine.run.driver import SimDriver
from engine.run.events import MemorySink, parse_events
from engine.run.executor import RunResult, execute, final_fleet

DA = {"publisher": "Microsoft.Azure.Monitoring.DependencyAgent", "type": "DependencyAgentLinux"}
AMA = {"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent"}


def run(fl: Fleet, sch: Schedule, faults: dict[str, Any] | None = None, seed: int = 0, **kw: Any
        ) -> tuple[RunResult, list[dict[str, Any]], str]:
    pol = kw.pop("policy", None) or X.policy()
    sink = MemorySink()
    result = execute(pol, fl, sch, SimDriver(fl, parse_faults(faults or {}, fl), seed), sink, **kw)
    text = sink.text()
    parse_events(text)  # every line matches the documented event model
    return result, [json.loads(line) for line in sink.lines], text


def of(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["event"] == kind]


def test_bad_version_everywhere_stops_after_the_first_batch() -> None:
    fl = X.fleet({"ss": 10})
    result, ev, _ = run(fl, X.schedule(fl), {"bad_versions": [{**DA, "version": "9.10", "fail_rate": 1.0}]})
    started = of(ev, "install_started")
    assert len(started) == 2  # the first batch: 20% of 10
    assert len(of(ev, "rolled_back")) == 2
    stops = of(ev, "set_stopped")
    assert len(stops) == 1 and stops[0]["rule"] == "stop_upgraded"
    assert stops[0]["detail"]["upgraded"] == 2 and stops[0]["detail"]["upgraded_unhealthy"] == 2
    assert result.exit_code == 3 and result.states == {"failed": 2, "stopped": 8}
    after = final_fleet(fl, result)
    assert all(e.version == "9.5" for vm in after.vms for e in vm.extensions)  # nobody left on the bad version
    assert all(vm.healthy for vm in after.vms)


def test_three_of_ten_unhealthy_blocks_before_anything_is_installed() -> None:
    fl = X.fleet({"ss": 10}, unhealthy=("ss-1", "ss-2", "ss-3"))
    result, ev, _ = run(fl, X.schedule(fl))
    assert not of(ev, "install_started") and not of(ev, "batch_started")
    blocked = of(ev, "set_blocked")
    assert len(blocked) == 1 and blocked[0]["rule"] == "precheck"
    assert blocked[0]["detail"]["unhealthy"] == 3 and blocked[0]["detail"]["set_size"] == 10
    assert result.states == {"blocked": 10} and result.exit_code == 3


def test_two_vm_set_with_one_unhealthy_says_why_and_what_unblocks() -> None:
    fl = X.fleet({"tiny": 2}, unhealthy=("tiny-1",))
    result, ev, _ = run(fl, X.schedule(fl))
    (h,) = result.halts
    assert h.kind == "blocked" and h.rule == "precheck"
    assert "1 of 2 VMs of scale set tiny are unhealthy (50%), more than the 20% cap" in h.why
    assert "spec.wg:10:3" in h.why
    assert h.unblock.startswith("repair tiny-1, or raise the unhealthy cap of rule precheck (spec.wg:10:3) to at least 50%")
    assert of(ev, "set_blocked")[0]["detail"]["unblock"] == h.unblock
    assert not of(ev, "install_started")


def test_maintenance_during_a_batch_stops_at_the_end_of_that_batch() -> None:
    fl = X.fleet({"ss": 10})
    faults = {"maintenance": [{"at_minutes": 1, "vms": ["ss-1", "ss-2", "ss-3"], "minutes": 60}]}
    result, ev, _ = run(fl, X.schedule(fl), faults)
    first_end = of(ev, "batch_finished")[0]
    (stop,) = of(ev, "set_stopped")
    assert stop["rule"] == "stop_unhealthy" and stop["time"] == first_end["time"]
    assert stop["detail"]["unhealthy_max"] == 3
    assert len(of(ev, "batch_started")) == 1  # nothing after the batch in which the set went unhealthy
    assert len(of(ev, "health_ok")) == 2  # the batch itself finished normally
    assert result.states == {"stopped": 8, "succeeded": 2}
    assert "ss-1, ss-2, ss-3" in result.halts[0].unblock


def test_two_extensions_on_one_vm_one_failing_the_other_upgrades() -> None:
    fl = X.fleet({}, singles=1, exts=("da", "ama"))
    result, ev, _ = run(fl, X.schedule(fl), {"bad_versions": [{**DA, "version": "9.10"}]},
                        policy=X.policy(X.default_gates(max_attempts=0)))
    assert [e["extension"] for e in of(ev, "rolled_back")] == ["da"]
    assert [e["extension"] for e in of(ev, "health_ok")] == ["ama"]
    exts = {e.name: e.version for e in final_fleet(fl, result).vms[0].extensions}
    assert exts == {"da": "9.5", "ama": "1.3"}
    # And when the install itself errors out, the same holds.
    result2, _, _ = run(fl, X.schedule(fl), {"vm_failures": [{"vm": "single-0", "extension": "ama"}]},
                        policy=X.policy(X.default_gates(max_attempts=0)))
    exts2 = {e.name: e.version for e in final_fleet(fl, result2).vms[0].extensions}
    assert exts2 == {"da": "9.10", "ama": "1.2"}


def test_retry_after_the_interval_in_virtual_time() -> None:
    fl = X.fleet({}, singles=1)
    pol = X.policy(X.default_gates(retry_after=86400, max_attempts=3))
    result, ev, _ = run(fl, X.schedule(fl), {"vm_failures": [{"vm": "single-0", "extension": "da", "attempts": 2}]},
                        policy=pol)
    retries = of(ev, "retry_scheduled")
    assert [r["detail"]["attempt"] for r in retries] == [2, 3]
    starts = of(ev, "install_started")
    assert len(starts) == 3
    for r, s in zip(retries, starts[1:], strict=True):
        assert s["time"] == r["detail"]["due_minutes"] == round(r["time"] + 1440, 3)
    assert result.outcome == "completed" and result.retried == 1
    # With --max-retries 1 the second failure is final.
    result2, ev2, _ = run(fl, X.schedule(fl), {"vm_failures": [{"vm": "single-0", "extension": "da", "attempts": 2}]},
                          policy=pol, max_retries=1)
    assert len(of(ev2, "retries_exhausted")) == 1 and result2.states == {"failed": 1}


def test_same_seed_same_bytes_other_seed_other_story() -> None:
    fl = X.fleet({"a": 10, "b": 5, "c": 7}, singles=3, exts=("da", "ama"))
    faults = {"bad_versions": [{**AMA, "version": "1.3", "fail_rate": 0.3}],
              "maintenance": [{"at_minutes": 3, "vms": ["b-1"], "minutes": 2}],
              "slow_installs": [{"vm": "c-2", "minutes": 4.5}]}
    texts = {run(fl, X.schedule(fl), faults, seed=s)[2] for s in (11, 11, 11)}
    assert len(texts) == 1
    assert run(fl, X.schedule(fl), faults, seed=12)[2] not in texts


def test_major_version_refused_at_run_time() -> None:
    fl = X.fleet({}, singles=1)
    result, ev, _ = run(fl, X.schedule(fl, to={"da": "10.0"}))
    (refused,) = of(ev, "install_refused")
    assert "crosses a major version" in refused["detail"]["reason"]
    assert not of(ev, "install_started")
    assert result.states == {"refused": 1} and result.exit_code == 3
    assert final_fleet(fl, result).vms[0].extensions[0].version == "9.5"


def test_phase_held_names_what_holds_it() -> None:
    fl = X.fleet({"east": 10, "west": 5}, regions=("eastus", "westus"))
    sch = X.schedule(fl, phase_of_region={"eastus": 0, "westus": 1})
    result, ev, _ = run(fl, sch, {"bad_versions": [{**DA, "version": "9.10"}]})
    (held,) = of(ev, "phase_held")
    assert held["rule"] == "phases" and held["detail"]["phase"] == 1
    reasons = [h["reason"] for h in held["detail"]["holders"]]
    assert "scale set east stopped by rule stop_upgraded" in reasons
    assert not [e for e in of(ev, "install_started") if e["vm"].startswith("west")]
    assert result.states["not_started"] == 5 and result.held is not None
    assert not of(ev, "phase_started")[1:]  # phase 1 never started


def test_phase_waits_for_a_retry_then_starts() -> None:
    fl = X.fleet({}, singles=2, regions=("eastus", "westus"))
    sch = X.schedule(fl, phase_of_region={"eastus": 0, "westus": 1})
    pol = X.policy(X.default_gates(retry_after=3600))
    result, ev, _ = run(fl, sch, {"vm_failures": [{"vm": "single-0", "extension": "da", "attempts": 1}]}, policy=pol)
    held = of(ev, "phase_held")
    assert len(held) == 1 and held[0]["detail"]["waiting_for_retries"]
    phase1 = of(ev, "phase_started")[1]
    retry_ok = next(e for e in of(ev, "health_ok") if e["vm"] == "single-0")
    assert phase1["time"] >= retry_ok["time"] and result.outcome == "completed"


def test_keep_on_timeout_leaves_the_vm_unhealthy_on_the_new_version() -> None:
    fl = X.fleet({}, singles=1)
    result, ev, _ = run(fl, X.schedule(fl), {"bad_versions": [{**DA, "version": "9.10"}]},
                        policy=X.policy(X.default_gates(on_timeout="keep")))
    assert of(ev, "kept_unhealthy") and not of(ev, "rolled_back")
    vm = final_fleet(fl, result).vms[0]
    assert vm.extensions[0].version == "9.10" and vm.healthy is False


def test_pause_between_batches_of_a_set() -> None:
    fl = X.fleet({"ss": 10})
    result, ev, _ = run(fl, X.schedule(fl), policy=X.policy(X.default_gates(pause=600)))
    starts = [e["time"] for e in of(ev, "batch_started")]
    ends = [e["time"] for e in of(ev, "batch_finished")]
    assert len(starts) == 5
    for end, nxt in zip(ends, starts[1:], strict=False):
        assert nxt == round(end + 10, 3)
    assert result.outcome == "completed"


def test_final_state_keeps_original_spelling_and_unknown_fields() -> None:
    fl = X.fleet({}, singles=2)
    data = json.loads(fl.to_json())
    data["vms"][1]["extensions"][0]["version"] = "9.5.0"
    data["vms"][1]["owner"] = "team-a"
    from engine.model.fleet import parse_fleet

    fl2 = parse_fleet(data)
    sch = X.schedule(fl2, exts=("da",))
    # Only single-0 upgrades: single-1 keeps "9.5.0" exactly as written.
    sch = Schedule.model_validate({**sch.model_dump(), "waves": [
        {**w.model_dump(), "tasks": [t.model_dump() for t in w.tasks if t.vm == "single-0"]} for w in sch.waves]})
    result, _, _ = run(fl2, sch)
    after = json.loads(final_fleet(fl2, result).to_json())
    assert after["vms"][0]["extensions"][0]["version"] == "9.10"
    assert after["vms"][1]["extensions"][0]["version"] == "9.5.0" and after["vms"][1]["owner"] == "team-a"


def test_an_unhealthy_vm_is_deferred_and_retried_and_does_not_hold_the_phase() -> None:
    fl = X.fleet({"east": 10, "west": 5}, unhealthy=("east-0",), regions=("eastus", "westus"))
    sch = X.schedule(fl, phase_of_region={"eastus": 0, "westus": 1})
    pol = X.policy(X.default_gates(retry_after=3600, max_attempts=1))
    result, ev, _ = run(fl, sch, policy=pol)
    deferred = of(ev, "install_deferred")
    assert [(e["vm"], e["detail"]["attempt"]) for e in deferred] == [("east-0", 1), ("east-0", 2)]
    assert not [e for e in of(ev, "install_started") if e["vm"] == "east-0"]
    assert not of(ev, "phase_held") and len(of(ev, "phase_started")) == 2
    assert result.states == {"succeeded": 14, "unhealthy_vm": 1} and result.exit_code == 3


def test_gates_and_the_monitor_group_by_geography() -> None:
    """A precheck of the geography scope (from the bundled Azure table) blocks the whole geography; a schedule with
    more of a geography in one wave than its cap is a monitor breach."""
    from fractions import Fraction

    import pytest

    from dsl.policy import Capacity, Percent, PrecheckGate
    from engine.model.errors import MonitorBreach

    fl = X.fleet({}, singles=4, regions=("eastus", "westus"), unhealthy=("single-0",))  # both "United States"
    gates = (PrecheckGate("geo_precheck", X.span(30), of="geography", cap=X.CAP20), *X.default_gates()[1:])
    result, events, _ = run(fl, X.schedule(fl), policy=X.policy(gates=gates, rules=()))
    blocked = [e for e in events if e["event"] == "set_blocked"]
    assert [e["detail"]["group"] for e in blocked] == ["geography United States"]
    assert blocked[0]["detail"]["set_size"] == 4 and result.states == {"blocked": 4}
    cap = Capacity("geo_cap", X.span(31), amount=Percent(Fraction(50)), of="geography", within="wave")
    healthy = X.fleet({}, singles=4, regions=("eastus", "westus"))
    with pytest.raises(MonitorBreach, match=r"3 VMs of geography United States in one wave \(wave 0\), more than the "
                                            r"cap 2 \(rule geo_cap"):
        run(healthy, X.schedule(healthy), policy=X.policy(rules=(cap,)))

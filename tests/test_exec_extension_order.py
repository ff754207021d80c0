"""``ExtensionOrder`` in the executor: a VM's tasks run in the rules' order, the second only after the first
succeeded there (held otherwise, and retried with the first's retry); the monitor catches an executor that does
not; a cycle is refused before anything runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import exec_support as X
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.policy import ExtensionOrder, ExtensionSelector, Policy
from engine.model.errors import InputError, MonitorBreach
from engine.model.faults import parse_faults
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule, parse_schedule
from engine.run.driver import SimDriver
from engine.run.events import MemorySink, parse_events
from engine.run.executor import Executor, RunResult, Task, check_schedule, execute
from engine.run.journal import Journal
from engine.run.ordering import TaskOrder

DA = {"publisher": "Microsoft.Azure.Monitoring.DependencyAgent", "type": "DependencyAgentLinux"}
DA_FIRST = ExtensionOrder("da_first", X.span(20), first=ExtensionSelector(type="DependencyAgentLinux"),
                          second=ExtensionSelector(name="ama"))


def _policy(*order: ExtensionOrder, retries: int = 3) -> Policy:
    gates = X.default_gates(retry_after=3600, max_attempts=retries)
    return X.policy(gates=gates if retries else tuple(g for g in gates if g.name != "retry"),
                    rules=(*X.default_rules(), *order))


def _single(**kw: Any) -> Fleet:
    return X.fleet({}, singles=kw.pop("singles", 1), exts=("da", "ama"), **kw)


def _run(pol: Policy, fl: Fleet, sch: Schedule | None = None, faults: dict[str, Any] | None = None,
         executor: type[Executor] = Executor, **kw: Any) -> tuple[list[dict[str, Any]], RunResult]:
    sink = MemorySink()
    sch = sch if sch is not None else X.schedule(fl)
    check_schedule(sch, fl)
    result = executor(pol, fl, sch, SimDriver(fl, parse_faults(faults or {}, fl), 3), sink, **kw).run()
    parse_events(sink.text())  # every line, install_held included, is an event of the schema
    return [json.loads(line) for line in sink.lines], result


def _of(events: list[dict[str, Any]], vm: str = "single-0") -> list[tuple[str, str]]:
    return [(e["event"], e["extension"]) for e in events if e.get("vm") == vm]


def test_without_a_rule_a_vms_tasks_run_by_extension_name() -> None:
    events, result = _run(_policy(), _single())
    starts = [x for kind, x in _of(events) if kind == "install_started"]
    assert starts == ["ama", "da"] and result.exit_code == 0


def test_the_first_runs_before_the_second_and_the_second_starts_after_the_first_is_healthy() -> None:
    events, result = _run(_policy(DA_FIRST), _single())
    mine = [e for e in events if e.get("vm") == "single-0"]
    assert [(e["event"], e["extension"]) for e in mine] == [
        ("install_started", "da"), ("install_succeeded", "da"), ("health_ok", "da"),
        ("install_started", "ama"), ("install_succeeded", "ama"), ("health_ok", "ama")]
    assert mine[3]["time"] >= mine[2]["time"]
    assert result.exit_code == 0 and result.states == {"succeeded": 2}


def test_the_order_is_a_stable_topological_order_with_ties_by_name() -> None:
    fl = X.fleet({}, singles=1, exts=("da", "ama"))
    vm = fl.vms[0]
    exts = sorted(vm.extensions, key=lambda e: e.name)
    assert TaskOrder([]).of_vm(vm.name, exts) is None  # no rule: by name
    found = TaskOrder([DA_FIRST]).of_vm(vm.name, exts)
    assert found is not None and [exts[i].name for i in found.order] == ["da", "ama"]
    unrelated = ExtensionOrder("other", X.span(21), first=ExtensionSelector(name="x"), second=ExtensionSelector(name="y"))
    assert TaskOrder([unrelated]).of_vm(vm.name, exts) is None


def test_a_cycle_is_refused_before_anything_runs() -> None:
    back = ExtensionOrder("ama_first", X.span(22), first=ExtensionSelector(name="ama"),
                          second=ExtensionSelector(type="DependencyAgentLinux"))
    fl = _single()
    sink = MemorySink()
    with pytest.raises(InputError, match="the extension order rules make a cycle on VM single-0") as err:
        execute(_policy(DA_FIRST, back), fl, X.schedule(fl), SimDriver(fl), sink)
    assert "da before ama (rule da_first, spec.wg:20:3)" in str(err.value)
    assert "ama before da (rule ama_first, spec.wg:22:3)" in str(err.value)
    assert err.value.diagnostics[0].code == "E-EXTENSION-ORDER" and sink.lines == []


def test_a_failed_first_holds_the_second_and_both_are_retried_together() -> None:
    faults = {"vm_failures": [{"vm": "single-0", "extension": "da", "attempts": 1}]}
    events, result = _run(_policy(DA_FIRST), _single(), faults=faults)
    held = [e for e in events if e["event"] == "install_held"]
    assert len(held) == 1 and held[0]["extension"] == "ama" and held[0]["rule"] == "da_first"
    assert held[0]["detail"] == {"reason": "waits for da to succeed on this VM first, which failed to install",
                                 "after": "da", "span": "spec.wg:20:3"}
    retries = {e["extension"]: e for e in events if e["event"] == "retry_scheduled"}
    assert retries["ama"]["detail"]["due_minutes"] == retries["da"]["detail"]["due_minutes"]
    assert retries["ama"]["detail"]["after"] == ["da"] and retries["ama"]["detail"]["attempt"] == 1
    assert _of(events)[-6:] == [("install_started", "da"), ("install_succeeded", "da"), ("health_ok", "da"),
                                ("install_started", "ama"), ("install_succeeded", "ama"), ("health_ok", "ama")]
    assert result.states == {"succeeded": 2} and result.exit_code == 0


def test_a_first_in_an_earlier_wave_that_failed_holds_the_second_until_its_retry() -> None:
    fl = _single()
    tasks = {t["extension"]: t for t in (
        {"vm": "single-0", "extension": e, "from_version": v, "to_version": X.target(e)}
        for e, v in (("da", "9.5"), ("ama", "1.2")))}
    sch = parse_schedule({"phases": [{"index": 0, "regions": ["eastus"]}], "lower_bound": 0, "optimal": False,
                          "waves": [{"index": 0, "phase": 0, "tasks": [tasks["da"]]},
                                    {"index": 1, "phase": 0, "tasks": [tasks["ama"]]}]})
    faults = {"vm_failures": [{"vm": "single-0", "extension": "da", "attempts": 1}]}
    events, result = _run(_policy(DA_FIRST), fl, sch, faults)
    assert [e["extension"] for e in events if e["event"] == "install_held"] == ["ama"]
    retries = {e["extension"]: e["detail"]["due_minutes"] for e in events if e["event"] == "retry_scheduled"}
    assert retries["ama"] == retries["da"]  # with the first's retry, not an hour after its own wave
    retry_waves = [e["detail"]["wave"] for e in events if e["event"] == "wave_started" and e["detail"].get("retry")]
    assert retry_waves == [0, 1]  # the first's wave of retries runs first
    assert result.states == {"succeeded": 2}


@pytest.mark.parametrize("retries", [2, 0])
def test_a_first_that_never_succeeds_leaves_the_second_held(retries: int) -> None:
    faults = {"bad_versions": [{**DA, "version": "9.10", "fail_rate": 1.0}]}
    events, result = _run(_policy(DA_FIRST, retries=retries), _single(), faults=faults)
    held = [e for e in events if e["event"] == "install_held"]
    assert len(held) == retries + 1
    assert held[0]["detail"]["reason"].endswith("which was rolled back (its health wait failed)")
    assert not any(e["event"] == "install_started" and e["extension"] == "ama" for e in events)
    assert result.states == {"failed": 1, "held_by_order": 1} and result.exit_code == 3


def test_a_first_deferred_on_an_unhealthy_vm_leaves_the_second_unhealthy_vm_too() -> None:
    fl = _single(unhealthy=("single-0",))
    events, result = _run(_policy(DA_FIRST, retries=1), fl)
    assert [e["extension"] for e in events if e["event"] == "install_held"] == ["ama", "ama"]
    assert result.states == {"unhealthy_vm": 2}


def test_a_refused_first_leaves_the_second_held() -> None:
    fl = _single()
    events, result = _run(_policy(DA_FIRST), fl, X.schedule(fl, to={"da": "10.0"}))
    held = [e for e in events if e["event"] == "install_held"]
    assert held[0]["detail"]["reason"].endswith("which was refused (crosses a major version)")
    assert result.states == {"refused": 1, "held_by_order": 1}


def test_held_runs_resume_from_their_journal_to_the_same_end(tmp_path: Path) -> None:
    fl = X.fleet({"a": 10}, singles=2, exts=("da", "ama"))
    faults = {"vm_failures": [{"vm": "a-1", "extension": "da", "attempts": 1}, {"vm": "single-1", "extension": "da"}]}
    plain, _ = _run(_policy(DA_FIRST), fl, faults=faults)
    j = Journal.create(tmp_path / "run.db", {})
    first, _ = _run(_policy(DA_FIRST), fl, faults=faults, journal=j)
    j.close()
    j2 = Journal.resume(tmp_path / "run.db")
    again, _ = _run(_policy(DA_FIRST), fl, faults=faults, journal=j2)
    assert plain == first == again and j2.commits == 0
    assert any(e["event"] == "install_held" for e in plain)


class NoHold(Executor):
    """A broken executor: installs the second whatever became of the first."""

    def blocking(self, task: Task, waits: list[tuple[Task, ExtensionOrder]]) -> tuple[Task, ExtensionOrder] | None:
        return None


class ByName(NoHold):
    """A broken executor: ignores the order rules, running a VM's tasks by extension name, and never holds."""

    def order_key(self, task: Task) -> tuple[int, str]:
        return 0, task.ref.extension


def test_the_monitor_catches_an_executor_that_installs_the_second_after_a_failed_first() -> None:
    faults = {"vm_failures": [{"vm": "single-0", "extension": "da", "attempts": 1}]}
    with pytest.raises(MonitorBreach, match=r"install of ama started on single-0 before da succeeded there: "
                                            r"extension type \"DependencyAgentLinux\" must come first "
                                            r"\(rule da_first \(spec.wg:20:3\)\)"):
        _run(_policy(DA_FIRST), _single(), faults=faults, executor=NoHold)


def test_the_monitor_catches_an_executor_that_ignores_the_order() -> None:
    with pytest.raises(MonitorBreach, match="install of ama started on single-0 before da succeeded"):
        _run(_policy(DA_FIRST), _single(), executor=ByName)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 4), st.lists(st.sampled_from(["single-0", "single-1", "single-2", "single-3"]), max_size=3),
       st.sampled_from([0.0, 0.5, 1.0]), st.booleans(), st.integers(0, 50))
def test_the_real_executor_never_trips_the_order_monitor(n: int, failing: list[str], rate: float, split: bool,
                                                        seed: int) -> None:
    fl = X.fleet({"s": 5}, singles=n, exts=("da", "ama"), regions=("eastus", "westus"))
    vms = {v.name for v in fl.vms}
    faults = {"vm_failures": [{"vm": v, "extension": "da", "attempts": 1} for v in sorted(set(failing)) if v in vms],
              "bad_versions": [{**DA, "version": "9.10", "fail_rate": rate}] if rate else [],
              "maintenance": [{"at_minutes": 1, "vms": sorted(vms)[:2], "minutes": 3}]}
    sch = X.schedule(fl, exts=("da",) if split else None)
    if split:  # the ama tasks a wave after all the da tasks: the first in an earlier wave
        data = json.loads(sch.to_json())
        later = [{"vm": v.name, "extension": "ama", "from_version": "1.2", "to_version": "1.3"} for v in fl.vms]
        data["waves"].append({"index": len(data["waves"]), "phase": 0, "tasks": later})
        sch = parse_schedule(data)
    sink = MemorySink()
    result = execute(_policy(DA_FIRST, retries=2), fl, sch, SimDriver(fl, parse_faults(faults, fl), seed), sink)
    events = [json.loads(line) for line in sink.lines]
    ok: set[tuple[str, str]] = set()
    for e in events:  # the order on every VM, read from the log: no ama install before that VM's da succeeded
        if e["event"] == "health_ok":
            ok.add((e["vm"], e["extension"]))
        if e["event"] == "install_started" and e["extension"] == "ama":
            assert (e["vm"], "da") in ok, e
    assert result.states.get("held_by_order", 0) <= result.states.get("failed", 0) + result.states.get("refused", 0)

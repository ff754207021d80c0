"""The differential soundness fuzzer of the prover (``bench/prove_fuzz.py``) in a small run, and every disagreement
it ever reported, kept as a regression case."""

from __future__ import annotations

import importlib.util
import json
import sys
from argparse import Namespace
from pathlib import Path
from types import ModuleType

from dsl.loader import load_policy
from dsl.policy import RetryGate
from engine.model.faults import parse_faults
from engine.model.fleet import parse_fleet
from engine.model.schedule import parse_schedule
from engine.run.driver import SimDriver
from engine.run.events import MemorySink
from engine.run.executor import execute

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "bench" / "prove_fuzz.py"


def _fuzz() -> ModuleType:
    """The script as a module, loaded once: its dataclasses and its workers' function are looked up by module name
    (pickling, for ``--workers``), so every test must use the one registered under that name."""
    if "prove_fuzz" in sys.modules:
        return sys.modules["prove_fuzz"]
    spec = importlib.util.spec_from_file_location("prove_fuzz", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["prove_fuzz"] = module
    spec.loader.exec_module(module)
    return module


def test_a_small_fuzz_run_finds_no_disagreement() -> None:
    fuzz = _fuzz()
    args = Namespace(fleets=6, schedules=4, runs=3, time_limit=5.0, diff_share=0.1, progress=0)
    stats = fuzz.run(60, 7, args)
    assert stats.disagreements == [], stats.disagreements[:1]
    assert stats.cases == 60
    assert stats.status["proven"] >= 10 and stats.status["refuted"] >= 5  # the cases are not trivial
    assert stats.accepted >= 100  # proven answers were searched on schedules the spec accepts


def test_planner_schedules_and_their_mutations_are_searched_without_disagreement() -> None:
    """The planner's schedule under the spec presses on its limits; with the digests that tie it to the spec left
    out, the claim's policy judges it too (with them, every claim "disagreed": the digest, not a rule, refused it)."""
    fuzz = _fuzz()
    args = Namespace(fleets=3, schedules=2, runs=2, time_limit=5.0, diff_share=0.1, progress=0, planned=2)
    stats = fuzz.run(20, 3, args)
    assert stats.disagreements == [], stats.disagreements[:1]
    assert stats.planned >= 5 and stats.planner_refused == 0


def test_calendar_cases_find_no_disagreement() -> None:
    """Time claims, rule claims under a spec with a calendar, and diffs with time rules, in a small run (the
    where-implication bug they found is pinned in tests/test_times.py)."""
    fuzz = _fuzz()
    args = Namespace(fleets=4, schedules=2, runs=2, time_limit=5.0, diff_share=0.2, time_share=0.8, progress=0)
    stats = fuzz.run(25, 5, args)
    assert stats.disagreements == [], stats.disagreements[:1]
    kinds = set(stats.kinds)
    assert kinds & {"Window", "Freeze", "Bake", "InstallTime"} and any(k.endswith(" timed") for k in kinds)
    assert stats.planned >= 10  # timed schedules were planned and searched


def test_the_totals_do_not_depend_on_workers_or_on_where_a_run_is_split() -> None:
    fuzz = _fuzz()

    def totals(count: int, start: int, workers: int) -> object:
        args = Namespace(fleets=3, schedules=2, runs=2, time_limit=5.0, diff_share=0.2, progress=0, start=start,
                         workers=workers, chunk=3)
        stats = fuzz.run(count, 11, args)
        return stats

    serial = totals(12, 0, 1)
    parallel = totals(12, 0, 2)
    first, second = totals(5, 0, 1), totals(7, 5, 1)
    fuzz.merge(first, second)
    for other in (parallel, first):
        assert fuzz.report(other, 1.0) == fuzz.report(serial, 1.0)
    assert serial.cases == 12 and sum(serial.status.values()) > 0


def test_the_retry_judge_pairs_each_retry_with_the_failure_before_it() -> None:
    """Seed 2 of the first 3,000-case run: an install deferred (the VM under maintenance) is an attempt and its
    failure at once; the judge once paired it with the wrong failure and saw a retry 9.75 min *before* one."""
    fuzz = _fuzz()
    spec_path = ROOT / "specs" / "azure-default.wg"
    spec = load_policy(spec_path, ROOT)
    vm = {"name": "vm0", "region": "westus", "subscription": "s1", "healthy": True, "zone": "1",
          "extensions": [{"name": "agent", "publisher": "Contoso", "type": "Agent", "version": "1.0",
                          "enable_automatic_upgrade": True}]}
    fleet = parse_fleet({"regions": [{"name": "westus", "pair": None, "zones": 2}],
                         "catalog": [{"publisher": "Contoso", "type": "Agent", "versions": ["1.0", "1.1"]}],
                         "scale_sets": [], "availability_sets": [], "vms": [vm]})
    schedule = parse_schedule({"phases": [{"index": 0, "regions": ["westus"]}],
                               "waves": [{"index": 0, "phase": 0, "tasks": [{"vm": "vm0", "extension": "agent",
                                                                              "from_version": "1.0",
                                                                              "to_version": "1.1"}]}],
                               "skipped": [], "lower_bound": 0, "optimal": False})
    faults = parse_faults({"bad_versions": [{"publisher": "Contoso", "type": "Agent", "version": "1.1",
                                             "fail_rate": 1.0}],
                           "maintenance": [{"at_minutes": 0, "vms": ["vm0"], "minutes": 60}]}, fleet)
    sink = MemorySink()
    result = execute(spec, fleet, schedule, SimDriver(fleet, faults, seed=0), sink)
    events = [json.loads(line) for line in sink.lines]
    assert any(e["event"] == "install_deferred" for e in events)
    assert fuzz.judge_run(RetryGate("claim", spec.gates[0].span), fleet, events, dict(result.versions)) == ""


def test_the_phase_judge_sees_a_phase_started_over_a_failed_task_and_not_one_held() -> None:
    """The judge of ``a phase starts only when ...`` against the executor with and without the spec's phase gate:
    a failing install in phase 0 is a breach only when nothing held phase 1."""
    from dataclasses import replace

    from dsl.policy import PhaseGate

    fuzz = _fuzz()
    spec = load_policy(ROOT / "specs" / "azure-default.wg", ROOT)
    ext = {"name": "agent", "publisher": "Contoso", "type": "Agent", "version": "1.0", "enable_automatic_upgrade": True}
    vms = [{"name": f"vm{i}", "region": r, "subscription": "s1", "healthy": True, "extensions": [ext]}
           for i, r in enumerate(("westus", "eastus"))]
    fleet = parse_fleet({"regions": [{"name": "westus"}, {"name": "eastus"}],
                         "catalog": [{"publisher": "Contoso", "type": "Agent", "versions": ["1.0", "1.1"]}],
                         "scale_sets": [], "availability_sets": [], "vms": vms})

    def task(vm: str) -> dict[str, str]:
        return {"vm": vm, "extension": "agent", "from_version": "1.0", "to_version": "1.1"}

    schedule = parse_schedule({"phases": [{"index": 0, "regions": ["westus"]}, {"index": 1, "regions": ["eastus"]}],
                               "waves": [{"index": 0, "phase": 0, "tasks": [task("vm0")]},
                                         {"index": 1, "phase": 1, "tasks": [task("vm1")]}],
                               "skipped": [], "lower_bound": 0, "optimal": False})
    faults = parse_faults({"vm_failures": [{"vm": "vm0", "extension": "agent", "attempts": None}]}, fleet)
    claim = PhaseGate("claim", spec.gates[0].span)
    verdicts = {}
    for held in (True, False):
        pol = spec if held else replace(spec, gates=tuple(g for g in spec.gates if not isinstance(g, PhaseGate)))
        sink = MemorySink()
        result = execute(pol, fleet, schedule, SimDriver(fleet, faults, seed=0), sink)
        events = [json.loads(line) for line in sink.lines]
        verdicts[held] = fuzz.judge_run(claim, fleet, events, dict(result.versions), schedule)
    assert verdicts[True] == ""
    assert verdicts[False].startswith("phase 1 started while vm0/agent of phase 0 had"), verdicts[False]


def test_the_stop_unhealthy_judge_sees_a_batch_after_an_unhealthy_one_only_without_the_gate() -> None:
    """Two of five VMs of a scale set in maintenance during the first batch (40% > 20%): with the spec's gates the
    set stops; without the stop and the precheck, the next batch starts and the judge says so."""
    from dataclasses import replace

    from dsl.policy import PrecheckGate, StopUnhealthyGate

    fuzz = _fuzz()
    spec = load_policy(ROOT / "specs" / "azure-default.wg", ROOT)
    ext = {"name": "agent", "publisher": "Contoso", "type": "Agent", "version": "1.0", "enable_automatic_upgrade": True}
    vms = [{"name": f"vm{i}", "region": "westus", "scale_set": "ss0", "subscription": "s1", "extensions": [ext]}
           for i in range(5)]
    fleet = parse_fleet({"regions": [{"name": "westus"}],
                         "catalog": [{"publisher": "Contoso", "type": "Agent", "versions": ["1.0", "1.1"]}],
                         "scale_sets": [{"name": "ss0", "region": "westus"}], "availability_sets": [], "vms": vms})
    task = {"extension": "agent", "from_version": "1.0", "to_version": "1.1"}
    schedule = parse_schedule({"phases": [{"index": 0, "regions": ["westus"]}],
                               "waves": [{"index": i, "phase": 0, "tasks": [{"vm": f"vm{i}", **task}]}
                                         for i in range(5)],
                               "skipped": [], "lower_bound": 0, "optimal": False})
    faults = parse_faults({"maintenance": [{"at_minutes": 1, "vms": ["vm3", "vm4"], "minutes": 2}]}, fleet)
    claim = next(g for g in spec.gates if isinstance(g, StopUnhealthyGate))
    verdicts = {}
    for keep in (True, False):
        gates = tuple(g for g in spec.gates if keep or not isinstance(g, StopUnhealthyGate | PrecheckGate))
        sink = MemorySink()
        result = execute(replace(spec, gates=gates), fleet, schedule, SimDriver(fleet, faults, seed=0), sink)
        events = [json.loads(line) for line in sink.lines]
        verdicts[keep] = fuzz.judge_run(claim, fleet, events, dict(result.versions), schedule)
    assert verdicts[True] == ""
    assert verdicts[False].startswith("a batch of scale set ss0 started at"), verdicts[False]


def test_version_cases_are_proven_or_refuted_as_the_resolution_says() -> None:
    """``no VM ever moves to a new major version``: judged on the real upgrade resolution of random fleets."""
    import random
    from collections import Counter

    fuzz = _fuzz()
    bases = [load_policy(ROOT / "specs" / name, ROOT) for name in fuzz.SPECS]
    stats = fuzz.Stats()
    for i in range(30):
        fuzz.version_case(random.Random(i), bases, stats, Namespace(fleets=6, time_limit=5.0))
    assert stats.disagreements == [], stats.disagreements[:1]
    assert stats.status == Counter({"proven": stats.status["proven"], "refuted": stats.status["refuted"]})
    assert stats.status["proven"] >= 5 and stats.status["refuted"] >= 3

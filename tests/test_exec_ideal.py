"""The ideal duration of a run (``RunResult.ideal``): a true lower bound of the duration of every run that upgrades
every task (issue 11: it used to be ``waves x (install + health wait)``, above the actual duration of a plain run,
since a healthy VM passes its health watch at once)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import exec_support as X
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dsl.policy import ExtensionOrder, ExtensionSelector
from engine.model.faults import parse_faults
from engine.run.driver import NOMINAL_INSTALL_SECONDS, SimDriver
from engine.run.events import MemorySink
from engine.run.executor import execute


def test_a_plain_run_takes_no_less_than_its_ideal_and_the_ideal_is_each_waves_longest_chain() -> None:
    fl = X.fleet({"a": 10, "b": 4}, singles=3, exts=("da", "ama"))
    sch = X.schedule(fl)
    sink = MemorySink()
    result = execute(X.policy(), fl, sch, SimDriver(fl), sink)
    assert result.exit_code == 0
    chains = [max(Counter(t.vm for t in w.tasks).values()) for w in sch.waves]
    assert result.ideal == sum(chains) * NOMINAL_INSTALL_SECONDS
    assert result.ideal <= result.duration
    assert result.ideal < len(sch.waves) * (NOMINAL_INSTALL_SECONDS + 300) < result.duration * 2  # the old ideal
    finished = json.loads(sink.lines[-1])
    assert finished["event"] == "run_finished" and finished["detail"]["ideal_minutes"] == result.ideal / 60


def test_slow_installs_lower_the_ideal_of_their_wave() -> None:
    fl = X.fleet({}, singles=2)
    faults = parse_faults({"slow_installs": [{"vm": "single-0", "minutes": 1}, {"vm": "single-1", "minutes": 1}]}, fl)
    result = execute(X.policy(), fl, X.schedule(fl), SimDriver(fl, faults), MemorySink())
    assert result.ideal == 60 and result.duration >= 60 and result.exit_code == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(1, 10), max_size=3), st.integers(0, 3),
       st.booleans(), st.data())
def test_every_completed_run_takes_at_least_its_ideal(sets: dict[str, int], singles: int, ordered: bool,
                                                     data: st.DataObject) -> None:
    fl = X.fleet(sets, singles=singles if sets else max(1, singles), exts=("da", "ama"), regions=("eastus", "westus"))
    names = [v.name for v in fl.vms]
    pick = st.lists(st.sampled_from(names), max_size=3, unique=True)
    faults: dict[str, Any] = {
        "vm_failures": [{"vm": v, "extension": data.draw(st.sampled_from(["da", "ama"])), "attempts": 1}
                        for v in data.draw(pick)],
        "slow_installs": [{"vm": v, "minutes": data.draw(st.sampled_from([0.5, 1, 7]))} for v in data.draw(pick)],
        "maintenance": [{"at_minutes": data.draw(st.integers(0, 20)), "vms": vs, "minutes": data.draw(st.integers(1, 30))}
                        for vs in [data.draw(pick)] if vs],
    }
    rules = X.default_rules()
    if ordered:
        rules = (*rules, ExtensionOrder("da_first", X.span(20), first=ExtensionSelector(name="da"),
                                        second=ExtensionSelector(name="ama")))
    pol = X.policy(X.default_gates(retry_after=600, max_attempts=3, pause=data.draw(st.sampled_from([0, 120]))), rules)
    sch = X.schedule(fl, phase_of_region={"eastus": 0, "westus": 1})
    result = execute(pol, fl, sch, SimDriver(fl, parse_faults(faults, fl), data.draw(st.integers(0, 99))), MemorySink())
    event(f"outcome: {result.outcome}")
    if result.outcome == "completed":
        assert result.ideal <= result.duration

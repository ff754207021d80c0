"""Scenarios drawn from a fault model: deterministic per seed, faithful to the rates, valid fault scripts; the fault
model format refuses bad input with JSON paths."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import exec_support as X
import jsonschema
import pytest
import risk_support as R
from typer.testing import CliRunner

from engine.cli import app
from engine.model.errors import InputError
from engine.model.fault_model import SAMPLE_FAULT_MODEL, load_fault_model, parse_fault_model
from engine.model.faults import parse_faults
from engine.model.fleet import load_fleet
from engine.model.resources import sample_fleet
from engine.risk.scenarios import WHOLE_RUN_MINUTES, build_space, draw_faults, poisson, scenario_seed


def test_a_seed_draws_one_scenario_and_seeds_differ() -> None:
    job = R.small_job()
    first = [draw_faults(job.space, scenario_seed(5, i)).script.to_json() for i in range(20)]
    again = [draw_faults(R.small_job().space, scenario_seed(5, i)).script.to_json() for i in range(20)]
    assert first == again
    assert len(set(first)) == 20
    seeds = {scenario_seed(s, i) for s in range(3) for i in range(2000)}
    assert len(seeds) == 6000 and all(0 <= x < 1 << 48 for x in seeds)


def test_drawn_scripts_are_valid_fault_scripts_of_the_fleet() -> None:
    job = R.small_job()
    for i in range(30):
        script = draw_faults(job.space, scenario_seed(1, i)).script
        parse_faults(json.loads(script.to_json()), job.fleet)  # every VM and extension named exists


def test_rates_are_kept_over_many_scenarios() -> None:
    job = R.small_job()
    n = 400
    counts: Counter[str] = Counter()
    for i in range(n):
        counts.update(draw_faults(job.space, scenario_seed(2, i)).counts)
    tasks, vms_with_tasks, healthy = len(job.space.tasks), len(job.space.task_vms), len(job.space.healthy_vms)
    assert abs(counts["install_failures"] / (n * tasks) - 0.05) < 0.01
    assert abs(counts["slow_installs"] / (n * vms_with_tasks) - 0.1) < 0.02
    assert abs(counts["unhealthy_at_start"] / (n * healthy) - 0.03) < 0.01
    expected_events = 60 * job.space.horizon_seconds / 86400
    assert abs(counts["maintenance_events"] / n - expected_events) < 0.1 * expected_events


@pytest.mark.parametrize("lam", [0.3, 4.0, 250.0])
def test_poisson_counts_have_the_mean(lam: float) -> None:
    draws = [poisson(seed, lam, "t") for seed in range(3000)]
    mean = sum(draws) / len(draws)
    assert abs(mean - lam) < 4 * (lam / len(draws)) ** 0.5
    assert poisson(0, 0.0, "t") == 0


def test_maintenance_takes_vms_of_one_set_and_start_windows_last() -> None:
    job = R.small_job()
    set_of = {vm.name: vm.set_name or vm.name for vm in job.fleet.vms}
    size = Counter(set_of.values())
    events = 0
    for i in range(50):
        drawn = draw_faults(job.space, scenario_seed(3, i))
        windows = drawn.script.maintenance[1:] if drawn.counts["unhealthy_at_start"] else drawn.script.maintenance
        assert len(windows) == drawn.counts["maintenance_events"]
        for m in windows:
            [unit] = {set_of[v] for v in m.vms}
            assert len(m.vms) == min(2, size[unit]) and m.minutes == 20
            assert 0 <= m.at_minutes * 60 < job.space.horizon_seconds
        events += len(windows)
    assert events > 50
    whole = parse_fault_model({"unhealthy_at_start": {"rate": 1.0}}, job.fleet)
    space = build_space(whole, job.policy, job.fleet, job.schedule)
    [m] = draw_faults(space, 7).script.maintenance
    assert m.minutes == WHOLE_RUN_MINUTES and m.vms == [vm.name for vm in job.fleet.vms if vm.healthy]


def test_any_new_version_covers_the_targets_not_listed() -> None:
    job = R.small_job()
    model = parse_fault_model({"any_new_version": {"probability": 1.0, "fail_rate": 0.25},
                               "bad_versions": [dict(R.MODEL["bad_versions"][0], probability=0.0)]}, job.fleet)
    script = draw_faults(build_space(model, job.policy, job.fleet, job.schedule), 11).script
    assert [(b.type, b.version, b.fail_rate) for b in script.bad_versions] == [("DependencyAgentLinux", "9.10", 0.25)]


def test_a_draw_depends_on_its_key_not_on_the_other_faults() -> None:
    # Turning one kind of fault off leaves the draws of the others as they were (no shared random stream).
    job = R.small_job()
    without_slow = parse_fault_model({k: v for k, v in R.MODEL.items() if k != "slow_installs"}, job.fleet)
    space = build_space(without_slow, job.policy, job.fleet, job.schedule)
    for i in range(10):
        a, b = draw_faults(job.space, i).script, draw_faults(space, i).script
        assert (a.vm_failures, a.maintenance, a.bad_versions) == (b.vm_failures, b.maintenance, b.bad_versions)


def _refusal(data: Any) -> list[str]:
    with pytest.raises(InputError) as e:
        parse_fault_model(data, X.fleet({"a": 3}, exts=("da", "ama")), "m.json")
    return [d.render() for d in e.value.diagnostics]


@pytest.mark.parametrize(("data", "expected"), [
    ([], "m.json: $: error[E-MODEL]: a fault model must be a JSON object"),
    ({"install_failure": {"rate": 0.1}}, "$.install_failure: error[E-MODEL]: unknown field 'install_failure'"),
    ({"install_failures": {"rate": 1.5}}, "$.install_failures.rate: error[E-MODEL]: Input should be less than or equal to 1"),
    ({"version": 2}, "$.version: error[E-MODEL]: Input should be 1"),
    ({"maintenance": [{"per_day": 1, "minutes": 0}]}, "$.maintenance[0].minutes: error[E-MODEL]: Input should be greater than 0"),
    ({"bad_versions": [{"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgnet", "version": "1.3",
                        "probability": 0.1}]},
     "$.bad_versions[0].type: error[E-MODEL]: no VM of the fleet has extension Microsoft.Azure.Monitor/AzureMonitorLinuxAgnet\n"
     "  = hint: did you mean 'Microsoft.Azure.Monitor/AzureMonitorLinuxAgent'?"),
    ({"bad_versions": [{"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent", "version": "1.x",
                        "probability": 0.1}]}, "$.bad_versions[0].version: error[E-MODEL]: bad version string '1.x'"),
    ({"bad_versions": [{"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent", "version": v,
                        "probability": 0.1} for v in ("1.3", "1.3.0")]},
     "$.bad_versions[1]: error[E-MODEL]: Microsoft.Azure.Monitor/AzureMonitorLinuxAgent 1.3.0 is listed twice"),
])
def test_bad_models_are_refused_with_json_paths(data: Any, expected: str) -> None:
    rendered = "\n".join(_refusal(data))
    assert expected in rendered, rendered


def test_the_schema_command_prints_the_fault_model_schema_and_the_sample_fits_it() -> None:
    r = CliRunner().invoke(app, ["schema", "fault-model"])
    assert r.exit_code == 0, r.output
    schema = json.loads(r.stdout)
    assert schema["title"] == "wavegate fault model v1"
    sample = json.loads(SAMPLE_FAULT_MODEL.read_text())
    jsonschema.validate(sample, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"slow_installs": {"rate": 2, "minutes": 1}}, schema)
    load_fault_model(SAMPLE_FAULT_MODEL, load_fleet(sample_fleet()))

"""`plan --scheduler`: the per-region solves run on a Dask cluster and give the same schedule bytes as locally."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from distributed import LocalCluster
from typer.testing import CliRunner

from dsl.loader import load_policy
from engine.cli import app
from engine.model.fleet import load_fleet
from engine.model.resources import bundled_spec
from engine.plan.synthesis import plan
from engine.risk.dispatch import Backend, cluster_map

FLEET = Path(__file__).parent / "fixtures" / "fleets" / "solver-regions.json"


def _loopback_cluster() -> LocalCluster:
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)


@pytest.mark.slow
def test_the_cluster_runs_every_region_solve_and_the_schedule_bytes_are_the_local_ones() -> None:
    policy, fleet = load_policy(bundled_spec()), load_fleet(FLEET)
    local = plan(policy, fleet, time_limit=30, workers=1)
    sent: list[str] = []
    with _loopback_cluster() as cluster, cluster_map(Backend("cluster", address=cluster.scheduler_address)) as run:

        def counting(fn: Callable[[Any], Any], jobs: list[Any]) -> list[Any]:
            sent.extend(job[1] for job in jobs)
            return run(fn, jobs)

        remote = plan(policy, fleet, time_limit=30, workers=1, region_map=counting)
    assert sent == ["eastus", "westus"], "the fixture no longer needs the solver: the test tests nothing"
    assert remote.schedule.to_json() == local.schedule.to_json()
    assert remote.optimal == local.optimal


@pytest.mark.slow
def test_plan_scheduler_option_writes_the_same_schedule_as_a_local_plan(tmp_path: Path) -> None:
    runner = CliRunner()
    here, there = tmp_path / "local.json", tmp_path / "cluster.json"
    assert runner.invoke(app, ["plan", "--fleet", str(FLEET), "-o", str(here), "-q"]).exit_code == 0
    with _loopback_cluster() as cluster:
        r = runner.invoke(app, ["plan", "--fleet", str(FLEET), "-o", str(there), "-q",
                                "--scheduler", cluster.scheduler_address])
    assert r.exit_code == 0, r.output
    assert there.read_bytes() == here.read_bytes()


def test_an_unreachable_scheduler_is_bad_input_in_one_line(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["plan", "--fleet", str(FLEET), "-q", "--scheduler", "tcp://127.0.0.1:9",
                                 "--connect-timeout", "0.5"])
    assert r.exit_code == 2
    assert "cannot reach the Dask scheduler" in r.output
    assert "Traceback" not in r.output

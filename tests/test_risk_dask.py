"""The scenarios on Dask: the synchronous scheduler, local worker processes (1 and 2), a loopback LocalCluster
started here, and one whose worker is killed mid-run all give the same outcomes, byte for byte (their digest)."""

from __future__ import annotations

import gc
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
import risk_support as R
from distributed import Client, LocalCluster, WorkerPlugin

from engine.model.errors import InputError
from engine.risk.dispatch import Backend, batch_size, batches, run_scenarios
from engine.risk.outcomes import RiskJob, results_digest, run_batch

N = 120


@pytest.fixture(scope="module")
def job() -> RiskJob:
    return R.small_job()


@pytest.fixture(scope="module")
def sync_digest(job: RiskJob) -> str:
    outcomes = run_scenarios(job, N, Backend("synchronous"))
    assert [o.index for o in outcomes] == list(range(N))
    assert {o.outcome for o in outcomes} == {"completed", "halted"}  # the faults make a real distribution
    return results_digest(outcomes)


def _loopback_cluster(workers: int = 2) -> LocalCluster:
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                        dashboard_address=None)


def test_batch_size_does_not_change_the_outcomes(job: RiskJob, sync_digest: str) -> None:
    for size in (1, 7, N):
        assert results_digest(run_scenarios(job, N, Backend("synchronous"), batch=size)) == sync_digest


@pytest.mark.slow
def test_one_and_two_local_workers_give_the_synchronous_digest(job: RiskJob, sync_digest: str) -> None:
    seen: list[tuple[int, int]] = []
    for workers in (1, 2):
        outcomes = run_scenarios(job, N, Backend("local", workers=workers), batch=5,
                                 progress=lambda done, total: seen.append((done, total)))
        assert results_digest(outcomes) == sync_digest
    assert seen[-1] == (N, N) and len(seen) == 2 * N // 5


@pytest.mark.slow
def test_a_loopback_cluster_started_here_gives_the_synchronous_digest(job: RiskJob, sync_digest: str) -> None:
    with _loopback_cluster() as cluster:
        outcomes = run_scenarios(job, N, Backend("cluster", address=cluster.scheduler_address), batch=4)
    assert results_digest(outcomes) == sync_digest


class KillOnce(WorkerPlugin):
    """Kills its worker process (SIGKILL, no goodbye) when the worker starts its third batch, once per marker file."""

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.started = 0

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing" or "run_batch" not in str(key):
            return
        self.started += 1
        if self.started >= 3 and not os.path.exists(self.marker):
            with open(self.marker, "w") as f:
                f.write(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_and_the_digest_is_unchanged(job: RiskJob, sync_digest: str,
                                                                         tmp_path: Path) -> None:
    marker = tmp_path / "killed"
    with _loopback_cluster() as cluster, Client(cluster, set_as_default=False) as client:
        client.register_plugin(KillOnce(str(marker)))
        outcomes = run_scenarios(job, N, Backend("cluster", address=cluster.scheduler_address), batch=2)
    assert marker.exists(), "no worker was killed: the test did not test anything"
    assert not psutil.pid_exists(int(marker.read_text()))
    assert results_digest(outcomes) == sync_digest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_scheduler_is_bad_input_within_the_timeout(job: RiskJob) -> None:
    address = f"tcp://127.0.0.1:{_closed_port()}"
    t = time.perf_counter()
    with pytest.raises(InputError) as e:
        run_scenarios(job, 4, Backend("cluster", address=address, connect_timeout=1.0))
    assert time.perf_counter() - t < 15
    [d] = e.value.diagnostics
    assert d.code == "E-DASK" and f"cannot reach the Dask scheduler at {address}" in d.message


def test_a_malformed_address_is_bad_input(job: RiskJob) -> None:
    with pytest.raises(InputError) as e:
        run_scenarios(job, 4, Backend("cluster", address="tpc://nowhere:8786", connect_timeout=1.0))
    assert "cannot reach the Dask scheduler at tpc://nowhere:8786" in e.value.diagnostics[0].message


def test_batch_size_aims_at_about_a_second_and_keeps_workers_busy() -> None:
    assert batch_size(1000, 2, 2407) == 14  # the sample: ~70 ms a scenario
    assert batch_size(1000, 2, 76_510) == 1  # 100k VMs: seconds a scenario
    assert batch_size(20, 2, 10) == 3  # few scenarios: four batches per worker
    assert [len(b) for b in batches(10, 4)] == [4, 4, 2]


def test_a_batch_leaves_no_garbage_behind(job: RiskJob) -> None:
    # An executor leaves reference cycles; a worker running thousands of scenarios must free them as it goes.
    # Only the cycles of wavegate's own objects count: threads left by an earlier test's Dask client make garbage
    # of their own between the two collections.
    gc.collect()
    run_batch(job, range(30))
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        ours = [o for o in gc.garbage if type(o).__module__.startswith(("engine", "dsl"))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert len(ours) < 10, sorted({type(o).__qualname__ for o in ours})

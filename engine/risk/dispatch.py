"""Running the scenarios on Dask: in this process (Dask's synchronous scheduler), on local worker processes (a
``distributed.LocalCluster`` on loopback) or on an existing cluster (``tcp://host:8786``).

Scenarios go out in batches (one Dask task runs ``engine.risk.outcomes.run_batch`` over a range of indices); the job
(policy, fleet, schedule, scenario space) is scattered to every worker once.  Outcomes are sorted by scenario index
when they come back, and each depends only on the job and its index, so the results are the same whatever the
scheduler, the worker count, the batch size or the order in which batches finish; a batch whose worker died is run
again by Dask (``distributed.scheduler.allowed-failures``) and yields the same outcomes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Literal

import dask
from dask.callbacks import Callback
from distributed import Client, LocalCluster, as_completed
from distributed.scheduler import KilledWorker

from dsl.diagnostics import Diagnostic
from engine.model.errors import InputError, WavegateError
from engine.risk.outcomes import RiskJob, ScenarioOutcome, run_batch

Progress = Callable[[int, int], None]  # (scenarios done, scenarios in all)

# Batch size: aim at tasks of about a second.  bench/risk.py measured a Dask task's own cost at about 2 ms on 2
# local workers (empty tasks), so a one-second task spends 0.2% on Dask, the progress bar moves every second, and
# the last batch keeps at most a second's imbalance at the end.  A scenario costs about 25 us per scheduled task
# (the executor's loop and its setup: ~70 ms on the 2,407-task sample, ~3 s at 100k VMs).
TARGET_TASK_SECONDS = 1.0
SCENARIO_BASE_SECONDS = 0.01
SCENARIO_SECONDS_PER_TASK = 25e-6
TASKS_PER_WORKER = 4  # at least this many batches per worker when there are enough scenarios (load balance)


class DaskError(WavegateError):
    """The Dask cluster failed the run (a batch killed its workers too often); exit 1."""


@dataclass(frozen=True)
class Backend:
    """Where the scenarios run."""

    kind: Literal["synchronous", "local", "cluster"]
    workers: int = 2  # local worker processes
    address: str | None = None  # the scheduler of a cluster
    connect_timeout: float = 10.0  # seconds: reaching the scheduler, and waiting for its first worker

    def describe(self) -> str:
        if self.kind == "synchronous":
            return "in this process (Dask synchronous scheduler)"
        if self.kind == "local":
            return f"{self.workers} local worker process{'es' if self.workers != 1 else ''}"
        return f"the Dask cluster at {self.address}"


def batch_size(scenarios: int, workers: int, tasks: int) -> int:
    """Scenarios per Dask task: about TARGET_TASK_SECONDS of work, fewer so each worker gets several tasks."""
    by_cost = max(1, round(TARGET_TASK_SECONDS / (SCENARIO_BASE_SECONDS + SCENARIO_SECONDS_PER_TASK * tasks)))
    by_balance = max(1, math.ceil(scenarios / (TASKS_PER_WORKER * max(1, workers))))
    return min(by_cost, by_balance)


def batches(scenarios: int, size: int) -> list[range]:
    return [range(start, min(start + size, scenarios)) for start in range(0, scenarios, size)]


def run_scenarios(job: RiskJob, scenarios: int, backend: Backend, *, batch: int | None = None,
                  progress: Progress | None = None) -> list[ScenarioOutcome]:
    """Run scenarios ``0..scenarios-1`` of ``job`` on ``backend``; the outcomes in scenario order."""
    workers = 1 if backend.kind == "synchronous" else backend.workers
    size = batch if batch is not None else batch_size(scenarios, workers, len(job.space.tasks))
    parts = batches(scenarios, size)
    report = progress if progress is not None else _no_progress
    if backend.kind == "synchronous":
        outcomes = _run_synchronous(job, parts, scenarios, report)
    elif backend.kind == "local":
        with _local_client(backend.workers) as client:
            outcomes = run_on_client(client, job, parts, scenarios, report)
    else:
        with _cluster_client(backend) as client:
            outcomes = run_on_client(client, job, parts, scenarios, report)
    return sorted(outcomes, key=lambda o: o.index)


@contextmanager
def cluster_map(backend: Backend) -> Iterator[Callable[[Callable[[Any], Any], list[Any]], list[Any]]]:
    """A ``map`` over the cluster at ``backend.address`` (e.g. the planner's per-region solves): results in the
    order of the items, so the caller's output does not depend on which worker ran what."""
    with _cluster_client(backend) as client:

        def run(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
            futures = client.map(fn, items, pure=False)
            try:
                return list(client.gather(futures))
            except KilledWorker as e:
                raise DaskError(f"a task killed its worker too often (Dask gave up on it): {e}") from None
            finally:
                client.cancel(futures)

        yield run


def _no_progress(done: int, total: int) -> None:
    return None


def _run_synchronous(job: RiskJob, parts: Sequence[range], total: int, progress: Progress) -> list[ScenarioOutcome]:
    done = 0

    def posttask(key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        nonlocal done
        if isinstance(result, list):  # a batch (the other node is the job itself)
            done += len(result)
            progress(done, total)

    # traverse=False: the job is one opaque value, not a dataclass for Dask to walk into.
    shared = dask.delayed(job, traverse=False)
    graph = [dask.delayed(run_batch, pure=False)(shared, part) for part in parts]
    with Callback(posttask=posttask):
        results = dask.compute(*graph, scheduler="synchronous")
    return [o for batch in results for o in batch]


def run_on_client(client: Client, job: RiskJob, parts: Sequence[range], total: int,
                  progress: Progress) -> list[ScenarioOutcome]:
    """Run the batches on a distributed client; the job is scattered to every worker once."""
    [shared] = client.scatter([job], broadcast=True, hash=False)
    futures = [client.submit(run_batch, shared, part, pure=False) for part in parts]
    out: list[ScenarioOutcome] = []
    try:
        for future in as_completed(futures, loop=client.loop):
            try:
                batch = future.result()
            except KilledWorker as e:
                raise DaskError(f"a batch of scenarios killed {e.last_worker.address if e.last_worker else 'its'} "
                                f"worker too often (Dask gave up on it): {e}") from None
            out.extend(batch)
            future.release()
            progress(len(out), total)
    finally:
        client.cancel([*futures, shared])
    return out


@contextmanager
def _local_client(workers: int) -> Iterator[Client]:
    """A LocalCluster of ``workers`` single-threaded processes on loopback, no dashboard; its logs silenced (a
    heartbeat racing the shutdown logs a traceback; a failing task reaches the client as its exception anyway)."""
    with (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address=None, silence_logs=logging.CRITICAL) as cluster,
          Client(cluster, set_as_default=False) as client):
        yield client


def _dask_error(msg: str, hint: str) -> InputError:
    return InputError([Diagnostic("E-DASK", msg, hint=hint)])


@contextmanager
def _cluster_client(backend: Backend) -> Iterator[Client]:
    """A client of the scheduler at ``backend.address``; unreachable, empty or mismatched clusters are bad input."""
    address = backend.address or ""
    try:
        client = Client(address, timeout=backend.connect_timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise _dask_error(f"cannot reach the Dask scheduler at {address}: {e}",
                          "start it (dask scheduler; dask worker tcp://HOST:8786), or check --scheduler / "
                          "DASK_SCHEDULER_ADDRESS; --workers N runs local workers instead") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=backend.connect_timeout)
        except (OSError, TimeoutError) as e:
            raise _dask_error(f"the Dask scheduler at {address} has no worker (waited {backend.connect_timeout:g} s): "
                              f"{e}", "start workers: dask worker " + address) from None
        _check_workers(client, address)
        yield client


def wavegate_version() -> str:
    """The wavegate version installed here (run on each worker to check the cluster runs the same code)."""
    try:
        return metadata.version("wavegate")
    except metadata.PackageNotFoundError:
        return "unknown"


def _check_workers(client: Client, address: str) -> None:
    try:
        seen: dict[str, str] = client.run(wavegate_version)
    except Exception as e:  # a worker that cannot even import wavegate fails here, with its own exception
        raise _dask_error(f"the workers of {address} cannot run wavegate: {type(e).__name__}: {e}",
                          "install this wavegate on every worker (pip install wavegate)") from None
    mine = wavegate_version()
    other = sorted({v for v in seen.values() if v != mine})
    if other:
        raise _dask_error(f"the workers of {address} run wavegate {', '.join(other)}, this client {mine}",
                          "install the same wavegate on the client and every worker")

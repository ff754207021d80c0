"""`wavegate risk` throughput: scenarios per second serial, on 2 local workers and on a LocalCluster, for the sample
fleet and a generated 100k-VM fleet; the cost of one Dask task; peak memory.

Usage:
    python bench/risk.py                                   # sample 1,000 scenarios, 100k 6 scenarios
    python bench/risk.py --sample-scenarios 2000 --big-scenarios 4 --cache /tmp/wg-bench
    python bench/risk.py --big-size 0                      # the sample only

Rows:
  serial        Dask's synchronous scheduler in this process (``--workers 0``);
  2 workers     ``--workers 2`` as the command runs it: a LocalCluster of 2 processes started and stopped inside the
                timing, the job scattered to both, the scenarios in batches of the default size;
  LocalCluster  an already running LocalCluster (2 single-threaded worker processes on loopback) reached by its
                address, as ``--scheduler tcp://...`` would: start-up outside the timing, steady-state throughput.
Each row checks that its results digest equals the serial row's.  The batch-size table runs the sample on the
LocalCluster with several batch sizes, and an empty task measures what Dask itself costs per task.

Memory: "client MB" is this process's peak RSS so far (ru_maxrss; it only grows, so read it row by row), "worker
MB" the largest peak RSS of the row's worker processes (asked from each worker before the cluster stops).

The machine is shared with other agents and its speed swings: the table opens with bench/simulate.py's calibration
(a fixed pure-Python workload, fastest of 3; lower = faster right now), once at the start and again before each
row ("cal s"): compare rows only next to it.
"""

from __future__ import annotations

import argparse
import logging
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from distributed import Client, LocalCluster

from engine import api
from engine.model.fault_model import SAMPLE_FAULT_MODEL, FaultModel, load_fault_model, parse_fault_model
from engine.model.fleet import Fleet
from engine.model.resources import bundled_spec, sample_fleet
from engine.risk.dispatch import Backend, batch_size, run_on_client, run_scenarios
from engine.risk.outcomes import RiskJob, results_digest
from engine.risk.scenarios import build_space

sys.path.insert(0, str(Path(__file__).resolve().parent))
from simulate import calibration_seconds, healthy_fleet, planned

# The 100k fleet's model: the sample's rates, with the suspect release of a type that fleet has.
BIG_MODEL = {
    "any_new_version": {"probability": 0.02, "fail_rate": 0.2},
    "install_failures": {"rate": 0.002, "attempts": 1},
    "slow_installs": {"rate": 0.01, "minutes": 6},
    "maintenance": [{"per_day": 24, "minutes": 30, "vms": 3}],
    "unhealthy_at_start": {"rate": 0.001, "minutes": None},
}


def _cluster() -> LocalCluster:
    return LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                        silence_logs=logging.CRITICAL)


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _workers_peak_mb(client: Client) -> float:
    return max(client.run(_peak_mb).values(), default=0.0)


def _noop(x: int) -> int:
    return x


def task_overhead_ms(client: Client, tasks: int = 1000) -> float:
    """Wall time per empty Dask task on the cluster (submit, schedule, run, gather), best of 3."""
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        client.gather(client.map(_noop, range(tasks), pure=False))
        best = min(best, time.perf_counter() - t)
    return best / tasks * 1000


def _quiet(done: int, total: int) -> None:
    return None


def _timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """fn's result, its wall seconds, and the calibration just before it (the machine's speed for this row)."""
    cal = calibration_seconds()
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t, cal


class Rows(list[str]):
    """Rows printed as they come (a 100k row takes minutes)."""

    def append(self, row: str) -> None:
        print(row, flush=True)
        super().append(row)


def bench_fleet(label: str, job: RiskJob, n: int, batch_sweep: list[int]) -> list[str]:
    rows = Rows()
    serial, secs, cal = _timed(lambda: run_scenarios(job, n, Backend("synchronous")))
    digest = results_digest(serial)
    size = batch_size(n, 2, len(job.space.tasks))
    rows.append(_row(label, "serial", n, size, (secs, cal), digest, digest, 0.0))
    # The 2 workers row reads its workers' peak from a LocalCluster it cannot reach: measure it on a twin run below.
    local, secs, cal = _timed(lambda: run_scenarios(job, n, Backend("local", workers=2)))
    rows.append(_row(label, "2 workers", n, size, (secs, cal), results_digest(local), digest, None))
    with _cluster() as cluster, Client(cluster, set_as_default=False) as client:
        outs, secs, cal = _timed(lambda: run_scenarios(job, n, Backend("cluster", address=cluster.scheduler_address)))
        rows.append(_row(label, "LocalCluster", n, size, (secs, cal), results_digest(outs), digest, _workers_peak_mb(client)))
        for b in batch_sweep:
            parts = [range(s, min(s + b, n)) for s in range(0, n, b)]
            outs, secs, cal = _timed(partial(run_on_client, client, job, parts, n, _quiet))
            rows.append(_row(label, f"batch {b}", n, b, (secs, cal), results_digest(sorted(outs, key=lambda o: o.index)),
                             digest, _workers_peak_mb(client)))
    return rows


def _row(fleet: str, how: str, n: int, batch: int, timing: tuple[float, float], digest: str, serial: str,
         worker_mb: float | None) -> str:
    secs, cal = timing
    same = "yes" if digest == serial else "NO"
    worker = f"{worker_mb:>9,.0f}" if worker_mb is not None else f"{'-':>9}"
    return (f"{fleet:>10} {how:>13} {n:>9,} {batch:>5} {cal:>6.3f} {secs:>8.2f} {n / secs:>9.2f} "
            f"{n / secs * 60:>8,.0f} {_peak_mb():>9,.0f} {worker} {digest[:16]:>16} {same:>5}")


def _job(policy: api.Policy, fleet: Fleet, schedule: api.Schedule, model: FaultModel, seed: int) -> RiskJob:
    return RiskJob(policy, fleet, schedule, build_space(model, policy, fleet, schedule), seed)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample-scenarios", type=int, default=1000)
    ap.add_argument("--big-size", type=int, default=100_000, help="VMs of the generated fleet; 0: skip it")
    ap.add_argument("--big-scenarios", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--batch-sweep", type=int, nargs="*", default=[1, 4, 32])
    ap.add_argument("--plan-time-limit", type=float, default=1200.0)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "wavegate-bench")
    args = ap.parse_args(argv)
    print(f"calibration: {calibration_seconds():.3f} s (bench/simulate.py's fixed pure-Python workload, fastest of 3; "
          f"lower = faster machine right now)", flush=True)
    policy = api.load_policy(bundled_spec())
    with _cluster() as cluster, Client(cluster, set_as_default=False) as client:
        print(f"Dask task overhead: {task_overhead_ms(client):.2f} ms per empty task (2 local workers, best of 3 x "
              f"1,000)", flush=True)
    header = (f"{'fleet':>10} {'how':>13} {'scenarios':>9} {'batch':>5} {'cal s':>6} {'wall s':>8} {'per s':>9} "
              f"{'per min':>8} "
              f"{'client MB':>9} {'worker MB':>9} {'digest':>16} {'same':>5}")
    fleet = api.load_fleet(sample_fleet())
    sample = _job(policy, fleet, api.plan(policy, fleet), load_fault_model(SAMPLE_FAULT_MODEL, fleet), args.seed)
    print(header)
    print("-" * len(header), flush=True)
    bench_fleet("sample", sample, args.sample_scenarios, args.batch_sweep)
    if args.big_size:  # loaded after the sample rows, so their client MB is the sample's
        big = healthy_fleet(args.big_size, args.seed)
        schedule, plan_s = planned(policy, big, args.big_size, args.seed, args.cache, args.plan_time_limit)
        print(f"{args.big_size:,} VMs: planned in {plan_s:.1f}s ({'cached' if not plan_s else 'fresh'}), "
              f"{len(schedule.waves)} waves, {sum(len(w.tasks) for w in schedule.waves):,} tasks", flush=True)
        job = _job(policy, big, schedule, parse_fault_model(BIG_MODEL, big), args.seed)
        bench_fleet(f"{args.big_size // 1000}k", job, args.big_scenarios, [])

if __name__ == "__main__":
    main()

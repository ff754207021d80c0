"""Executor throughput: events per second on generated 100k- and 1M-VM rollouts (schedules from the planner).

Usage:
    python bench/simulate.py                       # 100k and 1M VMs, journal row at 100k
    python bench/simulate.py --sizes 100000 --journal-sizes 100000 --cache /tmp/wg-bench
    python bench/simulate.py --sizes 100000 --repeat 3   # best of 3 runs per row (the machine is shared)

The machine is shared and its speed swings (the same code has measured 175k and 92k task events/s at 100k VMs 20
minutes apart), so the table opens with a calibration: a fixed pure-Python workload, fastest of 3; compare rows from
different runs only next to it.  Each row shows the fastest of --repeat runs and the median.

Each fleet comes from ``engine.model.generator`` (seeded) with every VM made healthy, so the whole schedule runs (the
generator's unhealthy VMs would block sets and hold later phases: less work, not a throughput figure); the schedule
comes from ``engine.api.plan`` (cached as JSON under --cache).  Events go to a JSONL file on disk, as with
``wavegate simulate --events``.  Rows: the run with the journal off, then (for --journal-sizes) with the journal on.
Columns: setup = building the executor (indexes over the fleet and schedule); run = the event loop.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a clone without installing

from engine import api
from engine.model.errors import WavegateError
from engine.model.fleet import Fleet
from engine.model.generator import generate_fleet
from engine.model.resources import bundled_spec
from engine.model.schedule import Schedule, load_schedule
from engine.run.driver import SimDriver
from engine.run.events import AtomicJsonlWriter
from engine.run.executor import Executor
from engine.run.journal import Journal


def healthy_fleet(n: int, seed: int) -> Fleet:
    fleet = generate_fleet(n, seed)
    vms = [vm if vm.healthy else vm.model_copy(update={"healthy": True}) for vm in fleet.vms]
    return fleet.model_copy(update={"vms": vms})


def planned(policy: api.Policy, fleet: Fleet, n: int, seed: int, cache: Path, time_limit: float) -> tuple[Schedule, float]:
    path = cache / f"schedule-{n}-{seed}.json"
    if path.exists():
        return load_schedule(path), 0.0
    t = time.perf_counter()
    schedule = api.plan(policy, fleet, time_limit=time_limit)
    took = time.perf_counter() - t
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(schedule.to_json())
    return schedule, took


def run_once(policy: api.Policy, fleet: Fleet, schedule: Schedule, seed: int, journal: bool, out: Path) -> dict[str, float]:
    writer = AtomicJsonlWriter(out / "events.jsonl")
    jr = Journal.create(out / "run.db", {"seed": str(seed)}) if journal else None
    try:
        c0, t0 = time.process_time(), time.perf_counter()
        ex = Executor(policy, fleet, schedule, SimDriver(fleet, seed=seed), writer, journal=jr)
        c1, t1 = time.process_time(), time.perf_counter()
        result = ex.run()
        c2, t2 = time.process_time(), time.perf_counter()
        writer.commit()
    finally:
        writer.abort()
        if jr is not None:
            jr.close()
    return {"tasks": result.tasks, "events": result.events, "task_events": result.task_events,
            "setup": t1 - t0, "run": t2 - t1, "run_cpu": c2 - c1, "setup_cpu": c1 - c0,
            "commits": float(jr.commits) if jr is not None else 0.0, "outcome": float(result.exit_code)}


def calibration_seconds(rounds: int = 3) -> float:
    """Fastest of ``rounds`` runs of a fixed workload like the executor's (small strings formatted and hashed,
    dict and set traffic over 100k keys): how fast this machine is right now."""
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        groups: dict[str, list[int]] = {}
        seen: set[str] = set()
        lines: list[str] = []
        for i in range(400_000):
            name = f"vm-{(i * 7919) % 100_000}"
            groups.setdefault(name[:5], []).append(i)
            seen.add(name)
            lines.append(f'{{"time": {i / 60!r}, "vm": "{name}"}}')
        lines.sort()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--journal-sizes", type=int, nargs="*", default=[100_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--plan-time-limit", type=float, default=1200.0)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "wavegate-bench")
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the row shows the fastest run")
    args = ap.parse_args(argv)
    policy = api.load_policy(bundled_spec())
    print(f"calibration: {calibration_seconds():.3f} s (fixed pure-Python workload, fastest of 3; lower = faster "
          f"machine right now)", flush=True)
    rows: list[tuple[int, str, dict[str, float], float, int]] = []
    for n in args.sizes:
        t = time.perf_counter()
        fleet = healthy_fleet(n, args.seed)
        gen = time.perf_counter() - t
        try:
            schedule, plan_s = planned(policy, fleet, n, args.seed, args.cache, args.plan_time_limit)
        except WavegateError as e:  # e.g. the planner's time limit: say so in the table instead of dying
            print(f"{n:,} VMs: no schedule ({type(e).__name__}: {e}); row skipped", flush=True)
            continue
        print(f"{n:,} VMs: generated in {gen:.1f}s, planned in {plan_s:.1f}s ({'cached' if not plan_s else 'fresh'}), "
              f"{len(schedule.waves)} waves", flush=True)
        for journal in (False, True):
            if journal and n not in args.journal_sizes:
                continue
            label = "on" if journal else "off"
            runs: list[dict[str, float]] = []
            for _ in range(max(1, args.repeat)):
                with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
                    runs.append(run_once(policy, fleet, schedule, args.seed, journal, Path(tmp)))
            stats = dict(min(runs, key=lambda s: s["run"]))
            stats["median_run"] = statistics.median(r["run"] for r in runs)
            rows.append((n, label, stats, plan_s, len(schedule.waves)))
    header = (f"{'VMs':>10} {'tasks':>9} {'waves':>5} {'journal':>7} {'events':>9} {'task ev':>9} {'setup s':>8} "
              f"{'run s':>7} {'run cpu s':>9} {'events/s':>9} {'task ev/s':>9} {'median':>9} {'commits':>8}")
    print(header)
    print("-" * len(header))
    for n, label, s, _, waves in rows:
        print(f"{n:>10,} {int(s['tasks']):>9,} {waves:>5} {label:>7} {int(s['events']):>9,} {int(s['task_events']):>9,} "
              f"{s['setup']:>8.2f} {s['run']:>7.2f} {s['run_cpu']:>9.2f} {s['events'] / s['run']:>9,.0f} "
              f"{s['task_events'] / s['run']:>9,.0f} {s['task_events'] / s['median_run']:>9,.0f} {int(s['commits']):>8,}")


if __name__ == "__main__":
    main()

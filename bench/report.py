"""The rollout report's size and generation time on the sample rollout and on a generated 1M-VM fleet.

Usage:
    python bench/report.py                              # the sample, then 1M VMs (minutes, ~9 GB to prepare)
    python bench/report.py --sizes 100000 --cache /tmp/wg-report-bench

Each case is prepared once and cached as files under --cache, exactly what a user hands ``wavegate report``: the
fleet JSON, the schedule from ``engine.api.plan`` and the event log of ``engine.run.executor.execute``.  The sample is
the bundled fleet with its fault script (seed 0, the ``wavegate simulate`` story); a generated fleet
(``engine.model.generator``, seed 1) keeps the generator's unhealthy VMs, so its run halts in many sets and the page
has thousands of halts to aggregate.  Columns: load = reading the policy, fleet and schedule (``wavegate report``
pays it; ``plan --report`` does not, it has them); build = reading the event log, aggregating and writing the page;
size = the page in bytes (the target: at most 500 KB); peak = the process's peak RSS so far.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from engine import api
from engine.model.faults import NO_FAULTS, FaultScript, load_faults
from engine.model.fleet import Fleet
from engine.model.generator import generate_fleet
from engine.model.resources import bundled_spec, sample_faults, sample_fleet
from engine.report import Names, report_html
from engine.run.driver import SimDriver
from engine.run.events import AtomicJsonlWriter
from engine.run.executor import execute


def prepare(case: str, folder: Path) -> None:
    """fleet.json, schedule.json, events.jsonl of one case, unless already there."""
    if (folder / "events.jsonl").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    policy = api.load_policy(bundled_spec())
    fleet: Fleet
    script: FaultScript
    if case == "sample":
        fleet, seed = api.load_fleet(sample_fleet()), 0
        script = load_faults(sample_faults(), fleet)
    else:
        fleet, seed, script = generate_fleet(int(case), 1), 1, NO_FAULTS
    (folder / "fleet.json").write_text(fleet.to_json())
    schedule = api.plan(policy, fleet, time_limit=1200)
    (folder / "schedule.json").write_text(schedule.to_json())
    with AtomicJsonlWriter(folder / "events.jsonl") as writer:
        execute(policy, fleet, schedule, SimDriver(fleet, script, seed), writer)
        writer.commit()


def measure(folder: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    policy = api.load_policy(bundled_spec())
    fleet = api.load_fleet(folder / "fleet.json")
    schedule = api.load_schedule(folder / "schedule.json")
    t1 = time.perf_counter()
    page = report_html(policy, fleet, schedule, Names("specs/azure-default.wg", "fleet.json", "schedule.json",
                                                      "events.jsonl"), folder / "events.jsonl")
    t2 = time.perf_counter()
    (folder / "report.html").write_text(page, encoding="utf-8")
    lines = sum(1 for _ in (folder / "events.jsonl").open())
    return {"vms": len(fleet.vms), "tasks": sum(len(w.tasks) for w in schedule.waves), "waves": len(schedule.waves),
            "events": lines, "halts": _halts(folder),
            "load": t1 - t0, "build": t2 - t1, "size": len(page.encode("utf-8")),
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def _halts(folder: Path) -> int:
    kinds = ('"set_blocked"', '"set_stopped"', '"install_refused"', '"phase_held"', '"retries_exhausted"')
    with (folder / "events.jsonl").open() as f:
        return sum(1 for line in f if any(k in line[:60] for k in kinds))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", nargs="*", default=["1000000"], help="generated fleet sizes (the sample always runs)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "wavegate-report-bench")
    args = ap.parse_args(argv)
    header = f"{'case':>9} {'VMs':>10} {'tasks':>8} {'waves':>5} {'events':>10} {'halts':>6} {'load s':>7} " \
             f"{'build s':>7} {'size KB':>8} {'peak GB':>7}"
    rows = []
    for case in ["sample", *args.sizes]:
        prepare(case, args.cache / case)
        r = measure(args.cache / case)
        rows.append(f"{case:>9} {int(r['vms']):>10,} {int(r['tasks']):>8,} {int(r['waves']):>5} {int(r['events']):>10,} "
                    f"{int(r['halts']):>6,} {r['load']:>7.1f} {r['build']:>7.1f} {r['size'] / 1000:>8.1f} "
                    f"{r['peak_gb']:>7.1f}")
        print(rows[-1], flush=True)
    print(header)
    print("-" * len(header))
    print("\n".join(rows))


if __name__ == "__main__":
    main()

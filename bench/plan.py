"""Benchmark: plan seeded generated fleets with the optimiser and with the plain greedy baseline, print a table.

Each (policy, size) runs in a fresh child process so its peak memory (ru_maxrss: fleet + planning + independent
re-check) is its own.  Columns: plan time, peak memory, waves, lower bound, proven optimal, the greedy's waves and
time.  Policies: the bundled Azure default, the stricter team policy (canary, regions per phase, subscription
budget, fleet-wide cap per wave) and the default with a calendar (``windows``: specs/team-windows.wg, weekend night
windows for prod VMs in Berlin, bakes, a year-end freeze; planned from 2026-12-02T00:00Z, the ``calendar s`` column
is the calendar placement's share of the plan time, and ``finish`` its planned end).

    python bench/plan.py --sizes 10000,100000 --specs default,windows   # plan time without and with windows

    python bench/plan.py                      # 1k, 10k, 100k on both policies
    python bench/plan.py --sizes 1000 --specs default
    python bench/plan.py --with-1m            # adds the 1M-VM rows (several minutes, a few GB)
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPECS = {"default": "azure-default.wg", "team": "team-strict.wg", "windows": "team-windows.wg"}
START = "2026-12-02T00:00Z"


def run_case(size: int, spec: str, seed: int, time_limit: float) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from dsl.loader import load_policy
    from engine.check.verify import verify_schedule
    from engine.model.calendar import parse_instant
    from engine.model.errors import Infeasible, SolverTimeout
    from engine.model.generator import generate_fleet
    from engine.model.resources import bundled_spec
    from engine.plan.calendar import place
    from engine.plan.greedy import greedy_plan
    from engine.plan.synthesis import plan

    t0 = time.monotonic()
    fleet = generate_fleet(size, seed)
    gen = time.monotonic() - t0
    policy = load_policy(bundled_spec(SPECS[spec]))
    row: dict[str, Any] = {"spec": spec, "vms": size, "generate_s": round(gen, 1)}
    try:
        res = plan(policy, fleet, time_limit=time_limit, workers=2, start=parse_instant(START))
        row.update(plan_s=round(res.elapsed, 2), waves=res.waves, lower_bound=res.lower_bound, optimal=res.optimal,
                   classes=res.schedule.stats.get("classes"), solver_calls=res.solver_calls)
        if policy.times:  # the calendar placement alone, again on the planned waves (its share of plan_s)
            t2 = time.monotonic()
            timed = place(policy, fleet, res.schedule, parse_instant(START))
            row.update(calendar_s=round(time.monotonic() - t2, 2),
                       finish=timed.finish.planned if timed.finish else None)
    except (Infeasible, SolverTimeout) as e:
        row.update(plan_s=None, waves=None, lower_bound=None, optimal=None, error=str(e)[:120])
    del res
    t1 = time.monotonic()
    try:
        g = greedy_plan(policy, fleet)
        g_ok = verify_schedule(policy, fleet, g.schedule).ok
        row.update(greedy_waves=g.waves, greedy_s=round(g.elapsed, 2), greedy_valid=g_ok)
    except SolverTimeout as e:
        row.update(greedy_waves=None, greedy_s=round(time.monotonic() - t1, 2), greedy_error=str(e)[:80])
    row["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    cols = [("spec", "policy"), ("vms", "VMs"), ("plan_s", "plan s"), ("peak_mb", "peak MB"), ("waves", "waves"),
            ("lower_bound", "lower bd"), ("optimal", "optimal"), ("greedy_waves", "greedy waves"),
            ("greedy_s", "greedy s"), ("ratio", "plan/greedy time"), ("classes", "classes"),
            ("calendar_s", "calendar s"), ("finish", "finish")]
    for r in rows:
        if r.get("plan_s") and r.get("greedy_s"):
            r["ratio"] = f"{r['plan_s'] / r['greedy_s']:.1f}x"
    out = [[h for _, h in cols]]
    for r in rows:
        out.append(["-" if r.get(k) is None else str(r.get(k)) for k, _ in cols])
    widths = [max(len(row[i]) for row in out) for i in range(len(cols))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in out]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"{r['spec']} {r['vms']}: {r['error']}" for r in rows if r.get("error")]
    return "\n".join(lines + notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000", help="comma-separated fleet sizes")
    ap.add_argument("--with-1m", action="store_true", help="add 1,000,000 VMs")
    ap.add_argument("--specs", default="default,team", help="comma-separated: default, team, windows")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--json", action="store_true", help="print rows as JSON lines too")
    ap.add_argument("--case", nargs=2, metavar=("SIZE", "SPEC"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(run_case(int(args.case[0]), args.case[1], args.seed, args.time_limit)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s]
    if args.with_1m and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    rows = []
    for spec in args.specs.split(","):
        for size in sizes:
            cmd = [sys.executable, __file__, "--case", str(size), spec, "--seed", str(args.seed),
                   "--time-limit", str(args.time_limit)]
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                rows.append({"spec": spec, "vms": size, "error": done.stderr.strip().splitlines()[-1:]})
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"done: {spec} {size}: {json.dumps(row)}", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        for r in rows:
            print(json.dumps(r))


if __name__ == "__main__":
    main()

"""Benchmark: the independent checker (engine.check.verify) on seeded generated fleets; prints a table.

Each size runs in a fresh child process so its peak memory (ru_maxrss) is its own.  The schedule to check comes
from the plain greedy planner (fast at every size); the checker then re-checks it against the policy, as it does
for every plan.  Columns: VMs, tasks, waves, fleet generation time, check time, violations, peak memory.

    python bench/verify.py                    # 10k and 100k on the Azure default and the team policy
    python bench/verify.py --sizes 1000000    # the 1M-VM row (about a minute and a few GB)
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
SPECS = {"default": "azure-default.wg", "team": "team-strict.wg"}


def run_case(size: int, spec: str, seed: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from dsl.loader import load_policy
    from engine.check.verify import verify_schedule
    from engine.model.generator import generate_fleet
    from engine.plan.greedy import greedy_plan

    # The checkout's specs/, so the bench runs from a clone without the package installed in editable mode.
    policy = load_policy(ROOT / "specs" / SPECS[spec])
    t0 = time.monotonic()
    fleet = generate_fleet(size, seed)
    gen = time.monotonic() - t0
    schedule = greedy_plan(policy, fleet).schedule
    t1 = time.monotonic()
    report = verify_schedule(policy, fleet, schedule)
    check = time.monotonic() - t1
    return {
        "vms": size, "spec": spec, "tasks": sum(len(w.tasks) for w in schedule.waves), "waves": len(schedule.waves),
        "gen_s": round(gen, 2), "check_s": round(check, 2), "violations": len(report.violations),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--specs", default="default,team")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        size, spec = args.child.split(":")
        print(json.dumps(run_case(int(size), spec, args.seed)))
        return
    rows = []
    for spec in args.specs.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            out = subprocess.run([sys.executable, __file__, "--child", f"{size}:{spec}", "--seed", str(args.seed)],
                                 capture_output=True, text=True, check=True)
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    cols = ["spec", "vms", "tasks", "waves", "gen_s", "check_s", "violations", "peak_mb"]
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.rjust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).rjust(widths[c]) for c in cols))


if __name__ == "__main__":
    main()

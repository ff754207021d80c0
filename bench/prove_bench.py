"""Time `wavegate prove` on the bundled proofs and `wavegate diff` on the bundled specs; prints a table.

Run: python bench/prove_bench.py [repeats]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from dsl.loader import load_policy, load_theorems
from engine.prove.policydiff import diff_policies
from engine.prove.prover import prove_theorem

ROOT = Path(__file__).resolve().parent.parent


def main(repeats: int) -> None:
    rows: list[tuple[str, str, float, float]] = []
    total = []
    for _ in range(repeats):
        start = time.perf_counter()
        for path in sorted((ROOT / "proofs").glob("*.wg")):
            tf = load_theorems(path, ROOT)
            for t in tf.theorems:
                prove_theorem(tf.spec, t, 60.0)
        total.append(time.perf_counter() - start)
    per_theorem: dict[str, list[float]] = {}
    statuses: dict[str, str] = {}
    for path in sorted((ROOT / "proofs").glob("*.wg")):
        tf = load_theorems(path, ROOT)
        for t in tf.theorems:
            r = prove_theorem(tf.spec, t, 60.0)
            per_theorem.setdefault(f"{path.name}:{t.name}", []).append(r.seconds)
            statuses[f"{path.name}:{t.name}"] = f"{r.status} ({r.scope})"
    for name, secs in per_theorem.items():
        rows.append((name, statuses[name], statistics.median(secs), max(secs)))
    specs = sorted((ROOT / "specs").glob("*.wg"))
    default = load_policy(ROOT / "specs" / "azure-default.wg", ROOT)
    diffs = []
    for spec in specs:
        start = time.perf_counter()
        verdict = diff_policies(default, load_policy(spec, ROOT)).verdict
        diffs.append((f"diff azure-default {spec.name}", verdict, time.perf_counter() - start))
    width = max(len(r[0]) for r in rows + [(d[0], "", 0.0, 0.0) for d in diffs])
    print(f"{'theorem':<{width}}  {'result':<78}  seconds")
    for name, status, med, _ in rows:
        print(f"{name:<{width}}  {status:<78}  {med:7.3f}")
    print(f"{'all of proofs/ (' + str(repeats) + ' runs, median)':<{width}}  {'':<78}  {statistics.median(total):7.3f}")
    for name, verdict, secs in diffs:
        print(f"{name:<{width}}  {verdict:<78}  {secs:7.3f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)

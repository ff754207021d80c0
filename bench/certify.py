"""Benchmark: what certifying the planner's lower bound costs, on the sample fleet and a generated 10k-VM fleet.

Per (policy, fleet): plan time with the second solver (CP-SAT, ``--certify-time``) and without it (the witness
only: a bound the witness cannot reach is then unconfirmed), the witness search alone, the certificate check
(``engine.check.certificate``: re-derived from fleet and policy, solver steps re-run), the waves, the certified
bound, whether optimality is certified and whether a step rests on CP-SAT.  One process, runs side by side.

    python bench/certify.py
    python bench/certify.py --sizes 10000 --specs default --certify-time 60
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsl.loader import load_policy  # noqa: E402
from dsl.policy import Policy  # noqa: E402
from engine.certify.certify import reprover  # noqa: E402
from engine.certify.witness import Witness, best_witness  # noqa: E402
from engine.check.certificate import check_certificate, due_tasks  # noqa: E402
from engine.model.errors import Infeasible, SolverTimeout  # noqa: E402
from engine.model.fleet import Fleet, load_fleet  # noqa: E402
from engine.model.generator import generate_fleet  # noqa: E402
from engine.model.resources import bundled_spec, sample_fleet  # noqa: E402
from engine.plan.synthesis import plan  # noqa: E402

SPECS = {"default": "azure-default.wg", "team": "team-strict.wg", "ring": "ring-ordered.wg"}


def _witness_s(policy: Policy, fleet: Fleet) -> float:
    t = time.monotonic()
    w = Witness(policy, fleet, due_tasks(policy, fleet))
    best_witness(w, {r: n for r, ts in w.by_region().items() if (n := w.need(ts)) is not None})
    return time.monotonic() - t


def case(spec: str, fleet_name: str, fleet: Fleet, time_limit: float, certify_time: float) -> dict[str, Any]:
    policy = load_policy(bundled_spec(SPECS[spec]))
    row: dict[str, Any] = {"spec": spec, "fleet": fleet_name, "vms": len(fleet.vms)}
    for label, seconds in (("with", certify_time), ("without", 0.0)):
        t = time.monotonic()
        try:
            res = plan(policy, fleet, time_limit=time_limit, workers=2, certify_time=seconds)
        except (Infeasible, SolverTimeout) as e:
            row[f"plan_{label}_s"] = round(time.monotonic() - t, 2)
            row[f"answer_{label}"] = type(e).__name__
            continue
        row[f"plan_{label}_s"] = round(time.monotonic() - t, 2)
        s = res.schedule
        cert = s.certificate
        assert cert is not None
        row[f"answer_{label}"] = f"{len(s.waves)} waves, bound {cert.lower_bound}, optimal {cert.optimal}"
        if label == "with":
            row["cp_sat_step"] = '"kind": "solver"' in json.dumps(cert.model_dump())
            t = time.monotonic()
            found = check_certificate(policy, fleet, s, reprover(policy, fleet, certify_time))
            row["check_s"] = round(time.monotonic() - t, 2)
            row["check_ok"] = found is not None and not found.problems
    row["witness_s"] = round(_witness_s(policy, fleet), 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10000], help="generated fleet sizes (besides the sample)")
    ap.add_argument("--specs", nargs="*", default=["default", "team", "ring"], choices=sorted(SPECS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--time-limit", type=float, default=120.0)
    ap.add_argument("--certify-time", type=float, default=30.0)
    args = ap.parse_args()
    fleets: list[tuple[str, Fleet]] = [("sample", load_fleet(sample_fleet()))]
    fleets += [(f"generated-{n}", generate_fleet(n, args.seed)) for n in args.sizes]
    for name, fleet in fleets:
        for spec in args.specs:
            print(json.dumps(case(spec, name, fleet, args.time_limit, args.certify_time)), flush=True)


if __name__ == "__main__":
    main()

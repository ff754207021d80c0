"""Differential check of "proven": on many random small fleets and schedules, whatever the spec permits, the claim
permits too, whenever the prover said proven (and a refutation's counterexample really separates them)."""

from __future__ import annotations

import random
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from dsl.diagnostics import Span
from dsl.loader import load_policy
from dsl.policy import Attr, Capacity, Compare, DistinctLimit, NotWhole, Percent, Policy
from engine.check.verify import verify_schedule
from engine.model.fleet import parse_fleet
from engine.model.schedule import parse_schedule
from engine.prove.prover import claim_policy, prove_claim

ROOT = Path(__file__).resolve().parent.parent
SPAN = Span("t.wg", 1, 1, 1, 2)


def random_instance(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    vms, tasks_by_wave = [], {}
    zones = rng.choice([0, 0, 2, 3])
    for s in range(rng.randint(1, 2)):
        kind = rng.choice(["scale_set", "availability_set"])
        for i in range(rng.randint(1, 12)):
            scheduled = rng.random() < 0.3
            vm = {"name": f"s{s}v{i}", "region": "r0", kind: f"set{s}", "subscription": "sub0",
                  "update_domain": rng.randint(0, 2),
                  "extensions": [{"name": "agent", "publisher": "P", "type": "T",
                                  "version": "1.0" if scheduled else "1.1", "enable_automatic_upgrade": True}]}
            if zones:
                vm["zone"] = str(rng.randint(1, zones))
            vms.append(vm)
            if scheduled:
                tasks_by_wave.setdefault(rng.randint(0, 6), []).append(
                    {"vm": vm["name"], "extension": "agent", "from_version": "1.0", "to_version": "1.1"})
    sets = sorted({(k, v[k]) for v in vms for k in ("scale_set", "availability_set") if k in v})
    fleet = {"regions": [{"name": "r0", "zones": zones}], "catalog": [{"publisher": "P", "type": "T",
                                                                      "versions": ["1.0", "1.1"]}],
             "scale_sets": [{"name": n, "region": "r0"} for k, n in sets if k == "scale_set"],
             "availability_sets": [{"name": n, "region": "r0"} for k, n in sets if k == "availability_set"],
             "vms": vms}
    waves = [{"index": i, "phase": 0, "tasks": tasks_by_wave[w]} for i, w in enumerate(sorted(tasks_by_wave))]
    skipped = [{"vm": v["name"], "extension": "agent", "reason": "up to date"} for v in vms
               if v["extensions"][0]["version"] == "1.1"]
    schedule = {"phases": [{"index": 0, "regions": ["r0"]}] if waves else [], "waves": waves, "skipped": skipped,
                "lower_bound": 0, "optimal": False}
    return fleet, schedule


def _batch(spec: Policy, pct: int) -> Policy:
    return replace(spec, rules=tuple(replace(r, amount=replace(r.amount, value=Fraction(pct)))
                                     if isinstance(r, Capacity) and isinstance(r.amount, Percent) else r
                                     for r in spec.rules))


CLAIMS = [
    Capacity("c20", SPAN, amount=Percent(Fraction(20)), of="scale_set", within="wave",
             where=Compare(">=", Attr(("scale_set", "size")), 5)),
    Capacity("c34", SPAN, amount=Percent(Fraction(34), "ceil", 1), of="scale_set", within="wave"),
    DistinctLimit("z1", SPAN, limit=1, count="zone", per="region", within="wave"),
    DistinctLimit("u1", SPAN, limit=1, count="update_domain", per="set", within="wave"),
    NotWhole("w2", SPAN, of="availability_set", within="wave", min_size=2),
]


@pytest.mark.parametrize("pct", [20, 50])
def test_proven_claims_hold_on_random_instances(pct: int) -> None:
    spec = _batch(load_policy(ROOT / "specs" / "azure-default.wg", ROOT), pct)
    verdicts = {c.name: prove_claim(spec, c, 20.0).status for c in CLAIMS}
    assert "unknown" not in verdicts.values(), verdicts
    rng = random.Random(pct)
    permitted = 0
    for _ in range(600):
        fleet_json, schedule_json = random_instance(rng)
        fleet, schedule = parse_fleet(fleet_json), parse_schedule(schedule_json)
        if not verify_schedule(spec, fleet, schedule).ok:
            continue
        permitted += 1
        for c in CLAIMS:
            if verdicts[c.name] == "proven":
                assert verify_schedule(claim_policy(spec, c), fleet, schedule).ok, (c.name, fleet_json, schedule_json)
    assert permitted >= 20  # enough instances got past the spec for the check to mean something

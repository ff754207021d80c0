"""A seeded search for counterexamples among small concrete fleets and schedules, for claims the symbolic witness
builder could not refute: several regions, sets (of both kinds), zones, domains, tags and extensions per VM, names
from the policy, and schedules of every shape (phase splits, one VM per wave, random buckets, a VM's tasks split over
waves, one wave).  Every candidate is judged by the checker itself (the spec accepts it, the claim policy rejects
it), so what this finds is a counterexample by construction; what it does not find proves nothing.  The same seed
gives the same search (the seed is derived from the claim's text).
"""

from __future__ import annotations

import hashlib
import random
import time
from typing import Any

from dsl.policy import Policy
from engine.check.verify import verify_schedule
from engine.model.errors import InputError
from engine.model.fleet import Fleet, parse_fleet
from engine.model.schedule import Schedule, parse_schedule
from engine.model.upgrades import resolve_upgrades
from engine.prove.replay import Precondition
from engine.prove.witness import Witness

REGIONS = ("eastus", "westus", "eastus2", "r1", "r2")  # Azure regions (geographies from the table) and our own
EXTENSIONS = (("ama", "Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent"),
              ("da", "Microsoft.Azure.Monitoring.DependencyAgent", "DependencyAgentLinux"),
              ("monitor", "Contoso", "Monitor"), ("agent", "Contoso", "Agent"))
TAGS = {"ring": ("0", "1", "2", "10"), "env": ("prod", "dev"), "tier": ("web", "db")}
SCHEDULES_PER_FLEET = 4


def rand_fleet(rng: random.Random, max_vms: int = 8) -> dict[str, Any]:
    names = rng.sample(REGIONS, rng.randint(1, 3))
    regions = []
    for i, name in enumerate(names):
        entry: dict[str, Any] = {"name": name, "pair": None, "zones": rng.choice((0, 0, 2, 3))}
        if i and rng.random() < 0.3:
            entry["pair"] = names[0]
        if not name.startswith("east") and not name.startswith("west") and rng.random() < 0.6:
            entry["geography"] = rng.choice(("United States", "Europe", "geo0"))
        regions.append(entry)
    sets: dict[str, tuple[str, str]] = {}
    vms = []
    for i in range(rng.randint(1, max_vms)):
        region = rng.choice(regions)
        vm: dict[str, Any] = {"name": f"vm{i}", "region": region["name"], "subscription": rng.choice(("s0", "s1")),
                              "healthy": rng.random() < 0.9}
        if region["zones"] and rng.random() < 0.7:
            vm["zone"] = str(rng.randint(1, region["zones"]))
        kind = rng.choice(("scale_set", "scale_set", "availability_set", None))
        if kind is not None:
            set_name = f"{'ss' if kind == 'scale_set' else 'as'}{rng.randint(0, 1)}-{region['name']}"
            if rng.random() < 0.3:
                set_name = "ss0" if kind == "scale_set" else "as0"
            if set_name in sets and sets[set_name] != (kind, region["name"]):
                set_name = f"{set_name}-{i}"
            sets[set_name] = (kind, region["name"])
            vm[kind] = set_name
            for dom in ("update_domain", "fault_domain"):
                if rng.random() < 0.8:
                    vm[dom] = rng.randint(0, 2)
        if rng.random() < 0.5:
            keys = rng.sample(tuple(TAGS), rng.randint(1, 2))
            vm["tags"] = {k: rng.choice(TAGS[k]) for k in keys}
        exts = rng.sample(EXTENSIONS, rng.randint(1, 3))
        vm["extensions"] = [{"name": n, "publisher": p, "type": t, "version": rng.choice(("1.0", "1.0", "1.1")),
                             "enable_automatic_upgrade": True} for n, p, t in exts]
        vms.append(vm)
    return {
        "regions": regions,
        "catalog": [{"publisher": p, "type": t, "versions": ["1.0", "1.1", "2.0"]} for _, p, t in EXTENSIONS],
        "scale_sets": [{"name": n, "region": r, "upgrade_mode": rng.choice(("automatic", "rolling"))}
                       for n, (k, r) in sorted(sets.items()) if k == "scale_set"],
        "availability_sets": [{"name": n, "region": r} for n, (k, r) in sorted(sets.items()) if k == "availability_set"],
        "vms": vms,
    }


def rand_schedules(rng: random.Random, spec: Policy, fleet: Fleet, count: int) -> list[Schedule]:
    """``count`` random schedules of every due task of the fleet (structurally valid; the rules decide)."""
    res = resolve_upgrades(fleet, spec.versions)
    if not res.tasks:
        return []
    skipped = [s.model_dump(mode="json") for s in sorted(res.skipped, key=lambda s: (s.vm, s.extension))]
    by_region: dict[str, list[Any]] = {}
    region_of = {v.name: v.region for v in fleet.vms}
    for t in res.tasks:
        by_region.setdefault(region_of[t.vm], []).append(t)
    out = []
    for _ in range(count):
        regions = sorted(by_region)
        rng.shuffle(regions)
        cuts = sorted(rng.sample(range(1, len(regions)), rng.randint(0, len(regions) - 1))) if len(regions) > 1 else []
        phases = [regions[a:b] for a, b in zip([0, *cuts], [*cuts, len(regions)], strict=True)]
        style = rng.choice(("one_per_wave", "buckets", "split", "one_wave", "buckets"))
        waves: list[dict[str, Any]] = []
        for p, phase_regions in enumerate(phases):
            tasks = [t for r in phase_regions for t in by_region[r]]
            vms = sorted({t.vm for t in tasks})
            rng.shuffle(vms)
            if style == "one_per_wave":
                slot = {vm: i for i, vm in enumerate(vms)}
                n = len(vms)
            elif style == "one_wave":
                slot, n = dict.fromkeys(vms, 0), 1
            else:
                n = rng.randint(1, max(1, len(vms)))
                slot = {vm: rng.randrange(n) for vm in vms}
            buckets: list[list[dict[str, str]]] = [[] for _ in range(n + (2 if style == "split" else 0))]
            for t in tasks:
                w = slot[t.vm] + (rng.randint(0, 2) if style == "split" else 0)
                buckets[w].append({"vm": t.vm, "extension": t.extension, "from_version": t.from_version,
                                   "to_version": t.to_version})
            for b in buckets:
                if b:
                    waves.append({"index": len(waves), "phase": p, "tasks": b})
        doc = {"phases": [{"index": i, "regions": sorted(rs)} for i, rs in enumerate(phases)], "waves": waves,
               "skipped": skipped, "lower_bound": 0, "optimal": False}
        out.append(parse_schedule(doc, "<fuzz schedule>"))
    return out


def search_counterexample(spec: Policy, claim_policy: Policy, deadline: float, seconds: float,
                          precondition: Precondition | None = None, key: str = "") -> Witness | None:
    """A fleet and schedule the spec accepts and ``claim_policy`` rejects, found within ``seconds``, or None."""
    rng = random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
    stop = min(deadline, time.monotonic() + seconds)
    while time.monotonic() < stop:
        doc = rand_fleet(rng)
        try:
            fleet = parse_fleet(doc, "<search fleet>")
        except InputError:
            continue
        if precondition is not None and precondition(doc):
            continue
        for sched in rand_schedules(rng, spec, fleet, SCHEDULES_PER_FLEET):
            if verify_schedule(spec, fleet, sched).ok and not verify_schedule(claim_policy, fleet, sched).ok:
                return doc, sched.model_dump(mode="json")
    return None

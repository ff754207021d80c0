"""Seeded fleet generator over real Azure regions, for the bundled sample fleet, tests and benchmarks.

Regions, geo-pairs (some one-way) and zone counts come from ``dsl/data/azure-regions.json`` (a pair naming a
region outside that list is dropped).  Extensions are real Automatic Extension Upgrade publishers/types (the
supported list in the Azure docs, see engine/data/SOURCES.md).  A fleet mixes zonal scale sets (spread over the
region's zones), regional scale sets, availability sets (update and fault domains) and single VMs; catalogs hold
minor updates, up-to-date extensions and extensions whose only newer version is a new major.  Same seed, same fleet.

    python -m engine.cli.generate --vms 3000 --seed 7 -o engine/data/sample-fleet.json
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from dsl.azure import azure_regions as azure_table
from engine.model.errors import InputError
from engine.model.fleet import VM, Extension, Fleet, validate_fleet

# (publisher, type, versions published): several minors per major; some with a newer major.
EXTENSIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Microsoft.Azure.Monitoring.DependencyAgent", "DependencyAgentLinux", ("9.5", "9.10", "9.10.2")),
    ("Microsoft.Azure.Monitoring.DependencyAgent", "DependencyAgentWindows", ("9.5", "9.10", "9.10.5")),
    ("Microsoft.ManagedServices", "ApplicationHealthLinux", ("1.0", "1.0.3", "2.0", "2.0.7")),
    ("Microsoft.ManagedServices", "ApplicationHealthWindows", ("1.0", "1.0.3", "2.0")),
    ("Microsoft.GuestConfiguration", "ConfigurationforLinux", ("1.0", "1.26", "1.26.5")),
    ("Microsoft.Azure.KeyVault", "KeyVaultForLinux", ("1.0", "2.0", "2.1", "2.2")),
    ("Microsoft.Azure.KeyVault", "KeyVaultForWindows", ("1.0", "3.0", "3.1")),
    ("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent", ("1.21", "1.25", "1.27.3")),
    ("Microsoft.Azure.Monitor", "AzureMonitorWindowsAgent", ("1.10", "1.14")),
    ("Microsoft.Azure.Automation.HybridWorker", "HybridWorkerForLinux", ("1.1", "1.1.12")),
    ("Microsoft.EnterpriseCloud.Monitoring", "OmsAgentForLinux", ("1.4", "1.7", "1.12", "1.14")),
    ("Microsoft.Azure.Diagnostics", "LinuxDiagnostic", ("3.0", "4.0")),
)
SHORT = {"DependencyAgentLinux": "da", "DependencyAgentWindows": "daw", "ApplicationHealthLinux": "health",
         "ApplicationHealthWindows": "healthw", "ConfigurationforLinux": "guestconfig", "KeyVaultForLinux": "kv",
         "KeyVaultForWindows": "kvw", "AzureMonitorLinuxAgent": "ama", "AzureMonitorWindowsAgent": "amaw",
         "HybridWorkerForLinux": "hybrid", "OmsAgentForLinux": "oms", "LinuxDiagnostic": "lad"}


def azure_regions() -> list[dict[str, Any]]:
    table = azure_table()
    return [{"name": r.name, "pair": r.pair if r.pair in table else None, "zones": r.zones} for r in table.values()]


def generate(vms: int, seed: int, make_vm: Callable[[dict[str, Any]], Any] = lambda d: d) -> dict[str, Any]:
    """A fleet document (plain JSON data) of ``vms`` VMs; deterministic in (vms, seed).  ``make_vm`` turns each
    VM's data into what the document holds (validated models for big fleets, so the data is never held twice)."""
    rng = random.Random(seed)
    regions = azure_regions()
    n_regions = max(4, min(len(regions), vms // 150))
    # Regions with VMs: a seeded sample, pairs pulled in so geo-pairs matter.
    chosen: list[str] = []
    order = [r["name"] for r in regions]
    rng.shuffle(order)
    by_name = {r["name"]: r for r in regions}
    for name in order:
        if len(chosen) >= n_regions:
            break
        if name not in chosen:
            chosen.append(name)
        pair = by_name[name]["pair"]
        if pair is not None and pair not in chosen and len(chosen) < n_regions:
            chosen.append(pair)
    chosen.sort()
    subs = [f"sub-{k:02d}" for k in range(max(3, min(40, vms // 250)))]
    weights = [rng.uniform(0.5, 3.0) for _ in chosen]
    catalog = [{"publisher": p, "type": t, "versions": list(v)} for p, t, v in EXTENSIONS]
    doc: dict[str, Any] = {"regions": regions, "catalog": catalog, "scale_sets": [], "availability_sets": [],
                           "vms": []}
    made = 0
    k = 0
    while made < vms:
        region = by_name[rng.choices(chosen, weights)[0]]
        left = vms - made
        kind = rng.random()
        exts = _profile(rng)
        sub = rng.choice(subs)
        env = rng.choice(("prod", "prod", "dev"))
        if kind < 0.6:
            size = min(left, _set_size(rng, vms))
            name = f"{region['name']}-vmss-{k:05d}"
            zonal = region["zones"] > 0 and rng.random() < 0.7
            doc["scale_sets"].append({"name": name, "region": region["name"],
                                      "upgrade_mode": rng.choice(("automatic", "rolling", "manual"))})
            n_zones = rng.choice((1, 2, 3)) if zonal else 0
            n_ud = rng.choice((1, 2, 5))
            first_zone = rng.randrange(region["zones"]) if zonal else 0
            for i in range(size):
                zone = str((first_zone + i % n_zones) % region["zones"] + 1) if zonal else None
                doc["vms"].append(make_vm(_vm(f"{name}-{i:04d}", region["name"], zone, sub, exts, rng, env,
                                      scale_set=name, ud=i % n_ud, fd=i % 3)))
        elif kind < 0.8:
            size = min(left, rng.randint(2, 12))
            name = f"{region['name']}-avset-{k:05d}"
            doc["availability_sets"].append({"name": name, "region": region["name"]})
            n_ud = rng.choice((1, 2, 3, 5))
            for i in range(size):
                doc["vms"].append(make_vm(_vm(f"{name}-{i:04d}", region["name"], None, sub, exts, rng, env,
                                      availability_set=name, ud=i % n_ud, fd=i % 2)))
        else:
            size = min(left, rng.randint(1, 6))
            for i in range(size):
                zone = str(rng.randint(1, region["zones"])) if region["zones"] and rng.random() < 0.5 else None
                doc["vms"].append(make_vm(_vm(f"{region['name']}-vm-{k:05d}-{i}", region["name"], zone, sub, _profile(rng),
                                      rng, env)))
        made += size
        k += 1
    return doc


def _set_size(rng: random.Random, vms: int) -> int:
    # Mostly small sets, a long tail of large ones (bigger fleets have bigger sets).
    top = max(10, min(1000, vms // 100))
    return max(1, min(top, int(rng.paretovariate(1.2) * 4)))


def _profile(rng: random.Random) -> list[tuple[str, str, str, str]]:
    """Extensions of a VM (or a scale set's model): (name, publisher, type, installed version + "+" when automatic)."""
    out = []
    for pub, typ, versions in rng.sample(EXTENSIONS, rng.randint(1, 3)):
        majors = sorted({v.split(".")[0] for v in versions}, key=int)
        case = rng.random()
        if case < 0.6:
            installed = versions[0]  # minor update(s) available
        elif case < 0.8:
            installed = versions[-1]  # up to date
        else:
            # Newest of the first major: only a new major is newer, when the catalog has one.
            first = [v for v in versions if v.split(".")[0] == majors[0]]
            installed = first[-1]
        out.append((SHORT[typ], pub, typ, installed, rng.random() < 0.85))
    return [(n, p, t, v + ("+" if auto else "")) for n, p, t, v, auto in out]


def _vm(name: str, region: str, zone: str | None, sub: str, exts: list[tuple[str, str, str, str]],
        rng: random.Random, env: str, *, scale_set: str | None = None, availability_set: str | None = None,
        ud: int | None = None, fd: int | None = None) -> dict[str, Any]:
    return {
        "name": name, "region": region, "zone": zone, "scale_set": scale_set, "availability_set": availability_set,
        "update_domain": ud, "fault_domain": fd, "subscription": sub, "healthy": rng.random() > 0.02,
        "tags": {"env": env, "ring": str(rng.randint(0, 2))},
        "extensions": [{"name": n, "publisher": p, "type": t, "version": v.rstrip("+"),
                        "enable_automatic_upgrade": v.endswith("+"), "auto_upgrade_minor_version": True}
                       for n, p, t, v in exts],
    }


def generate_fleet(vms: int, seed: int) -> Fleet:
    """The generated fleet, validated like a loaded one (every cross-reference check of engine.model.fleet)."""
    # Extensions are frozen models: VMs with the same extension state share one instance (a 1M-VM fleet then
    # needs under half the memory; each extension model costs about 1.2 KB).
    shared: dict[tuple[Any, ...], Extension] = {}

    def make(d: dict[str, Any]) -> VM:
        exts = []
        for e in d["extensions"]:
            key = tuple(e.values())
            if key not in shared:
                shared[key] = Extension.model_validate(e)
            exts.append(shared[key])
        return VM.model_validate({**d, "extensions": exts})

    fleet = Fleet.model_validate(generate(vms, seed, make))
    problems = validate_fleet(fleet, f"<generated {vms} VMs, seed {seed}>")
    if problems:
        raise InputError(problems)
    return fleet

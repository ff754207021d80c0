"""Hand-built policies, fleets and schedules for the executor tests (no parser or planner needed)."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from dsl.diagnostics import Span
from dsl.policy import (
    Capacity,
    DistinctLimit,
    Duration,
    Gate,
    HealthWaitGate,
    PauseGate,
    Percent,
    PhaseGate,
    Policy,
    PrecheckGate,
    RetryGate,
    Rule,
    SeparatePairs,
    StopUnhealthyGate,
    StopUpgradedGate,
)
from engine.model.fleet import Fleet, parse_fleet
from engine.model.schedule import Schedule, parse_schedule


def span(line: int) -> Span:
    return Span("spec.wg", line, 3, line, 20)


CAP20 = Percent(Fraction(20))


def default_rules() -> tuple[Rule, ...]:
    return (
        Capacity("batch_cap", span(2), amount=Percent(Fraction(20), minimum=1), of="scale_set", within="wave"),
        DistinctLimit("one_zone", span(3), limit=1, count="zone", per="region", within="wave"),
        DistinctLimit("one_ud", span(4), limit=1, count="update_domain", per="set", within="wave"),
        SeparatePairs("geo_pairs", span(5), within="phase"),
    )


def default_gates(retry_after: int = 3 * 86400, max_attempts: int = 3, pause: int = 0,
                  on_timeout: str = "rollback") -> tuple[Gate, ...]:
    gates: list[Gate] = [
        PrecheckGate("precheck", span(10), of="scale_set", cap=CAP20),
        HealthWaitGate("health_wait", span(11), wait=Duration(300), on_timeout=on_timeout),  # type: ignore[arg-type]
        StopUpgradedGate("stop_upgraded", span(12), of="scale_set", cap=CAP20),
        StopUnhealthyGate("stop_unhealthy", span(13), of="scale_set", cap=CAP20),
        PhaseGate("phases", span(14)),
        RetryGate("retry", span(15), after=Duration(retry_after), max_attempts=max_attempts),
    ]
    if pause:
        gates.append(PauseGate("pause", span(16), pause=Duration(pause), of="scale_set"))
    return tuple(gates)


def policy(gates: tuple[Gate, ...] | None = None, rules: tuple[Rule, ...] | None = None) -> Policy:
    return Policy("test", span(1), ("spec.wg",), rules=default_rules() if rules is None else rules,
                  gates=default_gates() if gates is None else gates)


CATALOG = [
    {"publisher": "Microsoft.Azure.Monitoring.DependencyAgent", "type": "DependencyAgentLinux",
     "versions": ["9.5", "9.10", "10.0"]},
    {"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent", "versions": ["1.2", "1.3"]},
]


def ext(name: str = "da", version: str = "9.5") -> dict[str, Any]:
    publisher, type_ = (("Microsoft.Azure.Monitoring.DependencyAgent", "DependencyAgentLinux") if name == "da"
                        else ("Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent"))
    return {"name": name, "publisher": publisher, "type": type_, "version": version, "enable_automatic_upgrade": True}


def fleet(sets: dict[str, int], unhealthy: tuple[str, ...] = (), singles: int = 0, exts: tuple[str, ...] = ("da",),
          regions: tuple[str, ...] = ("eastus",), zones: bool = False) -> Fleet:
    """Scale sets named by ``sets`` (name -> size) spread over ``regions`` in order; VMs ``<set>-<i>``."""
    vms: list[dict[str, Any]] = []
    set_entries = []
    for n, (name, size) in enumerate(sorted(sets.items())):
        region = regions[n % len(regions)]
        set_entries.append({"name": name, "region": region})
        for i in range(size):
            vm = f"{name}-{i}"
            vms.append({"name": vm, "region": region, "scale_set": name, "update_domain": i % 5,
                        "zone": str(1 + i % 3) if zones else None, "subscription": "sub",
                        "healthy": vm not in unhealthy,
                        "extensions": [ext(e, "9.5" if e == "da" else "1.2") for e in exts]})
    for i in range(singles):
        vm = f"single-{i}"
        vms.append({"name": vm, "region": regions[i % len(regions)], "subscription": "sub", "healthy": vm not in unhealthy,
                    "extensions": [ext(e, "9.5" if e == "da" else "1.2") for e in exts]})
    # Pairs stated (none): a region of the Azure table left without one would get the table's pair.
    region_list = [{"name": r, "pair": None, "zones": 3 if zones else 0} for r in regions]
    return parse_fleet({"regions": region_list, "catalog": CATALOG, "scale_sets": set_entries, "vms": vms})


def target(e: str) -> str:
    return "9.10" if e == "da" else "1.3"


def schedule(fl: Fleet, phase_of_region: dict[str, int] | None = None, exts: tuple[str, ...] | None = None,
             to: dict[str, str] | None = None) -> Schedule:
    """Waves that respect 20% per scale set per wave, one update domain per set per wave and one zone per region
    per wave (zone after zone), phases by region; single VMs go in the first wave of their phase."""
    phase_of_region = phase_of_region or {}
    by_phase: dict[int, dict[str, dict[str, list[Any]]]] = {}
    for vm in fl.vms:
        p = phase_of_region.get(vm.region, 0)
        by_phase.setdefault(p, {}).setdefault(vm.zone or "", {}).setdefault(vm.set_name or "", []).append(vm)
    waves: list[dict[str, Any]] = []
    phases = []
    for p in sorted(by_phase):
        regions = sorted({v.region for zs in by_phase[p].values() for vs in zs.values() for v in vs})
        phases.append({"index": p, "regions": regions})
        for zone in sorted(by_phase[p]):
            slots: dict[int, list[list[dict[str, Any]]]] = {}
            for set_name, members in sorted(by_phase[p][zone].items()):
                if not set_name:
                    slots.setdefault(0, []).extend(_tasks(v, exts, to) for v in members)
                    continue
                size = fl.set_sizes[set_name]
                cap = max(1, size // 5)
                by_ud: dict[int, list[Any]] = {}
                for v in members:
                    by_ud.setdefault(v.update_domain or 0, []).append(v)
                k = 0
                for ud in sorted(by_ud):
                    group = by_ud[ud]
                    for start in range(0, len(group), cap):
                        slots.setdefault(k, []).extend(_tasks(v, exts, to) for v in group[start:start + cap])
                        k += 1
            for k in sorted(slots):
                tasks = [t for ts in slots[k] for t in ts]
                if tasks:
                    waves.append({"index": len(waves), "phase": p, "tasks": tasks})
    return parse_schedule({"phases": phases, "waves": waves, "lower_bound": 0, "optimal": False})


def _tasks(vm: Any, exts: tuple[str, ...] | None, to: dict[str, str] | None) -> list[dict[str, Any]]:
    out = []
    for e in vm.extensions:
        if exts is not None and e.name not in exts:
            continue
        out.append({"vm": vm.name, "extension": e.name, "from_version": e.version,
                    "to_version": (to or {}).get(e.name, target(e.name))})
    return out

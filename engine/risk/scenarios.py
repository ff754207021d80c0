"""Scenarios of a fault model: scenario ``i`` of run seed ``s`` has the seed ``scenario_seed(s, i)``, and a scenario
seed alone (with the fault model, fleet, schedule and policy) determines its fault script and its driver seed.

Determinism argument: every draw is ``keyed_unit(seed, "risk", purpose, ...)``, a keyed hash of the scenario seed
and the name of what is drawn (a task, a VM, a version, the n-th maintenance event), never a shared random
generator.  So a draw depends on nothing but its key: not on which worker runs the scenario, nor on the batch, nor on
the order of the other draws; and ``wavegate simulate --model M --seed X`` draws exactly the fault script the risk run
drew for the scenario whose seed is ``X``.  Comparisons ``u < rate`` and products ``u * n`` are IEEE
operations, so two hosts agree; the one transcendental (``exp`` in the Poisson count) is the C library's, the same on
hosts with the same libm.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from dsl.policy import HealthWaitGate, Policy
from dsl.versions import parse_version
from engine.model.fault_model import FaultModel
from engine.model.faults import BadVersion, FaultScript, Maintenance, SlowInstall, VMFailure
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule
from engine.run.driver import NOMINAL_INSTALL_SECONDS, keyed_unit

# A VM unhealthy "for the whole run": a window far beyond any rollout (about 100 years), as a fleet's unhealthy VMs.
WHOLE_RUN_MINUTES = 100 * 365 * 24 * 60
# Poisson counts are drawn in pieces of at most this mean: exp(-mean) stays far from underflow.
POISSON_PIECE = 100.0
SEED_BITS = 48

VersionKey = tuple[str, str, tuple[int, ...]]  # publisher, type, parsed version


@dataclass(frozen=True)
class ScenarioSpace:
    """What a scenario is drawn over, prepared once per run from the model, fleet, schedule and policy."""

    model: FaultModel
    tasks: tuple[tuple[str, str], ...]  # (VM, extension name) of each scheduled task, in schedule order
    targets: tuple[tuple[str, str, str], ...]  # distinct (publisher, type, to_version) the schedule installs
    task_vms: tuple[str, ...]  # VMs with scheduled tasks, sorted
    healthy_vms: tuple[str, ...]  # VMs healthy in the fleet, in fleet order
    vm_units: tuple[str, ...]  # each fleet VM's batch unit (its set, or itself), in fleet order
    unit_members: dict[str, tuple[str, ...]]  # unit -> its VMs, sorted
    horizon_seconds: int  # maintenance events start in [0, horizon)


def nominal_seconds(policy: Policy, schedule: Schedule) -> int:
    """The schedule's nominal duration: waves x (nominal install + health wait)."""
    wait = next((g.wait.seconds for g in policy.gates if isinstance(g, HealthWaitGate)), 0)
    return len(schedule.waves) * (NOMINAL_INSTALL_SECONDS + wait)


def build_space(model: FaultModel, policy: Policy, fleet: Fleet, schedule: Schedule) -> ScenarioSpace:
    vms = fleet.vm_by_name
    tasks: list[tuple[str, str]] = []
    targets: dict[tuple[str, str, str], None] = {}
    for wave in schedule.waves:
        for t in wave.tasks:
            ext = next(e for e in vms[t.vm].extensions if e.name == t.extension)
            tasks.append((t.vm, t.extension))
            targets.setdefault((ext.publisher, ext.type, t.to_version), None)
    units = tuple(vm.set_name or vm.name for vm in fleet.vms)
    members: dict[str, list[str]] = {}
    for vm, unit in zip(fleet.vms, units, strict=True):
        members.setdefault(unit, []).append(vm.name)
    horizon = (round(model.horizon_minutes * 60) if model.horizon_minutes is not None
               else nominal_seconds(policy, schedule))
    return ScenarioSpace(
        model=model, tasks=tuple(tasks), targets=tuple(targets),
        task_vms=tuple(sorted({vm for vm, _ in tasks})),
        healthy_vms=tuple(vm.name for vm in fleet.vms if vm.healthy),
        vm_units=units, unit_members={u: tuple(sorted(ms)) for u, ms in members.items()},
        horizon_seconds=max(1, horizon))


def scenario_seed(run_seed: int, index: int) -> int:
    """The seed of scenario ``index`` of a run with seed ``run_seed`` (48 bits of a keyed hash: runs with different
    seeds draw unrelated scenarios)."""
    digest = hashlib.blake2b(f"wavegate-risk|{run_seed}|{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> (64 - SEED_BITS)


def poisson(seed: int, lam: float, *key: object) -> int:
    """A Poisson(lam) count by inversion of its CDF, in pieces of mean <= POISSON_PIECE (a sum of independent
    Poisson counts is Poisson), each piece from its own keyed uniform."""
    pieces = max(1, math.ceil(lam / POISSON_PIECE))
    mean = lam / pieces
    total = 0
    for piece in range(pieces):
        u = keyed_unit(seed, "risk", *key, "count", piece)
        k, p = 0, math.exp(-mean)
        cdf = p
        while u >= cdf and p > 0.0:
            k += 1
            p *= mean / k
            cdf += p
        total += k
    return total


def _units(seed: int, purpose: str, names: Sequence[str]) -> list[float]:
    """``keyed_unit(seed, "risk", purpose, name)`` for many names (the key prefix joined once: thousands per draw)."""
    prefix = f"{seed}|risk|{purpose}|"
    blake2b = hashlib.blake2b
    return [int.from_bytes(blake2b((prefix + name).encode(), digest_size=8).digest(), "big") / 18446744073709551616.0
            for name in names]


@dataclass(frozen=True)
class Drawn:
    """A drawn scenario: its fault script and how many faults of each kind it holds."""

    script: FaultScript
    counts: dict[str, int]


def draw_faults(space: ScenarioSpace, seed: int) -> Drawn:
    """The fault script of the scenario with this seed."""
    model = space.model
    failures = model.install_failures
    slow = model.slow_installs
    start = _unhealthy_at_start(space, seed)
    windows = _maintenance(space, seed)
    script = FaultScript(
        bad_versions=_bad_versions(space, seed),
        vm_failures=[VMFailure(vm=vm, extension=ext, attempts=failures.attempts)
                     for (vm, ext), u in zip(space.tasks, _units(seed, "install", [f"{vm}|{ext}" for vm, ext in space.tasks]),
                                             strict=True) if u < failures.rate]
        if failures is not None and failures.rate > 0 else [],
        maintenance=start + windows,
        slow_installs=[SlowInstall(vm=vm, minutes=slow.minutes)
                       for vm, u in zip(space.task_vms, _units(seed, "slow", space.task_vms), strict=True)
                       if u < slow.rate]
        if slow is not None and slow.rate > 0 else [],
    )
    counts = {"bad_versions": len(script.bad_versions), "install_failures": len(script.vm_failures),
              "maintenance_events": len(windows), "slow_installs": len(script.slow_installs),
              "unhealthy_at_start": sum(len(m.vms) for m in start)}
    return Drawn(script, counts)


def _bad_versions(space: ScenarioSpace, seed: int) -> list[BadVersion]:
    model = space.model
    out: list[BadVersion] = []
    listed: set[VersionKey] = set()
    for b in model.bad_versions:
        key = (b.publisher, b.type, parse_version(b.version))
        listed.add(key)
        if keyed_unit(seed, "risk", "bad", b.publisher, b.type, key[2]) < b.probability:
            out.append(BadVersion(publisher=b.publisher, type=b.type, version=b.version, fail_rate=b.fail_rate))
    anyv = model.any_new_version
    if anyv is not None and anyv.probability > 0:
        for publisher, type_, version in space.targets:
            key = (publisher, type_, parse_version(version))
            if key not in listed and keyed_unit(seed, "risk", "bad", publisher, type_, key[2]) < anyv.probability:
                listed.add(key)  # two spellings of one version are one version
                out.append(BadVersion(publisher=publisher, type=type_, version=version, fail_rate=anyv.fail_rate))
    return out


def _unhealthy_at_start(space: ScenarioSpace, seed: int) -> list[Maintenance]:
    risk = space.model.unhealthy_at_start
    if risk is None or risk.rate <= 0:
        return []
    down = [vm for vm, u in zip(space.healthy_vms, _units(seed, "unhealthy", space.healthy_vms), strict=True)
            if u < risk.rate]
    if not down:
        return []
    return [Maintenance(at_minutes=0, vms=down, minutes=risk.minutes if risk.minutes is not None else WHOLE_RUN_MINUTES)]


def _maintenance(space: ScenarioSpace, seed: int) -> list[Maintenance]:
    out: list[Maintenance] = []
    n = len(space.vm_units)
    if n == 0:
        return out
    for j, m in enumerate(space.model.maintenance):
        events = poisson(seed, m.per_day * space.horizon_seconds / 86400, "maint", j) if m.per_day > 0 else 0
        for e in range(events):
            start = int(keyed_unit(seed, "risk", "maint", j, e, "at") * space.horizon_seconds)
            anchor = int(keyed_unit(seed, "risk", "maint", j, e, "vm") * n)
            members = space.unit_members[space.vm_units[anchor]]
            # The event's VMs: the first ``m.vms`` of its set in a keyed order (the whole set when it is that small).
            order = sorted(zip(_units(seed, f"maint|{j}|{e}", members), members, strict=True))
            out.append(Maintenance(at_minutes=start / 60, vms=sorted(vm for _, vm in order[:m.vms]), minutes=m.minutes))
    return out

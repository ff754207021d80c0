"""The plain greedy baseline a careful operator would write by hand, for benchmarks against the optimiser.

Phases: regions in name order, canary regions first (alone when the rule says so), each region in the first phase
after that holding no geo-pair of it and fewer regions than a per-phase region limit.  Waves: per phase, wave after
wave, classes in name order, each taking as many VMs as the wave-unit rules still allow (first fit).  No bounds, no
solver, no priorities: the difference to ``engine.plan.synthesis.plan`` is what the optimiser buys.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass

from dsl.policy import Canary, DistinctLimit, Policy, SeparatePairs, SeparateRegions, TrueP
from engine.model.errors import SolverTimeout
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule
from engine.model.upgrades import resolve_upgrades
from engine.plan.budget import Budget
from engine.plan.construct import construct
from engine.plan.groups import Groups, build_groups
from engine.plan.output import build_schedule


@dataclass(frozen=True)
class GreedyResult:
    schedule: Schedule
    elapsed: float
    waves: int


def greedy_phases(groups: Groups, lengths: dict[str, int] | None = None) -> dict[str, int]:
    """First-fit phases; regions in name order, or longest first when ``lengths`` are given (then regions of
    similar length share phases, which is what a sum of per-phase maxima rewards)."""
    apart: dict[str, set[str]] = defaultdict(set)
    for r in groups.rules:
        pairs: list[tuple[str, str]] = []
        if isinstance(r, SeparatePairs):
            pairs = list(groups.pairs)
        elif isinstance(r, SeparateRegions):
            listed = sorted(set(r.regions))
            pairs = [(a, b) for k, a in enumerate(listed) for b in listed[k + 1:]]
        for a, b in pairs:
            apart[a].add(b)
            apart[b].add(a)
    per_phase = min((r.limit for r in groups.rules if isinstance(r, DistinctLimit) and r.within == "phase"
                     and r.count == "region" and r.per == "fleet" and isinstance(r.where, TrueP)), default=None)
    canary: list[str] = []
    alone = False
    for r in groups.rules:
        if isinstance(r, Canary):
            canary += [x for x in r.regions if x in groups.regions]
            alone = alone or r.alone
    phases: list[list[str]] = []
    assign: dict[str, int] = {}

    def place(region: str, first: int) -> None:
        p = first
        while True:
            if p == len(phases):
                phases.append([])
            members = phases[p]
            if not (apart[region] & set(members)) and (per_phase is None or len(members) < per_phase):
                members.append(region)
                assign[region] = p
                return
            p += 1

    for region in sorted(set(canary)):
        place(region, 0)
    start = len(phases) if canary and alone else 0
    order = sorted(groups.regions, key=lambda r: (-lengths.get(r, 0), r)) if lengths else list(groups.regions)
    for region in order:
        if region not in assign:
            place(region, start)
    used = sorted(set(assign.values()))
    index = {p: k for k, p in enumerate(used)}
    return {r: index[p] for r, p in assign.items()}


def greedy_plan(policy: Policy, fleet: Fleet) -> GreedyResult:
    """The baseline schedule (not proven anything; the caller re-checks it like any other)."""
    start = time.monotonic()
    resolution = resolve_upgrades(fleet, policy.versions)
    groups = build_groups(policy, fleet, resolution)
    assign = greedy_phases(groups)
    n = max(assign.values(), default=-1) + 1
    blocks: list[list[int]] = [[] for _ in range(n)]
    for c in groups.classes:
        blocks[assign[c.region]].append(c.index)
    plans = construct(groups, blocks, smart=False)
    if plans is None:
        raise SolverTimeout("the greedy baseline got stuck (a rule it cannot satisfy by first fit)")
    waves = [(p, dict(w)) for p, plan in enumerate(plans) for w in plan]
    schedule = build_schedule(groups, resolution.skipped, waves, 0, False, Budget(time.monotonic()), [], 0)
    return GreedyResult(schedule, time.monotonic() - start, len(waves))

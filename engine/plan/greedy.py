"""The plain greedy baseline a careful operator would write by hand, for benchmarks against the optimiser.

Phases: regions in name order, canary regions first (alone when the rule says so), each region in the first phase
after that holding no region kept apart from it and fewer regions than a per-phase region limit
(engine.plan.phases).  Waves: per phase, wave after wave, classes in name order, each taking as many VMs as the
wave-unit rules still allow (first fit).  No bounds, no solver, no priorities: the difference to
``engine.plan.synthesis.plan`` is what the optimiser buys.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from dsl.policy import Policy
from engine.model.digest import tie
from engine.model.errors import SolverTimeout
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule
from engine.model.upgrades import resolve_upgrades
from engine.plan.budget import Budget
from engine.plan.construct import construct
from engine.plan.groups import build_groups
from engine.plan.output import build_schedule
from engine.plan.phases import greedy_phases


@dataclass(frozen=True)
class GreedyResult:
    schedule: Schedule
    elapsed: float
    waves: int


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
    schedule = tie(build_schedule(groups, resolution.skipped, waves, 0, False, Budget(time.monotonic()), [], 0),
                   policy, fleet)
    return GreedyResult(schedule, time.monotonic() - start, len(waves))

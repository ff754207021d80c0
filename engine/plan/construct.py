"""Constructive scheduling over classes: waves filled one at a time, most-needed classes first.

Each wave takes, class by class in priority order, as many VMs as every wave-unit rule still allows given what the
wave already holds (capacity left, distinct values left, not the whole group, unit budget left, order respected, no
region kept apart in the same wave): each rule's planner keeps its own bookkeeping (``PlanKind.filler``).  The
priority of a class is the remaining lower bound (engine.plan.lower_bounds) of the parts of the fleet it belongs to
that a rule names (``PlanKind.priority_parts``: e.g. its zone's remaining block, then its update domain's remaining
batches), so the wave goes to the zone with the longest remaining work and every set in it advances by one batch:
under the Azure default rules this meets the per-(region, zone) block bound.  The result is only a candidate; the
synthesis compares it with the lower bound and the solver, and the independent checker re-checks every schedule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from engine.plan.groups import Groups
from engine.plan.kinds.base import Filler
from engine.plan.lower_bounds import need

WavePlan = list[dict[int, int]]  # per wave: class index -> VMs of that class in the wave


def construct(
    groups: Groups,
    blocks: Sequence[Sequence[int]],
    *,
    max_waves: int | None = None,
    honour_unit_limits: bool = True,
    smart: bool = True,
) -> list[WavePlan] | None:
    """Wave plans for consecutive blocks of classes (one block per phase; the waves of a block hold only its
    classes; unit budgets and order carry across blocks), or None when the greedy gets stuck or needs more than
    ``max_waves`` waves in all.  ``smart=False`` takes classes in index order (the plain baseline)."""
    cls = groups.classes
    ids = sorted(c for b in blocks for c in b)
    fillers = [f for p in groups.planners if (f := p.filler(ids, honour_unit_limits)) is not None]
    plans: list[WavePlan] = []
    total_waves = 0
    for block in blocks:
        rem = {c: cls[c].count for c in sorted(block)}
        plan: WavePlan = []
        while any(rem.values()):
            if max_waves is not None and total_waves >= max_waves:
                return None
            wave = _fill(groups, rem, fillers, smart)
            if not wave:
                return None
            plan.append(wave)
            total_waves += 1
        plans.append(plan)
    return plans


def _fill(groups: Groups, rem: dict[int, int], fillers: list[Filler], smart: bool) -> dict[int, int]:
    """One wave: as many VMs as the rules allow, classes in priority order; updates the carried state."""
    wave: dict[int, int] = {}
    for f in fillers:
        f.begin_wave()
    order = _priority(groups, rem) if smart else sorted(c for c, n in rem.items() if n > 0)
    for c in order:
        k = rem[c]
        for f in fillers:
            k = f.room(c, k)
            if k <= 0:
                break
        if k <= 0:
            continue
        wave[c] = k
        rem[c] -= k
        for f in fillers:
            f.take(c, k)
    for f in fillers:
        f.end_wave(bool(wave))
    return wave


def _priority(groups: Groups, rem: Mapping[int, int]) -> list[int]:
    """Classes with VMs left, most constrained first: by the remaining need of each part a rule names."""
    live = {c: n for c, n in rem.items() if n > 0}
    scores: dict[int, list[int]] = {c: [] for c in live}
    for p in groups.planners:
        for sub in p.priority_parts(live):
            s = need(groups, sub, frozenset({p.index}))
            for c in sub:
                scores[c].append(s)
    own = {c: need(groups, {c: n}) for c, n in live.items()}
    return sorted(live, key=lambda c: (tuple(-s for s in sorted(scores[c], reverse=True)), -own[c], c))

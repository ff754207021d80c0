"""Phases without the solver: first-fit phases (longest regions first), their check, and the combinatorial phase bound.

All three read the rules' phase structure through one reading (:func:`phase_shape`, each kind's
``PlanKind.shape_phases``): regions kept apart, regions per phase (per group of the rule's scope, counting only the
regions whose VMs match its filter), canary regions and whether they go alone.
"""

from __future__ import annotations

from collections import defaultdict

from engine.plan.groups import Groups
from engine.plan.kinds.base import PhaseShape

PhaseAssignment = tuple[dict[str, int], int, bool]  # (phase of each region, total waves, proven optimal)


def phase_shape(groups: Groups) -> PhaseShape:
    shape = PhaseShape()
    for p in groups.plans:
        p.shape_phases(shape)
    return shape


def first_fit_ready(groups: Groups) -> bool:
    """Do first-fit phases honour every phase rule of the policy?"""
    return all(p.first_fit_ready() for p in groups.plans)


def greedy_phases(groups: Groups, lengths: dict[str, int] | None = None) -> dict[str, int]:
    """First-fit phases; regions in name order, or longest first when ``lengths`` are given (then regions of
    similar length share phases, which is what a sum of per-phase maxima rewards).  Canary regions come first
    (alone when a canary rule says so); a region goes in the first phase holding no region kept apart from it and
    fewer regions than every regions-per-phase limit it counts under."""
    shape = phase_shape(groups)
    apart: dict[str, set[str]] = defaultdict(set)
    for a, b in shape.kept_apart:
        apart[a].add(b)
        apart[b].add(a)
    canary = sorted({x for regions, _ in shape.canaries for x in regions})
    alone = any(a for _, a in shape.canaries)
    phases: list[list[str]] = []
    assign: dict[str, int] = {}

    def fits(region: str, members: list[str]) -> bool:
        if apart[region] & set(members):
            return False
        return all(sum(1 for m in members if m in counted) < limit
                   for limit, counted in shape.region_caps if region in counted)

    def place(region: str, first: int) -> None:
        p = first
        while True:
            if p == len(phases):
                phases.append([])
            if fits(region, phases[p]):
                phases[p].append(region)
                assign[region] = p
                return
            p += 1

    for region in canary:
        place(region, 0)
    start = len(phases) if canary and alone else 0
    order = sorted(groups.regions, key=lambda r: (-lengths.get(r, 0), r)) if lengths else list(groups.regions)
    for region in order:
        if region not in assign:
            place(region, start)
    return renumber(assign)


def first_fit_valid(groups: Groups, assign: dict[str, int]) -> bool:
    """The phase rules the first-fit heuristic aims at, confirmed (it may place a canary late)."""
    shape = phase_shape(groups)
    if any(assign[a] == assign[b] for a, b in shape.apart):
        return False
    for regions, alone in shape.canaries:
        if any(assign[x] != 0 for x in regions):
            return False
        if alone and regions and any(p == 0 and x not in regions for x, p in assign.items()):
            return False
    for limit, counted in shape.region_caps:
        per: dict[int, int] = defaultdict(int)
        for r in counted:
            per[assign[r]] += 1
        if max(per.values(), default=0) > limit:
            return False
    return True


def phase_bound(groups: Groups, lengths: dict[str, int]) -> int:
    """Lower bound on the total waves for regions of known minimal lengths, whatever the phase assignment:
    a phase lasts as long as its longest region; with at most K of some regions per phase, the phase holding the
    j-th longest of them (in steps of K) costs at least that region's length; canary regions that go alone form
    phases of their own; two regions kept apart never share a phase, so their lengths add up."""
    if not lengths:
        return 0
    shape = phase_shape(groups)
    alone = {x for regions, a in shape.canaries if a for x in regions if x in lengths}
    first = max((lengths[x] for x in alone), default=0)
    rest = [r for r in lengths if r not in alone]
    best = max((lengths[r] for r in rest), default=0)
    for limit, counted in shape.region_caps:
        if limit > 0:
            seq = sorted((lengths[r] for r in rest if r in counted), reverse=True)
            best = max(best, sum(seq[j] for j in range(0, len(seq), limit)))
    for a, b in shape.apart:
        if a in lengths and b in lengths and a not in alone and b not in alone:
            best = max(best, lengths[a] + lengths[b])
    return first + best


def phase_total(assign: dict[str, int], lengths: dict[str, int]) -> int:
    per: dict[int, int] = defaultdict(int)
    for r, p in assign.items():
        per[p] = max(per[p], lengths[r])
    return sum(per.values())


def renumber(assign: dict[str, int]) -> dict[str, int]:
    """Phases numbered 0.. in order of use, regions in name order."""
    used = sorted(set(assign.values()))
    index = {p: k for k, p in enumerate(used)}
    return {r: index[p] for r, p in sorted(assign.items())}


def first_fit_if_tight(groups: Groups, lengths: dict[str, int], limit: int | None) -> PhaseAssignment | None:
    """Longest-first first-fit phases, when they meet the combinatorial phase bound (then they are optimal and
    the phase model is not needed); None otherwise."""
    if not lengths or not first_fit_ready(groups):
        return None
    assign = greedy_phases(groups, lengths)
    total = phase_total(assign, lengths)
    if total != phase_bound(groups, lengths) or (limit is not None and total > limit):
        return None
    if not first_fit_valid(groups, assign):
        return None
    return assign, total, True

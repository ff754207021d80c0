"""Combinatorial lower bounds on the number of waves a set of VM classes needs, from the wave-unit rules alone.

``need(S)`` is the largest of 1 (S is not empty) and every rule planner's term (``PlanKind.bound``): for a capacity
group, ceil(VMs / cap); for a NotWhole group wholly in S, 2; for a DistinctLimit group with limit l, ceil(sum over
its values v of need(S restricted to v) / l) (each wave shows at most l values, value v must show in need(S_v)
waves); for Order, need(earlier) + need(later); for OrderBy over a chain of keys, the sum of the keys' needs; for
the units of split VMs, the sum of the units' needs.  Recursion does not reuse a rule it is already inside, and stops
at a fixed depth.  Each term is a necessary condition, so the maximum is a bound.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.plan.groups import Groups

MAX_DEPTH = 3


def need(groups: Groups, counts: Mapping[int, int], used: frozenset[int] = frozenset(), depth: int = MAX_DEPTH) -> int:
    """Lower bound on the waves needed to schedule ``counts`` (class index -> VMs still to place)."""
    live = {c: n for c, n in counts.items() if n > 0}
    if not live:
        return 0

    def inner(sub: Mapping[int, int], inner_used: frozenset[int], inner_depth: int) -> int:
        return need(groups, sub, inner_used, inner_depth)

    best = 1
    for p in groups.planners:
        best = max(best, p.bound(live, used, depth, inner))
    return best

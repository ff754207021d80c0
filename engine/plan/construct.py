"""Constructive scheduling over classes: waves filled one at a time, most-needed classes first.

Each wave takes, class by class in priority order, as many VMs as every wave-unit rule still allows given what the
wave already holds (capacity left, distinct values left, not the whole group, unit budget left, order respected, no
paired region in the same wave).  The priority of a class is the remaining lower bound (engine.plan.lower_bounds) of the
part of its DistinctLimit groups it belongs to (e.g. its zone's remaining block, then its update domain's remaining
batches), so the wave goes to the zone with the longest remaining work and every set in it advances by one batch:
under the Azure default rules this meets the per-(region, zone) block bound.  The result is only a candidate; the
synthesis compares it with the lower bound and the solver, and the independent checker re-checks every schedule.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from dsl.policy import (
    Capacity,
    DistinctLimit,
    NotWhole,
    Order,
    OrderBy,
    SeparatePairs,
    SeparateRegions,
    UnitLimit,
)
from engine.plan.groups import Groups, cap_of, key_before
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
    rem_all = {c: cls[c].count for c in ids}
    rules = groups.rules
    sep_pairs: set[tuple[str, str]] = set()
    for r in rules:
        if isinstance(r, SeparatePairs) and r.within == "wave":
            sep_pairs.update(groups.pairs)
        elif isinstance(r, SeparateRegions) and r.within == "wave":
            listed = sorted(set(r.regions))
            sep_pairs.update((a, b) for k, a in enumerate(listed) for b in listed[k + 1:])
    partners: dict[str, set[str]] = defaultdict(set)
    for a, b in sep_pairs:
        partners[a].add(b)
        partners[b].add(a)
    # Totals of scheduled VMs per NotWhole group among these classes (whole only when all are here).
    nw_total: dict[tuple[int, Any], int] = defaultdict(int)
    for i, r in enumerate(rules):
        if isinstance(r, NotWhole) and r.within == "wave":
            for c in ids:
                v = cls[c].views[i]
                if v is not None:
                    nw_total[(i, v)] += cls[c].count
    unit_used: dict[tuple[int, Any], int] = defaultdict(int)
    order_rem: dict[tuple[int, Any], int] = defaultdict(int)  # (rule, key or "e") -> VMs left
    order_started: dict[tuple[int, Any], bool] = defaultdict(bool)
    for i, r in enumerate(rules):
        if isinstance(r, Order) and r.unit == "wave":
            for c in ids:
                if cls[c].views[i][0]:
                    order_rem[(i, "e")] += cls[c].count
        elif isinstance(r, OrderBy) and r.unit == "wave":
            for c in ids:
                if cls[c].views[i] is not None:
                    order_rem[(i, cls[c].views[i])] += cls[c].count
    orderby_keys = {i: sorted({k for (j, k) in order_rem if j == i}) for i, r in enumerate(rules)
                    if isinstance(r, OrderBy) and r.unit == "wave"}
    plans: list[WavePlan] = []
    total_waves = 0
    for block in blocks:
        rem = {c: rem_all[c] for c in sorted(block)}
        plan: WavePlan = []
        while any(rem.values()):
            if max_waves is not None and total_waves >= max_waves:
                return None
            wave = _fill(groups, rem, rules, partners, nw_total, unit_used, order_rem, order_started, orderby_keys,
                         honour_unit_limits, smart)
            if not wave:
                return None
            plan.append(wave)
            total_waves += 1
        plans.append(plan)
    return plans


def _fill(
    groups: Groups,
    rem: dict[int, int],
    rules: Sequence[Any],
    partners: dict[str, set[str]],
    nw_total: dict[tuple[int, Any], int],
    unit_used: dict[tuple[int, Any], int],
    order_rem: dict[tuple[int, Any], int],
    order_started: dict[tuple[int, Any], bool],
    orderby_keys: dict[int, list[Any]],
    honour_unit_limits: bool,
    smart: bool,
) -> dict[int, int]:
    """One wave: as many VMs as the rules allow, classes in priority order; updates the carried state."""
    cls = groups.classes
    start_rem = dict(order_rem)
    wave: dict[int, int] = {}
    cur: dict[tuple[int, Any], int] = defaultdict(int)
    vals: dict[tuple[int, Any], set[Any]] = defaultdict(set)
    active_regions: set[str] = set()
    active_units: set[tuple[int, Any]] = set()
    order = _priority(groups, rem) if smart else sorted(c for c, n in rem.items() if n > 0)
    for c in order:
        vc = cls[c]
        k = rem[c]
        if partners.get(vc.region) and partners[vc.region] & active_regions:
            continue
        for i, r in enumerate(rules):
            if k <= 0:
                break
            v = vc.views[i]
            if isinstance(r, Capacity) and r.within == "wave" and v is not None:
                k = min(k, cap_of(groups, i, v) - cur[(i, v)])
            elif isinstance(r, DistinctLimit) and r.within == "wave" and v is not None:
                new = {(n,) for n in v[1]} if r.count == "extension" else ({v[1]} if v[1] is not None else set())
                if len(vals[(i, v[0])] | new) > r.limit:
                    k = 0
            elif isinstance(r, NotWhole) and r.within == "wave" and v is not None:
                size = groups.sizes[i].get(v, 0)
                if size >= r.min_size and nw_total[(i, v)] >= size:
                    k = min(k, size - 1 - cur[(i, v)])
            elif isinstance(r, UnitLimit) and r.unit == "wave" and v is not None and honour_unit_limits:
                if (i, v) not in active_units and unit_used[(i, v)] >= r.limit:
                    k = 0
            elif isinstance(r, Order) and r.unit == "wave":
                if v[1] and start_rem.get((i, "e"), 0) > 0:
                    k = 0
                if v[0] and order_started[(i, "l")]:
                    k = 0
            elif isinstance(r, OrderBy) and r.unit == "wave" and v is not None:
                keys = orderby_keys[i]
                if any(start_rem.get((i, a), 0) > 0 for a in keys if key_before(a, v, r.descending)):
                    k = 0
                if any(order_started[(i, b)] for b in keys if key_before(v, b, r.descending)):
                    k = 0
        if k <= 0:
            continue
        wave[c] = k
        rem[c] -= k
        active_regions.add(vc.region)
        for i, r in enumerate(rules):
            v = vc.views[i]
            if isinstance(r, Capacity | NotWhole) and v is not None:
                cur[(i, v)] += k
            elif isinstance(r, DistinctLimit) and v is not None:
                vals[(i, v[0])] |= {(n,) for n in v[1]} if r.count == "extension" else (
                    {v[1]} if v[1] is not None else set())
            elif isinstance(r, UnitLimit) and v is not None:
                active_units.add((i, v))
            elif isinstance(r, Order):
                if v[0]:
                    order_rem[(i, "e")] -= k
                if v[1]:
                    order_started[(i, "l")] = True
            elif isinstance(r, OrderBy) and v is not None:
                order_rem[(i, v)] -= k
                order_started[(i, v)] = True
    if wave:
        for u in active_units:
            unit_used[u] += 1
    return wave


class WaveLoad:
    """What one wave holds, per wave-local rule (capacity used, distinct values shown, VMs of whole-able groups),
    kept up to date as VMs move, so asking whether one more VM fits costs one pass over the rules."""

    def __init__(self, groups: Groups, wave: dict[int, int]) -> None:
        self.groups = groups
        self.used: dict[tuple[int, Any], int] = defaultdict(int)
        self.values: dict[tuple[int, Any], dict[Any, int]] = defaultdict(lambda: defaultdict(int))
        for c, n in wave.items():
            self._change(c, n)

    def _shown(self, rule: DistinctLimit, v: Any) -> set[Any]:
        if rule.count == "extension":
            return {(n,) for n in v[1]}
        return {v[1]} if v[1] is not None else set()

    def _change(self, c: int, n: int) -> None:
        vc = self.groups.classes[c]
        for i, r in enumerate(self.groups.rules):
            v = vc.views[i]
            if v is None:
                continue
            if isinstance(r, Capacity | NotWhole) and r.within == "wave":
                self.used[(i, v)] += n
            elif isinstance(r, DistinctLimit) and r.within == "wave":
                shown = self.values[(i, v[0])]
                for val in self._shown(r, v):
                    shown[val] += n
                    if shown[val] <= 0:
                        del shown[val]

    def add(self, c: int, n: int = 1) -> None:
        self._change(c, n)

    def remove(self, c: int, n: int = 1) -> None:
        self._change(c, -n)

    def fits(self, c: int) -> bool:
        """Can one more VM of class c join under the wave-local rules (capacity, distinct values, not whole)?"""
        g = self.groups
        vc = g.classes[c]
        for i, r in enumerate(g.rules):
            v = vc.views[i]
            if v is None:
                continue
            if isinstance(r, Capacity) and r.within == "wave":
                if self.used[(i, v)] + 1 > cap_of(g, i, v):
                    return False
            elif isinstance(r, DistinctLimit) and r.within == "wave":
                shown = self.values[(i, v[0])]
                if len(set(shown) | self._shown(r, v)) > r.limit:
                    return False
            elif isinstance(r, NotWhole) and r.within == "wave" and (
                    self.used[(i, v)] + 1 >= g.sizes[i].get(v, 0) >= r.min_size):
                return False
        return True


def _priority(groups: Groups, rem: dict[int, int]) -> list[int]:
    """Classes with VMs left, most constrained first: by the remaining need of each DistinctLimit part they are in."""
    cls = groups.classes
    live = {c: n for c, n in rem.items() if n > 0}
    scores: dict[int, list[int]] = {c: [] for c in live}
    for i, r in enumerate(groups.rules):
        if not (isinstance(r, DistinctLimit) and r.within == "wave" and r.count != "extension"):
            continue
        parts: dict[Any, dict[int, int]] = defaultdict(dict)
        for c, n in live.items():
            v = cls[c].views[i]
            if v is not None and v[1] is not None:
                parts[v].update({c: n})
        for sub in parts.values():
            s = need(groups, sub, frozenset({i}))
            for c in sub:
                scores[c].append(s)
    own = {c: need(groups, {c: n}) for c, n in live.items()}
    return sorted(live, key=lambda c: (tuple(-s for s in sorted(scores[c], reverse=True)), -own[c], c))

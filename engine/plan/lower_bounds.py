"""Combinatorial lower bounds on the number of waves a set of VM classes needs, from the wave-unit rules alone.

``need(S)`` is the largest of: 1 (S is not empty); for a capacity group, ceil(VMs / cap); for a NotWhole group
wholly in S, 2; for a DistinctLimit group with limit l, ceil(sum over its values v of need(S restricted to v) / l)
(each wave shows at most l values, value v must show in need(S_v) waves); for Order, need(earlier) + need(later);
for OrderBy over a chain of keys, the sum of the keys' needs.  Recursion does not reuse a DistinctLimit or order rule
it is already inside, and stops at a fixed depth.  Each term is a necessary condition, so the maximum is a bound.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from dsl.policy import Canary, Capacity, DistinctLimit, NotWhole, Order, OrderBy, SeparatePairs, TrueP
from engine.plan.groups import Groups, cap_of, key_before

MAX_DEPTH = 3


def need(groups: Groups, counts: Mapping[int, int], used: frozenset[int] = frozenset(), depth: int = MAX_DEPTH) -> int:
    """Lower bound on the waves needed to schedule ``counts`` (class index -> VMs still to place)."""
    live = {c: n for c, n in counts.items() if n > 0}
    if not live:
        return 0
    best = 1
    cls = groups.classes
    for i, rule in enumerate(groups.rules):
        if isinstance(rule, Capacity) and rule.within == "wave":
            tot: dict[Any, int] = defaultdict(int)
            for c, n in live.items():
                v = cls[c].views[i]
                if v is not None:
                    tot[v] += n
            for key, n in tot.items():
                cap = cap_of(groups, i, key)
                if cap > 0:
                    best = max(best, -(-n // cap))
        elif isinstance(rule, NotWhole) and rule.within == "wave":
            tot = defaultdict(int)
            for c, n in live.items():
                v = cls[c].views[i]
                if v is not None:
                    tot[v] += n
            for key, n in tot.items():
                size = groups.sizes[i].get(key, 0)
                if size >= max(2, rule.min_size) and n == size:
                    best = max(best, 2)
        elif depth <= 0 or i in used:
            continue
        elif isinstance(rule, DistinctLimit) and rule.within == "wave" and rule.limit > 0 and rule.count != "extension":
            parts: dict[object, dict[object, dict[int, int]]] = defaultdict(lambda: defaultdict(dict))
            for c, n in live.items():
                v = cls[c].views[i]
                if v is not None and v[1] is not None:
                    parts[v[0]][v[1]][c] = n
            for values in parts.values():
                if len(values) <= rule.limit and len(values) <= 1:
                    continue
                total = sum(need(groups, sub, used | {i}, depth - 1) for sub in values.values())
                best = max(best, -(-total // rule.limit))
        elif isinstance(rule, Order) and rule.unit == "wave":
            early = {c: n for c, n in live.items() if cls[c].views[i][0]}
            late = {c: n for c, n in live.items() if cls[c].views[i][1]}
            if early and late:
                best = max(best, need(groups, early, used | {i}, depth - 1) + need(groups, late, used | {i}, depth - 1))
        elif isinstance(rule, OrderBy) and rule.unit == "wave":
            by_key: dict[str, dict[int, int]] = defaultdict(dict)
            for c, n in live.items():
                v = cls[c].views[i]
                if v is not None:
                    by_key[v][c] = n
            keys = sorted(by_key)
            # Longest chain through the "before" relation (keys are few); each link adds that key's need.
            ks = {k: need(groups, by_key[k], used | {i}, depth - 1) for k in keys}
            chain: dict[str, int] = {}
            for k in sorted(keys, key=lambda k: sum(1 for a in keys if key_before(a, k, rule.descending))):
                prev = [chain[a] for a in keys if a in chain and key_before(a, k, rule.descending)]
                chain[k] = ks[k] + max(prev, default=0)
            best = max(best, max(chain.values(), default=0))
    return best


def phase_bound(groups: Groups, lengths: Mapping[str, int]) -> int:
    """Lower bound on the total waves for regions of known minimal lengths, whatever the phase assignment:
    a phase lasts as long as its longest region; with at most K regions per phase, the phase holding the j-th
    longest region (in steps of K) costs at least that region's length; canary regions that go alone form
    phases of their own; two geo-paired regions never share a phase, so their lengths add up."""
    if not lengths:
        return 0
    caps = [r.limit for r in groups.rules if isinstance(r, DistinctLimit) and r.within == "phase"
            and r.count == "region" and r.per == "fleet" and isinstance(r.where, TrueP)]
    k = min(caps) if caps else None
    alone = {x for r in groups.rules if isinstance(r, Canary) and r.alone for x in r.regions if x in lengths}
    first = max((lengths[x] for x in alone), default=0)
    rest = sorted((n for r, n in lengths.items() if r not in alone), reverse=True)
    if k is not None and k > 0:
        chunks = sum(rest[j] for j in range(0, len(rest), k))
    else:
        chunks = rest[0] if rest else 0
    best = chunks
    if any(isinstance(r, SeparatePairs) and r.within == "phase" for r in groups.rules):
        for a, b in groups.pairs:
            if a in lengths and b in lengths and a not in alone and b not in alone:
                best = max(best, lengths[a] + lengths[b])
    return first + best

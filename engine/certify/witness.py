"""The combinatorial witness of a lower bound on the waves, built on the checker's reading (plain Python, no solver).

The search mirrors the planner's bound (``engine.plan.lower_bounds``: capacity, never-whole, distinct values with
the need of each value, order sides and key chains, recursion to a fixed depth that does not reuse a rule it is
inside), but over sets of due tasks read by ``engine.check.semantics`` rather than the planner's classes, then adds
the phase arguments (regions apart, regions per phase, canary alone) over per-region bounds.  Each node is one
argument of ``engine.check.certificate``, which re-derives it; the search only looks for the largest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dsl.policy import (
    Canary,
    Capacity,
    DistinctLimit,
    NotWhole,
    Order,
    OrderBy,
    Policy,
    Rule,
    SeparatePairs,
    SeparateRegions,
)
from engine.check.certificate import Due
from engine.check.rules.distinct_limit import value_name
from engine.check.rules.order_by import before, key_text
from engine.check.semantics import GroupKey, Semantics, sort_key
from engine.model.fleet import Fleet
from engine.model.schedule import BoundNode
from engine.model.scopes import group_label
from engine.model.text import predicate_text

MAX_DEPTH = 3
SHOWN = 4  # values listed in a node's text


def _json_key(key: GroupKey | None) -> list[str | int | bool | None] | None:
    return None if key is None else list(key)


def _sum_text(xs: Sequence[int]) -> str:
    shown = " + ".join(str(x) for x in xs[:SHOWN])
    return shown + (f" + ... ({len(xs)} terms)" if len(xs) > SHOWN else "")


@dataclass
class Witness:
    """The search over one fleet and policy: tasks read once, then bounds of task sets (lists of indices)."""

    policy: Policy
    fleet: Fleet
    dues: Sequence[Due]

    def __post_init__(self) -> None:
        self.sem = Semantics(self.fleet)
        self.rules: tuple[Rule, ...] = self.policy.rules
        self._sizes: dict[tuple[str, object], dict[GroupKey, int]] = {}
        self._match: dict[tuple[int, int], list[bool]] = {}
        self._keys: dict[str, list[GroupKey | None]] = {}
        self._values: dict[str, list[GroupKey | None]] = {}

    # -- reading, cached per rule ----------------------------------------------------------------------------------

    def matches(self, r: int, pred_slot: int = 0) -> list[bool]:
        """Per due task: does rule ``r``'s filter (slot 0: ``where``/``earlier``, 1: ``later``) select it?"""
        found = self._match.get((r, pred_slot))
        if found is None:
            rule = self.rules[r]
            if isinstance(rule, Order):
                pred = rule.earlier if pred_slot == 0 else rule.later
            else:
                pred = getattr(rule, "where")  # noqa: B009 - every counting kind has a where
            found = self._match[(r, pred_slot)] = [self.sem.matches_task(pred, d.vm, d.ext) for d in self.dues]
        return found

    def key(self, scope: str, i: int) -> GroupKey | None:
        """Due task i's VM's group of ``scope`` (computed once per scope)."""
        found = self._keys.get(scope)
        if found is None:
            found = self._keys[scope] = [self.sem.group_key(scope, d.vm) for d in self.dues]
        return found[i]

    def shown(self, count: str, i: int) -> GroupKey | None:
        """The value due task i shows when ``count`` is counted (computed once per scope)."""
        found = self._values.get(count)
        if found is None:
            found = self._values[count] = [(d.ext.name,) if count == "extension" else self.sem.count_value(count, d.vm)
                                           for d in self.dues]
        return found[i]

    def sizes(self, scope: str, where: object) -> dict[GroupKey, int]:
        key = (scope, where)
        if key not in self._sizes:
            self._sizes[key] = self.sem.sizes(scope, where)  # type: ignore[arg-type]
        return self._sizes[key]

    # -- the search ------------------------------------------------------------------------------------------------

    def need(self, ts: Sequence[int], used: frozenset[int] = frozenset(), depth: int = MAX_DEPTH) -> BoundNode | None:
        """The best witness for the task set ``ts`` (None when empty)."""
        if not ts:
            return None
        best = BoundNode(kind="tasks", waves=1, why=f"{len(ts)} task(s) need a wave")
        for r, rule in enumerate(self.rules):
            node = self._term(r, rule, ts, used, depth)
            if node is not None and node.waves > best.waves:
                best = node
        return best

    def _term(self, r: int, rule: Rule, ts: Sequence[int], used: frozenset[int], depth: int) -> BoundNode | None:
        if isinstance(rule, Capacity) and rule.within == "wave":
            return self._capacity(r, rule, ts)
        if isinstance(rule, NotWhole) and rule.within == "wave":
            return self._not_whole(r, rule, ts)
        if depth <= 0 or r in used:
            return None
        inner = used | {r}
        if isinstance(rule, DistinctLimit) and rule.within == "wave" and rule.limit > 0:
            return self._distinct(r, rule, ts, inner, depth - 1)
        if isinstance(rule, Order) and rule.unit == "wave":
            return self._order(r, rule, ts, inner, depth - 1)
        if isinstance(rule, OrderBy) and rule.unit == "wave":
            return self._order_by(r, rule, ts, inner, depth - 1)
        return None

    def _group_vms(self, r: int, scope: str, ts: Sequence[int]) -> dict[GroupKey, set[str]]:
        match = self.matches(r)
        out: dict[GroupKey, set[str]] = defaultdict(set)
        for i in ts:
            if match[i]:
                key = self.key(scope, i)
                if key is not None:
                    out[key].add(self.dues[i].vm.name)
        return out

    def _capacity(self, r: int, rule: Capacity, ts: Sequence[int]) -> BoundNode | None:
        sizes = self.sizes(rule.of, rule.where)
        best: BoundNode | None = None
        for key in sorted(groups := self._group_vms(r, rule.of, ts), key=sort_key):
            n = len(groups[key])
            cap = rule.amount.of(sizes.get(key, 0))
            if cap <= 0:
                continue
            k = -(-n // cap)
            if best is None or k > best.waves:
                best = BoundNode(kind="capacity", waves=k, rule=rule.name, group=_json_key(key), vms=n, cap=cap,
                                 why=f"{group_label(rule.of, key)}: {n} VMs, at most {cap} per wave "
                                     f"(rule {rule.name}): ceil({n} / {cap}) = {k}")
        return best

    def _not_whole(self, r: int, rule: NotWhole, ts: Sequence[int]) -> BoundNode | None:
        sizes = self.sizes(rule.of, rule.where)
        groups = self._group_vms(r, rule.of, ts)
        for key in sorted(groups, key=sort_key):
            size = sizes.get(key, 0)
            if size >= max(2, rule.min_size) and len(groups[key]) >= size:
                return BoundNode(kind="not_whole", waves=2, rule=rule.name, group=_json_key(key),
                                 why=f"all {size} VMs of {group_label(rule.of, key)} have tasks and never go whole "
                                     f"in one wave (rule {rule.name}): 2")
        return None

    def _distinct(self, r: int, rule: DistinctLimit, ts: Sequence[int], used: frozenset[int],
                  depth: int) -> BoundNode | None:
        match = self.matches(r)
        per: dict[GroupKey, dict[GroupKey, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i in ts:
            if not match[i]:
                continue
            key = self.key(rule.per, i)
            value = self.shown(rule.count, i)
            if key is not None and value is not None:
                per[key][value].append(i)
        best: BoundNode | None = None
        for key in sorted(per, key=sort_key):
            values = per[key]
            if len(values) <= 1:
                continue
            parts = []
            for value in sorted(values, key=sort_key):
                sub = self.need(values[value], used, depth)
                if sub is not None:
                    label = f"{rule.count.replace('_', ' ')} {value_name(rule.count, value)}"
                    parts.append(sub.model_copy(update={"value": _json_key(value), "why": f"{label}: {sub.why}"}))
            total = sum(p.waves for p in parts)
            k = -(-total // rule.limit)
            if best is None or k > best.waves:
                shown = _sum_text(sorted((p.waves for p in parts), reverse=True))
                best = BoundNode(kind="distinct", waves=k, rule=rule.name, group=_json_key(key), parts=parts,
                                 why=f"{group_label(rule.per, key)}: {len(parts)} {rule.count.replace('_', ' ')}s, at "
                                     f"most {rule.limit} per wave (rule {rule.name}), each needing its own waves: "
                                     f"ceil(({shown}) / {rule.limit}) = {k}")
        return best

    def _order(self, r: int, rule: Order, ts: Sequence[int], used: frozenset[int], depth: int) -> BoundNode | None:
        early, late = self.matches(r, 0), self.matches(r, 1)
        a = self.need([i for i in ts if early[i]], used, depth)
        b = self.need([i for i in ts if late[i]], used, depth)
        if a is None or b is None:
            return None
        k = a.waves + b.waves
        return BoundNode(kind="order", waves=k, rule=rule.name,
                         parts=[a.model_copy(update={"side": "earlier"}), b.model_copy(update={"side": "later"})],
                         why=f"VMs where [{predicate_text(rule.earlier)}] come in waves before VMs where "
                             f"[{predicate_text(rule.later)}] (rule {rule.name}): {a.waves} + {b.waves} = {k}")

    def _order_by(self, r: int, rule: OrderBy, ts: Sequence[int], used: frozenset[int],
                  depth: int) -> BoundNode | None:
        match = self.matches(r)
        by_key: dict[str, list[int]] = defaultdict(list)
        for i in ts:
            if match[i]:
                raw = self.sem.attr(rule.key.path, self.dues[i].vm)
                if raw is not None:
                    by_key[key_text(raw)].append(i)
        if len(by_key) < 2:
            return None
        needs = {k: n for k, v in by_key.items() if (n := self.need(v, used, depth)) is not None}
        keys = sorted(needs)
        chain: dict[str, tuple[int, str | None]] = {}
        for k in sorted(keys, key=lambda k: sum(1 for a in keys if before(a, k, rule.descending))):
            prev = [(chain[a][0], a) for a in keys if a in chain and before(a, k, rule.descending)]
            top = max(prev, default=(0, None))
            chain[k] = (needs[k].waves + top[0], top[1])
        end = max(chain, key=lambda k: (chain[k][0], k))
        path: list[str] = []
        cur: str | None = end
        while cur is not None:
            path.append(cur)
            cur = chain[cur][1]
        path.reverse()
        parts = [needs[k].model_copy(update={"key": k}) for k in path]
        k_total = chain[end][0]
        return BoundNode(kind="order_by", waves=k_total, rule=rule.name, parts=parts,
                         why=f"{rule.key} = {' before '.join(path[:SHOWN])}{' ...' if len(path) > SHOWN else ''} in "
                             f"strictly later waves (rule {rule.name}): {_sum_text([p.waves for p in parts])} = "
                             f"{k_total}")

    # -- regions and phases -------------------------------------------------------------------------------------

    def by_region(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(list)
        for i, d in enumerate(self.dues):
            out[d.vm.region].append(i)
        return dict(sorted(out.items()))

    def phase_need(self, regions: Mapping[str, BoundNode], skip: frozenset[str] = frozenset()) -> BoundNode | None:
        """The best phase argument over per-region witnesses (each region's node, selected by region)."""
        if not regions:
            return None
        named = {r: n.model_copy(update={"region": r}) for r, n in regions.items()}
        top = max(named, key=lambda r: (named[r].waves, r))
        best = BoundNode(kind="subset", waves=named[top].waves, parts=[named[top]],
                         why=f"region {top} alone needs {named[top].waves} waves")
        for rule in self.rules:
            if rule.name in skip:
                continue
            for node in self._phase_terms(rule, named, skip):
                if node.waves > best.waves:
                    best = node
        return best

    def _phase_terms(self, rule: Rule, named: Mapping[str, BoundNode], skip: frozenset[str]) -> list[BoundNode]:
        if isinstance(rule, SeparatePairs | SeparateRegions):
            return self._apart(rule, named)
        if isinstance(rule, DistinctLimit) and rule.count == "region" and rule.within == "phase" and rule.limit > 0:
            return self._per_phase(rule, named)
        if isinstance(rule, Canary) and rule.alone:
            node = self._canary(rule, named, skip | {rule.name})
            return [] if node is None else [node]
        return []

    def _apart(self, rule: SeparatePairs | SeparateRegions, named: Mapping[str, BoundNode]) -> list[BoundNode]:
        cliques: list[list[str]]
        if isinstance(rule, SeparateRegions):
            cliques = [sorted(r for r in set(rule.regions) if r in named)]
        else:
            cliques = [[a, b] for a in sorted(named) for b in sorted(named) if a < b and self.fleet.paired(a, b)]
        out = self._beside(rule, named, [c for c in cliques if len(c) == 2])
        for clique in cliques:
            if len(clique) < 2:
                continue
            parts = [named[r] for r in clique]
            k = sum(p.waves for p in parts)
            unit = rule.within
            out.append(BoundNode(kind="regions_apart", waves=k, rule=rule.name, parts=parts,
                                 why=f"regions {', '.join(clique)} never share a {unit} (rule {rule.name}), so "
                                     f"their waves add up: {_sum_text([p.waves for p in parts])} = {k}"))
        return out

    def _beside(self, rule: SeparatePairs | SeparateRegions, named: Mapping[str, BoundNode],
                pairs: Sequence[Sequence[str]]) -> list[BoundNode]:
        """The longest region, plus the shorter of two regions kept apart (one of them lies in another phase)."""
        if rule.within != "phase" or not named:
            return []
        top = max(named, key=lambda r: (named[r].waves, r))
        out = []
        for a, b in pairs:
            if top in (a, b):
                continue
            k = named[top].waves + min(named[a].waves, named[b].waves)
            out.append(BoundNode(kind="apart_beside", waves=k, rule=rule.name, parts=[named[top], named[a], named[b]],
                                 why=f"regions {a} and {b} never share a phase (rule {rule.name}), so one of them is "
                                     f"in a phase without region {top}: {named[top].waves} + "
                                     f"min({named[a].waves}, {named[b].waves}) = {k}"))
        return out

    def _per_phase(self, rule: DistinctLimit, named: Mapping[str, BoundNode]) -> list[BoundNode]:
        r_index = self.rules.index(rule)
        match = self.matches(r_index)
        counted: dict[GroupKey, set[str]] = defaultdict(set)
        for i, d in enumerate(self.dues):
            key = self.key(rule.per, i)
            if match[i] and key is not None and d.vm.region in named:
                counted[key].add(d.vm.region)
        out = []
        for key in sorted(counted, key=sort_key):
            regions = sorted(counted[key], key=lambda r: (-named[r].waves, r))
            lengths = [named[r].waves for r in regions]
            k = sum(lengths[j] for j in range(0, len(lengths), rule.limit))
            out.append(BoundNode(kind="regions_per_phase", waves=k, rule=rule.name, group=_json_key(key),
                                 parts=[named[r] for r in regions],
                                 why=f"at most {rule.limit} of {len(regions)} regions per phase (rule {rule.name}); a "
                                     f"phase lasts as long as its longest region: "
                                     f"{_sum_text(lengths[::rule.limit])} = {k}"))
        return out

    def _canary(self, rule: Canary, named: Mapping[str, BoundNode], skip: frozenset[str]) -> BoundNode | None:
        canary = {r: n for r, n in named.items() if r in rule.regions}
        rest = {r: n for r, n in named.items() if r not in rule.regions}
        if not canary or not rest:
            return None
        first = self.phase_need(canary, skip)
        after = self.phase_need(rest, skip)
        if first is None or after is None:
            return None
        k = first.waves + after.waves
        return BoundNode(kind="canary_alone", waves=k, rule=rule.name,
                         parts=[first.model_copy(update={"part": "canary"}), after.model_copy(update={"part": "rest"})],
                         why=f"canary region(s) {', '.join(sorted(canary))} go alone in the first phase (rule "
                             f"{rule.name}): {first.waves} + {after.waves} = {k}")


def best_witness(w: Witness, region_nodes: Mapping[str, BoundNode]) -> BoundNode:
    """The larger of the rules' bound over every task and the phase bound over the region nodes."""
    everything = w.need(list(range(len(w.dues))))
    phases = w.phase_need(region_nodes)
    candidates = [n for n in (phases, everything) if n is not None]
    if not candidates:
        return BoundNode(kind="tasks", waves=0, why="no due tasks")
    return max(candidates, key=lambda n: n.waves)


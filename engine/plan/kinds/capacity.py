"""``at most N (or P%) of a SCOPE per wave|phase [where ...]``: per group and unit at most ``cap`` scheduled VMs, a
percentage being of the group's size (every fleet VM of the group the filter counts, scheduled or not).

A split VM (engine.plan.classes) counts once per wave: its task units lie in different waves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import z3

from dsl.policy import Capacity
from engine.model.fleet import VM, Extension
from engine.model.scopes import group_label
from engine.plan.classes import GroupKey, Layout
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Filler, Load, Need, PlanKind, group_totals
from engine.plan.reading import FleetFacts


class CapacityPlan(PlanKind[Capacity, GroupKey]):
    kind = Capacity

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> GroupKey | None:
        if not facts.matches_scheduled(self.rule.where, vm, exts):
            return None
        return facts.group_key(self.rule.of, vm)

    def group(self, view: GroupKey) -> GroupKey:
        return view

    def attach(self, layout: Layout, views: list[GroupKey | None], facts: FleetFacts) -> None:
        super().attach(layout, views, facts)
        self.sizes = facts.sizes(self.rule.of, self.rule.where)
        self.caps = {k: self.rule.amount.of(self.sizes.get(k, 0)) for k in self.members}

    def couples_regions(self) -> bool:
        return self.rule.within == "wave" and self.spans_regions()

    def first_fit_ready(self) -> bool:
        return self.rule.within != "phase"

    def bound(self, live: Mapping[int, int], used: frozenset[int], depth: int, need: Need) -> int:
        if self.rule.within != "wave":
            return 0
        best = 0
        for key, n in group_totals(self.views, live).items():
            cap = self.caps[key]
            if cap > 0:
                best = max(best, -(-n // cap))
        return best

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        return _CapFiller(self) if self.rule.within == "wave" else None

    def load(self, wave: Mapping[int, int]) -> Load | None:
        return _CapLoad(self, wave) if self.rule.within == "wave" else None

    def encode(self, enc: Encoding) -> None:
        rule = self.rule
        if enc.mode == "phases" and rule.within == "wave":
            self._phase_capacity(enc)
            return
        if enc.skip(rule.within):
            return
        for key, cs in enc.groups(self.members).items():
            cap = self.caps[key]
            n = self.total(cs)
            if n <= cap:
                continue
            terms = []
            for u in enc.units(rule.within):
                if rule.within == "wave" and all(c.count == 1 for c in cs):
                    terms.append(z3.AtMost(*[enc.a[(c.index, u)] for c in cs], cap))
                else:
                    terms.append(enc.sum([enc.amount(c, rule.within, u) for c in cs]) <= cap)
            label = group_label(rule.of, key)
            enc.add(enc.all(terms), rule.name, label, f"{label}: {n} VMs with tasks, {cap} per {rule.within}")

    def _phase_capacity(self, enc: Encoding) -> None:
        """A per-wave cap on a group spanning regions: each phase is at least as long as its share of the group
        needs at that cap (the phase's waves hold all of the group's VMs in the phase's regions)."""
        for key, cs in enc.groups(self.members).items():
            per_region: dict[str, int] = defaultdict(int)
            for c in cs:
                per_region[c.region] += c.count
            if len(per_region) < 2:
                continue
            cap = self.caps[key]
            if sum(per_region.values()) <= cap:
                continue
            label = group_label(self.rule.of, key)
            facts = f"{label}: {sum(per_region.values())} VMs with tasks, {cap} per wave"
            terms = [cap * enc.plen[p] >= enc.sum([z3.If(enc.rp[r] == p, n, 0) for r, n in sorted(per_region.items())])
                     for p in range(enc.P)]
            enc.add(enc.all(terms), self.rule.name, label, facts)


class _CapFiller(Filler):
    def __init__(self, plan: CapacityPlan) -> None:
        self.views = plan.views
        self.caps = plan.caps
        self.cur: dict[GroupKey, int] = defaultdict(int)

    def begin_wave(self) -> None:
        self.cur = defaultdict(int)

    def room(self, c: int, k: int) -> int:
        v = self.views[c]
        return k if v is None else min(k, self.caps[v] - self.cur[v])

    def take(self, c: int, k: int) -> None:
        v = self.views[c]
        if v is not None:
            self.cur[v] += k


class _CapLoad(Load):
    def __init__(self, plan: CapacityPlan, wave: Mapping[int, int]) -> None:
        self.views = plan.views
        self.caps = plan.caps
        self.used: dict[GroupKey, int] = defaultdict(int)
        for c, n in wave.items():
            self.change(c, n)

    def change(self, c: int, n: int) -> None:
        v = self.views[c]
        if v is not None:
            self.used[v] += n

    def fits(self, c: int) -> bool:
        v = self.views[c]
        return v is None or self.used[v] + 1 <= self.caps[v]

"""``never whole in a wave|phase: a SCOPE with at least N VMs [where ...]``: a group of at least ``min_size`` VMs (those
the filter counts, scheduled or not) never has all of them in one unit; only a group whose VMs all have tasks can.

Per wave the model says some class of the group is not wholly in the wave.  With split VMs (their task units in
different waves, engine.plan.classes) it says instead that the wave holds fewer task units than the group has VMs:
a VM is in a wave exactly when one of its units is, and no two units of one VM share a wave."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import z3

from dsl.policy import NotWhole
from engine.model.fleet import VM, Extension
from engine.model.scopes import group_label
from engine.plan.classes import GroupKey, Layout, VMClass, distinct_vms
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Filler, Load, Need, PlanKind, group_totals
from engine.plan.reading import FleetFacts


class NotWholePlan(PlanKind[NotWhole, GroupKey]):
    kind = NotWhole

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> GroupKey | None:
        if not facts.matches_scheduled(self.rule.where, vm, exts):
            return None
        return facts.group_key(self.rule.of, vm)

    def group(self, view: GroupKey) -> GroupKey:
        return view

    def attach(self, layout: Layout, views: list[GroupKey | None], facts: FleetFacts) -> None:
        super().attach(layout, views, facts)
        self.sizes = facts.sizes(self.rule.of, self.rule.where)

    def couples_regions(self) -> bool:
        return self.rule.within == "wave" and self.spans_regions()

    def first_fit_ready(self) -> bool:
        return self.rule.within != "phase"

    def bound(self, live: Mapping[int, int], used: frozenset[int], depth: int, need: Need) -> int:
        # A group wholly among ``live`` needs two waves (a split VM needs two anyway).
        if self.rule.within != "wave":
            return 0
        for key, n in group_totals(self.views, live).items():
            size = self.sizes.get(key, 0)
            if size >= max(2, self.rule.min_size) and n == size:
                return 2
        return 0

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        if self.rule.within != "wave":
            return None
        # Units of the group among these classes (the group can go whole only when they reach its size).
        total: dict[GroupKey, int] = defaultdict(int)
        for c in ids:
            v = self.views[c]
            if v is not None:
                total[v] += self.classes[c].count
        return _NotWholeFiller(self, total)

    def load(self, wave: Mapping[int, int]) -> Load | None:
        return _NotWholeLoad(self, wave) if self.rule.within == "wave" else None

    def encode(self, enc: Encoding) -> None:
        rule = self.rule
        if enc.skip(rule.within):
            return
        for key, cs in enc.groups(self.members).items():
            size = self.sizes.get(key, 0)
            n = distinct_vms(cs)
            if size < rule.min_size or n < size:
                continue
            terms = [self._not_all(enc, cs, u, size) for u in enc.units(rule.within)]
            label = group_label(rule.of, key)
            enc.add(enc.all(terms), rule.name, label, f"{label}: {size} VMs, never all in one {rule.within}")

    def _not_all(self, enc: Encoding, cs: list[VMClass], u: int, size: int) -> z3.BoolRef:
        if self.rule.within == "phase":
            return enc.any([z3.Not(enc.in_phase(c.region, u)) for c in cs])
        if any(c.split for c in cs):
            return enc.sum([enc.x[(c.index, u)] for c in cs]) <= size - 1
        return enc.any([enc.x[(c.index, u)] < c.count for c in cs])


class _NotWholeFiller(Filler):
    def __init__(self, plan: NotWholePlan, total: dict[GroupKey, int]) -> None:
        self.views = plan.views
        self.sizes = plan.sizes
        self.min_size = plan.rule.min_size
        self.total = total
        self.cur: dict[GroupKey, int] = defaultdict(int)

    def begin_wave(self) -> None:
        self.cur = defaultdict(int)

    def room(self, c: int, k: int) -> int:
        v = self.views[c]
        if v is None:
            return k
        size = self.sizes.get(v, 0)
        if size >= self.min_size and self.total[v] >= size:
            return min(k, size - 1 - self.cur[v])
        return k

    def take(self, c: int, k: int) -> None:
        v = self.views[c]
        if v is not None:
            self.cur[v] += k


class _NotWholeLoad(Load):
    def __init__(self, plan: NotWholePlan, wave: Mapping[int, int]) -> None:
        self.views = plan.views
        self.sizes = plan.sizes
        self.min_size = plan.rule.min_size
        self.used: dict[GroupKey, int] = defaultdict(int)
        for c, n in wave.items():
            self.change(c, n)

    def change(self, c: int, n: int) -> None:
        v = self.views[c]
        if v is not None:
            self.used[v] += n

    def fits(self, c: int) -> bool:
        v = self.views[c]
        return v is None or not (self.used[v] + 1 >= self.sizes.get(v, 0) >= self.min_size)

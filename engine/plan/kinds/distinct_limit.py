"""``at most N COUNTs per SCOPE per wave|phase [where ...]``: per group and unit, the scheduled VMs show at most N
distinct values of the counted scope (a null zone counts for nothing).  ``count extension`` counts the extensions of
the tasks the filter selects, per task: a VM with more such tasks than N has its tasks split over waves
(``task_limit``; engine.plan.units).  ``at most N regions per phase`` is also what the first-fit phases and the phase
bound read (``shape_phases``: one reading, honouring the filter and the group scope)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import z3

from dsl.policy import DistinctLimit
from engine.model.fleet import VM, Extension
from engine.model.scopes import group_label
from engine.plan.classes import GroupKey
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Filler, Load, Need, PhaseShape, PlanKind
from engine.plan.reading import FleetFacts


class Shown(NamedTuple):
    """A VM's group of the ``per`` scope and the value it shows (``count extension``: its tasks' extension names)."""

    group: GroupKey
    value: Any


class DistinctLimitPlan(PlanKind[DistinctLimit, Shown]):
    kind = DistinctLimit

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> Shown | None:
        rule = self.rule
        if not facts.matches_scheduled(rule.where, vm, exts):
            return None
        key = facts.group_key(rule.per, vm)
        if key is None:
            return None
        if rule.count == "extension":
            return Shown(key, tuple(sorted({e.name for e in exts if facts.matches_task(rule.where, vm, e)})))
        return Shown(key, facts.count_value(rule.count, vm))

    def group(self, view: Shown) -> GroupKey:
        return view.group

    def shown(self, view: Shown) -> set[Any]:
        """The counted values a view shows."""
        if self.rule.count == "extension":
            return {(n,) for n in view.value}
        return {view.value} if view.value is not None else set()

    def values(self, ids: Sequence[int]) -> dict[Any, list[int]]:
        """Counted value -> the classes (of ``ids``) showing it."""
        out: dict[Any, list[int]] = defaultdict(list)
        for c in ids:
            v = self.views[c]
            if v is not None:
                for value in self.shown(v):
                    out[value].append(c)
        return dict(out)

    def splits_tasks(self) -> bool:
        return self.rule.count == "extension" and self.rule.within == "wave"

    def task_limit(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> tuple[int, list[int]] | None:
        rule = self.rule
        if rule.count != "extension" or rule.within != "wave" or facts.group_key(rule.per, vm) is None:
            return None
        matching = [i for i, e in enumerate(exts) if facts.matches_task(rule.where, vm, e)]
        return (rule.limit, matching) if len(matching) > rule.limit else None

    # -- phases and coupling -------------------------------------------------------------------------------------

    def couples_regions(self) -> bool:
        return self.rule.within == "wave" and self.spans_regions()

    def shape_phases(self, shape: PhaseShape) -> None:
        if self.rule.count == "region" and self.rule.within == "phase":
            cls = self.classes
            for ids in self.members.values():
                shape.region_caps.append((self.rule.limit, frozenset(cls[c].region for c in ids)))

    def first_fit_ready(self) -> bool:
        return self.rule.within != "phase" or self.rule.count == "region"

    # -- waves ---------------------------------------------------------------------------------------------------

    def _by_value(self, live: Mapping[int, int]) -> dict[Shown, dict[int, int]]:
        parts: dict[Shown, dict[int, int]] = defaultdict(dict)
        for c, n in live.items():
            v = self.views[c]
            if v is not None and v.value is not None:
                parts[v][c] = n
        return parts

    def bound(self, live: Mapping[int, int], used: frozenset[int], depth: int, need: Need) -> int:
        rule = self.rule
        if depth <= 0 or self.index in used or rule.within != "wave" or rule.limit <= 0 or rule.count == "extension":
            return 0
        per_group: dict[GroupKey, list[dict[int, int]]] = defaultdict(list)
        for view, sub in self._by_value(live).items():
            per_group[view.group].append(sub)
        best = 0
        for values in per_group.values():
            if len(values) <= rule.limit and len(values) <= 1:
                continue
            total = sum(need(sub, used | {self.index}, depth - 1) for sub in values)
            best = max(best, -(-total // rule.limit))
        return best

    def priority_parts(self, live: Mapping[int, int]) -> list[dict[int, int]]:
        if self.rule.within != "wave" or self.rule.count == "extension":
            return []
        return list(self._by_value(live).values())

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        return _DistinctFiller(self) if self.rule.within == "wave" else None

    def load(self, wave: Mapping[int, int]) -> Load | None:
        return _DistinctLoad(self, wave) if self.rule.within == "wave" else None

    # -- the Z3 model --------------------------------------------------------------------------------------------

    def encode(self, enc: Encoding) -> None:
        rule = self.rule
        if enc.skip(rule.within):
            return
        for key, cs in enc.groups(self.members).items():
            values = self.values([c.index for c in cs])
            if len(values) <= rule.limit:
                continue
            terms = []
            for u in enc.units(rule.within):
                ors = [enc.any([enc.active(self.classes[c], rule.within, u) for c in ids]) for _, ids in
                       sorted(values.items(), key=lambda kv: str(kv[0]))]
                terms.append(z3.AtMost(*ors, rule.limit))
            label = group_label(rule.per, key)
            facts = (f"{label}: {len(values)} {rule.count.replace('_', ' ')} values with tasks, at most "
                     f"{rule.limit} per {rule.within}")
            enc.add(enc.all(terms), rule.name, label, facts)


class _DistinctFiller(Filler):
    def __init__(self, plan: DistinctLimitPlan) -> None:
        self.plan = plan
        self.limit = plan.rule.limit
        self.vals: dict[GroupKey, set[Any]] = defaultdict(set)

    def begin_wave(self) -> None:
        self.vals = defaultdict(set)

    def room(self, c: int, k: int) -> int:
        v = self.plan.views[c]
        if v is not None and len(self.vals[v.group] | self.plan.shown(v)) > self.limit:
            return 0
        return k

    def take(self, c: int, k: int) -> None:
        v = self.plan.views[c]
        if v is not None:
            self.vals[v.group] |= self.plan.shown(v)


class _DistinctLoad(Load):
    def __init__(self, plan: DistinctLimitPlan, wave: Mapping[int, int]) -> None:
        self.plan = plan
        self.values: dict[GroupKey, dict[Any, int]] = defaultdict(lambda: defaultdict(int))
        for c, n in wave.items():
            self.change(c, n)

    def change(self, c: int, n: int) -> None:
        v = self.plan.views[c]
        if v is None:
            return
        shown = self.values[v.group]
        for val in self.plan.shown(v):
            shown[val] += n
            if shown[val] <= 0:
                del shown[val]

    def fits(self, c: int) -> bool:
        v = self.plan.views[c]
        return v is None or len(set(self.values[v.group]) | self.plan.shown(v)) <= self.plan.rule.limit

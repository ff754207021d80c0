"""``at most N waves|phases [per SCOPE] [where ...]``: each group's scheduled VMs use at most N units; unfiltered and
per fleet (or per region) it bounds the schedule's (or each region's) length in waves."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import z3

from dsl.policy import TrueP, UnitLimit
from engine.model.fleet import VM, Extension
from engine.model.scopes import group_label
from engine.plan.classes import GroupKey
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Filler, PlanKind
from engine.plan.reading import FleetFacts


class UnitLimitPlan(PlanKind[UnitLimit, GroupKey]):
    kind = UnitLimit

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> GroupKey | None:
        if not facts.matches_scheduled(self.rule.where, vm, exts):
            return None
        return facts.group_key(self.rule.per, vm)

    def group(self, view: GroupKey) -> GroupKey:
        return view

    def _whole_fleet(self) -> bool:
        return self.rule.per == "fleet" and isinstance(self.rule.where, TrueP)

    def couples_regions(self) -> bool:
        return self.rule.unit == "wave" and not self._whole_fleet() and self.spans_regions()

    def first_fit_ready(self) -> bool:
        return self.rule.unit != "phase"

    def fleet_wave_limit(self) -> int | None:
        return self.rule.limit if self.rule.unit == "wave" and self._whole_fleet() else None

    def region_wave_cap(self) -> int | None:
        r = self.rule
        return r.limit if r.unit == "wave" and r.per in ("fleet", "region") and isinstance(r.where, TrueP) else None

    def limits_waves(self) -> bool:
        return self.rule.unit == "wave"

    def pins(self, c: int) -> bool:
        return self.views[c] is not None

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        return _UnitFiller(self) if self.rule.unit == "wave" and honour_unit_limits else None

    def encode(self, enc: Encoding) -> None:
        rule = self.rule
        if enc.mode == "phases":
            if rule.unit == "wave":
                if self._whole_fleet():
                    enc.add(enc.sum(enc.plen) <= rule.limit, rule.name, "the fleet", f"at most {rule.limit} waves in all")
                return
        elif rule.unit == "wave" and rule.limit >= enc.W:
            return
        for key, cs in enc.groups(self.members).items():
            if rule.unit == "phase" and len({c.region for c in cs}) <= rule.limit and enc.mode != "region":
                continue
            used = [z3.If(enc.any([enc.active(c, rule.unit, u) for c in cs]), 1, 0) for u in enc.units(rule.unit)]
            label = group_label(rule.per, key)
            enc.add(enc.sum(used) <= rule.limit, rule.name, label, f"{label}: at most {rule.limit} {rule.unit}s")


class _UnitFiller(Filler):
    """Units used per group carry across waves; a group not yet in this wave may join only with budget left."""

    def __init__(self, plan: UnitLimitPlan) -> None:
        self.views = plan.views
        self.limit = plan.rule.limit
        self.used: dict[GroupKey, int] = defaultdict(int)
        self.active: set[GroupKey] = set()

    def begin_wave(self) -> None:
        self.active = set()

    def room(self, c: int, k: int) -> int:
        v = self.views[c]
        if v is not None and v not in self.active and self.used[v] >= self.limit:
            return 0
        return k

    def take(self, c: int, k: int) -> None:
        v = self.views[c]
        if v is not None:
            self.active.add(v)

    def end_wave(self, placed: bool) -> None:
        if placed:
            for v in self.active:
                self.used[v] += 1

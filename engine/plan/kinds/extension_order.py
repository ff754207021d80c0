"""``extension A before extension B on each vm``: on each VM with due tasks of both, every A task in the same wave
as, or an earlier wave than, every B task.

Soundness: the planner keeps all of a VM's tasks in one wave (then A and B share it, which the rule allows) unless a
rule forces them apart (engine.plan.units).  Then the VM's tasks form units in strictly increasing waves, cut along
these precedences (``task_edges``: A's unit is never after B's) whenever they can hold together with the strict
ones.  For every split class holding a unit with an A task of some VM and a class holding that VM's unit with a B
task, the model also says the first class's waves are no later than the second's (stronger than per VM: sound); when
the strict precedences put B's unit first, that assertion and the split's order conflict, and the planner names both
rules."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.policy import ExtensionOrder
from engine.model.fleet import VM, Extension
from engine.model.text import selector_text
from engine.model.upgrades import selector_matches
from engine.plan.classes import Layout
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Filler, PlanKind, TaskEdge
from engine.plan.kinds.ordering import encode_order
from engine.plan.kinds.task_chain import OrderFiller
from engine.plan.reading import FleetFacts


class ExtensionOrderPlan(PlanKind[ExtensionOrder, None]):
    kind = ExtensionOrder

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> None:
        return None

    def first_fit_ready(self) -> bool:
        return True

    def task_edges(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> list[TaskEdge]:
        first = [i for i, e in enumerate(exts) if selector_matches(self.rule.first, e)]
        second = [j for j, e in enumerate(exts) if selector_matches(self.rule.second, e)]
        return [(i, j, False) for i in first for j in second if exts[i].name != exts[j].name]

    def attach(self, layout: Layout, views: list[None], facts: FleetFacts) -> None:
        super().attach(layout, views, facts)
        self.pairs = self._unit_pairs()

    def _unit_pairs(self) -> list[tuple[int, int]]:
        """(class with A tasks, class with the same VMs' B tasks) for the units of split VMs."""
        family: dict[int, list[int]] = {}
        for c in self.classes:
            if c.split:
                family.setdefault(c.first, []).append(c.index)
        out = []
        for ids in family.values():
            for a in ids:
                for b in ids:
                    if a != b and self._ordered(a, b):
                        out.append((a, b))
        return out

    def _ordered(self, a: int, b: int) -> bool:
        ua, ub = self.classes[a].unit, self.classes[b].unit
        for vm in self.classes[a].vms:
            units = self.layout.unit_exts[vm]
            if any(selector_matches(self.rule.first, f) and selector_matches(self.rule.second, s) and f.name != s.name
                   for f in units[ua] for s in units[ub]):
                return True
        return False

    def orders_waves(self, ids: set[int]) -> bool:
        return any(a in ids and b in ids for a, b in self.pairs)

    def pins(self, c: int) -> bool:
        return any(c in pair for pair in self.pairs)

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        # Waves are filled with the B units strictly after the A units (stronger than the rule: sound).
        have = set(ids)
        pairs = [(a, b) for a, b in self.pairs if a in have and b in have]
        return OrderFiller(self.classes, pairs) if pairs else None

    def encode(self, enc: Encoding) -> None:
        r = self.rule
        for a, b in self.pairs:
            ca, cb = self.classes[a], self.classes[b]
            if enc.in_model(ca) and enc.in_model(cb):
                vm = ca.vms[0]
                encode_order(enc, r.name, "wave", [ca], [cb], f"{selector_text(r.first)} on VM {vm}",
                             f"{selector_text(r.second)} on VM {vm}", lead="the tasks of", strict=False)

"""``extension A before extension B on each vm``: on each VM with due tasks of both, every A task in the same wave
as, or an earlier wave than, every B task.

Soundness: the planner keeps all of a VM's tasks in one wave (then A and B share it, which the rule allows) unless a
rule forces them apart (engine.plan.units).  Then the VM's tasks form units planned in strictly increasing waves, and
the units are cut along these precedences (``task_edges``: A's unit is never after B's), so no split puts a B task
before an A task on a VM.  When the precedences cannot all hold (an order rule wants B strictly before A on a VM),
the VM is not split and the order rule itself is then unsatisfiable on it, which the planner reports.  So the rule
needs no assertion of its own."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.policy import ExtensionOrder
from engine.model.fleet import VM, Extension
from engine.model.upgrades import selector_matches
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import PlanKind, TaskEdge
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

    def encode(self, enc: Encoding) -> None:
        """Nothing to assert: see the module's soundness argument."""

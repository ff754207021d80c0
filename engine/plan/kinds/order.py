"""``VMs where A before VMs where B by wave|phase``: every scheduled VM matching A lies in a strictly earlier unit than
every one matching B.  A condition reading ``extension.*`` is read per task: by wave, a VM with due tasks on both
sides has its tasks split (``task_edges``: engine.plan.units), its A tasks in an earlier wave than its B tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from dsl.policy import Order
from engine.model.fleet import VM, Extension
from engine.model.text import predicate_text
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Filler, Need, PlanKind, TaskEdge
from engine.plan.kinds.ordering import encode_order
from engine.plan.reading import FleetFacts, uses_extension


class Sides(NamedTuple):
    """Does the VM (its tasks of one unit) match the earlier side, the later side?"""

    earlier: bool
    later: bool


class OrderPlan(PlanKind[Order, Sides]):
    kind = Order

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> Sides:
        r = self.rule
        return Sides(facts.matches_scheduled(r.earlier, vm, exts), facts.matches_scheduled(r.later, vm, exts))

    def splits_tasks(self) -> bool:
        r = self.rule
        return r.unit == "wave" and (uses_extension(r.earlier) or uses_extension(r.later))

    def task_edges(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> list[TaskEdge]:
        r = self.rule
        if not self.splits_tasks():
            return []
        early = [i for i, e in enumerate(exts) if facts.matches_task(r.earlier, vm, e)]
        late = [j for j, e in enumerate(exts) if facts.matches_task(r.later, vm, e)]
        return [(i, j, True) for i in early for j in late]

    def _side(self, which: int, ids: Sequence[int] | None = None) -> list[int]:
        views = self.views
        pool = range(len(views)) if ids is None else ids
        return [c for c in pool if (v := views[c]) is not None and v[which]]

    def couples_regions(self) -> bool:
        if self.rule.unit != "wave":
            return False
        return len({self.classes[c].region for c in (*self._side(0), *self._side(1))}) > 1

    def orders_waves(self, ids: set[int]) -> bool:
        return self.rule.unit == "wave" and bool(self._side(0, sorted(ids))) and bool(self._side(1, sorted(ids)))

    def orders_phases(self) -> bool:
        return self.rule.unit == "phase"

    def first_fit_ready(self) -> bool:
        return self.rule.unit != "phase"

    def pins(self, c: int) -> bool:
        v = self.views[c]
        return v is not None and (v.earlier or v.later)

    def bound(self, live: Mapping[int, int], used: frozenset[int], depth: int, need: Need) -> int:
        if depth <= 0 or self.index in used or self.rule.unit != "wave":
            return 0
        early = {c: n for c, n in live.items() if self.views[c].earlier}  # type: ignore[union-attr]
        late = {c: n for c, n in live.items() if self.views[c].later}  # type: ignore[union-attr]
        if not early or not late:
            return 0
        inner = used | {self.index}
        return need(early, inner, depth - 1) + need(late, inner, depth - 1)

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        if self.rule.unit != "wave":
            return None
        cls = self.classes
        return _SidesFiller(self, sum(cls[c].count for c in self._side(0, ids)))

    def encode(self, enc: Encoding) -> None:
        r = self.rule
        cls = self.classes
        early = [cls[c] for c in self._side(0) if enc.in_model(cls[c])]
        late = [cls[c] for c in self._side(1) if enc.in_model(cls[c])]
        encode_order(enc, r.name, r.unit, early, late, predicate_text(r.earlier), predicate_text(r.later),
                     lead="VMs where")


class _SidesFiller(Filler):
    """The later side waits until every earlier VM is placed; the earlier side stops once a later VM is in."""

    def __init__(self, plan: OrderPlan, earlier_vms: int) -> None:
        self.views = plan.views
        self.left = earlier_vms
        self.left_at_start = earlier_vms
        self.late_started = False

    def begin_wave(self) -> None:
        self.left_at_start = self.left

    def room(self, c: int, k: int) -> int:
        v = self.views[c]
        if v is None:
            return k
        if v.later and self.left_at_start > 0:
            return 0
        if v.earlier and self.late_started:
            return 0
        return k

    def take(self, c: int, k: int) -> None:
        v = self.views[c]
        if v is None:
            return
        if v.earlier:
            self.left -= k
        if v.later:
            self.late_started = True

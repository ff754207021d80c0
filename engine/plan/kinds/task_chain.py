"""The units of split VMs (engine.plan.units) in strictly increasing waves: not a rule of the policy but what the
rules that split a VM need.  For classes A (unit k of some VMs) and B (unit k+1 of the same VMs), every wave of A
comes before every wave of B; that is stronger than per VM (sound) and, as units of one VM then never share a wave,
lets every counting rule count a VM once per wave.  Its assertions carry the name of the rule that forced the split.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from engine.model.fleet import VM, Extension
from engine.plan.classes import VMClass
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Filler, Need, PlanKind
from engine.plan.kinds.ordering import encode_order
from engine.plan.reading import FleetFacts


@dataclass(frozen=True)
class Link:
    early: int  # the class of unit k
    late: int  # the class of unit k + 1 of the same VMs
    rule: str  # the rule that forces the two units apart
    early_tasks: str  # the first VM's extensions in each unit, for messages
    late_tasks: str


class TaskChainPlan(PlanKind[tuple[Link, ...], None]):
    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> None:
        return None

    @property
    def links(self) -> tuple[Link, ...]:
        return self.rule

    def orders_waves(self, ids: set[int]) -> bool:
        return any(k.early in ids and k.late in ids for k in self.links)

    def pins(self, c: int) -> bool:
        return any(c in (k.early, k.late) for k in self.links)

    def bound(self, live: Mapping[int, int], used: frozenset[int], depth: int, need: Need) -> int:
        if depth <= 0 or self.index in used:
            return 0
        cls = self.classes
        families: dict[int, list[int]] = defaultdict(list)
        for k in self.links:
            for c in (k.early, k.late):
                if live.get(c, 0) > 0 and c not in families[cls[c].first]:
                    families[cls[c].first].append(c)
        inner = used | {self.index}
        return max((sum(need({c: live[c]}, inner, depth - 1) for c in units) for units in families.values()
                    if len(units) > 1), default=0)

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        have = set(ids)
        links = [k for k in self.links if k.early in have and k.late in have]
        return OrderFiller(self.classes, [(k.early, k.late) for k in links]) if links else None

    def encode(self, enc: Encoding) -> None:
        cls = self.classes
        for k in self.links:
            a, b = cls[k.early], cls[k.late]
            if not (enc.in_model(a) and enc.in_model(b)):
                continue
            more = f" and {a.count - 1} like it" if a.count > 1 else ""
            encode_order(enc, k.rule, "wave", [a], [b], f"[{k.early_tasks}] on VM {a.vms[0]}{more}",
                         f"[{k.late_tasks}] on VM {a.vms[0]}{more}", lead="the tasks")


class OrderFiller(Filler):
    """For (early, late) pairs of classes: a late class waits until its early classes are wholly placed; an early
    class stops once a late class of it started."""

    def __init__(self, classes: Sequence[VMClass], pairs: Sequence[tuple[int, int]]) -> None:
        self.left = {c: classes[c].count for pair in pairs for c in pair}
        self.left_at_start = dict(self.left)
        self.before: dict[int, list[int]] = defaultdict(list)
        self.after: dict[int, list[int]] = defaultdict(list)
        for early, late in pairs:
            self.before[late].append(early)
            self.after[early].append(late)
        self.started: set[int] = set()

    def begin_wave(self) -> None:
        self.left_at_start = dict(self.left)

    def room(self, c: int, k: int) -> int:
        if any(self.left_at_start[e] > 0 for e in self.before.get(c, ())):
            return 0
        if any(lt in self.started for lt in self.after.get(c, ())):
            return 0
        return k

    def take(self, c: int, k: int) -> None:
        if c in self.left:
            self.left[c] -= k
            self.started.add(c)

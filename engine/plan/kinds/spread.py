"""The soft ``spread`` preference: a group (keyed by ``by``) of two or more scheduled VMs should not sit wholly in one
wave; each group that does costs its weight.  Not encoded: once the wave count is fixed, :func:`repair_spread` moves
single VMs out of such groups to another wave of the same phase where no wave-local rule objects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from dsl.policy import Spread
from engine.model.fleet import VM, Extension
from engine.plan.classes import GroupKey, VMClass
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Load, PlanKind
from engine.plan.reading import FleetFacts

Waves = list[tuple[int, dict[int, int]]]  # per wave: (phase, class index -> VMs of that class in the wave)


class SpreadPlan(PlanKind[Spread, GroupKey]):
    kind = Spread

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> GroupKey | None:
        if not facts.matches_scheduled(self.rule.where, vm, exts):
            return None
        return facts.spread_key(self.rule.by, vm)

    def group(self, view: GroupKey) -> GroupKey:
        return view

    def encode(self, enc: Encoding) -> None:
        """Soft: repaired after the wave count is fixed (:func:`repair_spread`), never a constraint."""


class _Loads:
    """Each wave's load under every wave-local rule, made when first asked for."""

    def __init__(self, planners: Sequence[PlanKind[Any, Any]], waves: Waves) -> None:
        self.planners = planners
        self.waves = waves
        self.made: dict[int, list[Load]] = {}

    def of(self, w: int) -> list[Load]:
        if w not in self.made:
            self.made[w] = [x for p in self.planners if (x := p.load(self.waves[w][1])) is not None]
        return self.made[w]

    def fits(self, w: int, c: int) -> bool:
        return all(x.fits(c) for x in self.of(w))

    def move(self, c: int, src: int, dst: int) -> None:
        self.of(src)
        for x in self.of(dst):
            x.change(c, 1)
        for x in self.of(src):
            x.change(c, -1)


def repair_spread(prefs: Sequence[SpreadPlan], planners: Sequence[PlanKind[Any, Any]], classes: Sequence[VMClass],
                  waves: Waves) -> int:
    """Move one VM out of each Spread group that sits wholly in one wave, to a wave of the same phase where no rule
    objects; classes that a rule pins (unit budgets, orders, split task units) stay.  Returns the remaining cost."""
    if not prefs:
        return 0
    movable = {c.index for c in classes if not c.split and not any(p.pins(c.index) for p in planners)}
    waves_of: dict[int, set[int]] = defaultdict(set)
    for w, (_, wave) in enumerate(waves):
        for c in wave:
            waves_of[c].add(w)
    loads = _Loads(planners, waves)
    cost = 0
    for pref in prefs:
        for ids in pref.members.values():
            if sum(classes[c].count for c in ids) < 2:
                continue
            used = {w for c in ids for w in waves_of[c]}
            if len(used) != 1:
                continue
            if not _move_one(ids, next(iter(used)), movable, waves, waves_of, loads):
                cost += pref.rule.weight
    return cost


def _move_one(ids: Sequence[int], w0: int, movable: set[int], waves: Waves, waves_of: dict[int, set[int]],
              loads: _Loads) -> bool:
    phase = waves[w0][0]
    for c in ids:
        if c not in movable or not waves[w0][1].get(c):
            continue
        # Waves of one phase may hold any of the phase's regions, so only the wave-local rules decide.
        for w, (p, wave) in enumerate(waves):
            if p != phase or w == w0 or not loads.fits(w, c):
                continue
            loads.move(c, w0, w)  # before the waves change: a load made now reads them as they were
            wave[c] = wave.get(c, 0) + 1
            waves_of[c].add(w)
            src = waves[w0][1]
            src[c] -= 1
            if not src[c]:
                del src[c]
                waves_of[c].discard(w0)
            return True
    return False

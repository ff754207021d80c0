"""The Z3 model of a planning question, under construction: variables, structure and the helpers rule encodings use.

Three shapes of model share one encoding of the rules (engine.plan.compiler drives it; each rule kind's module in
engine.plan.kinds adds its assertions):

* ``region``: the classes of one region in ``waves`` waves, one phase (phase-unit rules become static checks on the
  region: a region lies in one phase).  Rules whose groups cross regions are restricted to this region, which only
  relaxes them, so an unsat answer here is an unsat answer for the fleet.
* ``joint``: all given classes, ``waves`` waves, a phase per wave (nondecreasing, steps of 0 or 1) and a phase per
  region; every rule at once.  Used when a rule couples regions within waves.
* ``phases``: regions only, each with a known length (its own minimal wave count); a phase's length is the longest
  region in it; the total is the sum.  Phase-unit rules and the fleet-wide wave limit apply.

Variables per class c and wave w: a Boolean ``a[c,w]`` (some VMs of c in w) and, for classes of two or more VMs,
an integer ``x[c,w]`` in 0..n (how many), linked by ``a <-> x >= 1`` and summing to n over the waves.  Every check
goes through the one solver layer (engine.model.solver: seeded, deadline-bounded, typed answers).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import z3

from engine.model.solver import Result, Sat, Solver, Unsat
from engine.plan.classes import GroupKey, VMClass

Mode = Literal["region", "joint", "phases"]


def _all_of(xs: list[Any], kind: type) -> bool:
    """Are all terms of exactly this z3 type (Int terms for ArithRef: the planner makes no Real terms)?"""
    return all(type(x) is kind for x in xs)


class OutOfTime(Exception):
    """The deadline passed while the model was being built: the question's answer is unknown."""


@dataclass(frozen=True)
class Tracked:
    """One named assertion: the rule it comes from, the group, and the fleet facts it states."""

    name: str
    rule: str
    group: str
    facts: str


class Encoding:
    def __init__(
        self,
        classes: Sequence[VMClass],
        class_ids: Sequence[int],
        waves: int,
        mode: Mode,
        *,
        lengths: dict[str, int] | None = None,
        phase_slots: int | None = None,
        track: bool = True,
        sort_waves: bool = True,
        sort_phases: bool = True,
        deadline: float | None = None,
    ) -> None:
        self.deadline = deadline
        self.all_classes = classes
        self.mode = mode
        self.ids = sorted(class_ids)
        self.idset = set(self.ids)
        self.cls: list[VMClass] = [classes[i] for i in self.ids]
        self.W = waves if mode != "phases" else 0
        self.regions = sorted({c.region for c in self.cls}) if mode != "phases" else sorted(lengths or {})
        self.lengths = dict(lengths or {})
        self.track = track
        self.solver = Solver()
        self.ctx = self.solver.ctx
        self.tracked: dict[str, Tracked] = {}
        self.variables = 0
        self._n = 0
        self.a: dict[tuple[int, int], Any] = {}
        self.x: dict[tuple[int, int], Any] = {}
        self._region_active: dict[tuple[str, int], Any] = {}
        if mode == "region":
            self.P = 1
        elif mode == "joint":
            self.P = max(1, min(len(self.regions), self.W))
        else:
            self.P = phase_slots if phase_slots is not None else max(1, len(self.regions))
        self.rp: dict[str, Any] = {}
        self.ph: list[Any] = []
        self.plen: list[Any] = []
        if mode == "phases":
            self._phase_structure(sort_phases)
        else:
            self._wave_structure(sort_waves)

    # -- plumbing ------------------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Stop building once the deadline has passed (big models take long to build: the deadline bounds that too)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OutOfTime

    def implies(self, a: Any, b: Any) -> Any:
        """``z3.Implies(a, b)`` for two Boolean terms of this model, made directly (the same term, built faster)."""
        return z3.BoolRef(z3.Z3_mk_implies(self.ctx.ref(), a.as_ast(), b.as_ast()), self.ctx)

    def all(self, *items: Any) -> Any:
        self.tick()
        xs = list(items[0]) if len(items) == 1 and isinstance(items[0], list) else list(items)
        if not xs:
            return z3.BoolVal(True, self.ctx)
        return self._apply(z3.Z3_mk_and, xs, z3.BoolRef) if _all_of(xs, z3.BoolRef) else z3.And(xs)

    def any(self, *items: Any) -> Any:
        self.tick()
        xs = list(items[0]) if len(items) == 1 and isinstance(items[0], list) else list(items)
        if not xs:
            return z3.BoolVal(False, self.ctx)
        return self._apply(z3.Z3_mk_or, xs, z3.BoolRef) if _all_of(xs, z3.BoolRef) else z3.Or(xs)

    def sum(self, items: Any) -> Any:
        self.tick()
        xs = list(items)
        if not xs:
            return z3.IntVal(0, self.ctx)
        return self._apply(z3.Z3_mk_add, xs, z3.ArithRef) if _all_of(xs, z3.ArithRef) else z3.Sum(xs)

    def _apply(self, make: Any, xs: list[Any], kind: Any) -> Any:
        # What z3.And / Or / Sum build for terms that need no coercion (the same term), without their per-term
        # sort checks, which dominate building big models.
        array = (z3.Ast * len(xs))(*[x.as_ast() for x in xs])
        return kind(make(self.ctx.ref(), len(xs), array), self.ctx)

    def add(self, expr: Any, rule: str, group: str, facts: str) -> None:
        """One assertion of a rule about a group; tracked (named, for cores) unless the model is untracked."""
        self.tick()
        if not self.track:
            self.solver.add(expr)
            return
        name = f"{rule}#{self._n}"
        self._n += 1
        self.tracked[name] = Tracked(name, rule, group, facts)
        self.solver.track(name, expr)

    def order_var(self, rule: str) -> Any:
        """A fresh integer (the last wave of an order's earlier side), named after the rule.  Numbered by the
        variable count, not the tracked-assertion count: untracked models do not count assertions, and two orders
        sharing one name would be one variable (the bug behind a wrong "no schedule exists")."""
        self.variables += 1
        return z3.Int(f"t_{rule}_{self.variables}", self.ctx)

    def _phase_structure(self, sort_phases: bool) -> None:
        s = self.solver
        for r in self.regions:
            self.rp[r] = z3.Int(f"rp_{r}", self.ctx)
            self.variables += 1
            s.add(self.rp[r] >= 0, self.rp[r] < self.P)
        self.plen = [z3.Int(f"len_{p}", self.ctx) for p in range(self.P)]
        self.variables += self.P
        for p in range(self.P):
            s.add(self.plen[p] >= 0)
            for r in self.regions:
                s.add(z3.Implies(self.rp[r] == p, self.plen[p] >= self.lengths[r]))
        if sort_phases:
            # Phases are interchangeable without ordering rules: sort them by length.
            for p in range(self.P - 1):
                s.add(self.plen[p] >= self.plen[p + 1])

    def _wave_structure(self, sort_waves: bool) -> None:
        s = self.solver
        for c in self.cls:
            self.tick()
            total = []
            for w in range(self.W):
                a = z3.Bool(f"a_{c.index}_{w}", self.ctx)
                self.a[(c.index, w)] = a
                self.variables += 1
                if c.count == 1:
                    self.x[(c.index, w)] = z3.If(a, 1, 0)
                else:
                    x = z3.Int(f"x_{c.index}_{w}", self.ctx)
                    self.variables += 1
                    self.x[(c.index, w)] = x
                    s.add(x >= 0, x <= c.count, a == (x >= 1))
                total.append(self.x[(c.index, w)])
            if self.W == 0:
                s.add(z3.BoolVal(False, self.ctx))  # VMs to place and no wave to place them in
            elif c.count == 1:
                s.add(z3.PbEq([(self.a[(c.index, w)], 1) for w in range(self.W)], 1))
            else:
                s.add(self.sum(total) == c.count)
        if self.mode == "joint":
            self._joint_phases()
        if sort_waves and self.W > 1:
            # Waves of one phase are interchangeable without wave-order rules: sort them by size.
            size = [self.sum([self.x[(c.index, w)] for c in self.cls]) for w in range(self.W)]
            for w in range(self.W - 1):
                if self.mode == "joint":
                    s.add(z3.Implies(self.ph[w] == self.ph[w + 1], size[w] >= size[w + 1]))
                else:
                    s.add(size[w] >= size[w + 1])

    def _joint_phases(self) -> None:
        s = self.solver
        self.ph = [z3.Int(f"ph_{w}", self.ctx) for w in range(self.W)]
        self.variables += self.W
        for r in self.regions:
            self.rp[r] = z3.Int(f"rp_{r}", self.ctx)
            self.variables += 1
            s.add(self.rp[r] >= 0, self.rp[r] < self.P)
        if self.W:
            s.add(self.ph[0] == 0)
        for w in range(self.W):
            s.add(self.ph[w] >= 0, self.ph[w] < self.P)
            if w + 1 < self.W:
                d = self.ph[w + 1] - self.ph[w]
                s.add(self.any(d == 0, d == 1))
        for c in self.cls:
            for w in range(self.W):
                s.add(z3.Implies(self.a[(c.index, w)], self.ph[w] == self.rp[c.region]))

    # -- what rule encodings read --------------------------------------------------------------------------------

    def units(self, within: str) -> range:
        return range(self.W) if within == "wave" else range(self.P)

    def in_phase(self, region: str, p: int) -> Any:
        if self.mode == "region":
            return z3.BoolVal(p == 0, self.ctx)
        return self.rp[region] == p

    def active(self, c: VMClass, within: str, u: int) -> Any:
        if within == "wave":
            return self.a[(c.index, u)]
        return self.in_phase(c.region, u)

    def amount(self, c: VMClass, within: str, u: int) -> Any:
        if within == "wave":
            return self.x[(c.index, u)]
        return z3.If(self.in_phase(c.region, u), c.count, 0)

    def region_active(self, region: str, w: int) -> Any:
        key = (region, w)
        if key not in self._region_active:
            self._region_active[key] = self.any([self.a[(c.index, w)] for c in self.cls if c.region == region])
        return self._region_active[key]

    def skip(self, within: str) -> bool:
        """Wave-unit rules have no place in the phase model (they are per region or coupling)."""
        return self.mode == "phases" and within == "wave"

    def in_model(self, c: VMClass) -> bool:
        return c.index in self.idset if self.mode != "phases" else c.region in self.lengths

    def present(self, ids: Iterable[int]) -> list[VMClass]:
        """The classes of ``ids`` this model holds (in the phase model: the classes of its regions)."""
        return [c for c in (self.all_classes[i] for i in ids) if self.in_model(c)]

    def groups(self, members: Mapping[GroupKey, Sequence[int]]) -> dict[GroupKey, list[VMClass]]:
        """Each group (key -> class indices) restricted to the model's classes; groups left empty are dropped."""
        out: dict[GroupKey, list[VMClass]] = {}
        for key, ids in members.items():
            cs = self.present(ids)
            if cs:
                out[key] = cs
        return out

    # -- answers -------------------------------------------------------------------------------------------------

    def check(self, deadline: float, only: Sequence[str] | None = None) -> Result:
        """Sat / Unsat / Unknown by ``deadline``; with tracking, ``only`` names the tracked assertions in force."""
        return self.solver.check(deadline, only)

    def counts(self, sat: Sat) -> dict[int, list[int]]:
        return {c.index: [sat.value(self.x[(c.index, w)]) for w in range(self.W)] for c in self.cls}

    def wave_phases(self, sat: Sat) -> list[int]:
        if self.mode != "joint":
            return [0] * self.W
        return [sat.value(p) for p in self.ph]

    def region_phases(self, sat: Sat) -> dict[str, int]:
        return {r: sat.value(v) for r, v in self.rp.items()}

    def core(self, unsat: Unsat) -> list[str]:
        return sorted((n for n in unsat.core if n in self.tracked), key=self._seq)

    @staticmethod
    def _seq(name: str) -> int:
        return int(name.rsplit("#", 1)[1])

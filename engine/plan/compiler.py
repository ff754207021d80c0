"""Compiler from the checked policy (over counted VM classes) to Z3, every (rule, group) a named assertion.

Three shapes of model share one encoding of the rules:

* ``region``: the classes of one region in ``waves`` waves, one phase (phase-unit rules become static checks on the
  region: a region lies in one phase).  Rules whose groups cross regions are restricted to this region, which only
  relaxes them, so an unsat answer here is an unsat answer for the fleet.
* ``joint``: all given classes, ``waves`` waves, a phase per wave (nondecreasing, steps of 0 or 1) and a phase per
  region; every rule at once.  Used when a rule couples regions within waves.
* ``phases``: regions only, each with a known length (its own minimal wave count); a phase's length is the longest
  region in it; the total is the sum.  Phase-unit rules and the fleet-wide wave limit apply.

Variables per class c and wave w: a Boolean ``a[c,w]`` (some VMs of c in w) and, for classes of two or more VMs,
an integer ``x[c,w]`` in 0..n (how many), linked by ``a <-> x >= 1`` and summing to n over the waves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import z3

from dsl.policy import (
    Canary,
    Capacity,
    DistinctLimit,
    NotWhole,
    Order,
    OrderBy,
    Rule,
    SeparatePairs,
    SeparateRegions,
    Spread,
    TrueP,
    UnitLimit,
)
from engine.plan.groups import Groups, VMClass, cap_of, distinct_values, group_label, order_pairs

Mode = Literal["region", "joint", "phases"]
SEED = 7


@dataclass(frozen=True)
class Tracked:
    """One named assertion: the rule it comes from, the group, and the fleet facts it states."""

    name: str
    rule: str
    group: str
    facts: str


def wave_order_rules(groups: Groups, class_ids: Sequence[int]) -> bool:
    """True when a rule makes the order of waves matter among these classes (then waves are not symmetric)."""
    ids = set(class_ids)
    for i, r in enumerate(groups.rules):
        if isinstance(r, Order) and r.unit == "wave":
            e = any(groups.classes[c].views[i][0] for c in ids)
            lt = any(groups.classes[c].views[i][1] for c in ids)
            if e and lt:
                return True
        if isinstance(r, OrderBy) and r.unit == "wave" and len({groups.classes[c].views[i] for c in ids} - {None}) > 1:
            return True
    return False


class Encoding:
    def __init__(
        self,
        groups: Groups,
        class_ids: Sequence[int],
        waves: int,
        mode: Mode,
        *,
        lengths: dict[str, int] | None = None,
        phase_slots: int | None = None,
        optimize: bool = False,
        track: bool = True,
        symmetry: bool = True,
    ) -> None:
        self.groups = groups
        self.mode = mode
        self.ids = sorted(class_ids)
        self.idset = set(self.ids)
        self.cls: list[VMClass] = [groups.classes[i] for i in self.ids]
        self.W = waves if mode != "phases" else 0
        self.regions = sorted({c.region for c in self.cls}) if mode != "phases" else sorted(lengths or {})
        self.lengths = dict(lengths or {})
        self.track = track and not optimize
        # A context of its own: Z3 answers then depend only on this model, not on what the process solved before.
        self.ctx = z3.Context()
        self.opt: z3.Optimize | None = z3.Optimize(ctx=self.ctx) if optimize else None
        self.solver: z3.Solver | z3.Optimize = self.opt if self.opt is not None else z3.Solver(ctx=self.ctx)
        self.solver.set("random_seed", SEED)
        self.tracked: dict[str, Tracked] = {}
        self.assumptions: dict[str, Any] = {}
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
        self._structure(symmetry)
        for i, rule in enumerate(groups.rules):
            self._rule(i, rule)

    # -- plumbing ------------------------------------------------------------------------------------------------

    def all(self, *items: Any) -> Any:
        xs = list(items[0]) if len(items) == 1 and isinstance(items[0], list) else list(items)
        return z3.And(xs) if xs else z3.BoolVal(True, self.ctx)

    def any(self, *items: Any) -> Any:
        xs = list(items[0]) if len(items) == 1 and isinstance(items[0], list) else list(items)
        return z3.Or(xs) if xs else z3.BoolVal(False, self.ctx)

    def sum(self, items: Any) -> Any:
        xs = list(items)
        return z3.Sum(xs) if xs else z3.IntVal(0, self.ctx)

    def _add(self, expr: Any, rule: str, group: str, facts: str) -> None:
        if isinstance(expr, bool):
            expr = z3.BoolVal(expr, self.ctx)
        if not self.track:
            self.solver.add(expr)
            return
        name = f"{rule}#{self._n}"
        self._n += 1
        self.tracked[name] = Tracked(name, rule, group, facts)
        # Guarded by an assumption literal so cores can be minimised by re-checking subsets.
        b = z3.Bool(name, self.ctx)
        self.assumptions[name] = b
        self.solver.add(z3.Implies(b, expr))

    def _structure(self, symmetry: bool) -> None:
        s = self.solver
        if self.mode == "phases":
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
            if symmetry and not self._phase_order_rules():
                # Phases are interchangeable without ordering rules: sort them by length.
                for p in range(self.P - 1):
                    s.add(self.plen[p] >= self.plen[p + 1])
            return
        for c in self.cls:
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
        if symmetry and self.W > 1 and not wave_order_rules(self.groups, self.ids):
            # Waves of one phase are interchangeable without wave-order rules: sort them by size.
            size = [self.sum([self.x[(c.index, w)] for c in self.cls]) for w in range(self.W)]
            for w in range(self.W - 1):
                if self.mode == "joint":
                    s.add(z3.Implies(self.ph[w] == self.ph[w + 1], size[w] >= size[w + 1]))
                else:
                    s.add(size[w] >= size[w + 1])

    def _phase_order_rules(self) -> bool:
        return any(isinstance(r, Canary) or (isinstance(r, Order | OrderBy) and r.unit == "phase")
                   for r in self.groups.rules)

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

    def _skip(self, within: str) -> bool:
        """Wave-unit rules have no place in the phase model (they are per region or coupling)."""
        return self.mode == "phases" and within == "wave"

    def _members(self, i: int) -> dict[Any, list[VMClass]]:
        out: dict[Any, list[VMClass]] = {}
        for key, ids in self.groups.members[i].items():
            cs = [self.groups.classes[c] for c in ids if c in self.idset] if self.mode != "phases" else [
                self.groups.classes[c] for c in ids if self.groups.classes[c].region in self.lengths]
            if cs:
                out[key] = cs
        return out

    def _in_model(self, c: VMClass) -> bool:
        return c.index in self.idset if self.mode != "phases" else c.region in self.lengths

    # -- rules ---------------------------------------------------------------------------------------------------

    def _rule(self, i: int, rule: Rule) -> None:
        g = self.groups
        if isinstance(rule, SeparatePairs | SeparateRegions):
            if isinstance(rule, SeparatePairs):
                pairs = [(a, b, "geo-paired") for a, b in g.pairs]
            else:
                listed = sorted(set(rule.regions))
                pairs = [(a, b, "listed apart") for k, a in enumerate(listed) for b in listed[k + 1:]]
            for a, b, why in pairs:
                if a not in self.regions or b not in self.regions:
                    continue
                facts = f"regions {a} and {b} are {why}, so they never share a {rule.within}"
                if rule.within == "phase":
                    self._add(self.rp[a] != self.rp[b] if self.mode != "region" else False, rule.name, f"{a}/{b}", facts)
                elif not self._skip("wave"):
                    self._add(self.all([z3.Not(self.all(self.region_active(a, w), self.region_active(b, w)))
                                      for w in range(self.W)]), rule.name, f"{a}/{b}", facts)
        elif isinstance(rule, Canary):
            canaries = sorted(r for r in set(rule.regions) if r in self.regions)
            if not canaries or self.mode == "region":
                return
            for c in canaries:
                for r in self.regions:
                    if r == c:
                        continue
                    alone = rule.alone and r not in rule.regions
                    expr = self.rp[c] < self.rp[r] if alone else self.rp[c] <= self.rp[r]
                    facts = (f"canary region {c} goes first" + (f", alone (not with {r})" if alone else ""))
                    self._add(expr, rule.name, c, facts)
        elif isinstance(rule, DistinctLimit):
            if self._skip(rule.within):
                return
            for key, cs in self._members(i).items():
                values = distinct_values(g, i, [c.index for c in cs])
                if len(values) <= rule.limit:
                    continue
                terms = []
                for u in self.units(rule.within):
                    ors = [self.any([self.active(g.classes[c], rule.within, u) for c in ids]) for _, ids in
                           sorted(values.items(), key=lambda kv: str(kv[0]))]
                    terms.append(z3.AtMost(*ors, rule.limit))
                label = group_label(rule.per, key)
                facts = (f"{label}: {len(values)} {rule.count.replace('_', ' ')} values with tasks, at most "
                         f"{rule.limit} per {rule.within}")
                self._add(self.all(terms), rule.name, label, facts)
        elif isinstance(rule, Capacity):
            if self.mode == "phases" and rule.within == "wave":
                self._phase_capacity(i, rule)
                return
            if self._skip(rule.within):
                return
            for key, cs in self._members(i).items():
                cap = cap_of(g, i, key)
                n = sum(c.count for c in cs)
                if n <= cap:
                    continue
                terms = []
                for u in self.units(rule.within):
                    if rule.within == "wave" and all(c.count == 1 for c in cs):
                        terms.append(z3.AtMost(*[self.a[(c.index, u)] for c in cs], cap))
                    else:
                        terms.append(self.sum([self.amount(c, rule.within, u) for c in cs]) <= cap)
                label = group_label(rule.of, key)
                facts = f"{label}: {n} VMs with tasks, {cap} per {rule.within}"
                self._add(self.all(terms), rule.name, label, facts)
        elif isinstance(rule, NotWhole):
            if self._skip(rule.within):
                return
            for key, cs in self._members(i).items():
                size = g.sizes[i].get(key, 0)
                n = sum(c.count for c in cs)
                if size < rule.min_size or n < size:
                    continue
                terms = []
                for u in self.units(rule.within):
                    if rule.within == "wave":
                        terms.append(self.any([self.x[(c.index, u)] < c.count for c in cs]))
                    else:
                        terms.append(self.any([z3.Not(self.in_phase(c.region, u)) for c in cs]))
                label = group_label(rule.of, key)
                facts = f"{label}: {size} VMs, never all in one {rule.within}"
                self._add(self.all(terms), rule.name, label, facts)
        elif isinstance(rule, UnitLimit):
            self._unit_limit(i, rule)
        elif isinstance(rule, Order):
            self._order(rule, [c for c in g.classes if self._in_model(c) and c.views[i][0]],
                        [c for c in g.classes if self._in_model(c) and c.views[i][1]], "earlier", "later")
        elif isinstance(rule, OrderBy):
            by_key: dict[str, list[VMClass]] = defaultdict(list)
            for vc in g.classes:
                if self._in_model(vc) and vc.views[i] is not None:
                    by_key[vc.views[i]].append(vc)
            for a, b in order_pairs(g, i):
                if a in by_key and b in by_key:
                    self._order(rule, by_key[a], by_key[b], f"{rule.key} = {a}", f"{rule.key} = {b}")

    def _phase_capacity(self, i: int, rule: Capacity) -> None:
        """A per-wave cap on a group spanning regions: each phase is at least as long as its share of the group
        needs at that cap (the phase's waves hold all of the group's VMs in the phase's regions)."""
        for key, cs in self._members(i).items():
            per_region: dict[str, int] = defaultdict(int)
            for c in cs:
                per_region[c.region] += c.count
            if len(per_region) < 2:
                continue
            cap = cap_of(self.groups, i, key)
            if sum(per_region.values()) <= cap:
                continue
            label = group_label(rule.of, key)
            facts = f"{label}: {sum(per_region.values())} VMs with tasks, {cap} per wave"
            terms = [cap * self.plen[p] >= self.sum([z3.If(self.rp[r] == p, n, 0) for r, n in sorted(per_region.items())])
                     for p in range(self.P)]
            self._add(self.all(terms), rule.name, label, facts)

    def _unit_limit(self, i: int, rule: UnitLimit) -> None:
        if self.mode == "phases":
            if rule.unit == "wave":
                if rule.per == "fleet" and isinstance(rule.where, TrueP):
                    facts = f"at most {rule.limit} waves in all"
                    self._add(self.sum(self.plen) <= rule.limit, rule.name, "the fleet", facts)
                return
        elif rule.unit == "wave" and rule.limit >= self.W:
            return
        for key, cs in self._members(i).items():
            units = self.units(rule.unit)
            if rule.unit == "phase" and len({c.region for c in cs}) <= rule.limit and self.mode != "region":
                continue
            used = [z3.If(self.any([self.active(c, rule.unit, u) for c in cs]), 1, 0) for u in units]
            label = group_label(rule.per, key)
            facts = f"{label}: at most {rule.limit} {rule.unit}s"
            self._add(self.sum(used) <= rule.limit, rule.name, label, facts)

    def _order(self, rule: Order | OrderBy, early: list[VMClass], late: list[VMClass], ea: str, la: str) -> None:
        if not early or not late:
            return
        facts = f"VMs with {ea} go in {rule.unit}s strictly before VMs with {la}"
        if rule.unit == "phase":
            if self.mode == "region":
                self._add(False, rule.name, f"{ea} before {la}", facts + f" (both in region {early[0].region})")
                return
            terms = []
            for re in sorted({c.region for c in early}):
                for rl in sorted({c.region for c in late}):
                    terms.append(self.rp[re] < self.rp[rl] if re != rl else z3.BoolVal(False, self.ctx))
            self._add(self.all(terms), rule.name, f"{ea} before {la}", facts)
            return
        if self.mode == "phases":
            # Waves never go back in phase, so "earlier wave" implies "same or earlier phase" for their regions.
            for re in sorted({c.region for c in early}):
                for rl in sorted({c.region for c in late}):
                    if re != rl:
                        self._add(self.rp[re] <= self.rp[rl], rule.name, f"{re}/{rl}",
                                  f"VMs with {ea} in {re} go in waves before VMs with {la} in {rl}, so {re} is in "
                                  f"the same or an earlier phase")
            return
        t = z3.Int(f"t_{rule.name}_{self._n}", self.ctx)
        self.variables += 1
        terms = []
        for w in range(self.W):
            terms += [z3.Implies(self.a[(c.index, w)], t >= w) for c in early]
            terms += [z3.Implies(self.a[(c.index, w)], t < w) for c in late]
        self._add(self.all(terms), rule.name, f"{ea} before {la}", facts)

    # -- soft preferences ----------------------------------------------------------------------------------------

    def add_spread(self) -> list[tuple[Spread, Any, Any]]:
        """Soft Spread terms (Optimize only): each group of 2+ VMs all in one wave costs its weight."""
        assert self.opt is not None
        out = []
        base = len(self.groups.rules)
        for k, pref in enumerate(self.groups.preferences):
            for key, ids in self.groups.members[base + k].items():
                cs = [self.groups.classes[c] for c in ids if c in self.idset]
                n = sum(c.count for c in cs)
                if n < 2 or len(cs) != len(ids):
                    continue
                whole = self.any([self.all([self.x[(c.index, w)] == c.count for c in cs]) for w in range(self.W)])
                self.opt.add_soft(z3.Not(whole), pref.weight)
                out.append((pref, key, whole))
        return out

    # -- answers -------------------------------------------------------------------------------------------------

    def check(self, timeout: float, only: Sequence[str] | None = None) -> str:
        """sat / unsat / unknown; with tracking, ``only`` names the tracked assertions in force (default all)."""
        self.solver.set("timeout", max(1, int(timeout * 1000)))
        names = list(self.assumptions) if only is None else list(only)
        r = self.solver.check(*[self.assumptions[n] for n in names])
        return "sat" if r == z3.sat else "unsat" if r == z3.unsat else "unknown"

    def counts(self) -> dict[int, list[int]]:
        m = self.solver.model()
        out: dict[int, list[int]] = {}
        for c in self.cls:
            out[c.index] = [m.eval(self.x[(c.index, w)], model_completion=True).as_long() for w in range(self.W)]
        return out

    def wave_phases(self) -> list[int]:
        m = self.solver.model()
        if self.mode != "joint":
            return [0] * self.W
        return [m.eval(p, model_completion=True).as_long() for p in self.ph]

    def region_phases(self) -> dict[str, int]:
        m = self.solver.model()
        return {r: m.eval(v, model_completion=True).as_long() for r, v in self.rp.items()}

    def core(self) -> list[str]:
        assert isinstance(self.solver, z3.Solver)
        return sorted((str(b) for b in self.solver.unsat_core() if str(b) in self.tracked), key=self._seq)

    def _seq(self, name: str) -> int:
        return int(name.rsplit("#", 1)[1])


def rule_names(rules: Sequence[Rule]) -> list[str]:
    return [r.name for r in rules]

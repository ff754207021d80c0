"""The second solver: OR-tools CP-SAT on a model of "do these due tasks have a schedule in at most W waves?", built
from the checker's reading of every rule (``engine.check.semantics`` and ``engine.check.rules``), never from the
planner's Z3 encoding.

Soundness and completeness of the model (so that its "infeasible" refutes every schedule, and its "feasible" is a
schedule the checker accepts):

* Waves 0..W-1 may be empty; a schedule with empty waves removed (phases renumbered in order) keeps every rule, and
  any schedule of at most W waves is one of the model's with its empty waves last (the model asks for that).
* Items: when no rule reads tasks (no ``extension.*`` filter, no ``count extension``), each VM's tasks form one
  item; putting all of a VM's tasks in the earliest of its waves never breaks a rule that reads VMs only (counts per
  wave, distinct values and units used only shrink, no group becomes whole, an earlier side only ends sooner), so
  this loses no schedule.  Otherwise every task of a VM with several tasks is its own item.
* Whole-VM items with the same region and the same view under every rule (its group, filter, counted values, order
  side, key) are interchangeable: a class with a count per wave.  Each task-level VM is its own entity; it counts in
  a wave under a rule when one of its tasks the rule's filter selects is in the wave.
* Phases: each region has a phase, each wave a phase (non-decreasing, steps of at most one), and an entity in a wave
  puts its region's phase on that wave.  Group sizes count the whole fleet (``Semantics.sizes``), as the checker does.
* Facts: bounds that ``engine.check.certificate`` re-derived for subsets of the tasks ("these occupy at least k
  waves") may be added; every schedule meets them, so they remove none, and they hand the search the counting
  arguments (distinct values per wave, each needing its own waves) it does not find by itself.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ortools.sat.python import cp_model

from dsl.policy import (
    Canary,
    Capacity,
    DistinctLimit,
    ExtensionOrder,
    NotWhole,
    Order,
    OrderBy,
    Predicate,
    Rule,
    SeparatePairs,
    SeparateRegions,
    UnitLimit,
)
from engine.check.certificate import Due, Fact
from engine.check.rules.order_by import before, key_text
from engine.check.semantics import GroupKey, Semantics, sort_key, uses_extension
from engine.model.fleet import Fleet
from engine.model.upgrades import selector_matches

SEED = 20240611
# Entities x waves beyond which the model is not built (the answer is then undecided, never a pass).
MAX_CELLS = 200_000


@dataclass(frozen=True)
class Found:
    """A schedule of the tasks in at most the asked waves: each due task's wave (0..n-1, none empty) and phase."""

    waves: dict[tuple[str, str], int]
    phases: dict[int, int]


@dataclass(frozen=True)
class NoSchedule:
    """CP-SAT proved that no schedule of the tasks fits in the asked waves."""


@dataclass(frozen=True)
class Undecided:
    reason: str


Answer = Found | NoSchedule | Undecided


class Unsupported(Exception):
    """A rule kind the model does not read, or a model too large: the answer is undecided, never a pass."""


def reads_tasks(rule: Rule) -> bool:
    preds: list[Predicate] = []
    if isinstance(rule, Capacity | NotWhole | UnitLimit | DistinctLimit | OrderBy):
        preds.append(rule.where)
    if isinstance(rule, Order):
        preds += [rule.earlier, rule.later]
    return any(uses_extension(p) for p in preds) or (isinstance(rule, DistinctLimit) and rule.count == "extension")


@dataclass
class Entity:
    """A class of interchangeable whole VMs (``size`` of them) or one task-level VM (``size`` 1, several items)."""

    region: str
    dues: list[list[Due]]  # per VM, its tasks (a class: every VM; a task-level VM: one list)
    items: list[list[Due]] = field(default_factory=list)  # task-level: one item per task
    count: dict[int, Any] = field(default_factory=dict)  # wave -> VMs of the entity in it (IntVar or BoolVar)
    active: dict[int, Any] = field(default_factory=dict)  # wave -> BoolVar: some VM of the entity in it
    x: list[dict[int, Any]] = field(default_factory=list)  # task-level: item -> wave -> BoolVar

    @property
    def size(self) -> int:
        return len(self.dues)

    @property
    def split(self) -> bool:
        return bool(self.items)


class Model:
    """The CP-SAT model of the rules on the tasks, in at most ``waves`` waves."""

    def __init__(self, rules: Sequence[Rule], fleet: Fleet, dues: Sequence[Due], waves: int | None,
                 facts: Sequence[Fact] = ()) -> None:
        self.rules = rules
        self.fleet = fleet
        self.sem = Semantics(fleet)
        self.m = cp_model.CpModel()
        self.entities = self._entities(dues)
        self.W = self.room() if waves is None else waves
        if len(self.entities) * self.W > MAX_CELLS:
            raise Unsupported(f"{len(self.entities)} classes x {self.W} waves is too large a model for the second "
                              "solver")
        self.regions = sorted({e.region for e in self.entities})
        self.P = max(1, min(self.W, len(self.regions)))
        self._presence: dict[tuple[int, int, int], Any] = {}
        self._rp: dict[tuple[str, int], Any] = {}
        self._ra: dict[tuple[str, int], Any] = {}
        self._at: dict[tuple[str, str], tuple[int, int | None]] = {}
        self._placement()
        for r, rule in enumerate(rules):
            self._rule(r, rule)
        for tasks, k in facts:
            self._fact(tasks, k)

    # -- entities ------------------------------------------------------------------------------------------------

    def _view(self, rule: Rule, vm_dues: Sequence[Due]) -> Any:
        vm = vm_dues[0].vm
        exts = [d.ext for d in vm_dues]
        sem = self.sem
        if isinstance(rule, Capacity | NotWhole):
            return sem.matches_scheduled(rule.where, vm, exts), sem.group_key(rule.of, vm)
        if isinstance(rule, UnitLimit):
            return sem.matches_scheduled(rule.where, vm, exts), sem.group_key(rule.per, vm)
        if isinstance(rule, DistinctLimit):
            return sem.matches_scheduled(rule.where, vm, exts), sem.group_key(rule.per, vm), self._values(rule, vm_dues)
        if isinstance(rule, Order):
            return sem.matches_scheduled(rule.earlier, vm, exts), sem.matches_scheduled(rule.later, vm, exts)
        if isinstance(rule, OrderBy):
            raw = sem.attr(rule.key.path, vm)
            return sem.matches_scheduled(rule.where, vm, exts), None if raw is None else key_text(raw)
        if isinstance(rule, SeparatePairs | SeparateRegions | Canary | ExtensionOrder):
            return None
        raise Unsupported(f"the second solver does not model rule kind {type(rule).__name__}")

    def _values(self, rule: DistinctLimit, vm_dues: Sequence[Due]) -> tuple[GroupKey, ...]:
        """The values a VM with these tasks (all in one wave) shows under a distinct-count rule."""
        vm = vm_dues[0].vm
        if rule.count == "extension":
            return tuple(sorted({(d.ext.name,) for d in vm_dues if self.sem.matches_task(rule.where, vm, d.ext)}))
        v = self.sem.count_value(rule.count, vm)
        return () if v is None else (v,)

    def _entities(self, dues: Sequence[Due]) -> list[Entity]:
        per_task = any(reads_tasks(r) for r in self.rules)
        by_vm: dict[str, list[Due]] = defaultdict(list)
        for d in dues:
            by_vm[d.vm.name].append(d)
        classes: dict[Any, Entity] = {}
        out: list[Entity] = []
        for name in sorted(by_vm):
            vm_dues = sorted(by_vm[name], key=lambda d: d.ext.name)
            region = vm_dues[0].vm.region
            if per_task and len(vm_dues) > 1:
                out.append(Entity(region, [vm_dues], [[d] for d in vm_dues]))
                continue
            sig = (region, tuple(self._view(r, vm_dues) for r in self.rules))
            if sig not in classes:
                classes[sig] = Entity(region, [])
                out.append(classes[sig])
            classes[sig].dues.append(vm_dues)
        return out

    def room(self) -> int:
        """Waves enough for any schedule to exist if one does.  A schedule drops its empty waves: at most one wave
        per item.  Without per-wave caps (Capacity, NotWhole by wave), all VMs of a class can move to one of the
        class's waves, any of them: per-wave distinct values, units used and regions per wave only shrink, each
        order's earlier side ends no later and its later side starts no sooner, phases stay.  Then one wave per
        class (and per task of a task-level VM) is enough."""
        caps = any(isinstance(r, Capacity | NotWhole) and r.within == "wave" for r in self.rules)
        return sum(len(e.items) if e.split else (e.size if caps else 1) for e in self.entities)

    # -- placement and phases --------------------------------------------------------------------------------------

    def _placement(self) -> None:
        m, W = self.m, self.W
        self.q = [m.new_int_var(0, self.P - 1, f"q{w}") for w in range(W)]
        if W:
            m.add(self.q[0] == 0)
        for w in range(W - 1):
            m.add(self.q[w] <= self.q[w + 1])
            m.add(self.q[w + 1] <= self.q[w] + 1)
        self.pr = {r: m.new_int_var(0, self.P - 1, f"p_{r}") for r in self.regions}
        used: list[list[Any]] = [[] for _ in range(W)]
        for k, e in enumerate(self.entities):
            if e.split:
                self._place_items(k, e)
            else:
                self._place_class(k, e)
            for w in range(W):
                m.add(self.q[w] == self.pr[e.region]).only_enforce_if(e.active[w])
                used[w].append(e.active[w])
        self.used = [m.new_bool_var(f"u{w}") for w in range(W)]
        for w in range(W):
            m.add_max_equality(self.used[w], used[w])
        for w in range(W - 1):
            m.add_implication(self.used[w + 1], self.used[w])  # empty waves last
        if not self._orders_waves():
            self._fuller_first()

    def _orders_waves(self) -> bool:
        """Does the order of waves within a phase matter to a rule (wave orders, or tasks of one VM apart)?"""
        return any(isinstance(r, Order | OrderBy) and r.unit == "wave" for r in self.rules) or \
            any(e.split for e in self.entities)

    def _fuller_first(self) -> None:
        """Symmetry: when no rule orders waves, waves of one phase may be permuted; ask for non-increasing VM
        counts along each phase (any schedule, its waves sorted so within phases, is one of these)."""
        m, W = self.m, self.W
        load = [sum(e.count[w] for e in self.entities) for w in range(W)]
        for w in range(W - 1):
            same = m.new_bool_var(f"same{w}")
            m.add(self.q[w] == self.q[w + 1]).only_enforce_if(same)
            m.add(self.q[w] != self.q[w + 1]).only_enforce_if(same.negated())
            m.add(load[w] >= load[w + 1]).only_enforce_if(same)

    def _place_class(self, k: int, e: Entity) -> None:
        m = self.m
        for w in range(self.W):
            n = m.new_int_var(0, e.size, f"n{k}_{w}")
            a = m.new_bool_var(f"a{k}_{w}")
            m.add(n >= 1).only_enforce_if(a)
            m.add(n == 0).only_enforce_if(a.negated())
            e.count[w], e.active[w] = n, a
        m.add(sum(e.count.values()) == e.size)

    def _place_items(self, k: int, e: Entity) -> None:
        m = self.m
        for i, _ in enumerate(e.items):
            xs = {w: m.new_bool_var(f"x{k}_{i}_{w}") for w in range(self.W)}
            m.add_exactly_one(xs.values())
            e.x.append(xs)
        for w in range(self.W):
            a = m.new_bool_var(f"a{k}_{w}")
            m.add_max_equality(a, [xs[w] for xs in e.x])
            e.active[w] = e.count[w] = a

    def rp(self, region: str, p: int) -> Any:
        """BoolVar: the region is in phase p."""
        found = self._rp.get((region, p))
        if found is None:
            found = self._rp[(region, p)] = self.m.new_bool_var(f"rp_{region}_{p}")
            self.m.add(self.pr[region] == p).only_enforce_if(found)
            self.m.add(self.pr[region] != p).only_enforce_if(found.negated())
        return found

    def region_active(self, region: str, w: int) -> Any:
        found = self._ra.get((region, w))
        if found is None:
            found = self._ra[(region, w)] = self.m.new_bool_var(f"ra_{region}_{w}")
            self.m.add_max_equality(found, [e.active[w] for e in self.entities if e.region == region])
        return found

    def _where(self) -> dict[tuple[str, str], tuple[int, int | None]]:
        """(VM, extension) -> (entity, item of a task-level VM or None), computed once."""
        if not self._at:
            for n, e in enumerate(self.entities):
                if e.split:
                    self._at.update(((it[0].vm.name, it[0].ext.name), (n, i)) for i, it in enumerate(e.items))
                else:
                    self._at.update(((d.vm.name, d.ext.name), (n, None)) for vm_dues in e.dues for d in vm_dues)
        return self._at

    def _fact(self, tasks: Sequence[Due], k: int) -> None:
        """A re-derived fact (engine.check.certificate): these tasks occupy at least k waves.  Implied by the rules,
        so it removes no schedule; it gives the search the counting argument it would not find itself."""
        at = self._where()
        if any((d.vm.name, d.ext.name) not in at for d in tasks):
            return  # tasks outside this model: the fact is about another set
        # A class only partly in the set stands for all of it: its waves cover the set's, so this stays implied.
        where = {at[(d.vm.name, d.ext.name)] for d in tasks}
        used = []
        for w in range(self.W):
            on = [self.entities[n].active[w] if i is None else self.entities[n].x[i][w] for n, i in sorted(where,
                  key=lambda t: (t[0], -1 if t[1] is None else t[1]))]
            used.append(self._any(on))
        self.m.add(sum(used) >= k)

    # -- what a rule sees of an entity -----------------------------------------------------------------------------

    def presence(self, r: int, pred: Predicate, k: int, w: int) -> Any | None:
        """For a task-level VM: BoolVar "one of its tasks ``pred`` selects is in wave w"; None when none can be."""
        key = (r, id(pred), k * self.W + w)
        if key in self._presence:
            return self._presence[key]
        e = self.entities[k]
        vm = e.dues[0][0].vm
        hits = [e.x[i][w] for i, item in enumerate(e.items) if self.sem.matches_task(pred, vm, item[0].ext)]
        out: Any | None = None
        if len(hits) == 1:
            out = hits[0]
        elif hits:
            out = self.m.new_bool_var(f"pres{r}_{k}_{w}")
            self.m.add_max_equality(out, hits)
        self._presence[key] = out
        return out

    def matched(self, pred: Predicate, e: Entity) -> bool:
        """Does the rule's filter select some task of the entity (a class: of each of its VMs, by its signature)?"""
        vm_dues = e.dues[0]
        return self.sem.matches_scheduled(pred, vm_dues[0].vm, [d.ext for d in vm_dues])

    def members(self, pred: Predicate, scope: str) -> dict[GroupKey, list[int]]:
        out: dict[GroupKey, list[int]] = defaultdict(list)
        for k, e in enumerate(self.entities):
            key = self.sem.group_key(scope, e.dues[0][0].vm)
            if key is not None and self.matched(pred, e):
                out[key].append(k)
        return {key: out[key] for key in sorted(out, key=sort_key)}

    def in_wave(self, r: int, pred: Predicate, k: int, w: int) -> Any:
        """VMs of entity k the rule counts in wave w (a linear expression)."""
        e = self.entities[k]
        if not e.split:
            return e.count[w]
        p = self.presence(r, pred, k, w)
        return 0 if p is None else p

    def on(self, r: int, pred: Predicate, k: int, w: int) -> Any | None:
        e = self.entities[k]
        return e.active[w] if not e.split else self.presence(r, pred, k, w)

    # -- rules -----------------------------------------------------------------------------------------------------

    def _rule(self, r: int, rule: Rule) -> None:
        if isinstance(rule, Capacity):
            self._capacity(r, rule)
        elif isinstance(rule, NotWhole):
            self._not_whole(r, rule)
        elif isinstance(rule, DistinctLimit):
            self._distinct(r, rule)
        elif isinstance(rule, UnitLimit):
            self._unit_limit(r, rule)
        elif isinstance(rule, Order):
            self._order(r, rule)
        elif isinstance(rule, OrderBy):
            self._order_by(r, rule)
        elif isinstance(rule, SeparatePairs):
            self._apart(rule.within, [(g.name, g.pair) for g in self.fleet.regions if g.pair is not None])
        elif isinstance(rule, SeparateRegions):
            rs = list(rule.regions)
            self._apart(rule.within, [(a, b) for i, a in enumerate(rs) for b in rs[i + 1:]])
        elif isinstance(rule, Canary):
            self._canary(rule)
        elif isinstance(rule, ExtensionOrder):
            self._extension_order(rule)
        else:
            raise Unsupported(f"the second solver does not model rule kind {type(rule).__name__}")

    def _per_phase_sum(self, ks: Sequence[int], bound: int) -> None:
        for p in range(self.P):
            self.m.add(sum(self.entities[k].size * self.rp(self.entities[k].region, p) for k in ks) <= bound)

    def _capacity(self, r: int, rule: Capacity) -> None:
        sizes = self.sem.sizes(rule.of, rule.where)
        for key, ks in self.members(rule.where, rule.of).items():
            cap = rule.amount.of(sizes.get(key, 0))
            if sum(self.entities[k].size for k in ks) <= cap:
                continue
            if rule.within == "phase":
                self._per_phase_sum(ks, cap)
                continue
            for w in range(self.W):
                self.m.add(sum(self.in_wave(r, rule.where, k, w) for k in ks) <= cap)

    def _not_whole(self, r: int, rule: NotWhole) -> None:
        sizes = self.sem.sizes(rule.of, rule.where)
        for key, ks in self.members(rule.where, rule.of).items():
            size = sizes.get(key, 0)
            if size < rule.min_size or sum(self.entities[k].size for k in ks) < size:
                continue
            if rule.within == "phase":
                self._per_phase_sum(ks, size - 1)
                continue
            for w in range(self.W):
                self.m.add(sum(self.in_wave(r, rule.where, k, w) for k in ks) <= size - 1)

    def _shown(self, r: int, rule: DistinctLimit, k: int, w: int) -> list[tuple[GroupKey, Any]]:
        """(value, BoolVar) pairs: the entity shows the value in wave w when the variable is true."""
        e = self.entities[k]
        vm = e.dues[0][0].vm
        if not e.split:
            return [(v, e.active[w]) for v in self._values(rule, e.dues[0])]
        if rule.count == "extension":
            return [((item[0].ext.name,), e.x[i][w]) for i, item in enumerate(e.items)
                    if self.sem.matches_task(rule.where, vm, item[0].ext)]
        v = self.sem.count_value(rule.count, vm)
        p = self.presence(r, rule.where, k, w)
        return [] if v is None or p is None else [(v, p)]

    def _distinct(self, r: int, rule: DistinctLimit) -> None:
        for _key, ks in self.members(rule.where, rule.per).items():
            if rule.within == "phase":
                self._distinct_phase(rule, ks)
                continue
            for w in range(self.W):
                by_value: dict[GroupKey, list[Any]] = defaultdict(list)
                for k in ks:
                    for v, b in self._shown(r, rule, k, w):
                        by_value[v].append(b)
                if len(by_value) <= rule.limit:
                    continue
                self.m.add(sum(self._any(bs) for _, bs in sorted(by_value.items(), key=lambda kv: sort_key(kv[0])))
                           <= rule.limit)

    def _distinct_phase(self, rule: DistinctLimit, ks: Sequence[int]) -> None:
        regions_of: dict[GroupKey, set[str]] = defaultdict(set)
        for k in ks:
            e = self.entities[k]
            for vm_dues in e.dues:
                for v in self._values(rule, vm_dues):
                    regions_of[v].add(e.region)
        if len(regions_of) <= rule.limit:
            return
        for p in range(self.P):
            self.m.add(sum(self._any([self.rp(g, p) for g in sorted(rs)]) for _, rs in
                           sorted(regions_of.items(), key=lambda kv: sort_key(kv[0]))) <= rule.limit)

    def _any(self, bs: Sequence[Any]) -> Any:
        if len(bs) == 1:
            return bs[0]
        out = self.m.new_bool_var("any")
        self.m.add_max_equality(out, list(bs))
        return out

    def _unit_limit(self, r: int, rule: UnitLimit) -> None:
        for _key, ks in self.members(rule.where, rule.per).items():
            if rule.unit == "phase":
                regions = sorted({self.entities[k].region for k in ks})
                if len(regions) > rule.limit:
                    self.m.add(sum(self._any([self.rp(g, p) for g in regions]) for p in range(self.P)) <= rule.limit)
                continue
            if rule.limit >= self.W:
                continue
            used = []
            for w in range(self.W):
                on = [b for k in ks if (b := self.on(r, rule.where, k, w)) is not None]
                if on:
                    used.append(self._any(on))
            self.m.add(sum(used) <= rule.limit)

    def _span(self, r: int, preds: Sequence[Predicate], unit: str, name: str) -> list[tuple[Any, Any] | None]:
        """For each filter, (lo, hi): bounds on the units of the tasks it selects; None when it selects none."""
        m = self.m
        top = self.W if unit == "wave" else self.P
        bounds: list[tuple[Any, Any] | None] = []
        for i, pred in enumerate(preds):
            ks = [k for k, e in enumerate(self.entities) if self.matched(pred, e)]
            if not ks:
                bounds.append(None)
                continue
            lo = m.new_int_var(0, max(0, top - 1), f"lo{name}_{i}")
            hi = m.new_int_var(0, max(0, top - 1), f"hi{name}_{i}")
            for k in ks:
                if unit == "phase":
                    m.add(lo <= self.pr[self.entities[k].region])
                    m.add(hi >= self.pr[self.entities[k].region])
                    continue
                for w in range(self.W):
                    b = self.on(r, pred, k, w)
                    if b is not None:
                        m.add(lo <= w).only_enforce_if(b)
                        m.add(hi >= w).only_enforce_if(b)
            bounds.append((lo, hi))
        return bounds

    def _order(self, r: int, rule: Order) -> None:
        a, b = self._span(r, [rule.earlier, rule.later], rule.unit, f"o{r}")
        if a is not None and b is not None:
            self.m.add(a[1] < b[0])

    def _order_by(self, r: int, rule: OrderBy) -> None:
        m = self.m
        top = self.W if rule.unit == "wave" else self.P
        lo: dict[str, Any] = {}
        hi: dict[str, Any] = {}
        for k, e in enumerate(self.entities):
            vm = e.dues[0][0].vm
            raw = self.sem.attr(rule.key.path, vm)
            if raw is None or not self.matched(rule.where, e):
                continue
            key = key_text(raw)
            if key not in lo:
                lo[key] = m.new_int_var(0, max(0, top - 1), f"lob{r}_{len(lo)}")
                hi[key] = m.new_int_var(0, max(0, top - 1), f"hib{r}_{len(hi)}")
            if rule.unit == "phase":
                m.add(lo[key] <= self.pr[e.region])
                m.add(hi[key] >= self.pr[e.region])
                continue
            for w in range(self.W):
                b = self.on(r, rule.where, k, w)
                if b is not None:
                    m.add(lo[key] <= w).only_enforce_if(b)
                    m.add(hi[key] >= w).only_enforce_if(b)
        for a in sorted(lo):
            for b in sorted(lo):
                if a != b and before(a, b, rule.descending):
                    m.add(hi[a] < lo[b])

    def _apart(self, within: str, pairs: Sequence[tuple[str, str]]) -> None:
        have = set(self.regions)
        done: set[frozenset[str]] = set()
        for a, b in pairs:
            key = frozenset((a, b))
            if a == b or key in done or a not in have or b not in have:
                continue
            done.add(key)
            if within == "phase":
                self.m.add(self.pr[a] != self.pr[b])
            else:
                for w in range(self.W):
                    self.m.add_bool_or([self.region_active(a, w).negated(), self.region_active(b, w).negated()])

    def _canary(self, rule: Canary) -> None:
        canary = [g for g in self.regions if g in rule.regions]
        if not canary:
            return
        for g in canary:
            self.m.add(self.pr[g] == 0)
        if rule.alone:
            for g in self.regions:
                if g not in rule.regions:
                    self.m.add(self.pr[g] >= 1)

    def _extension_order(self, rule: ExtensionOrder) -> None:
        for e in self.entities:
            if not e.split:
                continue  # a VM's tasks in one wave keep the order
            exts = [item[0].ext for item in e.items]
            wave = [sum(w * xs[w] for w in range(self.W)) for xs in e.x]
            for i, f in enumerate(exts):
                for j, s in enumerate(exts):
                    if f.name != s.name and selector_matches(rule.first, f) and selector_matches(rule.second, s):
                        self.m.add(wave[i] <= wave[j])

    # -- solving ---------------------------------------------------------------------------------------------------

    def solve(self, seconds: float) -> Answer:
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, seconds)
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = SEED
        status = solver.solve(self.m)
        if status == cp_model.INFEASIBLE:
            return NoSchedule()
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return self._read(solver)
        return Undecided(f"CP-SAT did not decide within {seconds:.1f}s")

    def _read(self, solver: cp_model.CpSolver) -> Found:
        waves: dict[tuple[str, str], int] = {}
        for e in self.entities:
            if e.split:
                for item, xs in zip(e.items, e.x, strict=True):
                    w = next(w for w in range(self.W) if solver.value(xs[w]))
                    waves[(item[0].vm.name, item[0].ext.name)] = w
                continue
            cursor = 0
            for w in range(self.W):
                for vm_dues in e.dues[cursor: cursor + solver.value(e.count[w])]:
                    for d in vm_dues:
                        waves[(d.vm.name, d.ext.name)] = w
                cursor += solver.value(e.count[w])
        used = sorted(set(waves.values()))
        renum = {w: i for i, w in enumerate(used)}
        phase_of = [solver.value(self.q[w]) for w in used]
        phase_renum = {p: i for i, p in enumerate(sorted(set(phase_of)))}
        return Found({t: renum[w] for t, w in waves.items()},
                     {renum[w]: phase_renum[p] for w, p in zip(used, phase_of, strict=True)})


def solve(rules: Sequence[Rule], fleet: Fleet, dues: Sequence[Due], waves: int | None, seconds: float,
          facts: Sequence[Fact] = ()) -> Answer:
    """Is there a schedule of ``dues`` in at most ``waves`` waves (None: in any number) under ``rules``, group sizes
    counting the whole fleet?"""
    if not dues:
        return Found({}, {})
    if waves is not None and waves <= 0:
        return NoSchedule()
    try:
        model = Model(rules, fleet, dues, waves, facts)
    except Unsupported as e:
        return Undecided(str(e))
    return model.solve(seconds)

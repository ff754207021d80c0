"""The certificate of a schedule's lower bound, re-derived from the fleet and the policy alone (plain Python).

A witness (``engine.model.schedule.BoundNode``) is a tree of claims "these due tasks occupy at least k waves in every
schedule the policy allows".  Each node's tasks are its parent's narrowed by its selection, and each kind is one
counting argument on the checker's reading of its rule (``engine.check.semantics``), re-done here from scratch:

* ``tasks``: a non-empty set of tasks needs a wave.
* ``capacity`` (a per-wave cap ``c`` on group g): the V VMs of g with a selected task matching the filter each sit
  in some wave of the set, at most c of them per wave: ceil(V / c) waves.
* ``not_whole``: every VM of a group of at least max(2, min size) has a selected matching task; one wave would hold
  the group whole: 2 waves.
* ``distinct`` (at most l values of a group per wave): the parts are the tasks showing one value each; a wave shows
  at most l values, so the parts' waves, added up, fit in l times the set's waves: ceil(sum / l).
* ``order`` / ``order_by`` (per wave): the earlier side's tasks lie in strictly earlier waves than the later
  side's (each key's before the next key's in the chain): the parts' waves add up.
* ``subset``: a set needs at least the waves of any part of it.
* ``regions_apart``: regions kept apart never share a phase (or wave), and a wave lies in one phase: they add up.
* ``apart_beside``: parts r, a, b with a and b kept apart in phases: one of a, b lies in a phase without r, so two
  phases last at least r's waves plus the fewer of a's and b's.
* ``regions_per_phase`` (at most l counted regions per phase): a region's tasks lie in one phase, a phase lasts as
  long as its longest region; the phase holding the j-th longest region (j = 0, l, 2l ...) costs at least its length.
* ``canary_alone``: the canary regions fill the first phase alone, so their waves and the others' add up.
* ``solver``: the second solver (OR-tools CP-SAT on ``engine.certify``'s model) proved that the tasks have no
  schedule in ``waves - 1`` waves.  Only a caller that can re-run it (``reprove``) certifies it; otherwise the node
  is worth its first part, the combinatorial bound of the same tasks.

Every number a node states (waves, VMs, cap) must equal the one re-derived; any difference is a violation of the
certificate, never a pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dsl.policy import (
    Canary,
    Capacity,
    DistinctLimit,
    NotWhole,
    Order,
    OrderBy,
    Policy,
    Predicate,
    SeparatePairs,
    SeparateRegions,
)
from engine.check.rules.order_by import before, key_text
from engine.check.semantics import GroupKey, Semantics
from engine.model.fleet import VM, Extension, Fleet
from engine.model.schedule import BoundNode, Schedule
from engine.model.upgrades import UpgradeTask, resolve_upgrades


@dataclass(frozen=True)
class Due:
    """One due task with its VM and extension looked up."""

    task: UpgradeTask
    vm: VM
    ext: Extension


# A fact the check re-derived: these tasks occupy at least this many waves in every schedule the policy allows.
Fact = tuple[Sequence[Due], int]
# reprove(tasks, waves, facts): re-run the second solver on "``tasks`` have no schedule in ``waves`` waves", given
# facts re-derived here about subsets of them; None when it proves it, else why not (it found one, or ran out of
# time).
Reprove = Callable[[Sequence[Due], int, Sequence[Fact]], str | None]


def due_tasks(policy: Policy, fleet: Fleet) -> list[Due]:
    """Every due task of the fleet under the policy's versions, in resolution order."""
    vms = fleet.vm_by_name
    out = []
    for t in resolve_upgrades(fleet, policy.versions).tasks:
        vm = vms[t.vm]
        ext = next(e for e in vm.extensions if e.name == t.extension)
        out.append(Due(t, vm, ext))
    return out


def _key(value: Sequence[object] | None) -> GroupKey | None:
    return None if value is None else tuple(value)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


class WitnessCheck:
    """Re-derives a witness tree node by node; ``problems`` holds what did not re-derive, by JSON path."""

    def __init__(self, policy: Policy, fleet: Fleet, reprove: Reprove | None = None) -> None:
        self.sem = Semantics(fleet)
        self.fleet = fleet
        self.rules = {r.name: r for r in policy.rules}
        self.reprove = reprove
        self.problems: list[str] = []
        self.unconfirmed: list[str] = []
        self.facts: list[Fact] = []  # every node that re-derived cleanly, with its tasks (solver nodes excepted)
        self._sizes: dict[tuple[str, Predicate], dict[GroupKey, int]] = {}

    def sizes(self, scope: str, where: Predicate) -> dict[GroupKey, int]:
        """Group sizes under a filter (the whole fleet), computed once per pair."""
        found = self._sizes.get((scope, where))
        if found is None:
            found = self._sizes[(scope, where)] = self.sem.sizes(scope, where)
        return found

    # -- the tree ----------------------------------------------------------------------------------------------

    def value(self, node: BoundNode, tasks: Sequence[Due], path: str) -> int:
        """The number of waves this node certifies for ``tasks`` (its own set), recording every mismatch."""
        before = len(self.problems)
        derived = self._derive(node, tasks, path)
        if derived != node.waves:
            self._problem(path, f"claims {node.waves} waves, the fleet and policy give {derived}")
        if len(self.problems) == before and node.kind != "solver" and derived > 1:
            self.facts.append((tasks, derived))
        return derived

    def _problem(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}")

    def _derive(self, node: BoundNode, tasks: Sequence[Due], path: str) -> int:
        kind = node.kind
        if kind == "tasks":
            return 1 if tasks else 0
        if kind == "solver":
            return self._solver(node, tasks, path)
        if kind in ("subset", "regions_apart", "apart_beside", "regions_per_phase", "canary_alone"):
            return self._phase_level(node, tasks, path)
        rule = self.rules.get(node.rule or "")
        if rule is None:
            self._problem(path, f"names rule '{node.rule}', which the policy does not have")
            return 0
        if kind == "capacity" and isinstance(rule, Capacity) and rule.within == "wave":
            return self._capacity(node, rule, tasks, path)
        if kind == "not_whole" and isinstance(rule, NotWhole) and rule.within == "wave":
            return self._not_whole(node, rule, tasks)
        if kind == "distinct" and isinstance(rule, DistinctLimit) and rule.within == "wave" and rule.limit > 0:
            return self._distinct(node, rule, tasks, path)
        if kind == "order" and isinstance(rule, Order) and rule.unit == "wave":
            return self._order(node, rule, tasks, path)
        if kind == "order_by" and isinstance(rule, OrderBy) and rule.unit == "wave":
            return self._order_by(node, rule, tasks, path)
        self._problem(path, f"a '{kind}' argument does not apply to rule {rule.name} ({type(rule).__name__})")
        return 0

    @staticmethod
    def _partition(tasks: Sequence[Due], label: Callable[[Due], object]) -> Callable[[object], list[Due]]:
        """Tasks grouped once by ``label``; the returned function gives a label's tasks."""
        groups: dict[object, list[Due]] = {}
        for d in tasks:
            groups.setdefault(label(d), []).append(d)
        return lambda key: groups.get(key, [])

    def _parts(self, node: BoundNode, path: str, select: Callable[[BoundNode], Sequence[Due] | None]) -> list[int]:
        out = []
        for i, part in enumerate(node.parts):
            sub = select(part)
            where = f"{path}.parts[{i}]"
            if sub is None:
                self._problem(where, "does not say which of its parent's tasks it covers")
                out.append(0)
                continue
            out.append(self.value(part, sub, where))
        return out

    # -- counting arguments on one rule --------------------------------------------------------------------------

    def _group_vms(self, rule: Capacity | NotWhole, group: GroupKey | None, tasks: Sequence[Due]) -> set[str]:
        return {d.vm.name for d in tasks if self.sem.matches_task(rule.where, d.vm, d.ext)
                and self.sem.group_key(rule.of, d.vm) == group}

    def _capacity(self, node: BoundNode, rule: Capacity, tasks: Sequence[Due], path: str) -> int:
        group = _key(node.group)
        n = len(self._group_vms(rule, group, tasks))
        size = self.sizes(rule.of, rule.where).get(group, 0) if group is not None else 0
        cap = rule.amount.of(size)
        if node.vms != n or node.cap != cap:
            self._problem(path, f"states {node.vms} VMs at cap {node.cap}, the fleet gives {n} at cap {cap}")
        return _ceil(n, cap) if cap > 0 else 0

    def _not_whole(self, node: BoundNode, rule: NotWhole, tasks: Sequence[Due]) -> int:
        group = _key(node.group)
        size = self.sizes(rule.of, rule.where).get(group, 0) if group is not None else 0
        n = len(self._group_vms(rule, group, tasks))
        return 2 if size >= max(2, rule.min_size) and n >= size else 0

    def _shows(self, rule: DistinctLimit, d: Due) -> GroupKey | None:
        if rule.count == "extension":
            return (d.ext.name,)
        return self.sem.count_value(rule.count, d.vm)

    def _distinct(self, node: BoundNode, rule: DistinctLimit, tasks: Sequence[Due], path: str) -> int:
        group = _key(node.group)
        mine = [d for d in tasks if self.sem.matches_task(rule.where, d.vm, d.ext)
                and group is not None and self.sem.group_key(rule.per, d.vm) == group]
        values = [_key(p.value) for p in node.parts]
        if len(set(values)) != len(values):
            self._problem(path, "lists a value twice")
            return 0
        of_value = self._partition(mine, lambda d: self._shows(rule, d))
        parts = self._parts(node, path, lambda p: None if p.value is None else of_value(_key(p.value)))
        return _ceil(sum(parts), rule.limit)

    def _order(self, node: BoundNode, rule: Order, tasks: Sequence[Due], path: str) -> int:
        sides = [p.side for p in node.parts]
        if len(set(sides)) != len(sides):
            self._problem(path, "lists a side twice")
            return 0

        def select(p: BoundNode) -> list[Due] | None:
            pred = {"earlier": rule.earlier, "later": rule.later}.get(p.side or "")
            return None if pred is None else [d for d in tasks if self.sem.matches_task(pred, d.vm, d.ext)]

        return sum(self._parts(node, path, select))

    def _order_by(self, node: BoundNode, rule: OrderBy, tasks: Sequence[Due], path: str) -> int:
        keys = [p.key for p in node.parts]
        for a, b in itertools.pairwise(keys):
            if a is None or b is None or not before(a, b, rule.descending):
                self._problem(path, f"chains key {a} before {b}, which rule {rule.name} does not order")
                return 0

        def key_of(d: Due) -> str | None:
            raw = self.sem.attr(rule.key.path, d.vm)
            return None if raw is None else key_text(raw)

        of_key = self._partition([d for d in tasks if self.sem.matches_task(rule.where, d.vm, d.ext)], key_of)
        return sum(self._parts(node, path, lambda p: None if p.key is None else of_key(p.key)))

    # -- phases ---------------------------------------------------------------------------------------------------

    def _by_region(self, tasks: Sequence[Due]) -> Callable[[BoundNode], list[Due] | None]:
        of_region = self._partition(tasks, lambda d: d.vm.region)
        return lambda p: None if p.region is None else of_region(p.region)

    def _phase_level(self, node: BoundNode, tasks: Sequence[Due], path: str) -> int:
        if node.kind == "subset":
            return max(self._parts(node, path, self._by_region(tasks)), default=0)
        regions = [p.region for p in node.parts]
        if node.kind != "canary_alone" and len(set(regions)) != len(regions):
            self._problem(path, "lists a region twice")
            return 0
        rule = self.rules.get(node.rule or "")
        if node.kind == "regions_apart" and isinstance(rule, SeparatePairs | SeparateRegions):
            return self._apart(node, rule, tasks, path)
        if node.kind == "apart_beside" and isinstance(rule, SeparatePairs | SeparateRegions) and rule.within == "phase":
            return self._beside(node, rule, tasks, path)
        if node.kind == "regions_per_phase" and isinstance(rule, DistinctLimit) and rule.count == "region" \
                and rule.within == "phase" and rule.limit > 0:
            return self._per_phase(node, rule, tasks, path)
        if node.kind == "canary_alone" and isinstance(rule, Canary) and rule.alone:
            canary = set(rule.regions)
            parts = self._parts(node, path, lambda p: None if p.part is None else
                                [d for d in tasks if (d.vm.region in canary) == (p.part == "canary")])
            if sorted(p.part or "" for p in node.parts) not in (["canary", "rest"], ["canary"], ["rest"]):
                self._problem(path, "needs one canary part and one rest part")
                return 0
            return sum(parts)
        self._problem(path, f"a '{node.kind}' argument does not apply to rule {node.rule}")
        return 0

    def _apart(self, node: BoundNode, rule: SeparatePairs | SeparateRegions, tasks: Sequence[Due], path: str) -> int:
        regions = [p.region or "" for p in node.parts]
        for i, a in enumerate(regions):
            for b in regions[i + 1:]:
                if isinstance(rule, SeparatePairs):
                    ok = self.fleet.paired(a, b)
                else:
                    ok = a in rule.regions and b in rule.regions
                if not ok:
                    self._problem(path, f"regions {a} and {b} are not kept apart by rule {rule.name}")
                    return 0
        return sum(self._parts(node, path, self._by_region(tasks)))

    def _beside(self, node: BoundNode, rule: SeparatePairs | SeparateRegions, tasks: Sequence[Due], path: str) -> int:
        regions = [p.region or "" for p in node.parts]
        if len(regions) != 3:
            self._problem(path, "needs three parts: a region and two regions kept apart")
            return 0
        _, a, b = regions
        apart = self.fleet.paired(a, b) if isinstance(rule, SeparatePairs) else a in rule.regions and b in rule.regions
        if not apart:
            self._problem(path, f"regions {a} and {b} are not kept apart by rule {rule.name}")
            return 0
        top, wa, wb = self._parts(node, path, self._by_region(tasks))
        return top + min(wa, wb)

    def _per_phase(self, node: BoundNode, rule: DistinctLimit, tasks: Sequence[Due], path: str) -> int:
        group = _key(node.group)
        counted = {d.vm.region for d in tasks if self.sem.matches_task(rule.where, d.vm, d.ext)
                   and group is not None and self.sem.group_key(rule.per, d.vm) == group}
        stray = sorted(p.region or "" for p in node.parts if p.region not in counted)
        if stray:
            self._problem(path, f"region(s) {', '.join(stray)} do not count under rule {rule.name} in that group")
            return 0
        lengths = sorted(self._parts(node, path, self._by_region(tasks)), reverse=True)
        return sum(lengths[j] for j in range(0, len(lengths), rule.limit))

    # -- the second solver ----------------------------------------------------------------------------------------

    def _solver(self, node: BoundNode, tasks: Sequence[Due], path: str) -> int:
        known = len(self.facts)
        fallback = self.value(node.parts[0], tasks, f"{path}.parts[0]") if node.parts else (1 if tasks else 0)
        facts = self.facts[known:]
        if node.waves <= fallback:
            return fallback
        if self.reprove is None:
            self.unconfirmed.append(f"{path}: {node.waves} waves rest on a {node.solver or 'solver'} proof, not "
                                    "re-run by this check")
            return node.waves
        failure = self.reprove(tasks, node.waves - 1, facts)
        if failure is None:
            return node.waves
        self._problem(path, f"the second solver, re-run, did not confirm that these {len(tasks)} tasks need "
                            f"{node.waves} waves: {failure}")
        return fallback


@dataclass(frozen=True)
class CertificateFindings:
    """What the re-derivation found: problems (the certificate is refused), the bound it certifies, and proofs
    that rest on the second solver and were not re-run here."""

    problems: tuple[str, ...]
    certified: int
    unconfirmed: tuple[str, ...]


def check_certificate(policy: Policy, fleet: Fleet, schedule: Schedule,
                      reprove: Reprove | None = None) -> CertificateFindings | None:
    """Re-derive the schedule's certificate (None when it has none); compare its claims with the schedule's."""
    cert = schedule.certificate
    if cert is None:
        return None
    check = WitnessCheck(policy, fleet, reprove)
    root = cert.witness
    if any(v is not None for v in (root.region, root.value, root.side, root.key, root.part)):
        check.problems.append("certificate.witness: the root covers every due task and selects none")
    certified = check.value(root, due_tasks(policy, fleet), "certificate.witness")
    problems = check.problems
    waves = len(schedule.waves)
    if cert.lower_bound != root.waves:
        problems.append(f"certificate.lower_bound is {cert.lower_bound} but its witness gives {root.waves}")
    if schedule.lower_bound > certified:
        problems.append(f"lower_bound {schedule.lower_bound} is larger than the certified lower bound {certified}")
    if (schedule.optimal or cert.optimal) and waves > certified:
        problems.append(f"optimal is true but the schedule has {waves} waves and the certified lower bound is "
                        f"{certified}")
    if certified > waves:
        problems.append(f"the certified lower bound {certified} exceeds the schedule's {waves} waves")
    if cert.optimal != (waves == certified):
        problems.append(f"certificate.optimal is {str(cert.optimal).lower()} but the schedule has {waves} waves "
                        f"and the certified lower bound is {certified}")
    return CertificateFindings(tuple(problems), certified, tuple(check.unconfirmed))

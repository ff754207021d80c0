"""Aggregation of interchangeable VMs into counted classes, the unit the compiler, bounds and greedy work on.

Two scheduled VMs land in the same class exactly when every rule and preference of the policy sees them the same
way: same region, and the same view for every rule's planner (engine.plan.kinds: its group, its filter's truth, its
counted value, its order key ...).  So any schedule of the classes (a count of each class per wave) expands to a
per-VM schedule that every rule judges exactly as the class schedule: aggregation is exact.  A VM whose tasks the
rules force apart (engine.plan.units) is seen unit by unit, and its units go in classes of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from dsl.policy import Policy
from engine.model.fleet import VM, Extension, Fleet
from engine.model.upgrades import Resolution, UpgradeTask
from engine.plan.classes import Layout, VMClass
from engine.plan.kinds import planner_for
from engine.plan.kinds.base import PlanKind
from engine.plan.kinds.spread import SpreadPlan
from engine.plan.kinds.task_chain import Link, TaskChainPlan
from engine.plan.reading import FleetFacts
from engine.plan.units import split_tasks

Planner = PlanKind[Any, Any]


@dataclass(frozen=True)
class Groups:
    """The classes and each rule's planner (holding its views of the classes, its groups and their sizes)."""

    classes: tuple[VMClass, ...]
    plans: tuple[Planner, ...]  # one per rule, in policy order
    prefs: tuple[SpreadPlan, ...]
    chain: TaskChainPlan | None  # the order of split VMs' task units, when any VM is split
    regions: tuple[str, ...]  # regions with tasks, sorted
    pairs: tuple[tuple[str, str], ...]  # geo-pairs among regions with tasks, each sorted, list sorted
    tasks: dict[str, tuple[UpgradeTask, ...]]
    unit_tasks: dict[str, tuple[tuple[str, ...], ...]]  # a split VM's extensions per task unit

    @property
    def rules(self) -> tuple[Any, ...]:
        return tuple(p.rule for p in self.plans)

    @cached_property
    def planners(self) -> tuple[Planner, ...]:
        """Everything that constrains waves: the rules' planners, then the chain of split VMs' units."""
        return self.plans if self.chain is None else (*self.plans, self.chain)


Signature = tuple[Any, ...]


def build_groups(policy: Policy, fleet: Fleet, resolution: Resolution) -> Groups:
    """Aggregate the scheduled VMs (those with at least one task) into classes; sizes count every fleet VM."""
    facts = FleetFacts(fleet)
    plans = tuple(planner_for(r, i) for i, r in enumerate(policy.rules))
    prefs = tuple(_spread(planner_for(p, len(plans) + k)) for k, p in enumerate(policy.preferences))
    everything: tuple[Planner, ...] = (*plans, *prefs)
    splitting = plans if any(p.splits_tasks() for p in plans) else ()
    tasks = resolution.tasks_by_vm()
    by_sig: dict[Signature, list[str]] = {}
    unit_exts: dict[str, tuple[tuple[Extension, ...], ...]] = {}
    for vm in fleet.vms:
        vm_tasks = tasks.get(vm.name)
        if not vm_tasks:
            continue
        ext_by_name = {e.name: e for e in vm.extensions}
        exts = [ext_by_name[t.extension] for t in vm_tasks if t.extension in ext_by_name]
        sig = _signature(everything, splitting, facts, vm, exts, unit_exts)
        by_sig.setdefault(sig, []).append(vm.name)
    ordered = sorted(by_sig.items(), key=lambda kv: (kv[0][0], min(kv[1])))
    unit_tasks = {vm: tuple(tuple(sorted(e.name for e in u)) for u in units) for vm, units in unit_exts.items()}
    classes, rows, links = _classes(ordered, unit_tasks)
    regions = tuple(sorted({c.region for c in classes}))
    rset = set(regions)
    pairs = sorted({tuple(sorted((r.name, r.pair))) for r in fleet.regions
                    if r.pair is not None and r.name in rset and r.pair in rset})
    layout = Layout(classes, regions, tuple((a, b) for a, b in pairs), unit_exts)
    for j, p in enumerate(everything):
        p.attach(layout, [row[j] for row in rows], facts)
    chain = None
    if links:
        chain = TaskChainPlan(tuple(links), len(everything))
        chain.attach(layout, [None] * len(classes), facts)
    return Groups(classes, plans, prefs, chain, regions, layout.pairs, {k: tuple(v) for k, v in tasks.items()},
                  unit_tasks)


def _spread(plan: Planner) -> SpreadPlan:
    if not isinstance(plan, SpreadPlan):
        raise TypeError(f"a preference's planner must be a SpreadPlan, not {type(plan).__name__}")
    return plan


def _signature(everything: Sequence[Planner], splitting: Sequence[Planner], facts: FleetFacts, vm: VM,
               exts: list[Extension], unit_exts: dict[str, tuple[tuple[Extension, ...], ...]]) -> Signature:
    """(region, views) for a VM kept whole; (region, views per unit, why split) for a split one."""
    split = split_tasks(splitting, facts, vm, exts) if splitting else None
    if split is None:
        return vm.region, tuple(p.view(facts, vm, exts) for p in everything)
    units = [[exts[i] for i in u] for u in split.units]
    unit_exts[vm.name] = tuple(tuple(u) for u in units)
    return vm.region, tuple(tuple(p.view(facts, vm, u) for p in everything) for u in units), split.causes


def _classes(ordered: list[tuple[Signature, list[str]]], unit_tasks: dict[str, tuple[tuple[str, ...], ...]]
             ) -> tuple[tuple[VMClass, ...], list[tuple[Any, ...]], list[Link]]:
    classes: list[VMClass] = []
    rows: list[tuple[Any, ...]] = []
    links: list[Link] = []
    for sig, names in ordered:
        vms = tuple(sorted(names))
        if len(sig) == 2:
            classes.append(VMClass(len(classes), sig[0], vms))
            rows.append(sig[1])
            continue
        first, units, causes = len(classes), sig[1], sig[2]
        for u, row in enumerate(units):
            classes.append(VMClass(len(classes), sig[0], vms, first, u, len(units)))
            rows.append(row)
        mine = unit_tasks[vms[0]]
        links += [Link(first + u, first + u + 1, causes[u], ", ".join(mine[u]), ", ".join(mine[u + 1]))
                  for u in range(len(units) - 1)]
    return tuple(classes), rows, links

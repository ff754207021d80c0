"""Task units: when the rules force a VM's due tasks into several waves, which tasks go together, in which order.

The planner keeps a VM's tasks in one wave unless a rule needs them apart.  Two hooks of the rule planners say when:
``task_edges`` (an order rule reading ``extension.*``: this task strictly before that one; an extension order: this
one in the same or an earlier wave) and ``task_limit`` (at most n of these tasks in one wave: distinct extensions).
Units are the levels of the longest chain of strict precedences (so each unit after the first holds a task that must
follow one of the unit before), cut further where a limit is reached, in an order that keeps every "same or
earlier" precedence.  When those cannot all hold, the VM is split by the strict precedences alone (the extension
order then conflicts with them in the model, and the planner names both); on a strict cycle the VM is not split: the
rules cannot hold on it, and the planner says so.  engine.plan.kinds.task_chain plans the units of a VM in strictly
increasing waves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.model.fleet import VM, Extension
from engine.plan.kinds.base import PlanKind
from engine.plan.reading import FleetFacts


@dataclass(frozen=True)
class Split:
    units: tuple[tuple[int, ...], ...]  # task indices of each unit, in wave order
    causes: tuple[str, ...]  # for each boundary between consecutive units, the rule that forces it


def split_tasks(planners: Sequence[PlanKind[Any, Any]], facts: FleetFacts, vm: VM,
                exts: Sequence[Extension]) -> Split | None:
    """The VM's task units, or None when its tasks stay in one wave."""
    if len(exts) < 2:
        return None
    edges = [(i, j, strict, p.rule.name) for p in planners
             for i, j, strict in p.task_edges(facts, vm, exts)]
    limits = [(t[0], set(t[1]), p.rule.name) for p in planners
              if (t := p.task_limit(facts, vm, exts)) is not None]
    if not limits and not any(strict for _, _, strict, _ in edges):
        return None
    levels = _levels(len(exts), edges)
    if levels is None:
        # The "same or earlier" precedences cannot all hold with the strict ones: split by the strict ones alone and
        # let the extension order's own assertion (engine.plan.kinds.extension_order) show the conflict.
        edges = [e for e in edges if e[2]]
        levels = _levels(len(exts), edges)
    if levels is None:
        return None
    level, cause = levels
    units: list[tuple[int, ...]] = []
    causes: list[str] = []
    for lv in sorted(set(level)):
        members = [i for i in range(len(exts)) if level[i] == lv]
        if units:
            causes.append(next((cause[i] for i in members if cause[i]), ""))
        ordered = _topological(members, [(i, j) for i, j, s, _ in edges if not s], exts)
        chunks = _chunks(ordered, limits) if ordered is not None else [(tuple(members), "")]
        units.append(chunks[0][0])
        for unit, why in chunks[1:]:
            causes.append(why)
            units.append(unit)
    return Split(tuple(units), tuple(causes)) if len(units) > 1 else None


def _levels(n: int, edges: list[tuple[int, int, bool, str]]) -> tuple[list[int], list[str]] | None:
    """Longest-path levels (strict precedences weigh 1) and the rule that raised each task; None on a strict cycle."""
    level = [0] * n
    cause = [""] * n
    for _ in range(n + 1):
        changed = False
        for i, j, strict, name in edges:
            want = level[i] + (1 if strict else 0)
            if want > level[j]:
                level[j] = want
                cause[j] = name if strict else cause[i]
                changed = True
        if not changed:
            return level, cause
    return None


def _topological(members: list[int], edges: list[tuple[int, int]], exts: Sequence[Extension]) -> list[int] | None:
    """The members in an order keeping every precedence among them (ties by extension name); None on a cycle."""
    inside = set(members)
    after = {i: [j for a, j in edges if a == i and j in inside and j != i] for i in members}
    waiting = {i: sum(1 for a, j in edges if j == i and a in inside and a != i) for i in members}
    ready = sorted((i for i in members if waiting[i] == 0), key=lambda i: exts[i].name)
    out: list[int] = []
    while ready:
        i = ready.pop(0)
        out.append(i)
        for j in after[i]:
            waiting[j] -= 1
            if waiting[j] == 0:
                ready.append(j)
                ready.sort(key=lambda k: exts[k].name)
    return out if len(out) == len(members) else None


def _chunks(ordered: list[int], limits: list[tuple[int, set[int], str]]) -> list[tuple[tuple[int, ...], str]]:
    """Cut ``ordered`` where adding a task would pass a limit; each chunk with the rule that cut before it."""
    out: list[tuple[tuple[int, ...], str]] = []
    current: list[int] = []
    why = ""
    for t in ordered:
        over = [name for limit, idx, name in limits if t in idx and sum(1 for c in current if c in idx) + 1 > limit]
        if over and current:
            out.append((tuple(current), why))
            current, why = [], over[0]
        current.append(t)
    out.append((tuple(current), why))
    return out

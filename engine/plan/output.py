"""The planner's output: per-class wave counts turned into a schedule of tasks (VMs in name order fill each class's
counts in wave order), with its statistics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from engine.model.schedule import Phase, Schedule, Skipped, Task, Wave
from engine.plan.budget import Budget
from engine.plan.groups import Groups

# Every task and skipped entry sets all its fields, so they can share one fields-set object instead of a set
# each: at a million VMs that saves about 200 bytes per entry (a few hundred MB).
_TASK_FIELDS = {"vm", "extension", "from_version", "to_version"}
_SKIPPED_FIELDS = {"vm", "extension", "reason"}

M = TypeVar("M", Task, Skipped)


def _slim(model: M, fields: set[str]) -> M:
    if model.__pydantic_fields_set__ == fields:
        object.__setattr__(model, "__pydantic_fields_set__", fields)
    return model


def build_schedule(groups: Groups, skipped: Sequence[Any], waves: list[tuple[int, dict[int, int]]], lower: int,
              optimal: bool, budget: Budget, coupled: list[str], spread_cost: int) -> Schedule:
    waves = [(p, w) for p, w in waves if w]
    # Per-VM waves: each class's VMs in name order fill its per-wave counts in wave order (a split VM: per unit).
    vm_wave: dict[str, int] = {}
    unit_wave: dict[tuple[str, int], int] = {}
    cursor: dict[int, int] = defaultdict(int)
    for index, (_, wave) in enumerate(waves):
        for c in sorted(wave):
            vc = groups.classes[c]
            names = vc.vms[cursor[c]: cursor[c] + wave[c]]
            if vc.split:
                unit_wave.update(((name, vc.unit), index) for name in names)
            else:
                vm_wave.update((name, index) for name in names)
            cursor[c] += wave[c]
    tasks_by_wave: dict[int, list[Task]] = defaultdict(list)
    for name in sorted({*vm_wave, *(n for n, _ in unit_wave)}) if unit_wave else sorted(vm_wave):
        units = groups.unit_tasks.get(name)
        wave_of = {e: unit_wave[(name, u)] for u, exts in enumerate(units) for e in exts} if units else None
        for t in sorted(groups.tasks[name], key=lambda t: t.extension):
            w = vm_wave[name] if wave_of is None else wave_of[t.extension]
            tasks_by_wave[w].append(_slim(Task(vm=name, extension=t.extension, from_version=t.from_version,
                                               to_version=t.to_version), _TASK_FIELDS))
    phase_regions: dict[int, set[str]] = defaultdict(set)
    for p, wave in waves:
        for c in wave:
            phase_regions[p].add(groups.classes[c].region)
    used = sorted(phase_regions)
    renum = {p: k for k, p in enumerate(used)}
    phases = [Phase(index=renum[p], regions=sorted(phase_regions[p])) for p in used]
    # Tasks are already in (VM, extension) order: VMs in name order, each VM's tasks by extension name.
    out_waves = [Wave(index=i, phase=renum[p], tasks=tasks_by_wave[i]) for i, (p, _) in enumerate(waves)]
    phase_waves = [sum(1 for p, _ in waves if renum[p] == k) for k in range(len(used))]
    stats = {
        "classes": len(groups.classes),
        "scheduled_vms": sum(c.count for c in groups.classes if c.unit == 0),
        "tasks": sum(len(t) for t in tasks_by_wave.values()),
        "regions": len({c.region for c in groups.classes}),
        "phase_waves": phase_waves,
        "vms_per_wave": [len({t.vm for t in w.tasks}) for w in out_waves],
        "solver_calls": budget.calls,
        "variables": budget.variables,
        "coupling_rules": sorted(coupled),
        "spread_cost": spread_cost,
    }
    skipped_sorted = [_slim(s, _SKIPPED_FIELDS) for s in sorted(skipped, key=lambda s: (s.vm, s.extension))]
    return Schedule(phases=phases, waves=out_waves, skipped=list(skipped_sorted), lower_bound=lower, optimal=optimal,
                    stats=stats)

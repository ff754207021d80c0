"""Why is a VM in its wave and not earlier?  Answered without a solver, by trying and re-checking.

For each earlier wave k, a copy of the schedule with the VM's tasks moved to wave k goes through the independent
checker (:mod:`engine.check.verify`); the rules that break there (and did not before) are what binds the VM.  Moving into
a wave of another phase always splits the VM's region over two phases, so for those waves the question becomes why
the region is not in that phase: a second copy moves the whole region there and keeps only the phase-level rules
(canary, phase separation, phase capacities and orders) that break; wave-level breaks of that copy are artefacts of
packing the region into one wave and are not reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dsl.diagnostics import Diagnostic
from dsl.policy import (
    Canary,
    Capacity,
    DistinctLimit,
    NotWhole,
    Order,
    OrderBy,
    Policy,
    Rule,
    SeparatePairs,
    SeparateRegions,
    UnitLimit,
)
from dsl.suggest import closest
from engine.check.verify import Violation, verify_schedule
from engine.model.errors import InputError
from engine.model.fleet import Fleet
from engine.model.schedule import Phase, Schedule, Task, Wave


@dataclass(frozen=True)
class Reason:
    """Why the VM cannot be in waves ``first``..``last``: the rules that would break, with the facts of the nearest
    of those waves.  ``phase`` is set when those waves belong to another phase than the VM's."""

    first: int
    last: int
    rules: tuple[str, ...]
    violations: tuple[Violation, ...]
    phase: int | None = None

    @property
    def free(self) -> bool:
        return not self.rules

    def waves_text(self) -> str:
        return f"wave {self.first}" if self.first == self.last else f"waves {self.first}-{self.last}"


@dataclass(frozen=True)
class Explanation:
    vm: str
    region: str
    wave: int | None  # None: the VM has no tasks
    phase: int | None
    reasons: tuple[Reason, ...]  # earliest waves first
    skipped: tuple[tuple[str, str], ...] = ()  # (extension, reason) when the VM has no tasks

    @property
    def tight(self) -> bool:
        """True when every earlier wave is blocked by some rule."""
        return all(not r.free for r in self.reasons)

    @property
    def could_move_to(self) -> int | None:
        free = [r.first for r in self.reasons if r.free]
        return min(free) if free else None

    def render(self, max_vms: int = 6) -> str:
        if self.wave is None:
            lines = [f"VM {self.vm} has no tasks in this schedule."]
            lines += [f"  {ext}: {why}" for ext, why in self.skipped]
            return "\n".join(lines) + "\n"
        lines = [f"VM {self.vm} (region {self.region}) is in wave {self.wave}, phase {self.phase}."]
        if not self.reasons:
            lines.append("It is in the first wave: nothing is earlier.")
            return "\n".join(lines) + "\n"
        lines.append("Why not earlier:")
        for r in self.reasons:
            if r.free:
                lines.append(f"  {r.waves_text()}: nothing binds it; it could move there")
                continue
            head = f"  {r.waves_text()}: "
            if r.phase is not None:
                head += f"phase {r.phase} — region {self.region} is in phase {self.phase} (a region's tasks all lie in one phase)"
                if r.violations:
                    head += f", and in phase {r.phase} it would break:"
                lines.append(head)
            for v in r.violations:
                where = f" ({v.span.file}:{v.span.line})" if v.span is not None else ""
                text = f"{v.rule}{where} — {v.message}"
                lines.append(("    " if r.phase is not None else head) + text)
                head = "    "
        if self.tight:
            lines.append(f"Every earlier wave is blocked: wave {self.wave} is the earliest for {self.vm}.")
        else:
            lines.append(f"Not tight: {self.vm} could move to wave {self.could_move_to} without breaking any rule.")
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        doc: dict[str, Any] = {
            "vm": self.vm,
            "region": self.region,
            "wave": self.wave,
            "phase": self.phase,
            "tight": self.tight if self.wave is not None else None,
            "could_move_to": self.could_move_to,
            "skipped": [{"extension": e, "reason": r} for e, r in self.skipped],
            "reasons": [
                {"first": r.first, "last": r.last, "phase": r.phase, "rules": list(r.rules),
                 "violations": [v.to_json(max_vms=20) for v in r.violations]}
                for r in self.reasons
            ],
        }
        return json.dumps(doc, indent=2) + "\n"


def _phase_level(rule: Rule) -> bool:
    """Rules a region's phase alone decides (not artefacts of packing the region into one wave)."""
    if isinstance(rule, Canary):
        return True
    if isinstance(rule, SeparatePairs | SeparateRegions | DistinctLimit | Capacity | NotWhole):
        return rule.within == "phase"
    if isinstance(rule, UnitLimit | Order | OrderBy):
        return rule.unit == "phase"
    return False


def _key(v: Violation) -> tuple[str, str]:
    return (v.rule, v.message)


def explain_vm(policy: Policy, fleet: Fleet, schedule: Schedule, vm_name: str) -> Explanation:
    """Which rules keep ``vm_name`` out of every earlier wave of ``schedule``."""
    vm = fleet.vm_by_name.get(vm_name)
    if vm is None:
        close = closest(vm_name, fleet.vm_by_name)
        hint = f"did you mean '{close}'?" if close else "list the fleet's VMs with: jq '.vms[].name' FLEET"
        raise InputError([Diagnostic("E-USAGE", f"unknown VM '{vm_name}' (not in the fleet)", hint=hint)])
    if any(w.index != i for i, w in enumerate(schedule.waves)):
        raise InputError([Diagnostic("E-SCHEDULE", "the schedule's waves are not numbered 0..n-1 in order, so 'earlier "
                                     "wave' has no meaning", hint="run wavegate verify on it first")])
    mine = [w.index for w in schedule.waves if any(t.vm == vm_name for t in w.tasks)]
    if not mine:
        skipped = tuple((s.extension, s.reason) for s in schedule.skipped if s.vm == vm_name)
        return Explanation(vm_name, vm.region, None, None, (), skipped)
    home = min(mine)
    home_phase = schedule.waves[home].phase
    moved_tasks = [t for w in schedule.waves for t in w.tasks if t.vm == vm_name]
    baseline = {_key(v) for v in verify_schedule(policy, fleet, schedule).violations}
    phase_reasons: dict[int, tuple[Violation, ...]] = {}
    per_wave: list[tuple[int, tuple[str, ...], tuple[Violation, ...], int | None]] = []
    for k in range(home):
        target_phase = schedule.waves[k].phase
        if target_phase != home_phase:
            if target_phase not in phase_reasons:
                phase_reasons[target_phase] = _phase_blockers(policy, fleet, schedule, vm.region, target_phase)
            found = phase_reasons[target_phase]
            per_wave.append((k, ("phase", *sorted({v.rule for v in found})), found, target_phase))
            continue
        trial = _move_tasks(schedule, vm_name, moved_tasks, k)
        new = [v for v in verify_schedule(policy, fleet, trial).violations
               if _key(v) not in baseline and not _emptied(v, mine)]
        rules = tuple(sorted({v.rule for v in new}))
        per_wave.append((k, rules, tuple(new), None))
    reasons: list[Reason] = []
    for k, rules, found, phase in per_wave:
        last = reasons[-1] if reasons else None
        if last is not None and last.rules == rules and last.phase == phase and last.last == k - 1:
            # Same reason as the wave before: widen the range and keep the facts of the nearest wave.
            reasons[-1] = Reason(last.first, k, rules, found, phase)
        else:
            reasons.append(Reason(k, k, rules, found, phase))
    return Explanation(vm_name, vm.region, home, home_phase, tuple(reasons))


def _emptied(v: Violation, mine: list[int]) -> bool:
    """The wave the VM left may now be empty: that is the experiment's doing, not a rule."""
    return v.rule == "structure" and v.wave in mine and v.message == f"wave {v.wave} has no tasks"


def _move_tasks(schedule: Schedule, vm_name: str, tasks: list[Task], to: int) -> Schedule:
    waves: list[Wave] = []
    for w in schedule.waves:
        kept = [t for t in w.tasks if t.vm != vm_name]
        if w.index == to:
            kept = kept + tasks
        waves.append(Wave.model_construct(index=w.index, phase=w.phase, tasks=kept) if len(kept) != len(w.tasks)
                     or w.index == to else w)
    return schedule.model_copy(update={"waves": waves})


def _phase_blockers(policy: Policy, fleet: Fleet, schedule: Schedule, region: str, phase: int) -> tuple[Violation, ...]:
    """Phase-level rules that break when the whole ``region`` moves into ``phase`` (its first wave)."""
    first = next(w.index for w in schedule.waves if w.phase == phase)
    vms = fleet.vm_by_name
    moved = [t for w in schedule.waves for t in w.tasks if t.vm in vms and vms[t.vm].region == region]
    names = {t.vm for t in moved}
    waves = []
    for w in schedule.waves:
        kept = [t for t in w.tasks if t.vm not in names]
        if w.index == first:
            kept = kept + moved
        waves.append(Wave.model_construct(index=w.index, phase=w.phase, tasks=kept))
    phases = [Phase.model_construct(index=p.index, regions=[r for r in p.regions if r != region]
                                    + ([region] if p.index == phase else [])) for p in schedule.phases]
    trial = schedule.model_copy(update={"waves": waves, "phases": phases})
    level = {r.name for r in policy.rules if _phase_level(r)}
    before = {_key(v) for v in verify_schedule(policy, fleet, schedule).violations}
    return tuple(v for v in verify_schedule(policy, fleet, trial).violations
                 if v.rule in level and _key(v) not in before)

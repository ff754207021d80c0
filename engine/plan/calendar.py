"""The rollout's calendar: after the wave solve, each wave of the sequence is placed, in order, at the earliest
start that every time rule admits (a greedy placement: for a fixed sequence of waves it gives the earliest finish,
since an earlier end never delays a later wave; the order and make-up of the waves come from the wave solve and are
not changed for time).  The lower bound on the finish holds for every schedule, and names what sets it.

The bound is the latest of: the start plus the wave lower bound times the install time (a chain of waves, each at
least one install long) plus the bakes that any schedule must wait (between phases when two phases are forced, after
a region's first wave when the region needs two waves); and, per VM, the earliest end of one install of it that its
windows and freezes admit.  When the planned finish meets the bound, the calendar is optimal for time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dsl.policy import Bake, Canary, Policy, SeparatePairs, SeparateRegions
from engine.model.calendar import DEFAULT_INSTALL_SECONDS, HORIZON_DAYS, format_instant
from engine.model.errors import Infeasible
from engine.model.fleet import Fleet
from engine.model.schedule import Finish, Schedule
from engine.plan.kinds import TIME_PLANNERS
from engine.plan.kinds.timing import TimeKind, WaveFacts
from engine.plan.reading import FleetFacts

PREVIOUS = "the previous wave ends"
MAX_STEPS = 100_000  # fixpoint steps per wave: far beyond any real calendar, a guard against a rule that loops


@dataclass(frozen=True)
class Placed:
    start: int
    end: int
    reason: str  # what set the start
    after: int | None  # the wave whose end it waited for (None: the rollout's start or a window/freeze)


def time_kinds(policy: Policy) -> list[TimeKind[object]]:
    return [TIME_PLANNERS[type(r)](r) for r in policy.times]


def install_seconds(kinds: Sequence[TimeKind[object]]) -> int:
    return next((s for k in kinds if (s := k.install_seconds()) is not None), DEFAULT_INSTALL_SECONDS)


def wave_facts(fleet: Fleet, schedule: Schedule) -> list[WaveFacts]:
    vms = fleet.vm_by_name
    out: list[WaveFacts] = []
    for w in schedule.waves:
        per_vm: dict[str, list[str]] = {}
        for t in w.tasks:
            names = per_vm.get(t.vm)
            if names is None:
                per_vm[t.vm] = [t.extension]
            else:
                names.append(t.extension)
        facts = WaveFacts(w.index, w.phase, chain=max(map(len, per_vm.values()), default=1))
        for name, names in per_vm.items():
            vm = vms[name]
            exts = vm.extensions
            # Most VMs have one extension, due: no filtering then.
            due = list(exts) if len(exts) == 1 and len(names) == 1 else [e for e in exts if e.name in names]
            facts.vms.append((vm, due))
        out.append(facts)
    return out


def _place_wave(kinds: Sequence[TimeKind[object]], w: WaveFacts, t: int, length: int, ends: list[int],
                prev: int | None) -> Placed:
    reason, after = (PREVIOUS if prev is not None else "the rollout starts"), prev
    stop = t + HORIZON_DAYS * 86400
    for _ in range(MAX_STEPS):
        moved = False
        for k in kinds:
            s = k.earliest(w.index, t, length, ends)
            if s is None or s > stop:
                raise Infeasible(f"no time within {HORIZON_DAYS} days of {format_instant(t)} fits wave {w.index} "
                                 f"({length // 60}m) under {k.label()}", [str(getattr(k.rule, 'name', '?'))])
            if s > t:
                t, moved = s, True
                blocker = k.blocker(w.index, ends)
                reason, after = k.reason(blocker), blocker
        if not moved:
            return Placed(t, t + length, reason, after)
    raise Infeasible(f"the calendar found no start for wave {w.index}")  # pragma: no cover - MAX_STEPS guard


def place(policy: Policy, fleet: Fleet, schedule: Schedule, start: int,
          region_lower: Mapping[str, int] | None = None) -> Schedule:
    """The schedule with its calendar: a start and end per wave, the finish and its lower bound."""
    facts = FleetFacts(fleet)
    kinds = time_kinds(policy)
    install = install_seconds(kinds)
    waves = wave_facts(fleet, schedule)
    for k in kinds:
        k.prepare(waves, facts)
    placed: list[Placed] = []
    ends: list[int] = []
    t = start
    for w in waves:
        p = _place_wave(kinds, w, t, install * w.chain, ends, len(placed) - 1 if placed else None)
        placed.append(p)
        ends.append(p.end)
        t = p.end
    finish = ends[-1] if ends else start
    bound, set_by = lower_bound(policy, fleet, schedule, kinds, facts, start, install, region_lower or {})
    bound = min(bound, finish)
    new_waves = [w.model_copy(update={"start": format_instant(p.start), "end": format_instant(p.end)})
                 for w, p in zip(schedule.waves, placed, strict=True)]
    return schedule.model_copy(update={
        "waves": new_waves, "start": format_instant(start),
        "finish": Finish(planned=format_instant(finish), lower_bound=format_instant(bound), set_by=set_by,
                         critical_path=critical_path(placed))})


def critical_path(placed: Sequence[Placed]) -> list[str]:
    """From the last wave back, the chain of what set each start (waves run back to back are one step)."""
    steps: list[str] = []
    i: int | None = len(placed) - 1 if placed else None
    while i is not None:
        last = i
        while i > 0 and placed[i].reason == PREVIOUS:
            i -= 1
        p, q = placed[i], placed[last]
        waves = f"wave {i}" if i == last else f"waves {i}-{last} (back to back)"
        steps.append(f"{waves} {format_instant(p.start)} to {format_instant(q.end)}: starts when {p.reason}")
        i = p.after if p.after is not None and p.after < i else None
    return steps[::-1]


def forced_phases(policy: Policy, fleet: Fleet, schedule: Schedule) -> int:
    """2 when the policy alone forces two phases on the regions with tasks (a canary alone next to other regions,
    two listed regions apart, two paired regions apart), else 1."""
    regions = {r for ph in schedule.phases for r in ph.regions}
    pair_apart = any(r.name in regions and r.pair in regions for r in fleet.regions)
    for rule in policy.rules:
        if isinstance(rule, Canary) and rule.alone and regions & set(rule.regions) and regions - set(rule.regions):
            return 2
        if isinstance(rule, SeparateRegions) and rule.within == "phase" and len(regions & set(rule.regions)) >= 2:
            return 2
        if isinstance(rule, SeparatePairs) and rule.within == "phase" and pair_apart:
            return 2
    return 1


def lower_bound(policy: Policy, fleet: Fleet, schedule: Schedule, kinds: Sequence[TimeKind[object]],
                facts: FleetFacts, start: int, install: int, region_lower: Mapping[str, int]) -> tuple[int, str]:
    bakes = [r for r in policy.times if isinstance(r, Bake)]

    def longest(after: str) -> int:
        return max((b.duration.seconds for b in bakes if b.after == after), default=0)

    waves = max(schedule.lower_bound, 1)
    terms: list[tuple[int, str]] = [(start + waves * install,
                                     f"a chain of {waves} waves (the wave lower bound) at {install // 60}m each")]
    phases = forced_phases(policy, fleet, schedule)
    if phases >= 2 and longest("phase"):
        terms.append((start + max(waves, 2) * install + longest("phase"),
                      f"{max(waves, 2)} waves and the bake of {longest('phase') // 3600}h between two forced phases"))
    if longest("wave") and waves >= 2:
        terms.append((start + waves * install + (waves - 1) * longest("wave"),
                      f"{waves} waves with a bake of {longest('wave') // 60}m after each"))
    two = sorted(r for r, n in region_lower.items() if n >= 2)
    if two and longest("first_wave"):
        terms.append((start + 2 * install + longest("first_wave"),
                      f"region {two[0]} needs two waves and its first wave bakes {longest('first_wave') // 60}m"))
    terms.extend(_vm_terms(kinds, facts, fleet, schedule, start, install))
    return max(terms, key=lambda x: (x[0], x[1]))


def _vm_terms(kinds: Sequence[TimeKind[object]], facts: FleetFacts, fleet: Fleet, schedule: Schedule, start: int,
              install: int) -> list[tuple[int, str]]:
    """Per VM with tasks (one per distinct answer): the earliest end of one install its windows and freezes admit."""
    calendar = [k for k in kinds if type(k).vm_earliest is not TimeKind.vm_earliest]
    if not calendar:
        return []
    vms = fleet.vm_by_name
    tasks: dict[str, set[str]] = {}
    for w in schedule.waves:
        for task in w.tasks:
            tasks.setdefault(task.vm, set()).add(task.extension)
    seen: dict[tuple[object, ...], tuple[int, str]] = {}
    for name in sorted(tasks):
        vm = vms[name]
        exts = [e for e in vm.extensions if e.name in tasks[name]]
        key = tuple(k.vm_key(facts, vm, exts) for k in calendar)
        if key in seen:
            continue
        t, why = start, ""
        for _ in range(MAX_STEPS):
            moved = False
            for k in calendar:
                s = k.vm_earliest(facts, vm, exts, t, install)
                if s is not None and s > t:
                    t, moved, why = s, True, k.label()
            if not moved:
                break
        seen[key] = (t + install, f"{why} for VM {name}: no install of it can end earlier" if why else "")
    return [v for v in seen.values() if v[1]]

"""The rollout's calendar: after the wave solve, each wave of the sequence is placed, in order, at the earliest
start that every time rule admits (a greedy placement: for a fixed sequence of waves it gives the earliest finish,
since an earlier end never delays a later wave).  The order of the waves comes from the wave solve; one change is
made for time: a wave whose VMs' windows do not meet (prod VMs in Berlin nights, others in Tokyo nights) is split
into consecutive waves of the same phase, one per calendar of its VMs, soonest first, when that ends it sooner (or
only then fits at all) and the split schedule still passes the checker on every other rule (``stats.calendar_splits``
counts the splits).  Waves are not reordered across the solve's sequence: the finish is the earliest for that
sequence, not over every schedule; the lower bound on the finish holds for every schedule, and names what sets it.

The bound is the latest of: the start plus the wave lower bound times the install time (a chain of waves, each at
least one install long) plus the bakes that any schedule must wait (between phases when two phases are forced, after
a region's first wave when the region needs two waves); and, per VM, the earliest end of one install of it that its
windows and freezes admit.  When the planned finish meets the bound, the calendar is optimal for time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from dsl.policy import Bake, Canary, Policy, SeparatePairs, SeparateRegions
from engine.check.verify import verify_schedule
from engine.model.calendar import DEFAULT_INSTALL_SECONDS, HORIZON_DAYS, format_instant
from engine.model.errors import CalendarUnplaced
from engine.model.fleet import VM, Extension, Fleet
from engine.model.schedule import Finish, Schedule, Wave
from engine.plan.kinds import TIME_PLANNERS
from engine.plan.kinds.timing import TimeKind, WaveFacts
from engine.plan.reading import FleetFacts

PREVIOUS = "the previous wave ends"
MAX_STEPS = 100_000
MAX_SPLITS = 200  # waves the calendar may split, a guard  # fixpoint steps per wave: far beyond any real calendar, a guard against a rule that loops


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


Earliest = Callable[[TimeKind[object], int], "int | None"]  # (kind, t) -> the earliest start it admits


def _fixpoint(kinds: Sequence[TimeKind[object]], earliest: Earliest, t: int, length: int, w: int,
              ends: Sequence[int], prev: int | None) -> Placed | None:
    """The earliest start every kind admits (iterated until none moves it); None: none within the horizon."""
    reasons: list[str] = []
    after = prev
    stop = t + HORIZON_DAYS * 86400
    for _ in range(MAX_STEPS):
        moved = False
        for k in kinds:
            s = earliest(k, t)
            if s is None or s > stop:
                return None
            if s > t:
                t, moved = s, True
                blocker = k.blocker(w, ends)
                if blocker is not None:  # the wave it waited for continues the critical path
                    after = blocker
                why = k.reason(blocker)
                if why in reasons:
                    reasons.remove(why)
                reasons.append(why)
        if not moved:
            first = PREVIOUS if prev is not None else "the rollout starts"
            return Placed(t, t + length, ", then ".join(reasons) if reasons else first, after)
    return None


@dataclass(frozen=True)
class Split:
    """Wave ``wave`` goes better in parts (VM names per part, in order): its VMs' windows do not meet soon."""

    wave: int
    parts: list[list[str]]


def _parts(kinds: Sequence[TimeKind[object]], facts: FleetFacts, w: WaveFacts) -> list[list[tuple[VM, list[Extension]]]]:
    """The wave's VMs by what the windows and freezes read of them (one part each), in a fixed order."""
    calendar = [k for k in kinds if type(k).vm_key is not TimeKind.vm_key]
    groups: dict[str, list[tuple[VM, list[Extension]]]] = {}
    for vm, exts in w.vms:
        groups.setdefault(repr(tuple(k.vm_key(facts, vm, exts) for k in calendar)), []).append((vm, exts))
    return [groups[k] for k in sorted(groups)]


def _attempt(kinds: Sequence[TimeKind[object]], facts: FleetFacts, waves: Sequence[WaveFacts], start: int,
             install: int) -> list[Placed] | Split:
    """Every wave at its earliest start; or the first wave that its VMs' windows place sooner in parts (or only
    in parts), to be split before trying again."""
    placed: list[Placed] = []
    ends: list[int] = []
    t = start
    for w in waves:
        prev = len(placed) - 1 if placed else None
        whole = _fixpoint(kinds, _whole(w, install * w.chain, ends), t, install * w.chain, w.index, ends, prev)
        parts = _parts(kinds, facts, w)
        if len(parts) > 1:
            parts = _soonest_first(kinds, facts, parts, w.index, t, install, ends, prev)
            end = t
            for part in parts:
                length = install * _chain(part)
                p = _fixpoint(kinds, _part(facts, part, w.index, length, ends), end, length, w.index, ends, prev)
                end = p.end if p is not None else -1
                if p is None:
                    break
            if end >= 0 and (whole is None or end < whole.end):
                return Split(w.index, [[vm.name for vm, _ in part] for part in parts])
        if whole is None:
            names = ", ".join(sorted({str(getattr(k.rule, "name", "?")) for k in kinds}))
            raise CalendarUnplaced(f"no time within {HORIZON_DAYS} days of {format_instant(t)} fits wave {w.index} "
                                   f"({install * w.chain // 60}m) under the policy's windows, freezes and bakes "
                                   f"({names}); unknown whether a later one does")
        placed.append(whole)
        ends.append(whole.end)
        t = whole.end
    return placed


def _soonest_first(kinds: Sequence[TimeKind[object]], facts: FleetFacts,
                   parts: list[list[tuple[VM, list[Extension]]]], wave: int, t: int, install: int,
                   ends: Sequence[int], prev: int | None) -> list[list[tuple[VM, list[Extension]]]]:
    """The parts in the order of their own earliest starts from ``t`` (a part that never fits last)."""
    def soonest(i: int) -> tuple[int, int]:
        length = install * _chain(parts[i])
        p = _fixpoint(kinds, _part(facts, parts[i], wave, length, ends), t, length, wave, ends, prev)
        return (p.start if p is not None else 1 << 62, i)
    return [parts[i] for i in sorted(range(len(parts)), key=soonest)]


def _whole(w: WaveFacts, length: int, ends: Sequence[int]) -> Earliest:
    def earliest(k: TimeKind[object], at: int) -> int | None:
        return k.earliest(w.index, at, length, ends)
    return earliest


def _part(facts: FleetFacts, part: Sequence[tuple[VM, list[Extension]]], wave: int, length: int,
          ends: Sequence[int]) -> Earliest:
    def earliest(k: TimeKind[object], at: int) -> int | None:
        return k.part_earliest(facts, part, wave, at, length, ends)
    return earliest


def _chain(part: Sequence[tuple[VM, list[Extension]]]) -> int:
    return max((len(exts) for _, exts in part), default=1)


def split_wave(schedule: Schedule, split: Split) -> Schedule:
    """The schedule with one wave split into consecutive waves (same phase), waves renumbered."""
    waves: list[Wave] = []
    for w in schedule.waves:
        if w.index != split.wave:
            waves.append(w.model_copy(update={"index": len(waves)}))
            continue
        for names in split.parts:
            keep = set(names)
            waves.append(w.model_copy(update={"index": len(waves), "tasks": [t for t in w.tasks if t.vm in keep]}))
    stats = dict(schedule.stats)
    stats["phase_waves"] = [sum(1 for w in waves if w.phase == p.index) for p in schedule.phases]
    stats["vms_per_wave"] = [len({t.vm for t in w.tasks}) for w in waves]
    stats["calendar_splits"] = stats.get("calendar_splits", 0) + 1
    return schedule.model_copy(update={"waves": waves, "stats": stats,
                                       "optimal": schedule.optimal and len(waves) <= schedule.lower_bound})


def place(policy: Policy, fleet: Fleet, schedule: Schedule, start: int,
          region_lower: Mapping[str, int] | None = None) -> Schedule:
    """The schedule with its calendar: a start and end per wave, the finish and its lower bound.  A wave whose VMs'
    windows place it sooner in parts is split (each part a wave of the same phase), when the split schedule still
    passes the checker on every other rule; the objective is the earliest finish, then the fewest waves."""
    facts = FleetFacts(fleet)
    untimed = replace(policy, times=())
    for _ in range(MAX_SPLITS):
        kinds = time_kinds(policy)
        install = install_seconds(kinds)
        waves = wave_facts(fleet, schedule)
        for k in kinds:
            k.prepare(waves, facts)
        attempt = _attempt(kinds, facts, waves, start, install)
        if isinstance(attempt, list):
            return _timed(policy, fleet, schedule, attempt, kinds, facts, start, install, region_lower or {})
        candidate = split_wave(schedule, attempt)
        if not verify_schedule(untimed, fleet, candidate).ok:
            raise CalendarUnplaced(f"wave {attempt.wave} holds VMs whose windows do not meet soon, and splitting it "
                                   "breaks another rule: no timed schedule found (unknown whether one exists)")
        schedule = candidate
    raise CalendarUnplaced(f"the calendar split more than {MAX_SPLITS} waves: no timed schedule found (unknown "
                           "whether one exists)")


def _timed(policy: Policy, fleet: Fleet, schedule: Schedule, placed: list[Placed], kinds: Sequence[TimeKind[object]],
           facts: FleetFacts, start: int, install: int, region_lower: Mapping[str, int]) -> Schedule:
    ends = [p.end for p in placed]
    finish = ends[-1] if ends else start
    if placed:
        bound, set_by = lower_bound(policy, fleet, schedule, kinds, facts, start, install, region_lower)
        bound = min(bound, finish)
    else:
        bound, set_by = start, "nothing to upgrade: the rollout ends when it starts"
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

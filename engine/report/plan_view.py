"""The schedule aggregated per region and wave (never per VM): what the swimlanes and the "why not faster" show.

Counts are exact: a cell holds the tasks of one region in one wave and the distinct VMs they touch.  A region's
lane is the region's tasks; regions are ordered by phase, then by name, so the page is the same for the same input.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from dsl.diagnostics import Diagnostic, JsonLocation
from engine.model.calendar import parse_instant
from engine.model.errors import InputError
from engine.model.schedule import Finish, Schedule, why_lines

# A recorded value longer than this is cut (the page stays small whatever the planner records).
RECORDED_CHARS = 400
# Fields of the schedule the page shows in their own sections; every other one is listed as recorded.
SHOWN_FIELDS = ("phases", "waves", "skipped", "lower_bound", "optimal", "stats")


@dataclass(frozen=True)
class Cell:
    """One region in one wave: its tasks and the distinct VMs they touch."""

    region: str
    wave: int
    vms: int
    tasks: int


@dataclass(frozen=True)
class PhaseView:
    index: int
    regions: tuple[str, ...]
    first_wave: int
    last_wave: int
    longest: tuple[str, ...]  # the regions whose tasks span the most waves of the phase
    longest_waves: int
    last_vm: str | None  # a VM in the last wave of the first longest region: `wavegate explain` it to see why

    @property
    def waves(self) -> int:
        return self.last_wave - self.first_wave + 1


@dataclass(frozen=True)
class PlanView:
    waves: int
    wave_phase: tuple[int, ...]
    phases: tuple[PhaseView, ...]
    lanes: tuple[str, ...]
    region_phase: Mapping[str, int]
    region_span: Mapping[str, tuple[int, int]]  # first and last wave holding the region's tasks
    cells: Mapping[tuple[str, int], Cell]
    tasks_per_wave: tuple[int, ...]
    tasks: int
    scheduled_vms: int
    fleet_vms: int
    idle_regions: tuple[str, ...]
    skipped: tuple[tuple[str, int], ...]
    lower_bound: int
    optimal: bool
    recorded: tuple[tuple[str, str], ...]
    why: tuple[str, ...] = ()  # the certificate's witness as text lines (empty without a certificate)
    # The calendar, when the schedule has one: its start, each wave's (start, end), the finish (epoch seconds UTC)
    start: int | None = None
    times: tuple[tuple[int, int], ...] = ()
    finish: Finish | None = None

    def planned_share(self) -> list[float]:
        """Share of the scheduled tasks done by the end of each wave, as planned."""
        out, done = [], 0
        for n in self.tasks_per_wave:
            done += n
            out.append(done / self.tasks if self.tasks else 1.0)
        return out


def region_tasks(schedule: Schedule, vm_region: Mapping[str, str], file: str) -> dict[tuple[str, int], list[str]]:
    """The VM of each task by (region, wave); a task naming a VM the fleet does not have is bad input."""
    out: dict[tuple[str, int], list[str]] = {}
    unknown = []
    for i, wave in enumerate(schedule.waves):
        for j, task in enumerate(wave.tasks):
            region = vm_region.get(task.vm)
            if region is None:
                unknown.append(Diagnostic("E-SCHEDULE", f"task of VM '{task.vm}', which the fleet does not have",
                                          JsonLocation(file, f"$.waves[{i}].tasks[{j}].vm"),
                                          "the schedule is of another fleet: plan again, or pass its fleet"))
                continue
            out.setdefault((region, wave.index), []).append(task.vm)
    if unknown:
        raise InputError(unknown[:20])
    return out


def plan_view(schedule: Schedule, vm_region: Mapping[str, str], fleet_regions: list[str], file: str) -> PlanView:
    by_cell = region_tasks(schedule, vm_region, file)
    cells = {key: Cell(key[0], key[1], len(set(vms)), len(vms)) for key, vms in sorted(by_cell.items())}
    span: dict[str, tuple[int, int]] = {}
    for region, wave in cells:
        first, last = span.get(region, (wave, wave))
        span[region] = (min(first, wave), max(last, wave))
    wave_phase = tuple(w.phase for w in schedule.waves)
    region_phase = {region: wave_phase[first] for region, (first, _) in span.items()}
    lanes = tuple(sorted(span, key=lambda r: (region_phase[r], r)))
    scheduled = {t.vm for w in schedule.waves for t in w.tasks}
    # a calendar: a start, and every wave its start and end
    timed = schedule.start is not None and all(w.start is not None and w.end is not None for w in schedule.waves)
    return PlanView(
        waves=len(schedule.waves), wave_phase=wave_phase, phases=_phases(schedule, span, region_phase, by_cell),
        lanes=lanes, region_phase=region_phase, region_span=span, cells=cells,
        tasks_per_wave=tuple(len(w.tasks) for w in schedule.waves), tasks=sum(len(w.tasks) for w in schedule.waves),
        scheduled_vms=len(scheduled), fleet_vms=len(vm_region),
        idle_regions=tuple(sorted(set(fleet_regions) - set(span))),
        skipped=tuple(sorted(Counter(s.reason for s in schedule.skipped).items())),
        lower_bound=schedule.lower_bound, optimal=schedule.optimal, recorded=recorded(schedule),
        why=tuple(why_lines(schedule.certificate.witness)) if schedule.certificate is not None else (),
        start=parse_instant(schedule.start) if timed and schedule.start else None,
        times=tuple((parse_instant(w.start or ""), parse_instant(w.end or "")) for w in schedule.waves) if timed else (),
        finish=schedule.finish if timed else None)


def _phases(schedule: Schedule, span: Mapping[str, tuple[int, int]], region_phase: Mapping[str, int],
            by_cell: Mapping[tuple[str, int], list[str]]) -> tuple[PhaseView, ...]:
    out = []
    for ph in sorted(schedule.phases, key=lambda p: p.index):
        waves = [w.index for w in schedule.waves if w.phase == ph.index]
        if not waves:
            continue
        mine = [r for r in sorted(span) if region_phase[r] == ph.index]
        lengths = {r: span[r][1] - span[r][0] + 1 for r in mine}
        top = max(lengths.values(), default=0)
        longest = tuple(r for r in mine if lengths[r] == top)
        last_vm = min(by_cell[(longest[0], span[longest[0]][1])]) if longest else None
        out.append(PhaseView(ph.index, tuple(sorted(ph.regions)), min(waves), max(waves), longest, top, last_vm))
    return tuple(out)


def recorded(schedule: Schedule) -> tuple[tuple[str, str], ...]:
    """What the planner recorded beyond the waves (its stats, and any other field, e.g. a certificate), as text."""
    doc = schedule.model_dump(mode="json", exclude={"phases", "waves", "skipped"})  # not the tasks: 1M at 1M VMs
    items = [(f"stats.{k}", v) for k, v in sorted(doc.get("stats", {}).items())]
    items += [(k, v) for k, v in sorted(doc.items()) if k not in SHOWN_FIELDS]
    return tuple((k, _cut(json.dumps(v, sort_keys=True, ensure_ascii=False))) for k, v in items)


def _cut(text: str) -> str:
    return text if len(text) <= RECORDED_CHARS else text[:RECORDED_CHARS] + f"… ({len(text):,} characters)"

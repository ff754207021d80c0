"""``bake D after each phase|wave`` and ``bake D after the first wave|zone of each region`` (Bake): the waves that
must wait start at least ``D`` after the end of the wave(s) they wait for."""

from __future__ import annotations

import itertools
from collections import defaultdict

from dsl.policy import Bake
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.timeline import wave_times
from engine.model.calendar import format_instant

Interval = tuple[int, int]


def waits(rule: Bake, at: Placement) -> list[tuple[int, list[int], str]]:
    """(a wave that must wait, the waves it waits for, what they are) for every wait the bake sets."""
    if rule.after == "wave":
        waves = [w.index for w in at.schedule.waves]
        return [(w, [w - 1], f"wave {w - 1}") for w in waves if w - 1 in waves]
    if rule.after == "phase":
        return phase_waits(at)
    return region_waits(rule, at)


def phase_waits(at: Placement) -> list[tuple[int, list[int], str]]:
    by_phase: dict[int, list[int]] = defaultdict(list)
    for w in at.schedule.waves:
        by_phase[w.phase].append(w.index)
    phases = sorted(by_phase)
    return [(w, by_phase[prev], f"phase {prev}") for prev, cur in itertools.pairwise(phases)
            for w in by_phase[cur]]


def region_waits(rule: Bake, at: Placement) -> list[tuple[int, list[int], str]]:
    """first_wave: every later wave of a region waits for its first wave; first_zone: every wave holding tasks of
    the region outside the zones of its first wave waits for every earlier wave holding tasks of those zones."""
    zones: dict[str, dict[int, set[str | None]]] = defaultdict(lambda: defaultdict(set))
    for w, _task, vm, _ext in at.task_refs:
        if vm is not None:
            zones[vm.region][w].add(vm.zone)
    out: list[tuple[int, list[int], str]] = []
    for region in sorted(zones):
        waves = zones[region]
        first = min(waves)
        if rule.after == "first_wave":
            out.extend((w, [first], f"the first wave of region {region}") for w in sorted(waves) if w != first)
            continue
        first_zones = waves[first]
        for w in sorted(waves):
            if waves[w] - first_zones:
                waited = [v for v in sorted(waves) if v < w and waves[v] & first_zones]
                out.append((w, waited, f"the first zone of region {region}"))
    return out


class BakeCheck(RuleCheck[Bake]):
    kind = Bake

    def check(self, rule: Bake, at: Placement) -> None:
        times = wave_times(at)
        for w, before, what in waits(rule, at):
            if w not in times or any(v not in times for v in before):
                continue
            ready = max(times[v][1] for v in before) + rule.duration.seconds
            if times[w][0] < ready:
                at.add(rule.name, rule.span, f"wave {w} starts {format_instant(times[w][0])}, before {what} has baked "
                       f"{rule.duration} (not before {format_instant(ready)})", wave=w)

"""``Capacity`` at run time (the batch cap: at most 20% of a scale set per wave): per executed wave or phase, the VMs
of each group that the rule's ``where`` selects never exceed the cap of the group's size.

An executed wave is a wave of the schedule or a wave of retries of some of its tasks (a subset of it), so a schedule
that satisfies the rule satisfies it per executed wave too.  Counts within a phase are kept for the run; counts within
a wave only for the current executed wave (waves never come back: dropping the rest keeps them small at a million
VMs)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from dsl.policy import Capacity, TrueP
from engine.model.scopes import group_label
from engine.run.monitors.base import (
    IndexScopes,
    KindMonitor,
    RunContext,
    Scheduled,
    breach,
    by_key,
    where_text,
)
from engine.run.reading import GroupKey


class CapacityMonitor(KindMonitor[Capacity]):
    kind = Capacity

    @classmethod
    def scopes(cls, items: Sequence[Capacity]) -> IndexScopes:
        return IndexScopes(keys={r.of for r in items})

    def __init__(self, items: Sequence[Capacity], run: RunContext) -> None:
        super().__init__(items, run)
        self._sizes: dict[int, dict[GroupKey, int]] = {}
        self._caps: dict[tuple[int, GroupKey], int] = {}
        # What each rule has counted per (rule, unit, group): VM indexes.
        self._phase_counts: dict[tuple[int, int, GroupKey], set[int]] = defaultdict(set)
        self._wave_counts: dict[tuple[int, int, GroupKey], set[int]] = defaultdict(set)
        self._rules = [(i, r, self.index.keys_of(r.of), isinstance(r.where, TrueP)) for i, r in enumerate(self.items)]
        for i in range(len(self.items)):
            self.sizes(i)
        self.needs_extensions = any(not every for *_, every in self._rules)

    def sizes(self, i: int) -> dict[GroupKey, int]:
        """Rule ``i``'s group sizes: every VM of the group (scheduled or not) that its ``where`` counts."""
        sizes = self._sizes.get(i)
        if sizes is None:
            rule = self.items[i]
            sizes = defaultdict(int)
            every = isinstance(rule.where, TrueP)
            vms = self.index.vms
            for v, k in enumerate(self.index.keys_of(rule.of)):
                if k is not None and (every or self.index.matches_for_size(rule.where, vms[v])):
                    sizes[k] += 1
            self._sizes[i] = sizes
        return sizes

    def new_wave(self) -> None:
        self._wave_counts.clear()

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        for i, rule, keys, every in self._rules:
            unit, counts = (wave, self._wave_counts) if rule.within == "wave" else (phase, self._phase_counts)
            matching = vms if every else self.index.matching(rule.where, vms, scheduled)
            for key, ids in by_key(keys, matching, uniform):
                seen = counts[(i, unit, key)]
                seen.update(ids)
                cap = self._caps.get((i, key))
                if cap is None:
                    cap = self._caps[(i, key)] = rule.amount.of(self.sizes(i).get(key, 0))
                if len(seen) > cap:
                    raise breach(
                        f"{len(seen)} VMs of {group_label(rule.of, key)} in one {rule.within} ({rule.within} {unit}), "
                        f"more than the cap {cap} (rule {rule.name}{where_text(rule)})")

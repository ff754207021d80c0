"""``DistinctLimit`` at run time (one zone per region per wave, one update domain per set per wave): per executed wave
or phase, the VMs of each group that the rule's ``where`` selects show at most ``limit`` distinct values.

Counted per VM scope (zone, update domain, geography ...).  ``count extension`` counts per-task values, a property of
the schedule's tasks that the independent checker owns before the run: not re-checked here."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from dsl.policy import GROUP_KEY, DistinctLimit, TrueP
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


def _plural(scope: str) -> str:
    word = scope.replace("_", " ")
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def monitored(rule: DistinctLimit) -> bool:
    """Counted over VM scopes (not per task): the rules this monitor re-checks."""
    return rule.count in GROUP_KEY and rule.per in GROUP_KEY


class DistinctLimitMonitor(KindMonitor[DistinctLimit]):
    kind = DistinctLimit

    @classmethod
    def scopes(cls, items: Sequence[DistinctLimit]) -> IndexScopes:
        rules = [d for d in items if monitored(d)]
        return IndexScopes(keys={d.per for d in rules}, values={d.count for d in rules})

    def __init__(self, items: Sequence[DistinctLimit], run: RunContext) -> None:
        super().__init__([d for d in items if monitored(d)], run)
        index = self.index
        # What each rule has counted per (rule, unit, group): value ids.
        self._phase_values: dict[tuple[int, int, GroupKey], set[int]] = defaultdict(set)
        self._wave_values: dict[tuple[int, int, GroupKey], set[int]] = defaultdict(set)
        self._rules = [(i, d, index.keys_of(d.per), index.values_of(d.count), isinstance(d.where, TrueP))
                       for i, d in enumerate(self.items)]
        self.needs_extensions = any(not every for *_, every in self._rules)

    def new_wave(self) -> None:
        self._wave_values.clear()

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        for i, d, keys, values_of, every in self._rules:
            unit, counted = (wave, self._wave_values) if d.within == "wave" else (phase, self._phase_values)
            matching = vms if every else self.index.matching(d.where, vms, scheduled)
            for key, ids in by_key(keys, matching, uniform):
                batch_values = {value for v in ids if (value := values_of[v]) is not None}
                if not batch_values:
                    continue
                values = counted[(i, unit, key)]
                values |= batch_values
                if len(values) > d.limit:
                    raise breach(
                        f"{len(values)} distinct {_plural(d.count)} of {group_label(d.per, key)} in one "
                        f"{d.within} ({d.within} {unit}), more than {d.limit} (rule {d.name}{where_text(d)})")

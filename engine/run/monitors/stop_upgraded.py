"""``StopUpgradedGate`` at run time: no batch starts in a group where more than the gate's cap of the VMs upgraded in
this run turned unhealthy (the monitor counts them itself from the batch ends)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from dsl.policy import StopUpgradedGate
from engine.model.scopes import group_label
from engine.run.monitors.base import (
    IndexScopes,
    KindMonitor,
    RunContext,
    Scheduled,
    breach,
    distinct_keys,
    where_text,
)
from engine.run.reading import GroupKey


class StopUpgradedMonitor(KindMonitor[StopUpgradedGate]):
    kind = StopUpgradedGate

    @classmethod
    def scopes(cls, items: Sequence[StopUpgradedGate]) -> IndexScopes:
        return IndexScopes(keys={g.of for g in items})

    def __init__(self, items: Sequence[StopUpgradedGate], run: RunContext) -> None:
        super().__init__(items, run)
        self._gates = [(g, self.index.keys_of(g.of), g.cap.value.numerator, g.cap.value.denominator * 100)
                       for g in self.items]
        self._upgraded: dict[tuple[str, GroupKey], set[int]] = defaultdict(set)
        self._turned: dict[tuple[str, GroupKey], set[int]] = defaultdict(set)

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        for gate, keys, num, den100 in self._gates:
            for key in distinct_keys(keys, vms, uniform):
                turned = self._turned.get((gate.of, key))
                ups = self._upgraded.get((gate.of, key))
                up, bad = len(ups) if ups else 0, len(turned) if turned else 0
                if up > 0 and bad * den100 > num * up:
                    raise breach(
                        f"batch {label} started after {bad} of {up} upgraded VMs of {group_label(gate.of, key)} "
                        f"turned unhealthy, more than {gate.cap} (rule {gate.name}{where_text(gate)})")

    def on_batch_end(self, upgraded: Sequence[int], turned: Sequence[int]) -> None:
        for gate, keys, _, _ in self._gates:
            for v in upgraded:
                key = keys[v]
                if key is not None:
                    self._upgraded[(gate.of, key)].add(v)
            for v in turned:
                key = keys[v]
                if key is not None:
                    self._turned[(gate.of, key)].add(v)

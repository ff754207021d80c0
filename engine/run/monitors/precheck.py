"""``PrecheckGate`` at run time: no batch starts while more than the gate's cap of one of its groups is unhealthy."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.policy import PrecheckGate
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


class PrecheckMonitor(KindMonitor[PrecheckGate]):
    kind = PrecheckGate

    @classmethod
    def scopes(cls, items: Sequence[PrecheckGate]) -> IndexScopes:
        return IndexScopes(keys={g.of for g in items})

    def __init__(self, items: Sequence[PrecheckGate], run: RunContext) -> None:
        super().__init__(items, run)
        index = self.index
        for scope in sorted({g.of for g in self.items}):
            index.index_members(scope)
        # Per gate: its key list and its cap as an integer ratio ("more than n/d %" exactly, without Fractions).
        self._gates = [(g, index.keys_of(g.of), g.cap.value.numerator, g.cap.value.denominator * 100)
                       for g in self.items]

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        members = self.index.members
        unhealthy_count = self.run.unhealthy_count
        # "more than cap" of part/whole, exactly: whole > 0 and part * 100 * den > num * whole.
        for gate, keys, num, den100 in self._gates:
            for key in distinct_keys(keys, vms, uniform):
                names = members(gate.of, key)
                whole = len(names)
                bad = unhealthy_count(gate.of, key, names, time)
                if whole > 0 and bad * den100 > num * whole:
                    raise breach(
                        f"batch {label} started while {bad} of {whole} VMs of {group_label(gate.of, key)} were "
                        f"unhealthy, more than {gate.cap} (rule {gate.name}{where_text(gate)})")

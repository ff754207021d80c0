"""``Freeze`` at run time: no batch of VMs the rule's ``where`` selects starts during the freeze (in the VM's zone)."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.policy import Freeze, TrueP
from engine.model.calendar import format_instant, freeze_interval
from engine.run.monitors.base import KindMonitor, RunContext, Scheduled, breach, where_text
from engine.run.monitors.calendar import run_start, vm_zone


class FreezeMonitor(KindMonitor[Freeze]):
    kind = Freeze

    def __init__(self, items: Sequence[Freeze], run: RunContext) -> None:
        super().__init__(items, run)
        self.base = run_start(run)
        self.needs_extensions = any(not isinstance(f.where, TrueP) for f in self.items)

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        at = self.base + time
        every = self.index.vms
        for f in self.items:
            chosen = vms if isinstance(f.where, TrueP) else self.index.matching(f.where, vms, scheduled)
            for fs, fe in {freeze_interval(f, vm_zone(f, every[v], self.index.fleet)) for v in chosen}:
                if fs <= at < fe:
                    raise breach(f"batch {label} started at {format_instant(at)}, during freeze {f.name}"
                                 f"{where_text(f)}")

"""``Window`` at run time: no batch starts while a window of one of its VMs (that the rule's ``where`` selects) is
closed, read in the VM's zone."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.policy import TrueP, Window
from engine.model.calendar import format_instant, inside
from engine.run.monitors.base import KindMonitor, RunContext, Scheduled, breach, where_text
from engine.run.monitors.calendar import run_start, vm_zone


class WindowMonitor(KindMonitor[Window]):
    kind = Window

    def __init__(self, items: Sequence[Window], run: RunContext) -> None:
        super().__init__(items, run)
        self.base = run_start(run)
        self.needs_extensions = any(not isinstance(w.where, TrueP) for w in self.items)

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        at = self.base + time
        every = self.index.vms
        for w in self.items:
            chosen = vms if isinstance(w.where, TrueP) else self.index.matching(w.where, vms, scheduled)
            for tz in {str(z): z for z in (vm_zone(w, every[v], self.index.fleet) for v in chosen)}.values():
                if not inside(w, tz, at, at):
                    raise breach(f"batch {label} started at {format_instant(at)}, outside window {w.name}"
                                 f"{where_text(w)}")

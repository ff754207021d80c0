"""``Bake`` at run time: after each phase (each wave), no scheduled wave of the next starts before the bake has
passed since the previous one's last scheduled wave ended; after a region's first wave, no batch of the region
starts before its bake has passed.  The first-zone bake is enforced by the executor's calendar and shown by its
``bake_started``/``bake_finished`` events; its monitor reading (which zones a batch continues) is not re-derived
here."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.policy import Bake
from engine.run.monitors.base import KindMonitor, RunContext, Scheduled, breach, where_text


class BakeMonitor(KindMonitor[Bake]):
    kind = Bake

    def __init__(self, items: Sequence[Bake], run: RunContext) -> None:
        super().__init__(items, run)
        self.phase_end: dict[int, int] = {}  # phase -> end of its last scheduled wave so far
        self.last_wave_end: int | None = None
        self.last_phase: int | None = None
        self.current_phase: int | None = None
        self.retry = False
        self.seen: set[str] = set()  # regions with a finished scheduled wave
        self.in_wave: set[str] = set()  # regions with a batch in the current scheduled wave
        self.ready: dict[str, tuple[int, Bake]] = {}  # region -> not before, by a first-wave bake

    def on_wave(self, finished: bool, wave: int, phase: int, time: int, retry: bool) -> None:
        if retry:
            self.retry = not finished
            return
        if finished:
            self.phase_end[phase] = time
            self.last_wave_end = time
            for region in sorted(self.in_wave - self.seen):
                for b in self.items:
                    if b.after == "first_wave":
                        self.ready[region] = max(self.ready.get(region, (0, b)), (time + b.duration.seconds, b),
                                                 key=lambda x: x[0])
            self.seen |= self.in_wave
            self.in_wave = set()
            return
        for b in self.items:
            if b.after == "wave" and self.last_wave_end is not None and time < self.last_wave_end + b.duration.seconds:
                raise breach(f"wave {wave} started before the bake {b.name}{where_text(b)} after the previous wave")
            if b.after == "phase" and phase != self.current_phase and self.current_phase is not None:
                end = self.phase_end[self.current_phase]
                if time < end + b.duration.seconds:
                    raise breach(f"phase {phase} started before phase {self.current_phase} baked {b.duration} "
                                 f"(rule {b.name}{where_text(b)})")
        self.current_phase = phase

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        regions = self.index.regions
        for v in vms:
            region = regions[v]
            ready = self.ready.get(region)
            if ready is not None and time < ready[0] and region in self.seen:
                raise breach(f"batch {label} of region {region} started before its first wave baked "
                             f"{ready[1].duration} (rule {ready[1].name}{where_text(ready[1])})")
            if not self.retry:
                self.in_wave.add(region)

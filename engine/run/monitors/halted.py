"""Halted groups at run time, whichever gate halted them (a precheck blocks, a stop gate stops): no batch starts in a
group once the executor halted it.  Not a kind of its own: every policy with a precheck or stop gate gets it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from engine.model.scopes import group_label
from engine.run.monitors.base import FleetIndex, RunMonitor, Scheduled, breach, distinct_keys
from engine.run.reading import GroupKey


class HaltedGroupsMonitor(RunMonitor):
    def __init__(self, index: FleetIndex) -> None:
        self.index = index
        self.halted: dict[str, set[GroupKey]] = defaultdict(set)

    def on_halt(self, scope: str, key: GroupKey) -> None:
        self.halted[scope].add(key)

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        signed = self.index.signed
        for scope, halted in self.halted.items():
            if not halted:
                continue
            for key in distinct_keys(self.index.keys_of(scope), vms, uniform and scope in signed):
                if key in halted:
                    raise breach(f"batch {label} started at {time}s in halted {group_label(scope, key)}")

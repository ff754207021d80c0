"""The runtime monitors of one run together, behind the small API the executor calls.

The executor tells the :class:`Monitor` about each batch it starts, each install it starts, each task that succeeds
and each group it halts; the monitor hands each event to the monitors of the policy's kinds
(``engine.run.monitors.MONITORS``) plus the two every run gets (halted groups, no major crossed), which raise
``MonitorBreach`` on the first broken invariant.  Only the hooks a monitor overrides are called.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from dsl.policy import Policy, PrecheckGate, StopUnhealthyGate, StopUpgradedGate
from engine.model.fleet import Extension, Fleet
from engine.model.schedule import Schedule
from engine.run.monitors.base import FleetIndex, KindMonitor, RunContext, RunMonitor, UnhealthyCount, breach
from engine.run.monitors.halted import HaltedGroupsMonitor
from engine.run.monitors.no_major import NoMajorMonitor
from engine.run.monitors.registry import MONITORS
from engine.run.reading import GroupKey

InstallHook = Callable[[str, str, str, str], None]


def _overrides(monitor: RunMonitor, hook: str) -> bool:
    return getattr(type(monitor), hook) is not getattr(RunMonitor, hook)


class Monitor:
    """Checks each state change the executor reports.  VMs are named by their index in ``fleet.vms``."""

    def __init__(self, policy: Policy, fleet: Fleet, unhealthy_count: UnhealthyCount,
                 schedule: Schedule | None = None) -> None:
        by_kind: dict[type, list[Any]] = defaultdict(list)
        for item in (*policy.rules, *policy.gates, *policy.times):
            if type(item) in MONITORS:
                by_kind[type(item)].append(item)
        kinds = [(cls, by_kind[kind]) for kind, cls in MONITORS.items() if by_kind.get(kind)]
        halting = {g.of for g in policy.gates if isinstance(g, PrecheckGate | StopUpgradedGate | StopUnhealthyGate)}
        key_scopes, value_scopes = set(halting), set()
        for cls, items in kinds:
            scopes = cls.scopes(items)
            key_scopes |= set(scopes.keys)
            value_scopes |= set(scopes.values)
        # One pass over the fleet indexes every scope any monitor reads (each VM model is a cache miss away).
        self.index = FleetIndex(fleet, key_scopes, value_scopes)
        run = RunContext(self.index, unhealthy_count, schedule)
        self.kinds: dict[type, KindMonitor[Any]] = {cls.kind: cls(items, run) for cls, items in kinds}
        self.halted = HaltedGroupsMonitor(self.index)
        monitors: list[RunMonitor] = [self.halted, *self.kinds.values(), NoMajorMonitor(policy.versions.allow_major)]
        self._wave_hooks = [m.new_wave for m in monitors if _overrides(m, "new_wave")]
        self._start_hooks = [m.on_batch_start for m in monitors if _overrides(m, "on_batch_start")]
        self._end_hooks = [m.on_batch_end for m in monitors if _overrides(m, "on_batch_end")]
        self._halt_hooks = [m.on_halt for m in monitors if _overrides(m, "on_halt")]
        self._install_hooks = [m.on_install for m in monitors if _overrides(m, "on_install")]
        self._success_hooks = [m.on_succeeded for m in monitors if m.tracks_successes]
        self._wave_event_hooks = [m.on_wave for m in monitors if _overrides(m, "on_wave")]
        # The executor calls ``install_check`` on every install: the one hook itself when there is one.
        self.install_check: InstallHook = self._install_hooks[0] if len(self._install_hooks) == 1 else self.on_install
        # Whether on_batch_start needs the scheduled extensions (a rule's ``where`` reads more than TrueP), and
        # whether the executor must report each task that succeeds.
        self.needs_extensions = any(m.needs_extensions for m in monitors)
        self.tracks_successes = bool(self._success_hooks)
        self._wave = -1  # the executed wave counted now
        self.checks = 0

    def monitor_of(self, kind: type) -> KindMonitor[Any] | None:
        """The monitor of one IR kind in this run (None: the policy has no item of that kind, or it is not monitored)."""
        return self.kinds.get(kind)

    # -- events from the executor ----------------------------------------------------------------------------

    def on_halt(self, scope: str, key: GroupKey) -> None:
        for hook in self._halt_hooks:
            hook(scope, key)

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str,
                       scheduled: Sequence[Sequence[Extension]] | None = None) -> None:
        """A batch starts in executed wave ``wave`` at ``time``: ``vms`` (indexes into ``fleet.vms``), with the
        extensions being upgraded on each in ``scheduled`` (required when ``needs_extensions``)."""
        self.checks += 1
        if wave != self._wave:
            if wave < self._wave:
                raise breach(f"batch {label} started in executed wave {wave} after wave {self._wave} had started")
            self._wave = wave
            for new_wave in self._wave_hooks:
                new_wave()
        if not vms:
            return
        sig = self.index.signature
        first_sig = sig[vms[0]]
        uniform = all(sig[v] == first_sig for v in vms)  # one region, one group per indexed scope: no regrouping
        for hook in self._start_hooks:
            hook(wave, phase, time, vms, label, scheduled, uniform)

    def on_batch_end(self, upgraded: Sequence[int], turned: Sequence[int]) -> None:
        """A batch ended: ``upgraded`` (VM indexes) got a new version installed, ``turned`` were healthy before
        and not after."""
        for hook in self._end_hooks:
            hook(upgraded, turned)

    def on_install(self, vm: str, extension: str, from_version: str, to_version: str) -> None:
        for hook in self._install_hooks:
            hook(vm, extension, from_version, to_version)

    def on_succeeded(self, vm: str, extension: str) -> None:
        """A task succeeded on ``vm`` (called only when ``tracks_successes``)."""
        for hook in self._success_hooks:
            hook(vm, extension)

    def on_wave(self, finished: bool, wave: int, phase: int, time: int, retry: bool) -> None:
        """An executed wave started (or ``finished``) at ``time``."""
        for hook in self._wave_event_hooks:
            hook(finished, wave, phase, time, retry)

"""The executor's view of the world: a :class:`Driver` installs, reinstalls and reports health; the default is the
simulated fleet (:class:`SimDriver`), a seeded health model plus a fault script.

Contract for any driver (a real cloud driver plugs in here without touching the executor):

* Calls are keyed by ``(task, attempt)``: issuing the same call again (after a crash, on ``--resume``) must not apply
  the change a second time (a cloud PUT of the same extension version is idempotent) and reports the same outcome.
* Durations are whole virtual seconds (``install`` returns how long the install took; ``watch_health`` how long
  after ``since`` the VM was first healthy, or None when it was not healthy within ``wait``).
* ``fastest_install_seconds(vm)`` is a lower bound of every install's duration on that VM (0 when nothing better is
  known): the executor's ideal duration of a schedule (``RunResult.ideal``) is built from it.
* ``outside_unhealthy(vm)`` lists the windows ``[start, end)`` in which the VM is unhealthy for reasons outside
  the rollout (it was unhealthy from the start, maintenance); the executor adds the windows its own upgrades cause.

Randomness never depends on the order of calls: every draw is a keyed hash of
``seed|vm|extension|version|attempt|purpose``, so a resumed run draws exactly what an uninterrupted one drew.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from dsl.versions import parse_version
from engine.model.calendar import DEFAULT_INSTALL_SECONDS
from engine.model.faults import NO_FAULTS, FaultScript
from engine.model.fleet import Fleet

# Far beyond any rollout: the end of a window that never closes (a VM unhealthy from the start).
FOREVER = 1 << 62
NOMINAL_INSTALL_SECONDS = DEFAULT_INSTALL_SECONDS
INSTALL_JITTER_SECONDS = 60


@dataclass(frozen=True, slots=True)
class TaskRef:
    """One (VM, extension) upgrade as the driver sees it."""

    vm: str
    extension: str
    publisher: str
    type: str
    from_version: str
    to_version: str


@dataclass(frozen=True, slots=True)
class InstallResult:
    seconds: int
    ok: bool
    reason: str = ""


class Driver(Protocol):
    @property
    def nominal_install_seconds(self) -> int: ...

    def install(self, task: TaskRef, attempt: int, at: int) -> InstallResult: ...

    def watch_health(self, task: TaskRef, attempt: int, since: int, wait: int) -> int | None: ...

    def reinstall_previous(self, task: TaskRef, attempt: int, at: int) -> int: ...

    def fastest_install_seconds(self, vm: str) -> int: ...

    def outside_unhealthy(self, vm: str) -> tuple[tuple[int, int], ...]: ...


def keyed_unit(seed: int, *parts: object) -> float:
    """A uniform draw in [0, 1) from a keyed hash: the same key always draws the same number."""
    key = "|".join([str(seed), *(str(p) for p in parts)]).encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 18446744073709551616.0


def _unit(key: str) -> float:
    """``keyed_unit`` from the key text already joined (``seed|part|...``)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 18446744073709551616.0


def _seconds(minutes: float) -> int:
    return max(1, round(minutes * 60))


class SimDriver:
    """The simulated fleet: installs take ~2 minutes (seeded jitter), a VM on a bad version fails its health watch
    with the version's ``fail_rate``; rollback makes it healthy again; maintenance windows and VMs unhealthy from the
    start count as unhealthy for reasons outside the rollout."""

    def __init__(self, fleet: Fleet, faults: FaultScript = NO_FAULTS, seed: int = 0) -> None:
        self.seed = seed
        self._bad: dict[tuple[str, str, tuple[int, ...]], float] = {}
        for b in faults.bad_versions:
            key = (b.publisher, b.type, parse_version(b.version))
            self._bad[key] = max(self._bad.get(key, 0.0), b.fail_rate)
        self._fails: dict[tuple[str, str], int | None] = {}
        for f in faults.vm_failures:
            prev = self._fails.get((f.vm, f.extension), 0)
            self._fails[(f.vm, f.extension)] = None if prev is None or f.attempts is None else max(prev, f.attempts)
        self._slow: dict[str, int] = {}
        for s in faults.slow_installs:
            self._slow[s.vm] = max(self._slow.get(s.vm, 0), _seconds(s.minutes))
        windows: dict[str, list[tuple[int, int]]] = {}
        for vm in fleet.vms:
            if not vm.healthy:
                windows[vm.name] = [(0, FOREVER)]
        for m in faults.maintenance:
            start = round(m.at_minutes * 60)
            end = start + _seconds(m.minutes)
            for name in m.vms:
                windows.setdefault(name, []).append((start, end))
        self._windows = {vm: tuple(_merge(ws)) for vm, ws in windows.items()}
        # Successful install results by duration: immutable, so shared (building one costs more than the lookup).
        self._ok = [InstallResult(s, True) for s in range(NOMINAL_INSTALL_SECONDS + INSTALL_JITTER_SECONDS)]

    @property
    def nominal_install_seconds(self) -> int:
        return NOMINAL_INSTALL_SECONDS

    def install(self, task: TaskRef, attempt: int, at: int) -> InstallResult:
        seconds = self._install_seconds(task, attempt)
        if self._fails:
            key = (task.vm, task.extension)
            if key in self._fails:
                limit = self._fails[key]
                if limit is None or attempt <= limit:
                    return InstallResult(seconds, False, "install error (fault script: vm_failures)")
        return self._ok[seconds] if 0 <= seconds < len(self._ok) else InstallResult(seconds, True)

    def watch_health(self, task: TaskRef, attempt: int, since: int, wait: int) -> int | None:
        rate = self._bad.get((task.publisher, task.type, parse_version(task.to_version))) if self._bad else None
        if rate is not None and keyed_unit(self.seed, task.vm, task.extension, task.to_version, attempt, "health") < rate:
            return None
        t = since
        for start, end in self._windows.get(task.vm, ()):
            if start <= t < end:
                t = end
        return t - since if t - since <= wait else None

    def reinstall_previous(self, task: TaskRef, attempt: int, at: int) -> int:
        return self._slow.get(task.vm, NOMINAL_INSTALL_SECONDS)

    def fastest_install_seconds(self, vm: str) -> int:
        """A slow VM's installs take its fixed time; any other's the nominal time plus a jitter of 0 or more."""
        return self._slow.get(vm, NOMINAL_INSTALL_SECONDS)

    def outside_unhealthy(self, vm: str) -> tuple[tuple[int, int], ...]:
        return self._windows.get(vm, ())

    def _install_seconds(self, task: TaskRef, attempt: int) -> int:
        if self._slow:
            slow = self._slow.get(task.vm)
            if slow is not None:
                return slow
        # keyed_unit(seed, vm, extension, to_version, attempt, "install"), its key joined in one f-string
        u = _unit(f"{self.seed}|{task.vm}|{task.extension}|{task.to_version}|{attempt}|install")
        return NOMINAL_INSTALL_SECONDS + int(u * INSTALL_JITTER_SECONDS)


def _merge(windows: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted, non-overlapping windows (touching ones joined)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out

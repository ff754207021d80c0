"""The interface every runtime monitor implements, and the index of the fleet they all read.

A runtime monitor re-checks one kind of rule or gate while the executor runs (``capacity.py`` for ``Capacity``,
``precheck.py`` for ``PrecheckGate`` ...): a subclass of :class:`KindMonitor` naming the IR type it reads, built once
per run with the policy's items of that kind, told of each state change through the hooks of :class:`RunMonitor`
(each raising ``MonitorBreach`` on a broken invariant).  ``engine.run.monitors.MONITORS`` maps each IR type to its
monitor; :class:`~engine.run.monitors.monitor.Monitor` runs them together behind the API the executor calls.

Monitors recompute from the policy and the fleet (never through ``engine.run.gates``, nor the executor's own
indexes), so a broken gate or a broken executor cannot hide itself.  VMs are named by their index in ``fleet.vms``;
:class:`FleetIndex` reads every field the monitors need in one pass over the fleet (a field read of a VM model is a
cache miss at a million VMs), so the hot path reads compact lists by VM index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from dsl.diagnostics import Span
from dsl.policy import Predicate
from engine.model.errors import MonitorBreach
from engine.model.fleet import VM, Extension, Fleet
from engine.model.schedule import Schedule
from engine.run.reading import GroupKey, KeyGetter, RunReading, key_getter, value_getter

# (scope, group key, its VM names, time) -> how many of them are unhealthy then (the executor's health view).
UnhealthyCount = Callable[[str, GroupKey, Sequence[str], int], int]
# The extensions being upgraded on each VM of a batch (None: not asked for, no monitor reads them).
Scheduled = Sequence[Sequence[Extension]] | None
K = TypeVar("K")


def breach(message: str) -> MonitorBreach:
    return MonitorBreach(f"monitor: {message}")


def where_text(rule: object) -> str:
    """`` (spec.wg:12:1)`` for a rule with a source span, else ''."""
    span = getattr(rule, "span", None)
    return f" ({span.render()})" if isinstance(span, Span) else ""


class FleetIndex:
    """The fleet by VM index: names, regions, each VM's group key per scope (one shared tuple per group, so comparing
    keys is an identity check), each VM's counted value per scope as a small int (equal values, equal ints; None
    counts for nothing), group members, and one signature per VM (VMs with equal signatures share their region and
    every indexed group, so a batch of one set is grouped once, not per rule)."""

    def __init__(self, fleet: Fleet, key_scopes: Iterable[str], value_scopes: Iterable[str]) -> None:
        self.fleet = fleet
        self.vms = fleet.vms
        self.reading = RunReading(fleet)
        self._keys: dict[str, list[GroupKey | None]] = {}
        self._members: dict[tuple[str, GroupKey], list[str]] = {}
        self._membered: set[str] = set()
        self.signed = frozenset(key_scopes)  # the scopes a signature covers
        self.signature: list[int] = []
        self.names, self.regions, self._values = self._index(sorted(self.signed), sorted(set(value_scopes)))

    def _index(self, key_scopes: list[str], value_scopes: list[str]
               ) -> tuple[list[str], list[str], dict[str, list[int | None]]]:
        fleet = self.fleet
        keyed: list[tuple[KeyGetter, dict[GroupKey, GroupKey], list[GroupKey | None]]] = [
            (key_getter(scope, fleet), {}, self._keys.setdefault(scope, [])) for scope in key_scopes]
        valued: list[tuple[KeyGetter, dict[GroupKey, int], list[int | None]]] = [
            (value_getter(scope, fleet), {}, []) for scope in value_scopes]
        names: list[str] = []
        regions: list[str] = []
        signatures: dict[tuple[Any, ...], int] = {}
        sig = self.signature
        for vm in self.vms:
            names.append(vm.name)
            regions.append(vm.region)
            row: list[Any] = [vm.region]
            for get, shared, out in keyed:
                k = get(vm)
                out.append(k := None if k is None else shared.setdefault(k, k))
                row.append(k)
            sig.append(signatures.setdefault(tuple(row), len(signatures)))
            for count, ids, counted in valued:
                v = count(vm)
                counted.append(None if v is None else ids.setdefault(v, len(ids)))
        return names, regions, {scope: counted for scope, (_, _, counted) in zip(value_scopes, valued, strict=True)}

    def keys_of(self, scope: str) -> list[GroupKey | None]:
        """Each VM's group key in ``scope``, by VM index (indexed on first use for a scope not signed)."""
        keys = self._keys.get(scope)
        if keys is None:
            get = key_getter(scope, self.fleet)
            shared: dict[GroupKey, GroupKey] = {}
            keys = self._keys[scope] = [None if (k := get(vm)) is None else shared.setdefault(k, k) for vm in self.vms]
        return keys

    def values_of(self, scope: str) -> list[int | None]:
        """Each VM's counted value in ``scope`` as a small int, by VM index (a scope asked for at construction)."""
        return self._values[scope]

    def members(self, scope: str, key: GroupKey) -> list[str]:
        """The names of the VMs of a group, in fleet order (all of them, scheduled or not)."""
        found = self._members.get((scope, key))
        if found is None:
            if scope not in self._membered:
                self.index_members(scope)
            found = self._members.setdefault((scope, key), [])
        return found

    def index_members(self, scope: str) -> None:
        by_key: dict[GroupKey, list[str]] = defaultdict(list)
        names = self.names
        for i, k in enumerate(self.keys_of(scope)):
            if k is not None:
                by_key[k].append(names[i])
        for k, found in by_key.items():
            self._members.setdefault((scope, k), found)
        self._membered.add(scope)

    def matching(self, where: Predicate, vms: Sequence[int], scheduled: Scheduled) -> list[int]:
        """The VMs of a batch that a rule's ``where`` selects, given the extensions being upgraded on each."""
        if scheduled is None:
            raise ValueError("on_batch_start needs the scheduled extensions for a rule with a where clause")
        every = self.vms
        return [v for v, exts in zip(vms, scheduled, strict=True) if self.reading.matches_scheduled(where, every[v], exts)]

    def matches_for_size(self, where: Predicate, vm: VM) -> bool:
        return self.reading.matches_for_size(where, vm)


def distinct_keys(keys: list[GroupKey | None], vms: Sequence[int], uniform: bool) -> list[GroupKey]:
    """The groups of ``vms`` in a fixed order (by repr); a batch is mostly one set: one key, no sorting.
    ``uniform``: the VMs are known to share every key."""
    first = keys[vms[0]]
    if uniform or all(keys[v] is first for v in vms):  # one key: keys of a group are one shared tuple
        return [] if first is None else [first]
    found = {k for v in vms if (k := keys[v]) is not None}
    return sorted(found, key=repr)


def by_key(keys: list[GroupKey | None], vms: Sequence[int], uniform: bool) -> list[tuple[GroupKey, Sequence[int]]]:
    """``vms`` by group key, groups in first-seen order, VMs without a key left out; a batch is mostly one set, so
    first the one-key case without a dict.  ``uniform``: the VMs are known to share every key."""
    if not vms:
        return []
    first = keys[vms[0]]
    if first is not None and (uniform or all(keys[v] is first for v in vms)):
        return [(first, vms)]
    out: dict[GroupKey, list[int]] = {}
    for v in vms:
        key = keys[v]
        if key is not None:
            found = out.get(key)
            if found is None:
                out[key] = [v]
            else:
                found.append(v)
    return list(out.items())


@dataclass(frozen=True)
class RunContext:
    """What a monitor is built from: the fleet's index, the executor's health view (read, never trusted for a
    decision the monitor re-makes: it only counts unhealthy VMs), and the schedule being run."""

    index: FleetIndex
    unhealthy_count: UnhealthyCount
    schedule: Schedule | None = None


@dataclass(frozen=True)
class IndexScopes:
    """The scopes a monitor reads by VM index: group keys (signed: a batch uniform in its signature is one group of
    each) and counted values."""

    keys: Collection[str] = field(default_factory=frozenset)
    values: Collection[str] = field(default_factory=frozenset)


class RunMonitor:
    """The hooks the executor's state changes reach; each does nothing by default, and the :class:`Monitor` calls
    only the hooks a monitor overrides (the hot path pays for no empty call)."""

    needs_extensions: bool = False  # on_batch_start reads the extensions being upgraded (a ``where`` on them)
    tracks_successes: bool = False  # on_succeeded must be called

    def new_wave(self) -> None:
        """A new executed wave starts: counts kept per wave start afresh."""

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str, scheduled: Scheduled,
                       uniform: bool) -> None:
        """A batch of ``vms`` (VM indexes, not empty) starts in executed wave ``wave`` at ``time``; ``uniform``: all
        its VMs have one signature."""

    def on_batch_end(self, upgraded: Sequence[int], turned: Sequence[int]) -> None:
        """A batch ended: ``upgraded`` got a new version installed, ``turned`` were healthy before and not after."""

    def on_halt(self, scope: str, key: GroupKey) -> None:
        """The executor halted (blocked or stopped) a group."""

    def on_install(self, vm: str, extension: str, from_version: str, to_version: str) -> None:
        """An install starts on ``vm``."""

    def on_succeeded(self, vm: str, extension: str) -> None:
        """A task succeeded (installed and healthy) on ``vm``."""

    def on_wave(self, finished: bool, wave: int, phase: int, time: int, retry: bool) -> None:
        """An executed wave (of schedule wave ``wave``) started or ``finished`` at ``time``."""


class KindMonitor(RunMonitor, Generic[K]):
    """The runtime monitor of one IR kind (``kind``), built once per run with the policy's items of that kind."""

    kind: ClassVar[type]

    def __init__(self, items: Sequence[K], run: RunContext) -> None:
        self.items: tuple[K, ...] = tuple(items)
        self.run = run
        self.index = run.index

    @classmethod
    def scopes(cls, items: Sequence[K]) -> IndexScopes:
        """The scopes the monitor reads by VM index for these items (indexed together in one pass)."""
        return IndexScopes()

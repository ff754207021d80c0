"""The executor: carries a schedule out against a fleet (through a :class:`~engine.run.driver.Driver`) on a virtual clock,
under the checked policy's gates, and explains every halt.

A discrete-event loop: executed waves run one after another (the schedule's waves in order, with waves of due
retries in between); inside a wave the batches (the tasks of one scale set, availability set or single VM) run
concurrently, a heap ordering batch starts and ends in virtual time (ends first on ties, so a stop takes effect before
a start at the same instant).  At a batch start the precheck gates decide; the batch's installs, health watches and
rollbacks are then computed per VM (each VM's tasks one after another, each extension on its own, in the order of
the policy's extension order rules, ``engine.run.ordering``: a task that must follow one that did not succeed is
held); at the batch end the stop gates decide and failed tasks get their retries.  Every decision goes through
``engine.run.gates`` (``gates`` may be replaced to test the monitors), every state change through
``engine.run.monitors``, every decision into the journal before it is acted on.  The state machine is documented in
docs/executor.md.
"""

from __future__ import annotations

import gc
import heapq
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.limits import RETRIES
from dsl.policy import (
    ExtensionOrder,
    HealthWaitGate,
    PauseGate,
    PhaseGate,
    Policy,
    PrecheckGate,
    RetryGate,
    StopUnhealthyGate,
    StopUpgradedGate,
)
from dsl.versions import is_version, parse_version
from engine.model.bounds import capped
from engine.model.calendar import format_instant
from engine.model.errors import InputError
from engine.model.fleet import VM, Extension, Fleet
from engine.model.schedule import Schedule
from engine.model.scopes import group_label
from engine.run.calendar import RunCalendar, Wait
from engine.run.driver import FOREVER, Driver, InstallResult, TaskRef
from engine.run.events import EventSink, event_line, minutes
from engine.run.gates import REAL_GATES, GateFns, percent_text, repairs_needed, unblocking_cap
from engine.run.journal import Journal
from engine.run.monitors import Monitor
from engine.run.ordering import TaskOrder
from engine.run.reading import key_getter

GroupKey = tuple[Any, ...]
Group = tuple[str, GroupKey]  # (scope, key)
# A started batch: unit, task ids, wave, phase, and its gate groups (None: not computed yet).
Started = tuple[str, list[int], int, int, "list[Group] | None"]

# Task states (see docs/executor.md).
PENDING = "pending"
SUCCEEDED = "succeeded"
RETRY = "retry_pending"
FAILED = "failed"
BLOCKED = "blocked"
STOPPED = "stopped"
REFUSED = "refused"
KEPT = "kept_unhealthy"
INELIGIBLE = "unhealthy_vm"  # never installed: the VM was unhealthy at every attempt
HELD = "held_by_order"  # never installed: an extension it must follow on its VM did not succeed (ExtensionOrder)
SHOWN = 5  # how many VM names a message lists before "and N more"

_encode = json.JSONEncoder(ensure_ascii=False).encode


def _by_extension(task: Task) -> str:
    return task.ref.extension


def _by_name(task: Task) -> str:
    return task.name


def _by_index(task: Task) -> int:
    return task.index


def _longest_chain(vms: list[str], fastest: Callable[[str], int]) -> int:
    """How long the longest of one VM's chains of tasks in a wave (``vms``: each task's VM) takes at the driver's
    fastest installs: a VM's tasks in a batch run one after another."""
    if not vms:
        return 0
    counts = Counter(vms)
    if len(counts) == len(vms):
        return max(map(fastest, vms))
    return max(k * fastest(vm) for vm, k in counts.items())


def _sorted_groups(groups: set[Group]) -> list[Group]:
    """Groups in a fixed order (by repr); one group needs no sorting (the common case: a batch is one set)."""
    return sorted(groups, key=repr) if len(groups) > 1 else list(groups)
_string = json.encoder.encode_basestring  # the C string encoder json itself uses

_NO_PEAK: tuple[int, list[str]] = (0, [])  # a group with no unhealthy VM in a span (shared: never mutated)
_LOW32 = (1 << 32) - 1
# Heap entry kinds: batch ends sort before batch starts at the same instant.
_END, _START = 0, 1


class Task:
    __slots__ = ("attempts", "deferred", "due", "ext", "failure", "groups", "groups_sorted", "index", "name", "phase",
                 "ref", "rollbacks", "state", "tail", "unit", "unit_kind", "version", "vid", "wave")

    def __init__(self, index: int, ref: TaskRef, vm: VM, vid: int, ext: Extension, wave: int, phase: int) -> None:
        self.index = index
        self.ref = ref
        self.vid = vid  # the VM's index in fleet.vms (the monitor's name for it)
        # Plain copies of what the hot loop reads: each field read of a VM model costs a cache miss.
        self.name = ref.vm
        scale_set, availability_set = vm.scale_set, vm.availability_set
        self.unit = scale_set or availability_set or ref.vm  # its batch: the VM's set, or the VM alone
        self.unit_kind = "scale_set" if scale_set else ("availability_set" if availability_set else "vm")
        self.ext = ext
        self.wave = wave
        self.phase = phase
        self.state = PENDING
        self.attempts = 0  # attempts made
        self.rollbacks = 0
        self.deferred = False  # the last attempt found the VM unhealthy and did not install
        self.failure = ""  # how the last failed attempt failed (for the tasks that wait for this one)
        self.due = 0  # when its pending retry is due
        self.version = ref.from_version  # installed now
        self.groups: tuple[Group, ...] = ()  # its VM's gate groups (filled in with the executor's indexes)
        self.groups_sorted: list[Group] = []  # the same, sorted by repr (shared by every VM with these groups)
        # The fixed tail of this task's event lines: vm, extension, versions, pre-encoded once.
        self.tail = (f', "vm": {_string(ref.vm)}, "extension": {_string(ref.extension)}, '
                     f'"from_version": {_string(ref.from_version)}, "to_version": {_string(ref.to_version)}')


@dataclass
class Halt:
    """A blocked or stopped group: the rule, why, and what would unblock it."""

    kind: str  # "blocked" | "stopped"
    scope: str
    key: GroupKey
    group: str
    rule: str
    time: int
    why: str
    unblock: str
    detail: dict[str, Any]


@dataclass(slots=True)
class Batch:
    """The tasks of one set (or single VM) in one executed wave."""

    unit: str
    wave: int
    phase: int
    start: int
    ids: list[int]
    vms: list[str]  # sorted
    queues: list[list[Task]]  # per VM (same order), its tasks sorted by extension
    groups: list[Group]  # the gate groups its VMs belong to, sorted
    end: int = 0
    upgraded: dict[str, Task] = field(default_factory=dict)  # VMs with an install that succeeded (a task of each)
    turned: dict[str, Task] = field(default_factory=dict)  # VMs healthy before an install and unhealthy after it
    failed: list[Task] = field(default_factory=list)
    succeeded: int = 0  # its tasks that succeeded (set once, in the batch, never undone)
    held: list[Task] | None = None  # tasks not attempted: an extension they must follow did not succeed


@dataclass
class RunResult:
    outcome: str  # "completed" | "halted"
    duration: int  # virtual seconds
    # The shortest this schedule can take (virtual seconds): per wave, its longest chain of one VM's tasks, each
    # install at the driver's fastest, healthy at once; a run that upgrades every task never takes less.
    ideal: int
    nominal_install: int
    health_wait: int
    waves: int
    tasks: int
    states: dict[str, int]
    rolled_back: int
    retried: int
    skipped: dict[str, int]
    halts: list[Halt]
    held: dict[str, Any] | None
    events: int
    task_events: int
    versions: dict[tuple[str, str], str] = field(repr=False)
    healthy: dict[str, bool] = field(repr=False)

    @property
    def exit_code(self) -> int:
        return 0 if self.outcome == "completed" else 3


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def _outcome(task: Task) -> str:
    """What became of a task that another one waits for, as the end of a sentence."""
    if task.state in (PENDING, RETRY):
        return task.failure if task.attempts else "has not run yet"
    return {REFUSED: "was refused (crosses a major version)", KEPT: "was kept unhealthy after its health wait",
            FAILED: f"failed (its last attempt {task.failure or 'did not run'})",
            INELIGIBLE: "never found the VM healthy", HELD: "waits for another extension that did not succeed"
            }.get(task.state, f"is {task.state}")


def _rule_ref(rule: PrecheckGate | StopUpgradedGate | StopUnhealthyGate) -> str:
    return f"rule {rule.name} ({rule.span.render()})"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: the executor allocates millions of small acyclic objects, and each collection would
    rescan the whole fleet (a third of the run's time); restored on exit."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            # Everything allocated meanwhile sits in the youngest generation: the first collection after enable()
            # would scan all of it (seconds at a million VMs).  Move it to the oldest generation unscanned instead.
            if gc.get_freeze_count() == 0:  # never unfreeze what someone else froze
                gc.freeze()
                gc.unfreeze()
            gc.enable()


class Executor:
    def __init__(
        self,
        policy: Policy,
        fleet: Fleet,
        schedule: Schedule,
        driver: Driver,
        sink: EventSink,
        *,
        max_retries: int | None = None,
        journal: Journal | None = None,
        gates: GateFns = REAL_GATES,
    ) -> None:
        self.policy = policy
        self.fleet = fleet
        self.schedule = schedule
        self.driver = driver
        self.sink = sink
        self.journal = journal
        self.gates = gates
        self.max_retries = max_retries
        self.prechecks = [g for g in policy.gates if isinstance(g, PrecheckGate)]
        self.stop_upgraded = [g for g in policy.gates if isinstance(g, StopUpgradedGate)]
        self.stop_unhealthy = [g for g in policy.gates if isinstance(g, StopUnhealthyGate)]
        self.pauses = [g for g in policy.gates if isinstance(g, PauseGate) and g.pause.seconds > 0]
        waits = [g for g in policy.gates if isinstance(g, HealthWaitGate)]
        self.health_gate: HealthWaitGate | None = waits[0] if waits else None
        retries = [g for g in policy.gates if isinstance(g, RetryGate)]
        self.retry_gate: RetryGate | None = retries[0] if retries else None
        self.phase_gate = next((g for g in policy.gates if isinstance(g, PhaseGate)), None)
        self.allow_major = policy.versions.allow_major
        # The calendar (time rules); None without them, so a run without time rules is what it was.
        self.calendar = RunCalendar(policy, fleet, schedule) if policy.times else None

        with gc_paused():  # building indexes over the fleet allocates as much as the run itself
            # Gate groups: every VM's group per gate scope, group members (sizes count every VM of the group).
            self.stop_scopes = {g.of for g in self.stop_upgraded} | {g.of for g in self.stop_unhealthy}
            self.scopes = sorted({g.of for g in self.prechecks} | self.stop_scopes | {g.of for g in self.pauses})
            self.members: dict[Group, list[str]] = defaultdict(list)
            self.vm_groups: dict[str, tuple[Group, ...]] = {}
            getters = [(scope, key_getter(scope, fleet)) for scope in self.scopes]
            # One tuple per distinct group list, so a batch whose VMs share theirs is recognised by identity.
            shared: dict[tuple[Group, ...], tuple[Group, ...]] = {}
            vid: dict[str, int] = {}  # each VM's index in fleet.vms (the monitor's name for it)
            # Health: windows outside the rollout (driver) and windows the rollout caused (rollback or kept unhealthy).
            self.outside: dict[str, tuple[tuple[int, int], ...]] = {}
            self.dynamic: dict[Group, set[str]] = defaultdict(set)  # VMs of the group with any unhealthy window
            self.ever_unhealthy: set[str] = set()  # VMs with any unhealthy window: the only ones worth a look
            for vm in fleet.vms:  # one pass: a VM model's fields are a cache miss away
                name = vm.name
                vid[name] = len(vid)
                gs: list[Group] = []
                for scope, get in getters:
                    key = get(vm)
                    if key is not None:
                        gs.append((scope, key))
                        self.members[(scope, key)].append(name)
                tgs = tuple(gs)
                tgs = shared.setdefault(tgs, tgs)
                self.vm_groups[name] = tgs
                ws = driver.outside_unhealthy(name)
                if ws:
                    self.outside[name] = ws
                    self.ever_unhealthy.add(name)
                    for g in tgs:
                        self.dynamic[g].add(name)
            in_order = {id(gs): _sorted_groups(set(gs)) for gs in shared.values()}
            vms = fleet.vm_by_name
            texts: dict[str, str] = {}
            self.tasks: list[Task] = []
            self.tasks_by_vm: dict[str, list[Task]] = defaultdict(list)
            self.wave_tasks: dict[int, list[int]] = {}
            self.phase_tasks: dict[int, list[Task]] = defaultdict(list)  # in task order
            self.ideal = 0
            for w in schedule.waves:
                ids: list[int] = []
                names: list[str] = []
                for t in w.tasks:
                    vm = vms[t.vm]
                    ext = next(e for e in vm.extensions if e.name == t.extension)
                    # A rollout has few distinct extension names and versions: one string object each stays in cache.
                    ref = TaskRef(t.vm, texts.setdefault(t.extension, t.extension), ext.publisher, ext.type,
                                  texts.setdefault(t.from_version, t.from_version),
                                  texts.setdefault(t.to_version, t.to_version))
                    task = Task(len(self.tasks), ref, vm, vid[t.vm], ext, w.index, w.phase)
                    self.tasks.append(task)
                    task.groups = self.vm_groups[t.vm]
                    task.groups_sorted = in_order[id(task.groups)]
                    self.tasks_by_vm[t.vm].append(task)
                    ids.append(task.index)
                    names.append(t.vm)
                self.ideal += _longest_chain(names, driver.fastest_install_seconds)
                self.wave_tasks[w.index] = ids
                self.phase_tasks[w.phase].extend(self.tasks[i] for i in ids)
            # Tasks of each phase that may still hold a later phase (pruned as they succeed: a success is final).
            self.phase_open = {phase: list(ts) for phase, ts in self.phase_tasks.items()}
            # Extension order: each VM's tasks' rank in its batch order, and the tasks each one must follow (with
            # the rule); both empty without an ExtensionOrder rule (the order is then by extension name).
            self.rank: dict[int, int] = {}
            self.after: dict[int, list[tuple[Task, ExtensionOrder]]] = {}
            order_rules = [r for r in policy.rules if isinstance(r, ExtensionOrder)]
            if order_rules:
                self._order_tasks(TaskOrder(order_rules))
            self._queue_key: Callable[[Task], Any] = self.order_key if self.rank else _by_extension

            self.induced: dict[str, list[tuple[int, int]]] = defaultdict(list)
            self.upgraded: dict[Group, set[str]] = defaultdict(set)
            self.upgraded_unhealthy: dict[Group, set[str]] = defaultdict(set)
            self.halted: dict[Group, Halt] = {}
            self.last_end: dict[Group, int] = {}
            self.retry_queue: list[tuple[int, int, int]] = []  # (due, origin wave, task index)
            self.now = 0
            self.exec_waves = 0
            # Event lines of the current wave and their sort keys (virtual second << 32 | emission index): sorted
            # and written per wave; ties keep emission order.
            self._keys: list[int] = []
            self._lines: list[str] = []
            self._when: dict[int, str] = {}  # virtual second -> its minutes as event text
            self._labels: dict[Group, str] = {}
            self.events = 0
            self.task_events = 0
            self.monitor = Monitor(policy, fleet, self.unhealthy_count, schedule)
            # batch_started checks: (scope, rule name, cap as JSON) per precheck and stop-upgraded gate, in order.
            start_gates: list[PrecheckGate | StopUpgradedGate] = [*self.prechecks, *self.stop_upgraded]
            self._start_gates = [(gate.of, gate.name, _string(str(gate.cap))) for gate in start_gates]
            self._check_prefixes: dict[tuple[int, Group], tuple[str, str]] = {}
            self._finish_prefixes: dict[Group, str] = {}

    # -- health --------------------------------------------------------------------------------------------------

    def vm_unhealthy_at(self, name: str, t: int) -> bool:
        if name not in self.ever_unhealthy:
            return False
        for a, b in self.outside.get(name, ()):
            if a <= t < b:
                return True
        return any(a <= t < b for a, b in self.induced.get(name, ()))

    def unhealthy_count(self, scope: str, key: GroupKey, names: Sequence[str], t: int) -> int:
        """How many of ``names`` (the group ``(scope, key)``) are unhealthy at ``t``; for the monitors."""
        if not self.ever_unhealthy:
            return 0
        known = self.dynamic.get((scope, key)) if scope in self.scopes else None
        candidates = known if known is not None else self.ever_unhealthy.intersection(names)
        return sum(1 for n in candidates if self.vm_unhealthy_at(n, t))

    def group_unhealthy_at(self, g: Group, t: int) -> list[str]:
        names = self.dynamic.get(g)
        if not names:
            return []
        return sorted(n for n in names if self.vm_unhealthy_at(n, t))

    def group_max_unhealthy(self, g: Group, start: int, end: int) -> tuple[int, list[str]]:
        """Most VMs of the group unhealthy at one instant in [start, end], and every VM unhealthy in that span."""
        names = self.dynamic.get(g)
        if not names:
            return 0, []
        points: list[tuple[int, int]] = []
        seen: list[str] = []
        for n in sorted(names):
            ws = sorted(w for w in (*self.outside.get(n, ()), *self.induced.get(n, ())) if w[0] <= end and w[1] > start)
            if not ws:
                continue
            seen.append(n)
            merged: list[tuple[int, int]] = []
            for a, b in ws:
                if merged and a <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], b))
                else:
                    merged.append((a, b))
            for a, b in merged:
                points.append((max(a, start), 1))
                points.append((b, -1))
        best = cur = 0
        for _, d in sorted(points):  # -1 sorts before +1 at one instant: windows are half-open
            cur += d
            best = max(best, cur)
        return best, seen

    # -- events --------------------------------------------------------------------------------------------------

    def emit(self, t: int, line: str) -> None:
        keys = self._keys
        keys.append(t << 32 | len(keys))
        self._lines.append(line)

    def emit_task(self, t: int, kind: str, task: Task, detail: dict[str, Any] | None = None) -> None:
        when = self._when.get(t)
        if when is None:
            when = self._when[t] = repr(minutes(t))
        if detail is None:
            line = f'{{"time": {when}, "event": "{kind}"{task.tail}}}'
        else:
            line = f'{{"time": {when}, "event": "{kind}"{task.tail}, "detail": {_encode(detail)}}}'
        keys = self._keys
        keys.append(t << 32 | len(keys))
        self._lines.append(line)
        self.task_events += 1

    def flush(self) -> None:
        keys, lines = self._keys, self._lines
        keys.sort()  # the low 32 bits of a key are its line's index: ints sort in C without a key function
        self.sink.write([lines[k & _LOW32] for k in keys])
        self.events += len(lines)
        keys.clear()
        lines.clear()

    # -- groups and halts ----------------------------------------------------------------------------------------

    def label(self, g: Group) -> str:
        text = self._labels.get(g)
        if text is None:
            text = self._labels[g] = group_label(*g)
        return text

    def halted_task(self, task: Task) -> Halt | None:
        if not self.halted:
            return None
        for g in task.groups:
            h = self.halted.get(g)
            if h is not None:
                return h
        return None

    def halt(self, h: Halt) -> None:
        g = (h.scope, h.key)
        self.halted[g] = h
        self.monitor.on_halt(h.scope, h.key)
        state = BLOCKED if h.kind == "blocked" else STOPPED
        for name in self.members[g]:
            for task in self.tasks_by_vm.get(name, ()):
                if task.state in (PENDING, RETRY):
                    task.state = state
        self.emit(h.time, event_line(h.time, "set_blocked" if h.kind == "blocked" else "set_stopped",
                                     rule=h.rule, detail=h.detail))

    def _precheck(self, gate: PrecheckGate, g: Group, t: int) -> Halt | None:
        size = len(self.members[g])
        bad = self.group_unhealthy_at(g, t)
        if self.gates.may_start_batch(size, len(bad), gate):
            return None
        need = unblocking_cap(len(bad), size)
        k = repairs_needed(len(bad), size, gate.cap)
        label = self.label(g)
        why = (f"{len(bad)} of {size} VMs of {label} are unhealthy ({percent_text(need)}), more than the "
               f"{gate.cap} cap of {_rule_ref(gate)}")
        fix = f"repair {_names(bad)}" if k == len(bad) else f"repair {k} of {_names(bad)}"
        unblock = (f"{fix}, or raise the unhealthy cap of {_rule_ref(gate)} to at least "
                   f"{percent_text(need)}")
        detail = {"group": label, "scope": g[0], "set_size": size, "unhealthy": len(bad), "cap": str(gate.cap),
                  "unhealthy_vms": bad[:50], "why": why, "unblock": unblock}
        return Halt("blocked", g[0], g[1], label, gate.name, t, why, unblock, detail)

    # -- batches -------------------------------------------------------------------------------------------------

    def start_batches(self, t: int, starts: list[tuple[str, list[int], int, int]]) -> list[Started]:
        """Precheck and start the batches due at ``t``; returns the started ones (unit, task ids, wave, phase, and
        their gate groups when known)."""
        started: list[Started] = []
        halts: list[list[Any]] = []
        tasks = self.tasks
        halted = self.halted
        prechecks = self.prechecks
        for unit, ids, wave, phase in starts:
            live = [i for i in ids if tasks[i].state in (PENDING, RETRY)]
            if not live:
                continue
            touched: list[Group] | None = None
            if prechecks:
                touched = self._batch_groups([tasks[i] for i in live])
                for gate in prechecks:
                    for g in touched:
                        if g[0] != gate.of or g in halted:
                            continue
                        h = self._precheck(gate, g, t)
                        if h is not None:
                            self.halt(h)
                            halts.append([h.rule, repr(g)])
            if halted:  # else no state changed since the first filter, and no task is in a halted group
                kept = [i for i in live if tasks[i].state in (PENDING, RETRY) and self.halted_task(tasks[i]) is None]
                if len(kept) != len(live):
                    live, touched = kept, None
            if live:
                started.append((unit, live, wave, phase, touched))
        if self.journal is not None:
            self.journal.decide("start", [t, [[u, ids] for u, ids, *_ in started], halts])
        return started

    def run_batches(self, t: int, started: list[Started]) -> list[tuple[int, Batch]]:
        """Install, watch and roll back the tasks of the batches started at ``t``; returns (end time, batch) each."""
        queues: list[tuple[Batch, list[Task]]] = []
        batches: list[Batch] = []
        tasks = self.tasks
        on_batch_start = self.monitor.on_batch_start
        scheduled_exts = self.monitor.needs_extensions
        exec_wave = self.exec_waves
        for unit, ids, wave, phase, known_groups in started:
            batch_tasks = [tasks[i] for i in ids]
            names = [task.name for task in batch_tasks]
            vms = sorted(set(names))
            if len(vms) == len(names):  # one task per VM (one extension due): no grouping
                per_vm = [[task] for task in sorted(batch_tasks, key=_by_name)] if len(names) > 1 else [batch_tasks]
            else:
                by_vm: dict[str, list[Task]] = {}
                for task in batch_tasks:
                    by_vm.setdefault(task.name, []).append(task)
                per_vm = [q if len(q) == 1 else sorted(q, key=self._queue_key) for q in (by_vm[n] for n in vms)]
            groups = known_groups if known_groups is not None else self._batch_groups(batch_tasks)
            batch = Batch(unit, wave, phase, t, ids, vms, per_vm, groups, end=t)
            batches.append(batch)
            on_batch_start(exec_wave, phase, t, [q[0].vid for q in per_vm], unit,
                           [[x.ext for x in q] for q in per_vm] if scheduled_exts else None)
            self.emit(t, self._batch_started_line(batch, t))
            queues.extend((batch, q) for q in per_vm)
        clock = [t] * len(queues)
        wait = self.health_gate.wait.seconds if self.health_gate is not None else 0
        install_allowed = self.gates.install_allowed
        allow_major = self.allow_major
        ever_unhealthy = self.ever_unhealthy
        on_install = self.monitor.install_check
        on_succeeded = self.monitor.on_succeeded if self.monitor.tracks_successes else None
        after = self.after
        emit_task = self.emit_task
        rounds = max((len(queue) for _, queue in queues), default=0)  # a VM's tasks run one per round
        for rnd in range(rounds):
            current = [(q, queue[rnd]) for q, (_, queue) in enumerate(queues) if rnd < len(queue)]
            installs: list[tuple[int, Task]] = []
            for q, task in current:
                ref = task.ref
                if after and task.index in after and self._hold(task, clock[q], queues[q][0]):
                    continue
                if not install_allowed(ref.from_version, ref.to_version, allow_major):
                    task.state = REFUSED
                    self.emit_task(clock[q], "install_refused", task, {
                        "reason": f"{task.ref.from_version} -> {task.ref.to_version} crosses a major version",
                        "unblock": "upgrade majors by hand (set the version yourself); automatic upgrades never do"})
                    continue
                task.attempts += 1
                if ever_unhealthy and ref.vm in ever_unhealthy and self.vm_unhealthy_at(ref.vm, clock[q]):
                    # An unhealthy VM is not eligible: no install now, retried like a failure, never holds a phase.
                    task.deferred = True
                    task.failure = "was deferred (the VM was unhealthy)"
                    queues[q][0].failed.append(task)
                    self.emit_task(clock[q], "install_deferred", task, {
                        "reason": "the VM is unhealthy (for reasons outside the rollout) when its turn comes",
                        "attempt": task.attempts})
                    continue
                task.deferred = False
                on_install(ref.vm, ref.extension, ref.from_version, ref.to_version)
                emit_task(clock[q], "install_started", task, {"attempt": task.attempts} if task.attempts > 1 else None)
                installs.append((q, task))
            if not installs:
                continue
            results = self._act_install(installs, clock)
            watch: list[tuple[int, Task]] = []
            for (q, task), res in zip(installs, results, strict=True):
                clock[q] += res.seconds
                batch = queues[q][0]
                if not res.ok:
                    self.emit_task(clock[q], "install_failed", task, {"reason": res.reason, "attempt": task.attempts})
                    task.failure = "failed to install"
                    batch.failed.append(task)
                    continue
                task.version = task.ref.to_version
                batch.upgraded[task.ref.vm] = task
                emit_task(clock[q], "install_succeeded", task)
                watch.append((q, task))
            if not watch:
                continue
            if self.health_gate is None:
                for q, task in watch:
                    task.state = SUCCEEDED
                    queues[q][0].succeeded += 1
                    if on_succeeded is not None:
                        on_succeeded(task.ref.vm, task.ref.extension)
                continue
            seen = self._act_health(watch, clock, wait)
            rollbacks: list[tuple[int, Task]] = []
            health_outcome = self.gates.health_outcome
            health_gate = self.health_gate
            for (q, task), h in zip(watch, seen, strict=True):
                outcome = health_outcome(h is not None and h <= wait, health_gate)
                if outcome == "ok":
                    clock[q] += h or 0
                    task.state = SUCCEEDED
                    queues[q][0].succeeded += 1
                    emit_task(clock[q], "health_ok", task)
                    if on_succeeded is not None:
                        on_succeeded(task.ref.vm, task.ref.extension)
                    continue
                start_bad = clock[q]
                clock[q] += wait
                batch = queues[q][0]
                batch.turned[task.ref.vm] = task  # healthy at install start (else deferred), unhealthy after
                self.emit_task(clock[q], "health_failed", task, {"wait_minutes": minutes(wait),
                                                                 "rule": self.health_gate.name})
                if outcome == "keep":
                    task.state = KEPT
                    self._add_induced(task.ref.vm, start_bad, FOREVER)
                    self.emit_task(clock[q], "kept_unhealthy", task, {"rule": self.health_gate.name})
                else:
                    rollbacks.append((q, task))
                    self._add_induced(task.ref.vm, start_bad, -1)  # end filled in after the reinstall
            if rollbacks:
                if self.journal is not None:
                    self.journal.decide("rollback", [t.index for _, t in rollbacks])
                durations = self._act_reinstall(rollbacks, clock)
                for (q, task), secs in zip(rollbacks, durations, strict=True):
                    clock[q] += secs
                    start_bad, _ = self.induced[task.ref.vm][-1]
                    self.induced[task.ref.vm][-1] = (start_bad, clock[q])
                    task.version = task.ref.from_version
                    task.rollbacks += 1
                    task.failure = "was rolled back (its health wait failed)"
                    queues[q][0].failed.append(task)
                    self.emit_task(clock[q], "rolled_back", task, {"restored": task.ref.from_version})
        for q, (batch, _) in enumerate(queues):
            batch.end = max(batch.end, clock[q])
        return [(b.end, b) for b in batches]

    @staticmethod
    def _batch_groups(tasks: list[Task]) -> list[Group]:
        """The gate groups of ``tasks``, sorted by repr (shared list: never mutated); mostly one set's VMs, with one
        shared group tuple."""
        first = tasks[0].groups
        if all(t.groups is first for t in tasks):
            return tasks[0].groups_sorted
        return _sorted_groups({g for t in tasks for g in t.groups})

    def _add_induced(self, vm: str, start: int, end: int) -> None:
        self.induced[vm].append((start, end if end >= 0 else FOREVER))
        self.ever_unhealthy.add(vm)
        for g in self.vm_groups[vm]:
            self.dynamic[g].add(vm)

    def _act_install(self, installs: list[tuple[int, Task]], clock: list[int]) -> list[InstallResult]:
        def run() -> list[InstallResult]:
            return [self.driver.install(task.ref, task.attempts, clock[q]) for q, task in installs]

        if self.journal is None:
            return run()
        return self.journal.act("install", run, lambda rs: [[r.seconds, r.ok, r.reason] for r in rs],
                                lambda raw: [InstallResult(int(s), bool(ok), str(why)) for s, ok, why in raw])

    def _act_health(self, watch: list[tuple[int, Task]], clock: list[int], wait: int) -> list[int | None]:
        def run() -> list[int | None]:
            return [self.driver.watch_health(task.ref, task.attempts, clock[q], wait) for q, task in watch]

        if self.journal is None:
            return run()
        return self.journal.act("health", run, lambda hs: hs, lambda raw: [None if h is None else int(h) for h in raw])

    def _act_reinstall(self, rollbacks: list[tuple[int, Task]], clock: list[int]) -> list[int]:
        def run() -> list[int]:
            return [self.driver.reinstall_previous(task.ref, task.attempts, clock[q]) for q, task in rollbacks]

        if self.journal is None:
            return run()
        return self.journal.act("reinstall", run, lambda xs: xs, lambda raw: [int(x) for x in raw])

    def _batch_started_line(self, batch: Batch, t: int) -> str:
        """The batch_started event line, written directly (the same bytes as ``event_line`` with its detail dict:
        keys in the same order, strings through json's own encoder); the fixed parts of each check are cached."""
        unit_scope = batch.queues[0][0].unit_kind
        checks: list[str] = []
        prefixes = self._check_prefixes
        dynamic = self.dynamic
        for n, (of, name, cap) in enumerate(self._start_gates):
            for g in batch.groups:
                if g[0] != of:
                    continue
                fixed = prefixes.get((n, g))
                if fixed is None:
                    fixed = prefixes[(n, g)] = (
                        f'{{"rule": {_string(name)}, "group": {_string(self.label(g))}, '
                        f'"set_size": {len(self.members[g])}, "unhealthy": ', f', "cap": {cap}}}')
                up = self.upgraded.get(g)
                bad = self.upgraded_unhealthy.get(g)
                bad_now = len(self.group_unhealthy_at(g, t)) if dynamic.get(g) else 0
                checks.append(f'{fixed[0]}{bad_now}, "upgraded": {len(up) if up else 0}, '
                              f'"upgraded_unhealthy": {len(bad) if bad else 0}{fixed[1]}')
        return (f'{{"time": {self._minutes_text(t)}, "event": "batch_started", "detail": {{"set": {_string(batch.unit)}, '
                f'"unit": "{unit_scope}", "wave": {batch.wave}, "phase": {batch.phase}, '
                f'"executed_wave": {self.exec_waves}, "vms": {len(batch.vms)}, "tasks": {len(batch.ids)}, '
                f'"checks": [{", ".join(checks)}]}}}}')

    def _minutes_text(self, t: int) -> str:
        when = self._when.get(t)
        if when is None:
            when = self._when[t] = repr(minutes(t))
        return when

    def end_batch(self, e: int, batch: Batch) -> None:
        touched = batch.groups
        upgraded = self.upgraded
        for n, task in batch.upgraded.items():
            for g in task.groups:
                upgraded[g].add(n)
        for n, task in batch.turned.items():
            for g in task.groups:
                self.upgraded_unhealthy[g].add(n)
        stop_scopes = self.stop_scopes
        dynamic = self.dynamic  # groups with a VM that is ever unhealthy: the only ones with a peak above 0
        peaks = {g: self.group_max_unhealthy(g, batch.start, e) if dynamic.get(g) else _NO_PEAK
                 for g in touched if g[0] in stop_scopes}
        self.monitor.on_batch_end([task.vid for task in batch.upgraded.values()],
                                  [task.vid for task in batch.turned.values()])
        halts: list[Halt] = []
        halted = self.halted
        for gate in self.stop_upgraded:
            for g in touched:
                if g[0] != gate.of or g in halted or (halts and any((h.scope, h.key) == g for h in halts)):
                    continue
                up, bad = len(upgraded[g]), len(self.upgraded_unhealthy[g])
                if self.gates.upgraded_breach(up, bad, gate):
                    halts.append(self._stop_upgraded(gate, g, e, up, sorted(self.upgraded_unhealthy[g])))
        for gate2 in self.stop_unhealthy:
            for g in touched:
                if g[0] != gate2.of or g in halted or (halts and any((h.scope, h.key) == g for h in halts)):
                    continue
                peak, seen = peaks[g]
                if self.gates.set_breach(len(self.members[g]), peak, gate2):
                    halts.append(self._stop_unhealthy(gate2, g, e, peak, seen))
        failed: list[Task] = batch.failed
        checks: list[str] = []
        prefixes = self._finish_prefixes
        for g, (peak, _) in peaks.items():
            fixed = prefixes.get(g)
            if fixed is None:
                fixed = prefixes[g] = f'{{"group": {_string(self.label(g))}, "set_size": {len(self.members[g])}, "upgraded": '
            ups = self.upgraded.get(g)
            turned = self.upgraded_unhealthy.get(g)
            checks.append(f'{fixed}{len(ups) if ups else 0}, "upgraded_unhealthy": {len(turned) if turned else 0}, '
                          f'"unhealthy_max": {peak}}}')
        # The batch_finished line, written directly (the bytes event_line would write for this detail dict).
        self.emit(e, f'{{"time": {self._minutes_text(e)}, "event": "batch_finished", "detail": {{"set": {_string(batch.unit)}, '
                     f'"wave": {batch.wave}, "phase": {batch.phase}, "executed_wave": {self.exec_waves}, '
                     f'"started_minutes": {self._minutes_text(batch.start)}, '
                     f'"succeeded": {batch.succeeded}, "failed": {len(failed)}, '
                     f'"checks": [{", ".join(checks)}]}}}}')
        for h in halts:
            self.halt(h)
        retries: list[int] = []
        for task in (sorted(failed, key=_by_index) if len(failed) > 1 else failed):
            if self.halted_task(task) is not None:
                task.state = FAILED
                continue
            if self.gates.may_retry(task.attempts, self.retry_gate, self.max_retries):
                assert self.retry_gate is not None
                due = e + self.retry_gate.after.seconds
                task.state = RETRY
                task.due = due
                heapq.heappush(self.retry_queue, (due, task.wave, task.index))
                retries.append(task.index)
                self.emit_task(e, "retry_scheduled", task, {"attempt": task.attempts + 1, "due_minutes": minutes(due),
                                                            "rule": self.retry_gate.name})
            else:
                task.state = INELIGIBLE if task.deferred else FAILED
                self.emit_task(e, "retries_exhausted", task, {"attempts": task.attempts,
                                                              "rule": self.retry_gate.name if self.retry_gate else None})
        if batch.held:
            for task in batch.held:
                self._after_held(task, e, retries)
        for g in touched:
            self.last_end[g] = max(self.last_end.get(g, 0), e)
        if self.journal is not None:
            self.journal.decide("end", [e, batch.unit, [[h.rule, repr((h.scope, h.key))] for h in halts], retries])

    # -- extension order -----------------------------------------------------------------------------------------

    def _order_tasks(self, order: TaskOrder) -> None:
        """Rank each VM's tasks in its batch order and note the tasks each must follow, before the run starts (rules
        that make a cycle on some VM are refused here, with nothing run)."""
        for name, tasks in self.tasks_by_vm.items():
            if len(tasks) < 2:
                continue
            by_name = sorted(tasks, key=_by_extension)
            found = order.of_vm(name, [t.ext for t in by_name])
            if found is None:
                continue
            for rank, pos in enumerate(found.order):
                self.rank[by_name[pos].index] = rank
            for second, first, r in found.after:
                self.after.setdefault(by_name[second].index, []).append((by_name[first], order.rules[r]))

    def order_key(self, task: Task) -> tuple[int, str]:
        """Where a task runs among its VM's tasks of a batch: its rank under the extension order rules, then by name."""
        return self.rank.get(task.index, 0), task.ref.extension

    def blocking(self, task: Task, waits: list[tuple[Task, ExtensionOrder]]) -> tuple[Task, ExtensionOrder] | None:
        """The first task (with its rule) that ``task`` must follow on its VM and that has not succeeded, if any."""
        return next(((first, rule) for first, rule in waits if first.state != SUCCEEDED), None)

    def _hold(self, task: Task, t: int, batch: Batch) -> bool:
        """Hold ``task`` (no attempt) when an extension it must follow has not succeeded on its VM; True if held."""
        found = self.blocking(task, self.after[task.index])
        if found is None:
            return False
        first, rule = found
        if batch.held is None:
            batch.held = []
        batch.held.append(task)
        detail = {"reason": f"waits for {first.ref.extension} to succeed on this VM first, which {_outcome(first)}",
                  "after": first.ref.extension, "span": rule.span.render()}
        self.emit(t, f'{{"time": {self._minutes_text(t)}, "event": "install_held"{task.tail}, '
                     f'"rule": {_string(rule.name)}, "detail": {_encode(detail)}}}')
        self.task_events += 1
        return True

    def _after_held(self, task: Task, e: int, retries: list[int]) -> None:
        """At the end of its batch, a held task is retried with the retries of the tasks it waits for, or, when one
        of them will not succeed in this run, ends held (unhealthy_vm when they all never found the VM healthy)."""
        if self.halted_task(task) is not None:
            return  # the group halted: halt() gave it the group's state, like the group's other tasks
        waiting = [first for first, _ in self.after[task.index] if first.state != SUCCEEDED]
        if waiting and all(first.state == RETRY for first in waiting):
            assert self.retry_gate is not None  # a task is pending a retry only under a retry gate
            due = max(first.due for first in waiting)
            task.state = RETRY
            task.due = due
            task.deferred = all(first.deferred for first in waiting)  # it holds a phase only if they do
            heapq.heappush(self.retry_queue, (due, task.wave, task.index))
            retries.append(task.index)
            self.emit_task(e, "retry_scheduled", task, {"attempt": task.attempts + 1, "due_minutes": minutes(due),
                                                        "rule": self.retry_gate.name,
                                                        "after": [first.ref.extension for first in waiting]})
        elif waiting and all(first.state == INELIGIBLE for first in waiting):
            task.state = INELIGIBLE
        else:
            task.state = HELD

    def _stop_upgraded(self, gate: StopUpgradedGate, g: Group, t: int, up: int, bad: list[str]) -> Halt:
        need = unblocking_cap(len(bad), up)
        label = self.label(g)
        versions = sorted({f"{x.ref.extension} {x.ref.to_version}" for n in bad for x in self.tasks_by_vm[n]
                           if x.rollbacks or x.state == KEPT})
        why = (f"{len(bad)} of {up} upgraded VMs of {label} turned unhealthy ({percent_text(need)}), more than the "
               f"{gate.cap} cap of {_rule_ref(gate)}")
        unblock = (f"fix or withdraw the upgrade that failed health ({', '.join(versions) or 'see health_failed'} on "
                   f"{_names(bad)}) and rerun from the final state, or raise the cap of {_rule_ref(gate)} to at "
                   f"least {percent_text(need)}")
        detail = {"group": label, "scope": g[0], "reason": "upgraded_unhealthy", "upgraded": up,
                  "upgraded_unhealthy": len(bad), "set_size": len(self.members[g]), "cap": str(gate.cap),
                  "unhealthy_vms": bad[:50], "why": why, "unblock": unblock}
        return Halt("stopped", g[0], g[1], label, gate.name, t, why, unblock, detail)

    def _stop_unhealthy(self, gate: StopUnhealthyGate, g: Group, t: int, peak: int, seen: list[str]) -> Halt:
        size = len(self.members[g])
        need = unblocking_cap(peak, size)
        label = self.label(g)
        why = (f"{peak} of {size} VMs of {label} were unhealthy at once during the batch ({percent_text(need)}), more "
               f"than the {gate.cap} cap of {_rule_ref(gate)}; stopped at the end of the batch")
        unblock = (f"wait until {_names(seen)} are healthy again (maintenance or other faults) and rerun from the "
                   f"final state, or raise the cap of {_rule_ref(gate)} to at least {percent_text(need)}")
        detail = {"group": label, "scope": g[0], "reason": "set_unhealthy", "set_size": size, "unhealthy_max": peak,
                  "cap": str(gate.cap), "unhealthy_vms": seen[:50], "why": why, "unblock": unblock}
        return Halt("stopped", g[0], g[1], label, gate.name, t, why, unblock, detail)

    # -- waves ---------------------------------------------------------------------------------------------------

    def run_wave(self, ids: list[int], wave: int, phase: int, retry: bool) -> None:
        start = self.now
        units: dict[str, list[int]] = defaultdict(list)
        tasks = self.tasks
        for i in ids:
            units[tasks[i].unit].append(i)
        detail: dict[str, Any] = {"wave": wave, "phase": phase, "executed_wave": self.exec_waves,
                                  "tasks": len(ids), "batches": len(units)}
        if retry:
            detail["retry"] = True
        self.emit(start, event_line(start, "wave_started", detail=detail))
        self.monitor.on_wave(False, wave, phase, start, retry)
        # The heap holds int keys (time << 33 | kind << 32 | index into ``items``): ends before starts at one instant,
        # then in push order; int keys compare in C, tuples item by item.
        heap: list[int] = []
        items: list[Any] = []
        for unit in sorted(units):
            at = start
            for gate in self.pauses:
                for g in self.tasks[units[unit][0]].groups:
                    if g[0] == gate.of and g in self.last_end:
                        at = max(at, self.last_end[g] + gate.pause.seconds)
            heap.append(at << 33 | _START << 32 | len(items))
            items.append((unit, units[unit], wave, phase))
        heapq.heapify(heap)
        end = start
        low = _LOW32
        heappop, heappush = heapq.heappop, heapq.heappush
        while heap:
            key = heappop(heap)
            t = key >> 33
            if not (key >> 32) & 1:  # _END
                self.end_batch(t, items[key & low])
                end = max(end, t)
                continue
            starts = [items[key & low]]
            same = key >> 32
            while heap and heap[0] >> 32 == same:
                starts.append(items[heappop(heap) & low])
            if self.calendar is not None and self.calendar.gates_starts:
                starts = self._calendar_starts(t, starts, heap, items)
            for e, batch in self.run_batches(t, self.start_batches(t, starts)):
                heappush(heap, e << 33 | _END << 32 | len(items))
                items.append(batch)
        self.emit(end, event_line(end, "wave_finished", detail={"wave": wave, "phase": phase,
                                                                 "executed_wave": self.exec_waves}))
        self.monitor.on_wave(True, wave, phase, end, retry)
        if self.calendar is not None and not retry:
            for region, bake, until in self.calendar.wave_finished([self.fleet.vms[tasks[i].vid] for i in ids], end):
                self.emit(end, event_line(end, "bake_started", rule=bake.name, detail={
                    "after": bake.after, "region": region, "until_minutes": minutes(until)}))
        self.now = end
        self.exec_waves += 1
        self.flush()

    def _calendar_starts(self, t: int, starts: list[Any], heap: list[int], items: list[Any]) -> list[Any]:
        """The batches due at ``t`` that the calendar lets start now; the others are pushed back to when it will
        (a ``window_wait``, or a ``bake_finished`` when a region bake ends), or never start (no window ahead)."""
        assert self.calendar is not None
        now: list[Any] = []
        for item in starts:
            unit, ids, wave, _phase = item
            live = [i for i in ids if self.tasks[i].state in (PENDING, RETRY)]
            vms: dict[str, tuple[VM, list[Extension]]] = {}
            for i in live:
                task = self.tasks[i]
                vms.setdefault(task.name, (self.fleet.vms[task.vid], []))[1].append(task.ext)
            wait = self.calendar.wait(list(vms.values()), t) if live else None
            if wait is None:
                now.append(item)
                continue
            self._announce_wait(t, unit, wave, wait)
            if wait.until is None:  # no opening within the horizon: its tasks end not_started
                continue
            heapq.heappush(heap, wait.until << 33 | _START << 32 | len(items))
            items.append(item)
        return now

    def _announce_wait(self, t: int, unit: str, wave: int, wait: Wait) -> None:
        assert self.calendar is not None
        if wait.kind == "bake":
            if wait.until is not None:
                self.emit(wait.until, event_line(wait.until, "bake_finished", rule=wait.rule,
                                                 detail={"set": unit, "wave": wave}))
            return
        until = None if wait.until is None else format_instant(self.calendar.base + wait.until)
        self.emit(t, event_line(t, "window_wait", rule=wait.rule, detail={
            "set": unit, "wave": wave, "reason": wait.kind, "until": until,
            "until_minutes": None if wait.until is None else minutes(wait.until)}))

    def _bake(self, bake: Any, detail: dict[str, Any]) -> None:
        """Wait out a phase or wave bake from now (the end of what it bakes)."""
        start = self.now
        self.emit(start, event_line(start, "bake_started", rule=bake.name, detail={
            "after": bake.after, **detail, "until_minutes": minutes(start + bake.duration.seconds)}))
        self.now = start + bake.duration.seconds
        self.emit(self.now, event_line(self.now, "bake_finished", rule=bake.name, detail={"after": bake.after, **detail}))
        self.flush()

    def run_due_retries(self) -> bool:
        """Run the retries due by now, one executed wave per origin wave; False when none was due."""
        if not self.retry_queue or self.retry_queue[0][0] > self.now:
            return False
        by_wave: dict[int, list[int]] = defaultdict(list)
        while self.retry_queue and self.retry_queue[0][0] <= self.now:
            _, wave, i = heapq.heappop(self.retry_queue)
            if self.tasks[i].state == RETRY:
                by_wave[wave].append(i)
        for wave in sorted(by_wave):
            ids = by_wave[wave]
            self.run_wave(sorted(ids), wave, self.tasks[ids[0]].phase, retry=True)
        return True

    def advance_to_next_retry(self) -> bool:
        # Entries of tasks halted since they were queued are dropped: they must not move the clock.
        while self.retry_queue and self.tasks[self.retry_queue[0][2]].state != RETRY:
            heapq.heappop(self.retry_queue)
        if not self.retry_queue:
            return False
        self.now = max(self.now, self.retry_queue[0][0])
        return self.run_due_retries()

    # -- the run -------------------------------------------------------------------------------------------------

    def holders(self, before_phase: int) -> list[Task]:
        """Due tasks of earlier phases that did not succeed; tasks of unhealthy (ineligible) VMs never hold."""
        found: list[Task] = []
        for phase, open_tasks in self.phase_open.items():
            if phase < before_phase:
                open_tasks[:] = [t for t in open_tasks if t.state != SUCCEEDED]
                found.extend(t for t in open_tasks if t.state != INELIGIBLE and not (t.state == RETRY and t.deferred))
        found.sort(key=_by_index)  # task order, as a scan of all tasks would give
        return found

    def _held_detail(self, phase: int, holding: list[Task]) -> dict[str, Any]:
        reasons: dict[str, list[str]] = defaultdict(list)
        for t in holding:
            h = self.halted_task(t)
            if t.state == RETRY:
                why = "retry pending"
            elif h is not None:
                why = f"{h.group} {h.kind} by rule {h.rule}"
            elif t.state == REFUSED:
                why = "install refused: crosses a major version"
            elif t.state == KEPT:
                why = "kept unhealthy after the health wait"
            elif t.state == HELD:
                why = "not installed: an extension it must follow on its VM did not succeed"
            else:
                why = f"task {t.state}"
            reasons[why].append(f"{t.ref.vm}/{t.ref.extension}")
        holders = [{"reason": why, "tasks": len(ts), "examples": ts[:SHOWN]} for why, ts in sorted(reasons.items())]
        return {"phase": phase, "unfinished_tasks": len(holding), "holders": holders,
                "waiting_for_retries": any(t.state == RETRY for t in holding)}

    def run(self) -> RunResult:
        with gc_paused():
            return self._run()

    def _run(self) -> RunResult:
        phases = sorted({w.phase for w in self.schedule.waves})
        self.emit(0, event_line(0, "run_started", detail={
            "waves": len(self.schedule.waves), "phases": len(phases), "tasks": len(self.tasks),
            "skipped": len(self.schedule.skipped), "policy": self.policy.name}))
        held: dict[str, Any] | None = None
        cal = self.calendar
        for n, phase in enumerate(phases):
            if n > 0 and cal is not None and cal.phase_bake is not None:
                self._bake(cal.phase_bake, {"phase": phases[n - 1]})
            if n > 0 and self.phase_gate is not None:
                announced = False
                while True:
                    holding = self.holders(phase)
                    if self.gates.may_start_phase(len(holding)):
                        break
                    if not announced or not any(t.state == RETRY for t in holding):
                        detail = self._held_detail(phase, holding)
                        self.emit(self.now, event_line(self.now, "phase_held", rule=self.phase_gate.name, detail=detail))
                        announced = True
                    if any(t.state == RETRY for t in holding) and self.advance_to_next_retry():
                        continue
                    held = self._held_detail(phase, self.holders(phase))
                    break
                if held is not None:
                    break
            self.emit(self.now, event_line(self.now, "phase_started", detail={"phase": phase}))
            for w in self.schedule.waves:
                if w.phase != phase:
                    continue
                if w.index > 0 and cal is not None and cal.wave_bake is not None:
                    self._bake(cal.wave_bake, {"wave": w.index - 1})
                self.run_due_retries()
                self.run_wave(self.wave_tasks[w.index], w.index, phase, retry=False)
            states = self._states(self.phase_tasks.get(phase, ()))
            self.emit(self.now, event_line(self.now, "phase_finished", detail={"phase": phase, "tasks": states}))
        while self.advance_to_next_retry():
            pass
        for t in self.tasks:
            if t.state == PENDING:
                t.state = "not_started"
        result = self._result(held)
        self.emit(self.now, event_line(self.now, "run_finished", detail={
            "outcome": result.outcome, "tasks": result.states, "duration_minutes": minutes(self.now),
            "ideal_minutes": minutes(result.ideal)}))
        self.flush()
        if self.journal is not None:
            self.journal.commit()
        return result

    @staticmethod
    def _states(tasks: Any) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for t in tasks:
            out[t.state] += 1
        return dict(sorted(out.items()))

    def _result(self, held: dict[str, Any] | None) -> RunResult:
        # One pass over the tasks: states, changed versions (in task order), rollbacks, retries.
        counts: dict[str, int] = defaultdict(int)
        versions: dict[tuple[str, str], str] = {}
        rolled_back = retried = 0
        for t in self.tasks:
            counts[t.state] += 1
            if t.version != t.ref.from_version:
                versions[(t.ref.vm, t.ref.extension)] = t.version
            if t.rollbacks:
                rolled_back += 1
            if t.attempts > 1:
                retried += 1
        states = dict(sorted(counts.items()))
        skipped: dict[str, int] = defaultdict(int)
        for s in self.schedule.skipped:
            skipped[s.reason] += 1
        healthy = {n: not self.vm_unhealthy_at(n, self.now) for n in sorted(self.ever_unhealthy)}
        wait = self.health_gate.wait.seconds if self.health_gate is not None else 0
        ok = counts.get(SUCCEEDED, 0) == len(self.tasks)
        return RunResult(
            outcome="completed" if ok else "halted",
            duration=self.now,
            ideal=self.ideal,
            nominal_install=self.driver.nominal_install_seconds,
            health_wait=wait,
            waves=len(self.schedule.waves),
            tasks=len(self.tasks),
            states=states,
            rolled_back=rolled_back,
            retried=retried,
            skipped=dict(sorted(skipped.items())),
            halts=sorted(self.halted.values(), key=lambda h: (h.time, h.group)),
            held=held,
            events=self.events,
            task_events=self.task_events,
            versions=versions,
            healthy=healthy,
        )


def check_schedule(schedule: Schedule, fleet: Fleet, file: str = "<schedule>") -> None:
    """The schedule must name VMs and extensions of this fleet at their installed versions, each task once;
    else InputError with the JSON path of every problem (a stale schedule must not run)."""
    diags: list[Diagnostic] = []
    vms = fleet.vm_by_name
    seen: dict[tuple[str, str], str] = {}
    for i, w in enumerate(schedule.waves):
        for j, t in enumerate(w.tasks):
            path = f"$.waves[{i}].tasks[{j}]"
            vm = vms.get(t.vm)
            if vm is None:
                diags.append(Diagnostic("E-SCHEDULE", f"task names unknown VM '{t.vm}'", JsonLocation(file, f"{path}.vm"),
                                        "plan again for this fleet"))
                continue
            ext = next((e for e in vm.extensions if e.name == t.extension), None)
            if ext is None:
                diags.append(Diagnostic("E-SCHEDULE", f"VM '{t.vm}' has no extension named '{t.extension}'",
                                        JsonLocation(file, f"{path}.extension")))
                continue
            for field_name, version in (("from_version", t.from_version), ("to_version", t.to_version)):
                if not is_version(version):
                    diags.append(Diagnostic("E-SCHEDULE", f"bad version string '{version}'",
                                            JsonLocation(file, f"{path}.{field_name}")))
            if is_version(t.from_version) and parse_version(t.from_version) != parse_version(ext.version):
                diags.append(Diagnostic(
                    "E-SCHEDULE", f"task upgrades {t.extension} on {t.vm} from {t.from_version}, but the fleet has "
                    f"{ext.version} installed", JsonLocation(file, f"{path}.from_version"),
                    "the schedule is stale: plan again from the current fleet"))
            key = (t.vm, t.extension)
            if key in seen:
                diags.append(Diagnostic("E-SCHEDULE", f"{t.extension} on {t.vm} is scheduled twice (first at {seen[key]})",
                                        JsonLocation(file, path)))
            seen.setdefault(key, path)
    if diags:
        raise InputError(capped(diags))


def check_max_retries(max_retries: int | None) -> None:
    """InputError unless the retries asked for (``--max-retries``) are within ``dsl.limits.RETRIES``."""
    if max_retries is not None and not 0 <= max_retries <= RETRIES:
        raise InputError([Diagnostic("E-USAGE", f"--max-retries must be between 0 and {RETRIES:,}, not {max_retries:,}",
                                     hint="docs/formats.md (Limits) lists the limit of every number")])


def execute(
    policy: Policy,
    fleet: Fleet,
    schedule: Schedule,
    driver: Driver,
    sink: EventSink,
    *,
    max_retries: int | None = None,
    journal: Journal | None = None,
    gates: GateFns = REAL_GATES,
) -> RunResult:
    """Run ``schedule`` on ``fleet`` under ``policy``; events go to ``sink`` in virtual-time order."""
    check_max_retries(max_retries)
    check_schedule(schedule, fleet)
    return Executor(policy, fleet, schedule, driver, sink, max_retries=max_retries, journal=journal,
                    gates=gates).run()


def final_fleet(fleet: Fleet, result: RunResult) -> Fleet:
    """The input fleet with upgraded versions (original spelling kept where unchanged) and health at the end."""
    changed: dict[str, dict[str, str]] = defaultdict(dict)
    for (name, ext), version in result.versions.items():
        changed[name][ext] = version
    vms: list[VM] = []
    for vm in fleet.vms:
        update: dict[str, Any] = {}
        exts = changed.get(vm.name)
        if exts:
            update["extensions"] = [e.model_copy(update={"version": exts[e.name]}) if e.name in exts else e
                                    for e in vm.extensions]
        health = result.healthy.get(vm.name)
        if health is not None and health != vm.healthy:
            update["healthy"] = health
        vms.append(vm.model_copy(update=update) if update else vm)
    return fleet.model_copy(update={"vms": vms})

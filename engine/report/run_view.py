"""The event log aggregated per region and schedule wave (never per VM): what was upgraded, and every halt.

Executed waves run one at a time (docs/executor.md), so every line between ``wave_started`` and ``wave_finished``
belongs to that executed wave, whose ``wave`` is the schedule wave it runs (retry waves carry their origin wave).
A task succeeded when its install succeeded and no health watch failed after it (``install_succeeded`` minus
``health_failed``): the executor's ``succeeded`` state, with or without a health gate; ``run_finished`` is checked
against that count.  Lines of kinds the page does not read are recognised by their kind and not parsed further; the two task lines it
counts (a million at a million VMs) are read for their VM only, by slicing when the name needs no JSON escape.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dsl.diagnostics import Diagnostic, JsonLocation, Span
from engine.model.bounds import DuplicateKey, loads_bounded
from engine.model.errors import InputError
from engine.run.events import EVENT_KINDS

SET_HALTS = ("set_blocked", "set_stopped", "install_refused", "phase_held")
TASK_HALTS = ("retries_exhausted",)
# Kinds whose lines are parsed; the others are only counted.
READ = frozenset({"run_started", "run_finished", "wave_started", "wave_finished", "health_failed", "install_failed", "install_deferred", "window_wait", "bake_started", *SET_HALTS, *TASK_HALTS})
KIND_PREFIX = '"event": "'
VM_PREFIX = '"vm": "'
# What would unblock a task given up after its retries, by the kind of its last failure.
FIXES = {"install_deferred": "repair the VM (it was unhealthy at every attempt)",
         "install_failed": "fix the install error on the VM",
         "health_failed": "fix or withdraw the version that fails its health watch"}


@dataclass(frozen=True)
class Halt:
    """One halt at its moment: the schedule wave whose execution it happened in, and how far into it."""

    number: int
    kind: str
    rule: str | None
    minutes: float
    wave: int | None  # None: between waves (a phase held)
    retry: bool
    fraction: float  # 0..1 into the executed wave
    region: str | None  # None: not one region's (a phase held)
    phase: int | None
    subject: str
    why: str
    unblock: str


@dataclass(frozen=True)
class Wait:
    """Batches of one wave that waited for a window to open (or a freeze to end), from one moment until another
    (virtual minutes; ``until`` None: no opening came within the executor's horizon)."""

    rule: str
    reason: str  # window | freeze
    wave: int | None
    minutes: float
    until: float | None
    sets: int


@dataclass(frozen=True)
class RunBake:
    """A bake the run waited out (``bake_started``): its rule, what it bakes after, where, and from when to when
    (virtual minutes); ``count`` the bakes of that rule that started at the same moment (one per region)."""

    rule: str
    after: str
    where: str
    minutes: float
    until: float
    count: int


@dataclass(frozen=True)
class RunView:
    done: Mapping[tuple[str, int], int]  # tasks that succeeded, by (region, schedule wave)
    actual_share: tuple[float | None, ...]  # by schedule wave: share done when it first finished; None: never ran
    final_share: float
    halts: tuple[Halt, ...]
    outcome: str
    states: tuple[tuple[str, int], ...]
    minutes: float
    ideal_minutes: float
    executed_waves: int
    events: int
    waits: tuple[Wait, ...] = ()  # window waits (a schedule with a calendar), grouped per rule, wave and moment
    bakes: tuple[RunBake, ...] = ()  # bakes the run waited out, grouped per rule and moment


@dataclass
class _Wave:
    wave: int
    retry: bool
    start: float
    halts: list[Halt] = field(default_factory=list)


@dataclass
class _Reader:
    """The state of one pass over the log."""

    vm_region: Mapping[str, str]
    tasks: int
    waves: int
    rule_where: Callable[[str | None], str]
    clean: Callable[[str], str]
    done: Counter[tuple[str, int]] = field(default_factory=Counter)
    succeeded: int = 0
    first_done: dict[int, float] = field(default_factory=dict)
    halts: list[Halt] = field(default_factory=list)
    last_failure: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)  # (kind, text)
    current: _Wave | None = None
    executed: int = 0
    finished: dict[str, Any] | None = None
    started: bool = False
    waits: Counter[tuple[str, str, int | None, float, float | None]] = field(default_factory=Counter)
    bakes: dict[tuple[float, str, str, float], list[str]] = field(default_factory=dict)  # -> where, per bake


def read_run(path: Path, vm_region: Mapping[str, str], tasks: int, waves: int,
             rule_where: Callable[[str | None], str], clean: Callable[[str], str]) -> RunView:
    """Read an event log of this schedule on this fleet; bad lines are reported with file:line."""
    try:
        with path.open(encoding="utf-8") as f:
            return run_view(f, str(path), vm_region, tasks, waves, rule_where, clean)
    except FileNotFoundError:
        raise InputError([Diagnostic("E-IO", f"event log not found: {path}")]) from None
    except UnicodeDecodeError as e:
        raise InputError([Diagnostic("E-EVENTS", f"event log is not UTF-8 (byte {e.start})",
                                     JsonLocation(str(path), "$"))]) from None
    except OSError as e:
        raise InputError([Diagnostic("E-IO", f"cannot read event log {path}: {e.strerror}")]) from None


def run_view(lines: Iterable[str], file: str, vm_region: Mapping[str, str], tasks: int, waves: int,
             rule_where: Callable[[str | None], str], clean: Callable[[str], str]) -> RunView:
    rd = _Reader(vm_region, tasks, waves, rule_where, clean)
    count = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        count += 1
        kind = _kind(line, file, number)
        if kind == "install_succeeded":
            _count_success(rd, _vm_of(line, file, number), 1, file, number)
        elif kind in READ:
            obj = _parse(line, file, number)
            if kind == "health_failed":
                _count_success(rd, str(obj.get("vm")), -1, file, number)
            _read_line(rd, obj, kind, file, number)
    if rd.finished is None:
        raise _bad(file, count + 1, "the event log ends before run_finished",
                   "pass the log of a finished run (simulate writes it only when the run finished)")
    return _view(rd, count, file)


def _kind(line: str, file: str, number: int) -> str:
    start = line.find(KIND_PREFIX)
    end = line.find('"', start + len(KIND_PREFIX)) if start >= 0 else -1
    kind = line[start + len(KIND_PREFIX):end] if end >= 0 else ""
    if kind not in EVENT_KINDS:
        _parse(line, file, number)  # malformed JSON says so first
        raise _bad(file, number, f"not an event line of the executor: {line[:60]!r}",
                   "pass the --events file of wavegate simulate")
    return kind


def _parse(line: str, file: str, number: int) -> dict[str, Any]:
    try:
        obj = loads_bounded(line, f"{file}:{number}", "E-EVENTS")
    except json.JSONDecodeError as e:
        raise _bad(file, number, f"malformed JSON: {e.msg}", None, e.colno) from None
    except RecursionError:
        raise _bad(file, number, "JSON nested too deeply") from None
    except DuplicateKey as e:
        raise _bad(file, number, f"duplicate key '{e.key}' in one JSON object") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("time"), int | float):
        raise _bad(file, number, "an event line is an object with a numeric 'time'")
    if not isinstance(obj.get("detail", {}), dict):
        raise _bad(file, number, "'detail' must be an object")
    return obj


def _bad(file: str, line: int, msg: str, hint: str | None = None, column: int = 1) -> InputError:
    return InputError([Diagnostic("E-EVENTS", msg, Span(file, line, column, line, column + 1), hint)])


def _read_line(rd: _Reader, obj: dict[str, Any], kind: str, file: str, number: int) -> None:
    detail: dict[str, Any] = obj.get("detail") or {}
    if kind == "run_started":
        _check_same_schedule(rd, detail, file, number)
    elif kind == "run_finished":
        rd.finished = {**detail, "time": obj["time"]}
    elif kind == "wave_started":
        wave = detail.get("wave")
        if not isinstance(wave, int) or not 0 <= wave < rd.waves:
            raise _bad(file, number, f"wave {wave!r} is not a wave of the schedule ({rd.waves} waves)")
        rd.current = _Wave(wave, bool(detail.get("retry")), float(obj["time"]))
    elif kind == "wave_finished":
        _finish_wave(rd, float(obj["time"]))
    if kind in ("install_failed", "install_deferred", "health_failed"):
        rd.last_failure[(str(obj.get("vm")), str(obj.get("extension")))] = (kind, _failure_text(kind, detail))
    elif kind in SET_HALTS or kind in TASK_HALTS:
        _halt(rd, obj, kind, detail, file, number)
    elif kind == "bake_started":
        _bake(rd, obj, detail)
    elif kind == "window_wait":
        until = detail.get("until_minutes")
        wave = detail.get("wave")
        rd.waits[(str(obj.get("rule")), str(detail.get("reason")), wave if isinstance(wave, int) else None,
                  _number(obj.get("time")), float(until) if isinstance(until, int | float) else None)] += 1


def _bake(rd: _Reader, obj: Mapping[str, Any], detail: Mapping[str, Any]) -> None:
    until = detail.get("until_minutes")
    start = _number(obj.get("time"))
    if not isinstance(until, int | float):
        return
    if isinstance(detail.get("region"), str):
        where = f"region {detail['region']}"
    elif isinstance(detail.get("phase"), int):
        where = f"phase {detail['phase']}"
    elif isinstance(detail.get("wave"), int):
        where = f"wave {detail['wave']}"
    else:
        where = "the run"
    rd.bakes.setdefault((start, str(obj.get("rule")), str(detail.get("after")), float(until)), []).append(where)


def _check_same_schedule(rd: _Reader, detail: Mapping[str, Any], file: str, number: int) -> None:
    rd.started = True
    if detail.get("waves") != rd.waves or detail.get("tasks") != rd.tasks:
        raise _bad(file, number, f"the run had {detail.get('waves')} waves and {detail.get('tasks')} tasks, the "
                   f"schedule {rd.waves} and {rd.tasks}", "pass the event log of a run of this schedule")


def _finish_wave(rd: _Reader, at: float) -> None:
    cur = rd.current
    if cur is None:
        return
    length = at - cur.start
    for h in cur.halts:
        frac = (h.minutes - cur.start) / length if length > 0 else 0.0
        rd.halts.append(replace(h, fraction=min(1.0, max(0.0, frac))))
    if not cur.retry and cur.wave not in rd.first_done:
        rd.first_done[cur.wave] = rd.succeeded / rd.tasks if rd.tasks else 1.0
    rd.executed += 1
    rd.current = None


def _vm_of(line: str, file: str, number: int) -> str:
    start = line.find(VM_PREFIX)
    end = line.find('"', start + len(VM_PREFIX)) if start >= 0 else -1
    name = line[start + len(VM_PREFIX):end]
    if start < 0 or end < 0 or "\\" in name:
        return str(_parse(line, file, number).get("vm"))  # an escaped name, or no VM: the JSON reader decides
    return name


def _count_success(rd: _Reader, vm: str, delta: int, file: str, number: int) -> None:
    region = rd.vm_region.get(vm)
    if region is None:
        raise _bad(file, number, f"VM {vm!r} is not in the fleet", "pass the fleet the run was of")
    if rd.current is None:
        raise _bad(file, number, "a task event outside any wave")
    rd.done[(region, rd.current.wave)] += delta
    rd.succeeded += delta


def _failure_text(kind: str, detail: Mapping[str, Any]) -> str:
    if kind == "health_failed":
        return f"the VM was not healthy within {detail.get('wait_minutes')} minutes (rule {detail.get('rule')})"
    return str(detail.get("reason") or kind.replace("_", " "))


def _halt(rd: _Reader, obj: Mapping[str, Any], kind: str, detail: Mapping[str, Any], file: str, number: int) -> None:
    rule = obj.get("rule") or detail.get("rule")
    rule = str(rule) if rule is not None else None
    subject, region, why, unblock = _describe(rd, obj, kind, detail, rule)
    cur = rd.current
    halt = Halt(len(rd.halts) + (len(cur.halts) if cur else 0) + 1, kind, rule, float(obj["time"]),
                cur.wave if cur else None, cur.retry if cur else False, 0.0, region,
                detail.get("phase") if kind == "phase_held" else None, subject, rd.clean(why), rd.clean(unblock))
    if cur is None:
        rd.halts.append(halt)
    else:
        cur.halts.append(halt)


def _describe(rd: _Reader, obj: Mapping[str, Any], kind: str, detail: Mapping[str, Any], rule: str | None
              ) -> tuple[str, str | None, str, str]:
    """Subject, region, why and what would unblock, for each kind of halt."""
    vm = obj.get("vm")
    if kind in ("set_blocked", "set_stopped"):
        members = detail.get("unhealthy_vms") or []
        region = rd.vm_region.get(str(members[0])) if members else None
        return str(detail.get("group")), region, str(detail.get("why", "")), str(detail.get("unblock", ""))
    if kind == "phase_held":
        return _held(rd, detail, rule)
    task = f"{vm}/{obj.get('extension')} {obj.get('from_version')} → {obj.get('to_version')}"
    if kind == "install_refused":
        return task, rd.vm_region.get(str(vm)), str(detail.get("reason", "")), str(detail.get("unblock", ""))
    kind_of_last, last = rd.last_failure.get((str(vm), str(obj.get("extension"))), ("", "not recorded"))
    why = f"{detail.get('attempts')} attempts failed; the last: {last}"
    fix = FIXES.get(kind_of_last, "fix the cause")
    unblock = f"{fix} and rerun from the final state, or allow more attempts in rule {rule} ({rd.rule_where(rule)})"
    return task, rd.vm_region.get(str(vm)), why, unblock


def _held(rd: _Reader, detail: Mapping[str, Any], rule: str | None) -> tuple[str, str | None, str, str]:
    holders = detail.get("holders") or []
    reasons = "; ".join(f"{h.get('reason')} ({h.get('tasks')} tasks)" for h in holders if isinstance(h, dict))
    waiting = bool(detail.get("waiting_for_retries"))
    why = (f"{detail.get('unfinished_tasks')} tasks of earlier phases did not succeed"
           + (", retries pending" if waiting else "") + (f": {reasons}" if reasons else ""))
    unblock = ("waits for the pending retries" if waiting else
               f"every due task of the earlier phases must succeed (rule {rule}, {rd.rule_where(rule)}): "
               "clear the halts that hold it and rerun from the final state")
    return f"phase {detail.get('phase')}", None, why, unblock


def _view(rd: _Reader, events: int, file: str) -> RunView:
    fin: dict[str, Any] = rd.finished or {}
    if rd.current is not None:  # a wave left open: its halts still count, at the end of the run
        _finish_wave(rd, float(fin.get("time", rd.current.start)))
    states: dict[str, Any] = fin["tasks"] if isinstance(fin.get("tasks"), dict) else {}
    if states.get("succeeded", 0) != rd.succeeded:
        raise _bad(file, events, f"run_finished counts {states.get('succeeded', 0)} succeeded tasks, the log "
                   f"{rd.succeeded}", "the event log is incomplete or edited")
    if not rd.started:
        raise _bad(file, 1, "the event log has no run_started line")
    halts = tuple(sorted(rd.halts, key=lambda h: h.number))
    return RunView(
        done={k: n for k, n in sorted(rd.done.items()) if n},
        actual_share=tuple(rd.first_done.get(w) for w in range(rd.waves)),
        final_share=rd.succeeded / rd.tasks if rd.tasks else 1.0, halts=halts,
        outcome=str(fin.get("outcome", "")),
        states=tuple(sorted((str(k), v) for k, v in states.items() if isinstance(v, int))),
        minutes=_number(fin.get("duration_minutes", fin.get("time"))), ideal_minutes=_number(fin.get("ideal_minutes")),
        executed_waves=rd.executed, events=events,
        waits=tuple(Wait(rule, reason, wave, t, until, n) for (rule, reason, wave, t, until), n in sorted(
            rd.waits.items(), key=lambda kv: (kv[0][3], kv[0][0], kv[0][1], kv[0][2] or -1))),
        bakes=tuple(RunBake(rule, after, _places(wheres), t, until, len(wheres))
                    for (t, rule, after, until), wheres in sorted(rd.bakes.items())))


def _places(wheres: list[str]) -> str:
    """Where bakes that started together were: one place, or the regions counted."""
    unique = sorted(set(wheres))
    if len(unique) == 1:
        return unique[0]
    names = [w.removeprefix("region ") for w in unique]
    return f"{len(names)} regions ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0

"""The independent checker: does a schedule satisfy a checked policy on a fleet?

Plain Python written from the semantics in the ``dsl.policy`` docstring; it shares no code with the Z3 encoding, so
a bug in the encoder cannot hide itself here.  Every synthesised schedule passes through :func:`verify_schedule`
before anyone sees it.  Cost is linear in VMs x rules: each rule makes one pass over the scheduled VMs with dicts
and Counters, never a rescan of the fleet per wave.

Readings chosen where the IR leaves room (documented in docs/formats.md):

* Comparing a null attribute: ``==``, ``in`` and orderings are false, ``!=`` and ``not in`` true.
* A ``where`` that mentions ``extension.*`` is evaluated per task: a VM is scheduled (for that rule) in the waves of
  its tasks that match; for group sizes a VM matches when one of its installed extensions matches.
* A canary region without tasks is in no phase, so it cannot be checked; that is reported as a note, not a
  violation (the rule is vacuous on this fleet).
* A scope the checker does not know is a violation of that rule ("unknown is never a pass").
"""

from __future__ import annotations

import bisect
import gc
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from dsl.diagnostics import Span
from dsl.policy import (
    GROUP_KEY,
    And,
    Canary,
    Capacity,
    Compare,
    Count,
    DistinctLimit,
    HasTag,
    Not,
    NotWhole,
    Or,
    Order,
    OrderBy,
    Percent,
    Policy,
    Predicate,
    Rule,
    SeparatePairs,
    SeparateRegions,
    Spread,
    TrueP,
    UnitLimit,
    Value,
)
from dsl.suggest import closest
from dsl.versions import is_version, parse_version
from engine.model.fleet import VM, Extension, Fleet
from engine.model.schedule import Schedule, Task
from engine.model.upgrades import resolve_upgrades

# How many VM names a rendered violation lists before "and N more".
SHOWN_VMS = 8


@dataclass(frozen=True)
class Violation:
    """One broken rule (or structural check) with the concrete facts: wave, VMs, and a message saying why."""

    rule: str
    span: Span | None
    wave: int | None
    vms: tuple[str, ...]
    message: str
    phase: int | None = None

    def render(self, max_vms: int = SHOWN_VMS) -> str:
        where = f" ({self.span.render()})" if self.span is not None else ""
        when = f" wave {self.wave}:" if self.wave is not None else (f" phase {self.phase}:" if self.phase is not None else "")
        text = f"{self.rule}{where}:{when} {self.message}"
        if self.vms:
            shown = ", ".join(self.vms[:max_vms])
            more = f" and {len(self.vms) - max_vms} more" if len(self.vms) > max_vms else ""
            text += f"\n    VMs: {shown}{more}"
        return text

    def to_json(self, max_vms: int | None = None) -> dict[str, Any]:
        vms = self.vms if max_vms is None else self.vms[:max_vms]
        return {
            "rule": self.rule,
            "span": self.span.to_json() if self.span is not None else None,
            "wave": self.wave,
            "phase": self.phase,
            "vms": list(vms),
            "vm_count": len(self.vms),
            "message": self.message,
        }


@dataclass(frozen=True)
class VerifyReport:
    violations: tuple[Violation, ...]
    notes: tuple[Violation, ...] = ()
    rules_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def by_rule(self) -> dict[str, list[Violation]]:
        out: dict[str, list[Violation]] = {}
        for v in self.violations:
            out.setdefault(v.rule, []).append(v)
        return out

    def to_json(self, max_vms: int | None = None) -> str:
        doc = {
            "ok": self.ok,
            "rules_checked": self.rules_checked,
            "violations": [v.to_json(max_vms) for v in self.violations],
            "notes": [v.to_json(max_vms) for v in self.notes],
        }
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"


# ----------------------------------------------------------------------------------------------------------------
# Predicates over a VM (and, for extension.* attributes, one of its extensions)


class _Context:
    """Fleet facts the predicates and group keys read, computed once per check."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.regions = fleet.region_by_name
        self.scale_sets = fleet.scale_set_by_name
        self.availability_sets = fleet.availability_set_by_name
        self.set_sizes = fleet.set_sizes
        paired: set[str] = set()
        for r in fleet.regions:
            if r.pair is not None:
                paired.add(r.name)
                paired.add(r.pair)
        self.paired = paired

    def attr(self, path: tuple[str, ...], vm: VM, ext: Extension | None) -> Value | None:
        head, rest = path[0], path[1:]
        name = rest[0] if rest else ""
        if head == "vm":
            if name == "tags":
                return vm.tags.get(rest[1]) if len(rest) > 1 else None
            if name == "single":
                return vm.single
            if name in ("name", "region", "zone", "subscription", "healthy", "update_domain", "fault_domain"):
                value: Value | None = getattr(vm, name)
                return value
            return None
        if head == "scale_set":
            if vm.scale_set is None:
                return None
            if name == "name":
                return vm.scale_set
            if name == "size":
                return self.set_sizes.get(vm.scale_set, 0)
            if name == "upgrade_mode":
                s = self.scale_sets.get(vm.scale_set)
                return s.upgrade_mode if s is not None else None
            return None
        if head == "availability_set":
            if vm.availability_set is None:
                return None
            if name == "name":
                return vm.availability_set
            if name == "size":
                return self.set_sizes.get(vm.availability_set, 0)
            return None
        if head == "region":
            if name == "name":
                return vm.region
            if name == "zones":
                r = self.regions.get(vm.region)
                return r.zones if r is not None else None
            if name == "paired":
                return vm.region in self.paired
            return None
        if head == "extension":
            if ext is None:
                return None
            if name in ("name", "publisher", "type"):
                ext_value: str = getattr(ext, name)
                return ext_value
            return None
        return None

    def holds(self, pred: Predicate, vm: VM, ext: Extension | None = None) -> bool:
        if isinstance(pred, TrueP):
            return True
        if isinstance(pred, Compare):
            return _compare(pred.op, self.attr(pred.left.path, vm, ext), pred.right)
        if isinstance(pred, HasTag):
            return pred.key in vm.tags
        if isinstance(pred, Not):
            return not self.holds(pred.item, vm, ext)
        if isinstance(pred, And):
            return all(self.holds(p, vm, ext) for p in pred.items)
        if isinstance(pred, Or):
            return any(self.holds(p, vm, ext) for p in pred.items)
        raise TypeError(f"unknown predicate {pred!r}")

    def matches_for_size(self, pred: Predicate, vm: VM, per_task: bool) -> bool:
        """Does the VM count in its group's size?  Per-extension predicates: when one installed extension matches."""
        if not per_task:
            return self.holds(pred, vm)
        if not vm.extensions:
            return self.holds(pred, vm, None)
        return any(self.holds(pred, vm, e) for e in vm.extensions)


def _number(v: object) -> Fraction | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, int | Fraction):
        return Fraction(v)
    if isinstance(v, str):
        try:
            return Fraction(v.strip())
        except (ValueError, ZeroDivisionError):
            return None
    return None


def _eq(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    na, nb = _number(a), _number(b)
    if na is not None and nb is not None:
        return na == nb
    return a == b


def _compare(op: str, left: Value | None, right: Value) -> bool:
    if op in ("in", "not in"):
        items = right if isinstance(right, tuple) else (right,)
        hit = left is not None and any(_eq(left, r) for r in items)
        return hit if op == "in" else not hit
    if left is None:
        return op == "!="
    if op == "==":
        return _eq(left, right)
    if op == "!=":
        return not _eq(left, right)
    na, nb = _number(left), _number(right)
    a: Any
    b: Any
    if na is not None and nb is not None and not (isinstance(left, str) and isinstance(right, str)):
        a, b = na, nb
    elif isinstance(left, str) and isinstance(right, str):
        a, b = left, right
    else:
        return False
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    if op == ">=":
        return bool(a >= b)
    raise ValueError(f"unknown comparison {op}")


def _uses_extension(pred: Predicate) -> bool:
    if isinstance(pred, Compare):
        return pred.left.path[:1] == ("extension",)
    if isinstance(pred, Not):
        return _uses_extension(pred.item)
    if isinstance(pred, And | Or):
        return any(_uses_extension(p) for p in pred.items)
    return False


def predicate_text(pred: Predicate) -> str:
    """A readable rendering of a ``where`` filter for messages."""
    if isinstance(pred, TrueP):
        return "true"
    if isinstance(pred, Compare):
        right = pred.right
        r = "(" + ", ".join(_value_text(x) for x in right) + ")" if isinstance(right, tuple) else _value_text(right)
        return f"{pred.left} {pred.op} {r}"
    if isinstance(pred, HasTag):
        return f"has tag {pred.key}"
    if isinstance(pred, Not):
        return f"not ({predicate_text(pred.item)})"
    if isinstance(pred, And):
        return " and ".join(f"({predicate_text(p)})" for p in pred.items)
    return " or ".join(f"({predicate_text(p)})" for p in pred.items)


def _value_text(v: Value) -> str:
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


# ----------------------------------------------------------------------------------------------------------------
# Groups


_VM_FIELD = {
    "region": "region",
    "zone": "zone",
    "scale_set": "scale_set",
    "availability_set": "availability_set",
    "update_domain": "update_domain",
    "fault_domain": "fault_domain",
    "subscription": "subscription",
    "name": "name",
}

GroupKey = tuple[Any, ...]


def _field(vm: VM, name: str) -> Any:
    if name == "set":
        return vm.set_name
    return getattr(vm, _VM_FIELD[name])


def group_key(scope: str, vm: VM) -> GroupKey | None:
    """The VM's group of ``scope`` (see GROUP_KEY), or None when the VM is in no group of that scope."""
    return key_function(scope)(vm)


def key_function(scope: str) -> Callable[[VM], GroupKey | None]:
    """A fast ``vm -> group key`` for one scope (the checker calls it once per VM per rule)."""
    if scope == "fleet":
        return lambda vm: ()
    comps = GROUP_KEY[scope]
    if scope in ("update_domain", "fault_domain"):
        # Domains are keyed within their set; a null domain is a group of its own (unknown domain).
        dom = _VM_FIELD[comps[1]]

        def domain_key(vm: VM) -> GroupKey | None:
            owner = vm.scale_set or vm.availability_set
            return None if owner is None else (owner, getattr(vm, dom))

        return domain_key
    if len(comps) == 1:
        only = comps[0]
        if only == "set":
            return lambda vm: None if vm.set_name is None else (vm.set_name,)
        attr = _VM_FIELD[only]

        def single_key(vm: VM) -> GroupKey | None:
            v = getattr(vm, attr)
            return None if v is None else (v,)

        return single_key

    def multi_key(vm: VM) -> GroupKey | None:
        values = tuple(_field(vm, c) for c in comps)
        return None if any(v is None for v in values) else values

    return multi_key


def count_value(scope: str, vm: VM) -> GroupKey | None:
    """The value a VM shows for a DistinctLimit ``count``: null zones do not count, other nulls are a value."""
    if scope == "fleet":
        return ()
    if scope == "zone" and vm.zone is None:
        return None
    return tuple(_field(vm, c) for c in GROUP_KEY[scope])


def group_name(scope: str, key: GroupKey) -> str:
    def s(v: Any) -> str:
        return "unknown" if v is None else str(v)

    if scope == "fleet":
        return "the fleet"
    if scope == "zone":
        return f"zone {s(key[1])} of region {s(key[0])}"
    if scope in ("update_domain", "fault_domain"):
        return f"{scope.replace('_', ' ')} {s(key[1])} of set {s(key[0])}"
    label = {"vm": "VM", "set": "set"}.get(scope, scope.replace("_", " "))
    return f"{label} {s(key[0])}"


def _value_name(scope: str, key: GroupKey) -> str:
    if scope == "zone":
        return str(key[1])
    if scope in ("update_domain", "fault_domain"):
        return "unknown" if key[1] is None else str(key[1])
    if not key:
        return "fleet"
    return "none" if key[0] is None else str(key[0])


def _sort_key(key: GroupKey) -> tuple[tuple[int, Any], ...]:
    # Keys mix None, ints and strings; rank by type first so sorting never compares across types (None last).
    out: list[tuple[int, Any]] = []
    for v in key:
        if v is None:
            out.append((9, 0))
        elif isinstance(v, bool):
            out.append((1, int(v)))
        elif isinstance(v, int):
            out.append((2, v))
        else:
            out.append((3, str(v)))
    return tuple(out)


# ----------------------------------------------------------------------------------------------------------------
# The check


@dataclass(slots=True)
class _Placed:
    vm: VM
    waves: list[int] = field(default_factory=list)  # sorted, unique
    tasks: list[tuple[int, Extension | None]] = field(default_factory=list)


class _Checker:
    def __init__(self, policy: Policy, fleet: Fleet, schedule: Schedule) -> None:
        self.policy = policy
        self.fleet = fleet
        self.schedule = schedule
        self.ctx = _Context(fleet)
        self.violations: list[Violation] = []
        self.notes: list[Violation] = []
        self.phase_of_wave: dict[int, int] = {w.index: w.phase for w in schedule.waves}
        self.placed: dict[str, _Placed] = {}
        self._sizes: dict[tuple[str, Predicate], dict[GroupKey, int]] = {}
        self._region_units: dict[str, dict[str, set[int]]] = {}
        self._order: list[_Placed] | None = None
        # Every task once, with its VM and extension looked up (None when unknown), in schedule order.
        self.task_refs: list[tuple[int, Task, VM | None, Extension | None]] = []

    def add(
        self,
        rule: str,
        span: Span | None,
        message: str,
        wave: int | None = None,
        vms: Iterable[str] = (),
        phase: int | None = None,
    ) -> None:
        self.violations.append(Violation(rule, span, wave, tuple(sorted(set(vms))), message, phase))

    # -- placement -------------------------------------------------------------------------------------------

    def place(self) -> None:
        vms = self.fleet.vm_by_name
        refs = self.task_refs
        for w in self.schedule.waves:
            for t in w.tasks:
                vm = vms.get(t.vm)
                if vm is None:
                    refs.append((w.index, t, None, None))
                    continue
                p = self.placed.get(t.vm)
                if p is None:
                    p = self.placed[t.vm] = _Placed(vm)
                exts = vm.extensions
                ext = exts[0] if len(exts) == 1 and exts[0].name == t.extension else _ext_named(vm, t.extension)
                p.tasks.append((w.index, ext))
                refs.append((w.index, t, vm, ext))
        for p in self.placed.values():
            p.waves = sorted({w for w, _ in p.tasks})

    def unit(self, wave: int, within: str) -> int:
        return wave if within == "wave" else self.phase_of_wave.get(wave, -1)

    def scheduled(self, where: Predicate, within: str) -> Iterator[tuple[VM, list[int]]]:
        """Each scheduled VM matching ``where`` with the units (waves or phases) it is scheduled in, sorted."""
        per_task = _uses_extension(where)
        always = isinstance(where, TrueP)
        if self._order is None:
            self._order = [self.placed[n] for n in sorted(self.placed)]
        for p in self._order:
            if always:
                waves = p.waves
            elif per_task:
                waves = sorted({w for w, e in p.tasks if self.ctx.holds(where, p.vm, e)})
            else:
                waves = p.waves if self.ctx.holds(where, p.vm) else []
            if not waves:
                continue
            if within == "wave":
                yield p.vm, waves
            else:
                yield p.vm, sorted({self.phase_of_wave.get(w, -1) for w in waves})

    def sizes(self, scope: str, where: Predicate) -> dict[GroupKey, int]:
        cached = self._sizes.get((scope, where))
        if cached is not None:
            return cached
        per_task = _uses_extension(where)
        always = isinstance(where, TrueP)
        out: dict[GroupKey, int] = defaultdict(int)
        key_of = key_function(scope)
        for vm in self.fleet.vms:
            if not always and not self.ctx.matches_for_size(where, vm, per_task):
                continue
            key = key_of(vm)
            if key is not None:
                out[key] += 1
        self._sizes[(scope, where)] = out
        return out

    def region_units(self, within: str) -> dict[str, set[int]]:
        cached = self._region_units.get(within)
        if cached is not None:
            return cached
        out: dict[str, set[int]] = defaultdict(set)
        for vm, units in self.scheduled(TrueP(), within):
            out[vm.region].update(units)
        self._region_units[within] = out
        return out

    def region_vms(self, region: str, within: str, unit: int) -> list[str]:
        return [vm.name for vm, units in self.scheduled(TrueP(), within) if vm.region == region and unit in units]

    # -- structure ---------------------------------------------------------------------------------------------

    def check_structure(self) -> None:
        s = self.schedule
        add = self.add
        for i, ph in enumerate(s.phases):
            if ph.index != i:
                add("structure", None, f"phase at position {i} has index {ph.index}; phases are numbered 0..n-1 in order")
        for i, w in enumerate(s.waves):
            if w.index != i:
                add("structure", None, f"wave at position {i} has index {w.index}; waves are numbered 0..n-1 in order")
            if w.phase >= len(s.phases) or w.phase < 0:
                add("structure", None, f"wave {w.index} is in phase {w.phase}, which the schedule does not list", wave=w.index)
            if not w.tasks:
                add("structure", None, f"wave {w.index} has no tasks", wave=w.index)
        for prev, cur in zip(s.waves, s.waves[1:], strict=False):
            if cur.phase < prev.phase:
                add("structure", None, f"wave {cur.index} is in phase {cur.phase} after wave {prev.index} in phase "
                    f"{prev.phase}; phase indices never decrease along the waves", wave=cur.index)
        phases_with_waves = {w.phase for w in s.waves}
        listed: dict[str, list[int]] = defaultdict(list)
        for ph in s.phases:
            if ph.index not in phases_with_waves:
                add("structure", None, f"phase {ph.index} has no waves", phase=ph.index)
            if not ph.regions:
                add("structure", None, f"phase {ph.index} lists no regions", phase=ph.index)
            for r in ph.regions:
                listed[r].append(ph.index)
        task_phases = self.region_units("phase")
        for r in sorted(listed):
            if r not in self.fleet.region_by_name:
                add("structure", None, f"phase {listed[r][0]} lists unknown region '{r}'{_did_you_mean(r, self.fleet.region_by_name)}",
                    phase=listed[r][0])
            elif len(listed[r]) > 1:
                add("structure", None, f"region {r} is listed in phases {_nums(listed[r])}; a region lies in one phase",
                    phase=listed[r][1])
        for r in sorted(task_phases):
            phases = sorted(task_phases[r])
            if len(phases) > 1:
                add("structure", None, f"region {r} has tasks in phases {_nums(phases)}; a region's tasks all lie in one phase",
                    vms=self._region_vms_in_phases(r, phases[1:]), phase=phases[1])
            if r not in listed:
                add("structure", None, f"region {r} has tasks in phase {_nums(phases)} but no phase lists it", phase=phases[0])
            elif len(phases) == 1 and listed[r][0] != phases[0]:
                add("structure", None, f"region {r} is listed in phase {listed[r][0]} but its tasks are in phase "
                    f"{phases[0]}", phase=phases[0])
        for r in sorted(listed):
            if r in self.fleet.region_by_name and r not in task_phases:
                add("structure", None, f"phase {listed[r][0]} lists region {r}, which has no tasks (a region without tasks "
                    "is in no phase)", phase=listed[r][0])

    def _region_vms_in_phases(self, region: str, phases: list[int]) -> list[str]:
        return [vm.name for vm, units in self.scheduled(TrueP(), "phase") if vm.region == region and set(units) & set(phases)]

    # -- tasks and skipped -----------------------------------------------------------------------------------

    def check_tasks(self) -> None:
        resolution = resolve_upgrades(self.fleet, self.policy.versions)
        expected = {(t.vm, t.extension): t for t in resolution.tasks}
        skipped_reason = {(s.vm, s.extension): s.reason for s in resolution.skipped}
        allow_major = self.policy.versions.allow_major
        vms = self.fleet.vm_by_name
        seen: dict[tuple[str, str], int] = {}
        add = self.add
        for wave, t, vm, ext in self.task_refs:
            key = (t.vm, t.extension)
            if vm is None:
                add("tasks", None, f"task names unknown VM '{t.vm}'{_did_you_mean(t.vm, vms)}", wave=wave, vms=[t.vm])
                continue
            if ext is None:
                names = [e.name for e in vm.extensions]
                add("tasks", None, f"VM {t.vm} has no extension named '{t.extension}'{_did_you_mean(t.extension, names)}",
                    wave=wave, vms=[t.vm])
                continue
            if key in seen:
                add("tasks", None, f"task {t.vm}/{t.extension} appears twice (waves {seen[key]} and {wave})",
                    wave=wave, vms=[t.vm])
                continue
            seen[key] = wave
            due = expected.get(key)
            if due is None:
                why = skipped_reason.get(key, "not due")
                add("tasks", None, f"task {t.vm}/{t.extension} is not due: {why}", wave=wave, vms=[t.vm])
                continue
            if t.from_version != ext.version and not _same_version(t.from_version, ext.version):
                add("tasks", None, f"task {t.vm}/{t.extension} says from_version {t.from_version} but {ext.version} is "
                    "installed", wave=wave, vms=[t.vm])
            if t.to_version == due.to_version:
                continue
            if not is_version(t.to_version):
                add("tasks", None, f"task {t.vm}/{t.extension} has bad to_version '{t.to_version}'", wave=wave,
                    vms=[t.vm])
                continue
            if not allow_major and parse_version(t.to_version)[0] != parse_version(ext.version)[0]:
                add("tasks", None, f"task {t.vm}/{t.extension} crosses a major version ({ext.version} -> "
                    f"{t.to_version}) and the policy does not allow majors", wave=wave, vms=[t.vm])
            elif not _same_version(t.to_version, due.to_version):
                add("tasks", None, f"task {t.vm}/{t.extension} targets {t.to_version} but the resolved target is "
                    f"{due.to_version}", wave=wave, vms=[t.vm])
        missing = sorted(k for k in expected if k not in seen)
        if missing:
            shown = ", ".join(f"{v}/{e}" for v, e in missing[:SHOWN_VMS])
            more = f" and {len(missing) - SHOWN_VMS} more" if len(missing) > SHOWN_VMS else ""
            add("tasks", None, f"{len(missing)} due task(s) missing from the schedule: {shown}{more}",
                vms=[v for v, _ in missing])
        self._check_skipped(skipped_reason, seen)

    def _check_skipped(self, expected: dict[tuple[str, str], str], scheduled: dict[tuple[str, str], int]) -> None:
        listed: dict[tuple[str, str], int] = {}
        for i, s in enumerate(self.schedule.skipped):
            key = (s.vm, s.extension)
            if key in listed:
                self.add("skipped", None, f"skipped[{i}]: {s.vm}/{s.extension} is listed twice", vms=[s.vm])
                continue
            listed[key] = i
            if key in scheduled:
                self.add("skipped", None, f"skipped[{i}]: {s.vm}/{s.extension} is listed as skipped but also scheduled "
                         f"(wave {scheduled[key]})", vms=[s.vm])
            elif key not in expected:
                self.add("skipped", None, f"skipped[{i}]: {s.vm}/{s.extension} is not skipped by the resolution "
                         "(unknown, or due)", vms=[s.vm])
            elif s.reason != expected[key]:
                self.add("skipped", None, f"skipped[{i}]: {s.vm}/{s.extension} has reason '{s.reason}', expected "
                         f"'{expected[key]}'", vms=[s.vm])
        missing = sorted(k for k in expected if k not in listed and k not in scheduled)
        if missing:
            shown = ", ".join(f"{v}/{e}" for v, e in missing[:SHOWN_VMS])
            more = f" and {len(missing) - SHOWN_VMS} more" if len(missing) > SHOWN_VMS else ""
            self.add("skipped", None, f"{len(missing)} skipped (VM, extension) pair(s) not listed: {shown}{more}",
                     vms=[v for v, _ in missing])

    # -- rules -------------------------------------------------------------------------------------------------

    def check_rule(self, rule: Rule) -> None:
        handlers: dict[type, Callable[[Any], None]] = {
            SeparatePairs: self.separate_pairs,
            SeparateRegions: self.separate_regions,
            DistinctLimit: self.distinct_limit,
            Capacity: self.capacity,
            NotWhole: self.not_whole,
            UnitLimit: self.unit_limit,
            Canary: self.canary,
            Order: self.order,
            OrderBy: self.order_by,
        }
        handler = handlers.get(type(rule))
        if handler is None:
            self.add(rule.name, rule.span, f"the checker does not know rule kind {type(rule).__name__}")
            return
        scopes = [getattr(rule, a) for a in ("of", "per", "count") if hasattr(rule, a)]
        # DistinctLimit may count the distinct extensions its tasks touch (a per-task value, not a group).
        unknown = [s for s in scopes if s not in GROUP_KEY and not (s == "extension" and isinstance(rule, DistinctLimit))]
        if unknown:
            self.add(rule.name, rule.span, f"the checker does not know scope '{unknown[0]}'")
            return
        handler(rule)

    def _place(self, within: str, unit: int) -> tuple[int | None, int | None]:
        return (unit, None) if within == "wave" else (None, unit)

    def separate(self, rule: SeparatePairs | SeparateRegions, pairs: Iterable[tuple[str, str]], why: str) -> None:
        units = self.region_units(rule.within)
        done: set[frozenset[str]] = set()
        for a, b in pairs:
            key = frozenset((a, b))
            if a == b or key in done:
                continue
            done.add(key)
            for u in sorted(units.get(a, set()) & units.get(b, set())):
                wave, phase = self._place(rule.within, u)
                x, y = sorted((a, b))
                self.add(rule.name, rule.span, f"{why} regions {x} and {y} are both in {rule.within} {u}", wave=wave,
                         phase=phase, vms=self.region_vms(x, rule.within, u) + self.region_vms(y, rule.within, u))

    def separate_pairs(self, rule: SeparatePairs) -> None:
        pairs = [(r.name, r.pair) for r in self.fleet.regions if r.pair is not None]
        self.separate(rule, pairs, "geo-paired")

    def separate_regions(self, rule: SeparateRegions) -> None:
        regs = list(rule.regions)
        pairs = [(a, b) for i, a in enumerate(regs) for b in regs[i + 1:]]
        self.separate(rule, pairs, "separated")

    def distinct_limit(self, rule: DistinctLimit) -> None:
        seen: dict[tuple[GroupKey, int], dict[GroupKey, list[str]]] = defaultdict(lambda: defaultdict(list))
        per_key = key_function(rule.per)
        for vm, units in self.scheduled(rule.where, rule.within):
            key = per_key(vm)
            if key is None:
                continue
            if rule.count == "extension":
                for u, name in self._task_extensions(vm, rule.where, rule.within):
                    seen[(key, u)][(name,)].append(vm.name)
                continue
            value = count_value(rule.count, vm)
            if value is None:
                continue
            for u in units:
                seen[(key, u)][value].append(vm.name)
        for (key, u), values in sorted(seen.items(), key=lambda kv: (kv[0][1], _sort_key(kv[0][0]))):
            if len(values) <= rule.limit:
                continue
            shown = ", ".join(_value_name(rule.count, v) for v in sorted(values, key=_sort_key))
            label = rule.count.replace("_", " ")
            wave, phase = self._place(rule.within, u)
            vms = [n for names in values.values() for n in names]
            self.add(rule.name, rule.span, f"{group_name(rule.per, key)} has VMs from {len(values)} {label}s ({shown}) in "
                     f"{rule.within} {u}, limit {rule.limit}", wave=wave, phase=phase, vms=vms)

    def _task_extensions(self, vm: VM, where: Predicate, within: str) -> set[tuple[int, str]]:
        """(unit, extension name) of each task of the VM matching ``where``."""
        out: set[tuple[int, str]] = set()
        for w, ext in self.placed[vm.name].tasks:
            if ext is not None and self.ctx.holds(where, vm, ext):
                out.add((self.unit(w, within), ext.name))
        return out

    def members_per_unit(self, of: str, where: Predicate, within: str) -> list[tuple[tuple[GroupKey, int], list[str]]]:
        """The scheduled VMs (matching ``where``) of each (group of scope ``of``, unit), units first, then groups."""
        counts: dict[tuple[GroupKey, int], list[str]] = defaultdict(list)
        of_key = key_function(of)
        for vm, units in self.scheduled(where, within):
            key = of_key(vm)
            if key is None:
                continue
            for u in units:
                counts[(key, u)].append(vm.name)
        return sorted(counts.items(), key=lambda kv: (kv[0][1], _sort_key(kv[0][0])))

    def capacity(self, rule: Capacity) -> None:
        sizes = self.sizes(rule.of, rule.where)
        for (key, u), names in self.members_per_unit(rule.of, rule.where, rule.within):
            size = sizes.get(key, 0)
            cap = rule.amount.of(size)
            if len(names) <= cap:
                continue
            wave, phase = self._place(rule.within, u)
            self.add(rule.name, rule.span, f"{group_name(rule.of, key)} has {len(names)} VMs in {rule.within} {u}, cap "
                     f"{amount_text(rule.amount, size)} = {cap}", wave=wave, phase=phase, vms=names)

    def not_whole(self, rule: NotWhole) -> None:
        sizes = self.sizes(rule.of, rule.where)
        for (key, u), names in self.members_per_unit(rule.of, rule.where, rule.within):
            size = sizes.get(key, 0)
            if size >= rule.min_size and len(names) >= size:
                wave, phase = self._place(rule.within, u)
                self.add(rule.name, rule.span, f"all {size} VMs of {group_name(rule.of, key)} are in {rule.within} {u} "
                         f"(a group of {rule.min_size} or more never goes whole)", wave=wave, phase=phase, vms=names)

    def unit_limit(self, rule: UnitLimit) -> None:
        units_of: dict[GroupKey, set[int]] = defaultdict(set)
        per_key = key_function(rule.per)
        for vm, units in self.scheduled(rule.where, rule.unit):
            key = per_key(vm)
            if key is not None:
                units_of[key].update(units)
        for key in sorted(units_of, key=_sort_key):
            used = sorted(units_of[key])
            if len(used) > rule.limit:
                first_over = used[rule.limit]
                wave, phase = self._place(rule.unit, first_over)
                who = group_name(rule.per, key)
                self.add(rule.name, rule.span, f"{who} has VMs in {len(used)} {rule.unit}s ({_nums(used)}), limit "
                         f"{rule.limit}", wave=wave, phase=phase,
                         vms=[] if rule.per == "fleet" else self._group_vms_in(rule, key, used[rule.limit:]))

    def _group_vms_in(self, rule: UnitLimit, key: GroupKey, units: list[int]) -> list[str]:
        want = set(units)
        return [vm.name for vm, us in self.scheduled(rule.where, rule.unit)
                if group_key(rule.per, vm) == key and want & set(us)]

    def canary(self, rule: Canary) -> None:
        phases = self.region_units("phase")
        canaries = set(rule.regions)
        with_tasks = sorted(r for r in canaries if phases.get(r))
        for r in sorted(canaries - set(with_tasks)):
            self.notes.append(Violation(rule.name, rule.span, None, (), f"canary region {r} has no tasks on this fleet; "
                                        "the rule cannot place it first"))
        for r in with_tasks:
            late = sorted(p for p in phases[r] if p != 0)
            if late:
                self.add(rule.name, rule.span, f"canary region {r} is in phase {_nums(late)}, not the first phase (0)",
                         phase=late[0], vms=self._region_vms_in_phases(r, late))
        if rule.alone and with_tasks:
            for r in sorted(phases):
                if r not in canaries and 0 in phases[r]:
                    self.add(rule.name, rule.span, f"region {r} shares the first phase with canary region(s) "
                             f"{', '.join(with_tasks)}, which go alone", phase=0, vms=self._region_vms_in_phases(r, [0]))

    def order(self, rule: Order) -> None:
        earlier = list(self.scheduled(rule.earlier, rule.unit))
        later = list(self.scheduled(rule.later, rule.unit))
        if not earlier or not later:
            return
        max_e = max(us[-1] for _, us in earlier)
        min_l = min(us[0] for _, us in later)
        if max_e < min_l:
            return
        bad_e = [vm.name for vm, us in earlier if us[-1] >= min_l]
        bad_l = [vm.name for vm, us in later if us[0] <= max_e]
        wave, phase = self._place(rule.unit, min_l)
        self.add(rule.name, rule.span, f"VMs matching [{predicate_text(rule.earlier)}] must come before VMs matching "
                 f"[{predicate_text(rule.later)}], but {len(bad_e)} of them are in {rule.unit} {min_l} or later (up to "
                 f"{max_e}) and {len(bad_l)} later VMs are in {rule.unit} {max_e} or earlier (from {min_l})",
                 wave=wave, phase=phase, vms=bad_e + bad_l)

    def order_by(self, rule: OrderBy) -> None:
        lo: dict[str, int] = {}
        hi: dict[str, int] = {}
        lo_vm: dict[str, str] = {}
        hi_vm: dict[str, str] = {}
        for vm, units in self.scheduled(rule.where, rule.unit):
            raw = self.ctx.attr(rule.key.path, vm, None)
            if raw is None:
                continue
            k = str(raw) if not isinstance(raw, bool) else ("true" if raw else "false")
            if k not in lo or units[0] < lo[k]:
                lo[k], lo_vm[k] = units[0], vm.name
            if k not in hi or units[-1] > hi[k]:
                hi[k], hi_vm[k] = units[-1], vm.name
        for a, b in _order_conflicts(lo, hi, rule.descending):
            wave, phase = self._place(rule.unit, lo[b])
            direction = "larger" if rule.descending else "smaller"
            self.add(rule.name, rule.span, f"{rule.key} = {a} must lie in earlier {rule.unit}s than {rule.key} = {b} "
                     f"({direction} first), but VM {hi_vm[a]} ({a}) is in {rule.unit} {hi[a]} and VM {lo_vm[b]} ({b}) is "
                     f"in {rule.unit} {lo[b]}", wave=wave, phase=phase, vms=[hi_vm[a], lo_vm[b]])

    # -- preferences -------------------------------------------------------------------------------------------

    def spread(self, pref: Spread) -> None:
        groups: dict[tuple[Any, ...], list[tuple[str, list[int]]]] = defaultdict(list)
        for vm, waves in self.scheduled(pref.where, "wave"):
            parts: list[Any] = []
            for comp in pref.by:
                fields = GROUP_KEY.get(comp, (comp,))
                parts.extend(_field(vm, f) if f in _VM_FIELD or f == "set" else None for f in fields)
            if any(p is None for p in parts):
                continue
            groups[tuple(parts)].append((vm.name, waves))
        for key in sorted(groups, key=_sort_key):
            members = groups[key]
            used = {w for _, ws in members for w in ws}
            if len(members) >= 2 and len(used) == 1:
                w = next(iter(used))
                label = " / ".join(f"{c} {v}" for c, v in zip(pref.by, key, strict=False))
                self.notes.append(Violation(pref.name, pref.span, w, tuple(sorted(n for n, _ in members)),
                                            f"all {len(members)} VMs of {label} are in wave {w} (cost {pref.weight})"))

    def run(self) -> VerifyReport:
        self.place()
        self.check_structure()
        self.check_tasks()
        for rule in self.policy.rules:
            self.check_rule(rule)
        for pref in self.policy.preferences:
            if isinstance(pref, Spread):
                self.spread(pref)
        return VerifyReport(tuple(self.violations), tuple(self.notes), len(self.policy.rules))


def verify_schedule(policy: Policy, fleet: Fleet, schedule: Schedule) -> VerifyReport:
    """Check ``schedule`` against every hard rule of ``policy`` on ``fleet``, plus structure, tasks and skipped."""
    # The check allocates millions of small objects and no cycles; the cyclic collector would rescan the whole
    # fleet again and again (half the time at 100k VMs), so it is paused for the call and restored after.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _Checker(policy, fleet, schedule).run()
    finally:
        if was_enabled:
            gc.enable()


# ----------------------------------------------------------------------------------------------------------------
# Helpers


def amount_text(amount: Count | Percent, size: int) -> str:
    if isinstance(amount, Count):
        return str(amount.n)
    inner = f"{amount.rounding}({amount} x {size})"
    return f"max({amount.minimum}, {inner})" if amount.minimum else inner


def _ext_named(vm: VM, name: str) -> Extension | None:
    return next((e for e in vm.extensions if e.name == name), None)


def _same_version(a: str, b: str) -> bool:
    if a == b:
        return True
    if is_version(a) and is_version(b):
        return parse_version(a) == parse_version(b)
    return a == b


def _nums(xs: Iterable[int]) -> str:
    return ", ".join(str(x) for x in xs)


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = closest(name, choices)
    return f" (did you mean '{close}'?)" if close else ""


def _is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True


def _order_conflicts(lo: dict[str, int], hi: dict[str, int], descending: bool) -> list[tuple[str, str]]:
    """Pairs (a, b) of key values where a must come first but a's latest unit is not before b's earliest.

    "a before b" holds when a < b (integers when both parse as integers, else strings), reversed when descending.
    For each b, the worst a is found by binary search over three sorted lists with running maxima (O(K log K)).
    """
    keys = sorted(lo)
    ints = sorted((k for k in keys if _is_int(k)), key=int)
    strs = sorted(keys)

    def running(seq: list[str], from_end: bool) -> list[str]:
        # best[i] = the key with the largest ``hi`` among seq[:i+1] (or seq[i:] when from_end)
        order = list(reversed(seq)) if from_end else seq
        best: list[str] = []
        for k in order:
            best.append(k if not best or hi[k] > hi[best[-1]] else best[-1])
        return list(reversed(best)) if from_end else best

    ints_best_lo, ints_best_hi = running(ints, False), running(ints, True)
    str_best_lo, str_best_hi = running(strs, False), running(strs, True)
    non_int_strs = [k for k in strs if not _is_int(k)]
    non_int_best_lo, non_int_best_hi = running(non_int_strs, False), running(non_int_strs, True)
    int_vals = [int(k) for k in ints]

    def worst_before(b: str) -> list[str]:
        """Keys a that must precede b, represented by the one with the latest unit in each comparable list."""
        out: list[str] = []
        if _is_int(b):
            bi = int(b)
            if not descending:
                i = bisect.bisect_left(int_vals, bi)
                if i > 0:
                    out.append(ints_best_lo[i - 1])
                j = bisect.bisect_left(non_int_strs, b)
                if j > 0:
                    out.append(non_int_best_lo[j - 1])
            else:
                i = bisect.bisect_right(int_vals, bi)
                if i < len(ints):
                    out.append(ints_best_hi[i])
                j = bisect.bisect_right(non_int_strs, b)
                if j < len(non_int_strs):
                    out.append(non_int_best_hi[j])
        else:
            if not descending:
                j = bisect.bisect_left(strs, b)
                if j > 0:
                    out.append(str_best_lo[j - 1])
            else:
                j = bisect.bisect_right(strs, b)
                if j < len(strs):
                    out.append(str_best_hi[j])
        return out

    conflicts: list[tuple[str, str]] = []
    for b in strs:
        worst = [a for a in worst_before(b) if hi[a] >= lo[b]]
        if worst:
            a = max(worst, key=lambda k: (hi[k], k))
            conflicts.append((a, b))
    return conflicts

"""The structural checks of a schedule, before any rule: numbering of phases and waves, regions in one phase each,
every task due and every due task present (with the resolved versions), every skipped pair listed with its reason."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from dsl.suggest import closest
from dsl.versions import is_version, parse_version
from engine.check.placement import Placement
from engine.check.report import SHOWN_VMS
from engine.model.text import nums
from engine.model.upgrades import resolve_upgrades


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = closest(name, choices)
    return f" (did you mean '{close}'?)" if close else ""


def same_version(a: str, b: str) -> bool:
    if a == b:
        return True
    if is_version(a) and is_version(b):
        return parse_version(a) == parse_version(b)
    return a == b


def check_claims(at: Placement) -> None:
    """What the schedule says of itself: a lower bound is at most its wave count, and "optimal" means it meets the
    bound.  (Whether the bound is true the checker cannot tell without solving; a false claim of one beyond the
    schedule's own length it can.)"""
    s = at.schedule
    n = len(s.waves)
    if s.lower_bound > n:
        at.add("structure", None, f"lower_bound {s.lower_bound:,} exceeds the schedule's own {n} waves; a schedule "
               "is never shorter than a lower bound of its length")
    elif s.optimal and s.lower_bound != n:
        at.add("structure", None, f"optimal is true but lower_bound {s.lower_bound:,} is below the {n} waves; "
               "a schedule is proven optimal only when it meets its lower bound")


def check_structure(at: Placement) -> None:
    s = at.schedule
    add = at.add
    check_claims(at)
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
    task_phases = at.region_units("phase")
    for r in sorted(listed):
        if r not in at.fleet.region_by_name:
            add("structure", None, f"phase {listed[r][0]} lists unknown region '{r}'{did_you_mean(r, at.fleet.region_by_name)}",
                phase=listed[r][0])
        elif len(listed[r]) > 1:
            add("structure", None, f"region {r} is listed in phases {nums(listed[r])}; a region lies in one phase",
                phase=listed[r][1])
    for r in sorted(task_phases):
        phases = sorted(task_phases[r])
        if len(phases) > 1:
            add("structure", None, f"region {r} has tasks in phases {nums(phases)}; a region's tasks all lie in one phase",
                vms=at.region_vms(r, "phase", phases[1:]), phase=phases[1])
        if r not in listed:
            add("structure", None, f"region {r} has tasks in phase {nums(phases)} but no phase lists it", phase=phases[0])
        elif len(phases) == 1 and listed[r][0] != phases[0]:
            add("structure", None, f"region {r} is listed in phase {listed[r][0]} but its tasks are in phase "
                f"{phases[0]}", phase=phases[0])
    for r in sorted(listed):
        if r in at.fleet.region_by_name and r not in task_phases:
            add("structure", None, f"phase {listed[r][0]} lists region {r}, which has no tasks (a region without tasks "
                "is in no phase)", phase=listed[r][0])


# -- tasks and skipped -----------------------------------------------------------------------------------

def check_tasks(at: Placement) -> None:
    resolution = resolve_upgrades(at.fleet, at.policy.versions)
    expected = {(t.vm, t.extension): t for t in resolution.tasks}
    skipped_reason = {(s.vm, s.extension): s.reason for s in resolution.skipped}
    allow_major = at.policy.versions.allow_major
    vms = at.fleet.vm_by_name
    seen: dict[tuple[str, str], int] = {}
    add = at.add
    for wave, t, vm, ext in at.task_refs:
        key = (t.vm, t.extension)
        if vm is None:
            add("tasks", None, f"task names unknown VM '{t.vm}'{did_you_mean(t.vm, vms)}", wave=wave, vms=[t.vm])
            continue
        if ext is None:
            names = [e.name for e in vm.extensions]
            add("tasks", None, f"VM {t.vm} has no extension named '{t.extension}'{did_you_mean(t.extension, names)}",
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
        if t.from_version != ext.version and not same_version(t.from_version, ext.version):
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
        elif not same_version(t.to_version, due.to_version):
            add("tasks", None, f"task {t.vm}/{t.extension} targets {t.to_version} but the resolved target is "
                f"{due.to_version}", wave=wave, vms=[t.vm])
    missing = sorted(k for k in expected if k not in seen)
    if missing:
        shown = ", ".join(f"{v}/{e}" for v, e in missing[:SHOWN_VMS])
        more = f" and {len(missing) - SHOWN_VMS} more" if len(missing) > SHOWN_VMS else ""
        add("tasks", None, f"{len(missing)} due task(s) missing from the schedule: {shown}{more}",
            vms=[v for v, _ in missing])
    _check_skipped(at, skipped_reason, seen)

def _check_skipped(at: Placement, expected: dict[tuple[str, str], str], scheduled: dict[tuple[str, str], int]) -> None:
    listed: dict[tuple[str, str], int] = {}
    for i, s in enumerate(at.schedule.skipped):
        key = (s.vm, s.extension)
        if key in listed:
            at.add("skipped", None, f"skipped[{i}]: {s.vm}/{s.extension} is listed twice", vms=[s.vm])
            continue
        listed[key] = i
        if key in scheduled:
            at.add("skipped", None, f"skipped[{i}]: {s.vm}/{s.extension} is listed as skipped but also scheduled "
                     f"(wave {scheduled[key]})", vms=[s.vm])
        elif key not in expected:
            at.add("skipped", None, f"skipped[{i}]: {s.vm}/{s.extension} is not skipped by the resolution "
                     "(unknown, or due)", vms=[s.vm])
        elif s.reason != expected[key]:
            at.add("skipped", None, f"skipped[{i}]: {s.vm}/{s.extension} has reason '{s.reason}', expected "
                     f"'{expected[key]}'", vms=[s.vm])
    missing = sorted(k for k in expected if k not in listed and k not in scheduled)
    if missing:
        shown = ", ".join(f"{v}/{e}" for v, e in missing[:SHOWN_VMS])
        more = f" and {len(missing) - SHOWN_VMS} more" if len(missing) > SHOWN_VMS else ""
        at.add("skipped", None, f"{len(missing)} skipped (VM, extension) pair(s) not listed: {shown}{more}",
                 vms=[v for v, _ in missing])

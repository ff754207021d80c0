"""Claims about the calendar: ``upgrade only ...`` (Window: no install starts outside its window), ``never from ...
to ...`` (Freeze: nothing runs during a freeze), ``bake D after ...`` (Bake: every phase bakes at least D) and
``install takes D`` (InstallTime), each on every fleet and schedule the spec permits.

Proof (sound, not complete): a claim is proven when one rule of the spec of the same kind implies it on its own —

* the rule's ``where`` holds wherever the claim's does (an unsat Z3 query on a generic VM, through the prover's own
  reading, ``engine.prove.symbolic``; "unknown" proves nothing);
* Window: every open interval of the rule lies inside one open interval of the claim, checked in UTC, day by day,
  over the years ``YEARS`` (both zones literal), or the two windows are the same recurrence in the same zone tag;
* Freeze: the claim's interval lies inside the union of the intervals of such rules (both zones literal), or the
  rule is the same freeze read in the same zone tag;
* Bake: the rule bakes after the same unit at least as long (the checker's condition is monotone in the duration);
* InstallTime: the spec's install time (its rule, else the executor's nominal one) is at least the claim's.

So "proven" holds for every fleet and, for windows and freezes between literal zones, for every rollout in
``YEARS`` (the scope says so).  Otherwise a candidate counterexample (one or two VMs and a timed schedule) is searched
on the calendar and replayed through the independent checker: it refutes only when the spec accepts it and the
claim rejects it; else the answer is unknown.
"""

from __future__ import annotations

import datetime as dt
import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Generic, TypeVar, cast

import z3

from dsl.policy import Bake, Freeze, InstallTime, Policy, Predicate, TimeRule, TrueP, Window
from engine.check.semantics import Semantics
from engine.model.calendar import (
    DEFAULT_INSTALL_SECONDS,
    CalendarError,
    format_instant,
    freeze_interval,
    inside,
    openings,
    parse_instant,
    zone,
    zone_of,
)
from engine.model.fleet import parse_fleet
from engine.model.solver import Sat, Solver, Unsat
from engine.prove.kinds.base import ClaimKind
from engine.prove.recheck import recheck_unsat
from engine.prove.replay import complete_schedule, replay
from engine.prove.results import Counterexample, Outcome
from engine.prove.symbolic import AttrVals, Interner, eval_pred, predicate_strings, rule_strings
from engine.prove.witness import Witness, assemble, plain_vm, region_entry, vm_from

T = TypeVar("T", InstallTime, Bake, Window, Freeze)
YEARS = (2000, 2100)  # the calendar years a window or freeze claim is checked over, day by day
SEARCH_FROM = "2030-01-07T00:00Z"  # where a counterexample search starts (a Monday)
SEARCH_STEP = 1800
SEARCH_STEPS = 24 * 2 * 400


NO_CALENDAR = "the spec has no time rules, so it permits schedules without times, which the claim refuses"


def time_claim_policy(spec: Policy, claim: TimeRule) -> Policy:
    """The policy whose only obligation is the claim (versions as in the spec)."""
    return replace(spec, name=f"{spec.name} (claim)", rules=(), preferences=(), gates=(), times=(claim,))


def time_interner(spec: Policy, claim: TimeRule, *preds: Predicate) -> Interner:
    """Every string the spec's rules and time rules, the claim and ``preds`` compare with.  The time rules' own
    strings are the point: without them a time rule's ``!= "x"`` read x as a string no VM can have, so "always
    true" (a where-implication proven that a fleet breaks; found by bench/prove_fuzz.py's calendar cases)."""
    strings = [x for r in (*spec.rules, *spec.times, claim) for x in rule_strings(r)]
    return Interner([*strings, *(x for p in preds for x in predicate_strings(p))])


def implies(spec: Policy, claim: TimeRule, a: Predicate, b: Predicate, deadline: float) -> bool | None:
    """Does ``a`` imply ``b`` on every VM (True), not (False), or no answer (None)?  True without a solver only
    when syntactic (``b`` is true, or ``a`` is ``b``); Z3's unsat is kept only when cvc5 confirms the same query."""
    if isinstance(b, TrueP) or a == b:
        return True
    kv = AttrVals("g", None, (), time_interner(spec, claim, a, b))
    query = [eval_pred(a, kv), z3.Not(eval_pred(b, kv)), *kv.all_side()]
    s = Solver(ctx=z3.main_ctx())
    s.add(*query)
    result = s.check(min(deadline, time.monotonic() + 2.0))
    if isinstance(result, Unsat):
        return True if recheck_unsat(query, min(deadline, time.monotonic() + 2.0)) else None
    return False if isinstance(result, Sat) else None


# How a time claim's "proven" is confirmed without trusting Z3 (engine.prove.prover.confirmed requires one).
TIME_RECHECK = ("the times compared in plain Python (durations, freeze intervals, window openings day by day in "
                "UTC); the where-implication syntactic or confirmed by cvc5")


class TimeClaim(ClaimKind[T], Generic[T]):
    """What the four kinds share: the search for a rule that implies the claim, then a replayed counterexample."""

    def rules(self, spec: Policy) -> list[T]:
        return [cast(T, r) for r in spec.times if isinstance(r, self.kind)]

    @abstractmethod
    def implied_by(self, spec: Policy, rule: T, claim: T, deadline: float) -> tuple[bool | None, str]:
        """Does ``rule`` alone imply the claim (None: undecided), and over what scope?"""

    def prove(self, spec: Policy, claim: T, deadline: float) -> Outcome:
        if not spec.times:
            return untimed_counterexample(spec, claim)
        undecided = ""
        for rule in self.rules(spec):
            ok, scope = self.implied_by(spec, rule, claim, deadline)
            if ok:
                return Outcome("proven", scope, f"holds {scope}, from {rule.name}", involved=(rule.name,),
                               rechecked=TIME_RECHECK)
            if ok is None:
                undecided = f"whether {rule.name} implies it could not be decided"
        for witness in self.witnesses(spec, claim, deadline):
            good, why = replay(spec, time_claim_policy(spec, claim), *witness)
            if good:
                cex = Counterexample(witness[0], complete_schedule(spec, *witness), explanation=why)
                return Outcome("refuted", "by a replayed witness", f"counterexample: {why}", counterexample=cex)
            if time.monotonic() > deadline:
                break
        why = undecided or "no rule of the spec implies it and no counterexample replayed"
        return Outcome("unknown", "none", f"{why}: cannot be proven here")

    def witnesses(self, spec: Policy, claim: T, deadline: float) -> list[Witness]:
        return []


def untimed_counterexample(spec: Policy, claim: TimeRule) -> Outcome:
    """A spec without time rules accepts a schedule without times; a time claim does not (replayed)."""
    vm = plain_vm("vm-a", "region-a", True)
    tag = getattr(claim, "zone_tag", None)
    if tag is not None:
        vm["tags"] = {tag: "UTC"}
    fleet, schedule = assemble([{**region_entry("region-a"), "time_zone": "UTC"}], [], [], [vm], [["region-a"]],
                               [(0, ["vm-a"])])
    good, why = replay(spec, time_claim_policy(spec, claim), fleet, schedule)
    if not good:
        return Outcome("unknown", "none", f"{NO_CALENDAR}, but the witness did not replay: {why}")
    cex = Counterexample(fleet, complete_schedule(spec, fleet, schedule), explanation=why)
    return Outcome("refuted", "by a replayed witness", f"counterexample: {NO_CALENDAR} ({why})", counterexample=cex)


# -- building witnesses ----------------------------------------------------------------------------------------


def _vm_for(spec: Policy, claim: TimeRule, where: Predicate, name: str, deadline: float) -> dict[str, Any] | None:
    """A scheduled VM that ``where`` selects (from a Z3 model of the prover's reading), preferably one that no window
    or freeze of the spec selects, with a UTC zone tag for any rule that reads its zone from a tag."""
    others = [r.where for r in spec.times if isinstance(r, Window | Freeze)]
    for avoid in (others, []):
        vm = _model_vm(spec, claim, where, avoid, name, deadline)
        if vm is not None:
            for r in (*spec.times, claim):
                tag = getattr(r, "zone_tag", None)
                if tag is not None:
                    vm.setdefault("tags", {}).setdefault(tag, "UTC")
            return vm
    return None


def _model_vm(spec: Policy, claim: TimeRule, where: Predicate, avoid: Sequence[Predicate], name: str,
              deadline: float) -> dict[str, Any] | None:
    if isinstance(where, TrueP) and not avoid:
        return plain_vm(name, "region-a", True)
    kv = AttrVals("w", None, (), time_interner(spec, claim, where, *avoid))
    s = Solver(ctx=z3.main_ctx())
    s.add(eval_pred(where, kv), *(z3.Not(eval_pred(p, kv)) for p in avoid))
    for key in ("vm.region", "vm.in_scale_set", "vm.in_availability_set", "scale_set.name", "availability_set.name"):
        kv.get(key)
    s.add(*kv.all_side())
    result = s.check(min(deadline, time.monotonic() + 2.0))
    return vm_from(result, kv, name, True) if isinstance(result, Sat) else None


def _witness(vms: list[dict[str, Any]], phases: list[list[str]], waves: list[tuple[int, list[str]]],
             times: list[tuple[int, int]], start: int) -> Witness:
    regions = sorted({v["region"] for v in vms})
    sets = sorted({(k, v[k], v["region"]) for v in vms for k in ("scale_set", "availability_set") if v.get(k)})
    zones = {r: max([int(v["zone"]) for v in vms if v["region"] == r and v.get("zone")] or [0]) for r in regions}
    # Witness regions read their times in UTC (for rules `in the region zone`).
    fleet, schedule = assemble([{**region_entry(r, zones[r]), "time_zone": "UTC"} for r in regions],
                               [{"name": n, "region": r} for k, n, r in sets if k == "scale_set"],
                               [{"name": n, "region": r} for k, n, r in sets if k == "availability_set"],
                               vms, phases, waves)
    schedule["start"] = format_instant(start)
    for w, (s, e) in zip(schedule["waves"], times, strict=True):
        w["start"], w["end"] = format_instant(s), format_instant(e)
    return fleet, schedule


def spec_install(spec: Policy) -> int:
    return next((r.duration.seconds for r in spec.times if isinstance(r, InstallTime)), DEFAULT_INSTALL_SECONDS)


def _zone_for(rule: Window | Freeze, vm: dict[str, Any]) -> dt.tzinfo | None:
    try:
        return zone_of(rule.zone, rule.zone_tag, vm.get("tags", {}), rule.zone_region, "UTC")
    except CalendarError:
        return None


def _single_vm_search(spec: Policy, claim: Window | Freeze, deadline: float,
                      breaks: Any) -> list[Witness]:
    """One VM the claim selects, one wave of one install: the first half hour from ``SEARCH_FROM`` at which the
    spec's windows and freezes admit the wave and ``breaks(start, end, vm)`` says the claim does not."""
    vm = _vm_for(spec, claim, claim.where, "vm-a", deadline)
    if vm is None:
        return []
    length = spec_install(spec)
    t = parse_instant(SEARCH_FROM)
    for _ in range(SEARCH_STEPS):
        if time.monotonic() > deadline:
            return []
        if breaks(t, t + length, vm) and _spec_admits(spec, vm, t, t + length):
            return [_witness([vm], [[vm["region"]]], [(0, [vm["name"]])], [(t, t + length)], t)]
        t += SEARCH_STEP
    return []


def _selects(rule: Window | Freeze, vm: dict[str, Any]) -> bool:
    """Does the rule's ``where`` select the witness VM (read by the checker's semantics on a one-VM fleet)?"""
    fleet = parse_fleet(_witness([vm], [[vm["region"]]], [(0, [vm["name"]])], [(0, 0)], 0)[0], "<witness>")
    model = fleet.vms[0]
    return Semantics(fleet).matches_task(rule.where, model, model.extensions[0])


def _spec_admits(spec: Policy, vm: dict[str, Any], s: int, e: int) -> bool:
    """A quick filter before the replay (which decides): the spec's windows and freezes that select this VM."""
    for r in spec.times:
        if isinstance(r, Window | Freeze) and _selects(r, vm):
            tz = _zone_for(r, vm)
            if tz is None:
                return False
            if (isinstance(r, Window) and not inside(r, tz, s, e)) or (isinstance(r, Freeze) and _overlaps(r, tz, s, e)):
                return False
    return True


def _overlaps(f: Freeze, tz: dt.tzinfo, s: int, e: int) -> bool:
    fs, fe = freeze_interval(f, tz)
    return s < fe and fs < e


# -- the kinds -------------------------------------------------------------------------------------------------


def _years() -> tuple[int, int]:
    return parse_instant(f"{YEARS[0]}-01-01T00:00Z"), parse_instant(f"{YEARS[1]}-01-01T00:00Z")


def dynamic(rule: Window | Freeze) -> tuple[str, ...] | None:
    """Where a rule reads a VM's zone when not from a literal: its tag, or its region (None: a literal zone)."""
    if rule.zone_region:
        return ("region",)
    return None if rule.zone_tag is None else ("tag", rule.zone_tag)


def contained(inner: Sequence[tuple[int, int]], outer: Sequence[tuple[int, int]]) -> bool:
    """Does every interval of ``inner`` lie inside one interval of ``outer`` (both sorted and disjoint)?"""
    j = 0
    for s, e in inner:
        while j < len(outer) and outer[j][1] <= s:
            j += 1
        if j == len(outer) or not (outer[j][0] <= s and e <= outer[j][1]):
            return False
    return True


class WindowClaim(TimeClaim[Window]):
    kind = Window

    def implied_by(self, spec: Policy, rule: Window, claim: Window, deadline: float) -> tuple[bool | None, str]:
        covers = implies(spec, claim, claim.where, rule.where, deadline)
        if not covers:
            return covers, ""
        if dynamic(rule) is not None or dynamic(claim) is not None:
            same = dynamic(rule) == dynamic(claim) and (rule.days, rule.start, rule.end) == \
                (claim.days, claim.start, claim.end)
            return (True, "for every fleet and rollout") if same else (None, "")
        lo, hi = _years()
        # Openings merged across the period's edges are cut there: compare the rule's, clipped, well inside it.
        first, last = lo + 8 * 86400, hi - 8 * 86400
        inner = [(max(s, first), min(e, last)) for s, e in openings(rule, zone(rule.zone), lo, hi)
                 if max(s, first) < min(e, last)]
        outer = openings(claim, zone(claim.zone), lo, hi)
        return contained(inner, outer), f"for every fleet, for rollouts from {YEARS[0]} to {YEARS[1]}"

    def witnesses(self, spec: Policy, claim: Window, deadline: float) -> list[Witness]:
        def breaks(s: int, e: int, vm: dict[str, Any]) -> bool:
            tz = _zone_for(claim, vm)
            return tz is not None and not inside(claim, tz, s, e)
        return _single_vm_search(spec, claim, deadline, breaks)


class FreezeClaim(TimeClaim[Freeze]):
    kind = Freeze

    def prove(self, spec: Policy, claim: Freeze, deadline: float) -> Outcome:
        if spec.times and dynamic(claim) is None:
            cs, ce = freeze_interval(claim, zone(claim.zone))
            covering = [r for r in self.rules(spec) if dynamic(r) is None
                        and implies(spec, claim, claim.where, r.where, deadline)]
            spans = sorted(freeze_interval(r, zone(r.zone)) for r in covering)
            reach = cs
            for s, e in spans:
                if s <= reach:
                    reach = max(reach, e)
            if reach >= ce and covering:
                names = tuple(r.name for r in covering)
                return Outcome("proven", "for every fleet", f"holds for every fleet, from {', '.join(names)}",
                               involved=names, rechecked=TIME_RECHECK)
        return super().prove(spec, claim, deadline)

    def implied_by(self, spec: Policy, rule: Freeze, claim: Freeze, deadline: float) -> tuple[bool | None, str]:
        if dynamic(rule) is None or dynamic(rule) != dynamic(claim) or (rule.start, rule.end) != (claim.start,
                                                                                                   claim.end):
            return False, ""
        return implies(spec, claim, claim.where, rule.where, deadline), "for every fleet"

    def witnesses(self, spec: Policy, claim: Freeze, deadline: float) -> list[Witness]:
        vm = _vm_for(spec, claim, claim.where, "vm-a", deadline)
        tz = _zone_for(claim, vm) if vm is not None else None
        if vm is None or tz is None:
            return []
        length = spec_install(spec)
        fs, fe = freeze_interval(claim, tz)
        t = fs
        while t < fe and time.monotonic() < deadline:  # a wave inside the freeze the spec admits
            if _spec_admits(spec, vm, t, t + length):
                return [_witness([vm], [[vm["region"]]], [(0, [vm["name"]])], [(t, t + length)], t)]
            t += SEARCH_STEP
        return []


class BakeClaim(TimeClaim[Bake]):
    kind = Bake

    def implied_by(self, spec: Policy, rule: Bake, claim: Bake, deadline: float) -> tuple[bool | None, str]:
        return rule.after == claim.after and rule.duration.seconds >= claim.duration.seconds, "for every fleet"

    def witnesses(self, spec: Policy, claim: Bake, deadline: float) -> list[Witness]:
        """Two VMs, two waves, the second starting as soon as the spec's bakes of that unit allow."""
        # The spec's bakes that also hold between these two waves (two regions in two phases, or one region).
        relevant = ("phase", "wave") if claim.after == "phase" else ("wave", "first_wave", "first_zone")
        gap = max((r.duration.seconds for r in self.rules(spec) if r.after in relevant), default=0)
        if gap >= claim.duration.seconds:
            return []
        a = plain_vm("vm-a", "region-a", True)
        b = plain_vm("vm-b", "region-b" if claim.after == "phase" else "region-a", True)
        if claim.after == "first_zone":
            a["zone"], b["zone"] = "1", "2"
        phases = [[a["region"]], [b["region"]]] if claim.after == "phase" else [[a["region"]]]
        waves = [(0, ["vm-a"]), (1 if claim.after == "phase" else 0, ["vm-b"])]
        length = spec_install(spec)
        t = parse_instant(SEARCH_FROM)
        out: list[Witness] = []
        for _ in range(SEARCH_STEPS):
            second = t + length + gap
            if _spec_admits(spec, a, t, t + length) and _spec_admits(spec, b, second, second + length):
                out.append(_witness([a, b], phases, waves, [(t, t + length), (second, second + length)], t))
                break
            t += SEARCH_STEP
        return out


class InstallTimeClaim(TimeClaim[InstallTime]):
    kind = InstallTime

    def prove(self, spec: Policy, claim: InstallTime, deadline: float) -> Outcome:
        have = spec_install(spec)
        rule = next((r.name for r in spec.times if isinstance(r, InstallTime)), None)
        if spec.times and have >= claim.duration.seconds:
            basis = f"from {rule}" if rule else "from the executor's nominal install time"
            return Outcome("proven", "for every fleet", f"holds for every fleet, {basis}",
                           involved=(rule,) if rule else (), rechecked=TIME_RECHECK)
        return super().prove(spec, claim, deadline)

    def implied_by(self, spec: Policy, rule: InstallTime, claim: InstallTime, deadline: float
                   ) -> tuple[bool | None, str]:
        return rule.duration.seconds >= claim.duration.seconds, "for every fleet"

    def witnesses(self, spec: Policy, claim: InstallTime, deadline: float) -> list[Witness]:
        vm = plain_vm("vm-a", "region-a", True)
        length = spec_install(spec)
        t = parse_instant(SEARCH_FROM)
        for _ in range(SEARCH_STEPS):
            if _spec_admits(spec, vm, t, t + length):
                return [_witness([vm], [["region-a"]], [(0, ["vm-a"])], [(t, t + length)], t)]
            t += SEARCH_STEP
        return []

"""Differential soundness testing of ``wavegate prove`` and ``wavegate diff`` against the normative checker, as Cedar
tests its symbolic compiler against its Lean model.

Each case is a random claim under a random spec (a bundled spec, with rules dropped, added or changed), over every
rule kind, scope, ``where`` filter (``extension.*`` conditions among them) and the executor's gates; or a random
pair of policies for ``diff``.  The prover answers; then:

* **proven** — a bounded search for a counterexample: small random fleets (regions, zones, pairs, geographies,
  scale and availability sets, domains, tags, several extensions per VM, names the policy mentions) and schedules
  (random phase splits, one VM per wave, random buckets, tasks of one VM split over waves, every task in one wave;
  with ``--planned K``, on K fleets also the planner's schedule under the spec and one-step mutations of it),
  each judged by the checker (``engine.check.verify``) under the spec and under the claim.  A schedule the spec
  accepts and the claim rejects is a *disagreement*.  Executor claims are searched on real runs of the executor
  (``engine.run``) under the spec with random fault scripts, judged by the claim's runtime monitor (precheck, stop
  on upgraded) or by the event log (pause, retries, rollback end state).
* **refuted** — the counterexample is replayed again here (checker, or the executor for traces); one that does not
  separate spec and claim is a disagreement.
* **diff stricter / equivalent / looser** — the same search for a fleet and schedule that the stricter policy
  accepts and the other rejects.

    python bench/prove_fuzz.py --count 1000 --seed 1 [--workers 2] [--start K]

prints cases, proven, refuted, unknown, vacuous, disagreements, cases per second and the spread over claim kinds;
exits 1 on any disagreement (each one printed with its spec, claim and distinguishing fleet).
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dsl.diagnostics import Span  # noqa: E402
from dsl.loader import load_policy  # noqa: E402
from dsl.policy import (  # noqa: E402
    ALWAYS,
    And,
    Attr,
    Bake,
    Canary,
    Capacity,
    Compare,
    Count,
    DaySpec,
    DistinctLimit,
    Duration,
    ExtensionOrder,
    ExtensionSelector,
    Freeze,
    Gate,
    HasTag,
    HealthWaitGate,
    InstallTime,
    Not,
    NotWhole,
    Or,
    Order,
    OrderBy,
    PauseGate,
    Percent,
    PhaseGate,
    Policy,
    PrecheckGate,
    Predicate,
    RetryGate,
    Rule,
    SeparatePairs,
    SeparateRegions,
    StopUnhealthyGate,
    StopUpgradedGate,
    TimeRule,
    UnitLimit,
    VersionClaim,
    Window,
)
from dsl.versions import major  # noqa: E402
from engine.check.semantics import Semantics  # noqa: E402
from engine.check.verify import verify_schedule  # noqa: E402
from engine.model.calendar import format_instant, parse_instant  # noqa: E402
from engine.model.errors import CheckFailed, InputError, MonitorBreach, WavegateError  # noqa: E402
from engine.model.faults import parse_faults  # noqa: E402
from engine.model.fleet import Fleet, parse_fleet  # noqa: E402
from engine.model.schedule import Schedule, parse_schedule  # noqa: E402
from engine.model.upgrades import resolve_upgrades  # noqa: E402
from engine.plan.synthesis import plan  # noqa: E402
from engine.prove.certificate import certify  # noqa: E402
from engine.prove.kinds.timing import time_claim_policy  # noqa: E402
from engine.prove.policydiff import diff_policies  # noqa: E402
from engine.prove.prover import Claim, claim_policy, prove_claim  # noqa: E402
from engine.prove.results import Outcome  # noqa: E402
from engine.prove.search import EXTENSIONS, REGIONS, TAGS, rand_fleet, rand_schedules  # noqa: E402
from engine.run.driver import SimDriver  # noqa: E402
from engine.run.events import MemorySink  # noqa: E402
from engine.run.executor import execute  # noqa: E402
from engine.run.gates import REAL_GATES, GateFns  # noqa: E402

SPAN = Span("<fuzz>", 1, 1, 1, 2)
SPECS = ("azure-default.wg", "team-strict.wg", "ring-ordered.wg")
SCOPES = ("fleet", "region", "zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain",
          "subscription", "geography", "vm")
SET_SCOPES = ("scale_set", "availability_set", "set")
COUNTED = ("zone", "region", "scale_set", "availability_set", "set", "update_domain", "fault_domain",
           "subscription", "geography", "extension")
STRING_VALUES = {
    "vm.region": REGIONS, "region.name": REGIONS, "vm.zone": ("1", "2", "3"), "vm.subscription": ("s0", "s1"),
    "region.geography": ("United States", "Europe", "geo0"), "scale_set.name": ("ss0", "ss1"),
    "availability_set.name": ("as0", "as1"), "scale_set.upgrade_mode": ("automatic", "rolling"),
    "extension.name": tuple(e[0] for e in EXTENSIONS), "extension.publisher": tuple(e[1] for e in EXTENSIONS),
    "extension.type": tuple(e[2] for e in EXTENSIONS), "vm.name": ("vm0", "vm1"),
}
INT_VALUES = {"vm.update_domain": (0, 1, 2), "vm.fault_domain": (0, 1), "scale_set.size": (2, 3, 5, 10),
              "availability_set.size": (2, 3, 5), "region.zones": (0, 2, 3)}
BOOL_ATTRS = ("vm.healthy", "vm.single", "region.paired")


# ----------------------------------------------------------------------------------------------------------------
# Random policies and claims


def rand_atom(rng: random.Random) -> Predicate:
    r = rng.random()
    if r < 0.1:
        return HasTag(rng.choice(tuple(TAGS)))
    if r < 0.2:
        key = rng.choice(tuple(TAGS))
        return Compare(rng.choice(("==", "!=", "in")), Attr(("vm", "tags", key)),
                       rng.choice(TAGS[key]) if rng.random() < 0.7 else tuple(rng.sample(TAGS[key], 2)))
    if r < 0.35:
        return Compare(rng.choice(("==", "!=")), Attr(tuple(rng.choice(BOOL_ATTRS).split("."))), rng.random() < 0.5)
    if r < 0.6:
        key = rng.choice(tuple(INT_VALUES))
        return Compare(rng.choice(("==", "!=", "<", "<=", ">", ">=")), Attr(tuple(key.split("."))),
                       rng.choice(INT_VALUES[key]))
    key = rng.choice(tuple(STRING_VALUES))
    if rng.random() < 0.3:
        return Compare(rng.choice(("in", "not in")), Attr(tuple(key.split("."))),
                       tuple(rng.sample(STRING_VALUES[key], min(2, len(STRING_VALUES[key])))))
    return Compare(rng.choice(("==", "!=", "==", "<")), Attr(tuple(key.split("."))), rng.choice(STRING_VALUES[key]))


def rand_where(rng: random.Random, depth: int = 2) -> Predicate:
    r = rng.random()
    if depth == 0 or r < 0.45:
        return ALWAYS if r < 0.3 else rand_atom(rng)
    if r < 0.6:
        return Not(rand_where(rng, depth - 1))
    items = tuple(rand_where(rng, depth - 1) for _ in range(rng.randint(2, 3)))
    items = tuple(i for i in items if i != ALWAYS) or (rand_atom(rng),)
    return And(items) if r < 0.85 else Or(items)


def rand_amount(rng: random.Random) -> Count | Percent:
    if rng.random() < 0.4:
        return Count(rng.randint(1, 4))
    return Percent(Fraction(rng.choice((10, 20, 25, 34, 50, 100))), rng.choice(("floor", "ceil")), rng.choice((0, 1, 1)))


def rand_selector(rng: random.Random) -> ExtensionSelector:
    name, pub, typ = rng.choice(EXTENSIONS)
    field_ = rng.choice(("name", "publisher", "type"))
    return ExtensionSelector(**{field_: {"name": name, "publisher": pub, "type": typ}[field_]})


def rand_rule(rng: random.Random, name: str) -> Rule:
    unit = rng.choice(("wave", "wave", "phase"))
    kind = rng.choice(("capacity", "capacity", "distinct", "distinct", "not_whole", "unit_limit", "pairs", "regions",
                       "canary", "order", "order_by", "extension_order"))
    where = rand_where(rng)
    if kind == "capacity":
        return Capacity(name, SPAN, amount=rand_amount(rng), of=rng.choice(SCOPES), within=unit, where=where)
    if kind == "distinct":
        return DistinctLimit(name, SPAN, limit=rng.randint(1, 3), count=rng.choice(COUNTED), per=rng.choice(SCOPES),
                             within=unit, where=where)
    if kind == "not_whole":
        return NotWhole(name, SPAN, of=rng.choice(SCOPES), within=unit, min_size=rng.randint(1, 3), where=where)
    if kind == "unit_limit":
        return UnitLimit(name, SPAN, limit=rng.randint(1, 3), unit=unit, per=rng.choice(SCOPES), where=where)
    if kind == "pairs":
        return SeparatePairs(name, SPAN, within=unit)
    if kind == "regions":
        return SeparateRegions(name, SPAN, regions=tuple(rng.sample(REGIONS, rng.randint(2, 3))), within=unit)
    if kind == "canary":
        return Canary(name, SPAN, regions=tuple(rng.sample(REGIONS, rng.randint(1, 2))), alone=rng.random() < 0.5)
    if kind == "order":
        return Order(name, SPAN, earlier=rand_where(rng, 1), later=rand_where(rng, 1), unit=unit)
    if kind == "order_by":
        key = rng.choice((("vm", "tags", "ring"), ("vm", "update_domain"), ("vm", "zone")))
        return OrderBy(name, SPAN, key=Attr(key), unit=unit, descending=rng.random() < 0.5, where=where)
    return ExtensionOrder(name, SPAN, first=rand_selector(rng), second=rand_selector(rng))


def mutate_rule(rng: random.Random, r: Rule) -> Rule:
    """A neighbour of a spec rule: a claim that is often true (the rule itself, looser) and often barely false."""
    choice = rng.random()
    if choice < 0.2:
        return r
    if isinstance(r, Capacity):
        if choice < 0.5:
            return replace(r, amount=rand_amount(rng))
        if choice < 0.7:
            return replace(r, of=rng.choice(SCOPES))
        if choice < 0.85:
            return replace(r, where=And((r.where, rand_atom(rng))) if r.where != ALWAYS else rand_atom(rng))
        return replace(r, within="phase" if r.within == "wave" else "wave")
    if isinstance(r, DistinctLimit):
        if choice < 0.5:
            return replace(r, limit=max(1, r.limit + rng.choice((-1, 0, 1))), per=rng.choice(SCOPES))
        if choice < 0.75:
            return replace(r, count=rng.choice(COUNTED))
        return replace(r, where=rand_atom(rng))
    if isinstance(r, NotWhole):
        return replace(r, of=rng.choice(SCOPES), min_size=rng.randint(1, 4))
    if isinstance(r, UnitLimit):
        return replace(r, limit=max(1, r.limit + rng.choice((-1, 0, 1))), per=rng.choice(SCOPES))
    if isinstance(r, SeparatePairs | SeparateRegions):
        return replace(r, within="phase" if r.within == "wave" else "wave")
    return rand_rule(rng, r.name)


def rand_gate_claim(rng: random.Random, spec: Policy) -> Gate:
    kind = rng.choice(("precheck", "stop_upgraded", "stop_unhealthy", "pause", "retry", "rollback", "phase"))
    scope = rng.choice((*SET_SCOPES, *SET_SCOPES, "region", "vm"))
    cap = Percent(Fraction(rng.choice((10, 20, 30, 50))))
    if kind == "precheck":
        return PrecheckGate("claim", SPAN, of=scope, cap=cap)
    if kind == "stop_upgraded":
        return StopUpgradedGate("claim", SPAN, of=scope, cap=cap)
    if kind == "stop_unhealthy":
        return StopUnhealthyGate("claim", SPAN, of=scope, cap=cap)
    if kind == "pause":
        return PauseGate("claim", SPAN, pause=Duration(rng.choice((30, 60, 120))), of=scope)
    if kind == "retry":
        return RetryGate("claim", SPAN, after=Duration(rng.choice((3600, 3 * 86400))), max_attempts=rng.randint(1, 4))
    if kind == "phase":
        return PhaseGate("claim", SPAN)
    waits = [g.wait for g in spec.gates if isinstance(g, HealthWaitGate)]
    return HealthWaitGate("claim", SPAN, wait=waits[0] if waits else Duration(300))


def rand_gates(rng: random.Random, spec: Policy) -> tuple[Gate, ...]:
    gates = [g for g in spec.gates if rng.random() < 0.8]
    if rng.random() < 0.4:
        gates.append(PrecheckGate("g_pre", SPAN, of=rng.choice(SET_SCOPES), cap=Percent(Fraction(rng.choice((10, 30))))))
    if rng.random() < 0.3:
        gates.append(PauseGate("g_pause", SPAN, pause=Duration(rng.choice((30, 120))), of=rng.choice(SET_SCOPES)))
    if rng.random() < 0.2:
        gates.append(StopUpgradedGate("g_up", SPAN, of=rng.choice(SET_SCOPES), cap=Percent(Fraction(10))))
    return tuple(gates)


def rand_spec(rng: random.Random, bases: list[Policy]) -> Policy:
    base = rng.choice(bases)
    rules = [r for r in base.rules if rng.random() < 0.85]
    for i in range(rng.choice((0, 0, 1, 1, 2))):
        rules.append(rand_rule(rng, f"added{i}"))
    return replace(base, rules=tuple(rules), gates=rand_gates(rng, base), preferences=())


# ----------------------------------------------------------------------------------------------------------------
# Random fleets and schedules


# ----------------------------------------------------------------------------------------------------------------
# Judges


@dataclass
class Stats:
    cases: int = 0
    status: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)
    proven_by_kind: Counter[str] = field(default_factory=Counter)
    searched: int = 0  # (fleet, schedule or run) pairs judged for a proven claim or a diff verdict
    accepted: int = 0  # of which the spec (the stricter policy) accepted: the ones that could disagree
    diff_verdicts: Counter[str] = field(default_factory=Counter)
    unknown_false: int = 0  # unknown answers the search then refuted (false claims the prover could not refute)
    unknown_open: int = 0  # unknown answers the search did not refute (possibly true claims not proven)
    certified: int = 0  # claims a plain-Python certificate shows true
    certified_proven: int = 0
    planned: int = 0  # fleets whose planner schedule (and its mutations) were searched
    planner_refused: int = 0  # planner answers its own re-check refused (a planner bug; listed, not a disagreement)
    disagreements: list[str] = field(default_factory=list)


def search_rule(spec: Policy, claim_pol: Policy, rng: random.Random, fleets: int, schedules: int,
                stats: Stats, planned: int = 0) -> str:
    """A fleet + schedule the spec accepts and ``claim_pol`` rejects (its JSON), or ''.  On the first ``planned``
    fleets the planner's schedule under the spec and mutations of it are searched too (they press on the spec's
    limits, where random schedules seldom go)."""
    for n in range(fleets):
        doc = rand_fleet(rng)
        try:
            fleet = parse_fleet(doc, "<fuzz fleet>")
        except InputError:
            continue
        scheds = rand_schedules(rng, spec, fleet, schedules)
        if n < planned:
            scheds = planned_schedules(rng, spec, fleet, stats) + scheds
        for sched in scheds:
            stats.searched += 1
            if not verify_schedule(spec, fleet, sched).ok:
                continue
            stats.accepted += 1
            if not verify_schedule(claim_pol, fleet, sched).ok:
                return json.dumps({"fleet": doc, "schedule": sched.model_dump(mode="json")})
    return ""


def planned_schedules(rng: random.Random, spec: Policy, fleet: Fleet, stats: Stats, mutations: int = 3) -> list[Any]:
    """The planner's shortest schedule of ``fleet`` under ``spec`` and ``mutations`` one-step changes of it (a VM
    or one task moved to a neighbouring wave of its phase, two neighbouring waves of a phase merged)."""
    try:
        got = plan(spec, fleet, time_limit=3.0, workers=1, certify_time=0.0, start=0)
    except CheckFailed:
        stats.planner_refused += 1  # the planner's own re-check refused an answer: its bug, not the prover's
        return []
    except WavegateError:
        return []  # no schedule exists, or none found in time
    stats.planned += 1
    # Without the certificate and the digests that tie it to the spec: the claim's policy judges it too.
    base = got.schedule.model_dump(mode="json", exclude={"certificate", "fleet_sha256", "policy_sha256"})
    out = [parse_schedule(base, "<fuzz schedule>")]
    for _ in range(mutations):
        doc = mutate_schedule(rng, json.loads(json.dumps(base)))
        if doc is not None:
            out.append(parse_schedule(doc, "<fuzz schedule>"))
    return out


def mutate_schedule(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any] | None:
    waves = doc["waves"]
    pairs = [i for i in range(len(waves) - 1) if waves[i]["phase"] == waves[i + 1]["phase"]]
    if not pairs:
        return None
    i = rng.choice(pairs)
    a, b = rng.sample((i, i + 1), 2)
    how = rng.choice(("vm", "task", "merge"))
    if how == "merge":
        waves[i]["tasks"] += waves[i + 1]["tasks"]
        waves[i + 1]["tasks"] = []
    else:
        vm = rng.choice(waves[a]["tasks"])["vm"]
        moved = [t for t in waves[a]["tasks"] if t["vm"] == vm]
        if how == "task":
            moved = [rng.choice(moved)]
        waves[a]["tasks"] = [t for t in waves[a]["tasks"] if t not in moved]
        waves[b]["tasks"] += moved
    kept = [w for w in waves if w["tasks"]]
    for k, w in enumerate(kept):
        w["index"] = k
    doc.update(waves=kept, lower_bound=0, optimal=False)
    for key in ("start", "finish"):
        doc.pop(key, None)
    for w in kept:
        w.pop("start", None)
        w.pop("end", None)
    return doc


class _Neutral:
    """The executor's gate decisions with the claim's own gate switched off (so the run is the spec's run while
    the claim's runtime monitor watches it)."""

    def __init__(self, claim: Gate) -> None:
        self.claim = claim

    def fns(self) -> GateFns:
        real, claim = REAL_GATES, self.claim
        return replace(real,
                       may_start_batch=lambda n, u, g: True if g is claim else real.may_start_batch(n, u, g),
                       upgraded_breach=lambda m, uu, g: False if g is claim else real.upgraded_breach(m, uu, g),
                       set_breach=lambda n, u, g: False if g is claim else real.set_breach(n, u, g))


def rand_faults(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any]:
    vms = doc["vms"]
    out: dict[str, Any] = {}
    if rng.random() < 0.6:
        _, p, t = rng.choice(EXTENSIONS)
        out["bad_versions"] = [{"publisher": p, "type": t, "version": "1.1", "fail_rate": rng.choice((1.0, 0.5))}]
    if rng.random() < 0.4:
        vm = rng.choice(vms)
        out["vm_failures"] = [{"vm": vm["name"], "extension": vm["extensions"][0]["name"],
                               "attempts": rng.choice((None, 1, 2))}]
    if rng.random() < 0.3:
        out["maintenance"] = [{"at_minutes": rng.choice((0, 3, 10)), "vms": [v["name"] for v in rng.sample(vms, 1)],
                               "minutes": rng.choice((5, 60))}]
    return out


def judge_run(claim: Gate, fleet: Fleet, events: list[dict[str, Any]], versions: dict[Any, str],
              schedule: Schedule | None = None) -> str:
    """How the event log of a run breaks an executor claim read from the log ('' when it keeps it)."""
    if isinstance(claim, PhaseGate):
        return judge_phases(fleet, events, schedule) if schedule is not None else ""
    if isinstance(claim, StopUnhealthyGate):
        return judge_stop_unhealthy(claim, fleet, events)
    if isinstance(claim, PauseGate):
        group_of = _group_getter(claim.of, fleet)
        spans: dict[Any, list[tuple[float, float | None]]] = {}
        open_: dict[str, tuple[float, list[Any]]] = {}
        for e in events:
            if e["event"] == "batch_started":
                members = [v for v in fleet.vms if (v.scale_set or v.availability_set or v.name) == e["detail"]["set"]]
                open_[e["detail"]["set"]] = (e["time"], sorted({group_of(v) for v in members} - {None}, key=repr))
            elif e["event"] == "batch_finished":
                start, groups = open_.pop(e["detail"]["set"])
                for g in groups:
                    spans.setdefault(g, []).append((start, e["time"]))
        for g, runs in spans.items():
            runs.sort()
            for (_, e0), (s1, _) in itertools.pairwise(runs):
                if e0 is not None and (s1 - e0) * 60 < claim.pause.seconds - 1e-6:
                    return f"batches of {g} {s1 - e0:.3f} min apart"
        return ""
    if isinstance(claim, RetryGate):
        attempts: Counter[tuple[Any, Any]] = Counter()
        failed_at: dict[tuple[Any, Any], float] = {}
        for e in events:  # in time order: an attempt (started or deferred), then maybe its failure
            key = (e.get("vm"), e.get("extension"))
            if e["event"] in ("install_started", "install_deferred"):
                attempts[key] += 1
                if attempts[key] - 1 > claim.max_attempts:
                    return f"{key} attempted {attempts[key]} times"
                if key in failed_at and (e["time"] - failed_at[key]) * 60 < claim.after.seconds - 1e-6:
                    return f"{key} retried {e['time'] - failed_at[key]:.3f} min after failing"
            if e["event"] in ("install_failed", "rolled_back", "install_deferred"):
                failed_at[key] = e["time"]
        return ""
    if isinstance(claim, HealthWaitGate):
        last: dict[tuple[str, str], str] = {}
        for e in events:
            key = (e.get("vm"), e.get("extension"))
            if e["event"] in ("health_failed", "health_ok", "install_failed"):
                last[key] = e["event"]  # type: ignore[index]
        for (vm, ext), ev in last.items():
            old = next(x.version for v in fleet.vms if v.name == vm for x in v.extensions if x.name == ext)
            if ev == "health_failed" and versions.get((vm, ext), old) != old:
                return f"{vm}/{ext} failed its last health watch and ended on {versions.get((vm, ext))}"
        return ""
    return ""


SET_LABELS = {"scale_set": "scale set", "availability_set": "availability set", "set": "set"}


def judge_stop_unhealthy(claim: StopUnhealthyGate, fleet: Fleet, events: list[dict[str, Any]]) -> str:
    """``stop a S when more than C is unhealthy during a batch``, read from the log: once a batch ends whose peak of
    unhealthy VMs in a set (the executor's ``unhealthy_max`` of the set's check) exceeds the cap, no later batch of
    that set starts.  Set scopes only (the executor batches by set; other scopes are left to the prover's unknown)."""
    prefix = SET_LABELS.get(claim.of)
    if prefix is None:
        return ""
    kinds = {"scale set": {s.name for s in fleet.scale_sets}, "availability set": {a.name for a in fleet.availability_sets}}
    names = kinds.get(prefix, kinds["scale set"] | kinds["availability set"])
    stopped: dict[str, float] = {}
    for e in events:
        detail = e.get("detail") or {}
        if e["event"] == "batch_finished":
            for c in detail.get("checks", ()):
                name = c["group"][len(prefix) + 1:] if c["group"].startswith(prefix + " ") else None
                if name in names and claim.cap.exceeded_by(c["unhealthy_max"], c["set_size"]):
                    stopped.setdefault(name, e["time"])
        elif e["event"] == "batch_started" and detail.get("set") in stopped:
            name = detail["set"]
            return f"a batch of {prefix} {name} started at {e['time']} after the batch ending at {stopped[name]} " \
                   f"had more than {claim.cap} of it unhealthy"
    return ""


def judge_phases(fleet: Fleet, events: list[dict[str, Any]], schedule: Schedule) -> str:
    """``a phase starts only when every due task of the previous phase succeeded``, read from the log as the
    executor documents it (``Executor.holders``): a task holds a phase unless its last outcome so far is a success
    or a deferral (its VM unhealthy at the last attempt: such tasks never hold); a task not yet tried holds it
    unless it waits on an extension of its VM that was deferred."""
    phase_of = {(t.vm, t.extension): w.phase for w in schedule.waves for t in w.tasks}
    last: dict[tuple[str, str], str] = {}
    for e in events:
        key = (e.get("vm"), e.get("extension"))
        if e["event"] in ("install_started", "install_succeeded", "health_ok", "health_failed", "install_failed",
                          "rolled_back", "install_deferred", "kept_unhealthy"):
            last[key] = e["event"]  # type: ignore[index]
        if e["event"] != "phase_started":
            continue
        now = e["detail"]["phase"]
        for key, p in sorted(phase_of.items()):
            if p >= now:
                continue
            got = last.get(key)
            deferred_vm = any(v == "install_deferred" for (vm, _), v in last.items() if vm == key[0])
            # install_succeeded is last only without a health watch (a watch ends in health_ok or health_failed).
            if got in ("health_ok", "install_succeeded", "install_deferred"):
                continue
            if got is None and deferred_vm:
                continue
            return f"phase {now} started while {key[0]}/{key[1]} of phase {p} had {got or 'not run'}"
    return ""


def _group_getter(scope: str, fleet: Fleet) -> Callable[[Any], Any]:
    sem = Semantics(fleet)
    return lambda vm: sem.group_key(scope, vm)


def search_run(spec: Policy, claim: Gate, rng: random.Random, runs: int, stats: Stats) -> str:
    """A run of the spec's executor that breaks the claim (its fleet, schedule and faults as JSON), or ''."""
    # The claim's gate rides along switched off: its monitor (or, for stop-unhealthy, its per-batch peaks in the
    # log) watches the spec's own run.
    monitored = isinstance(claim, PrecheckGate | StopUpgradedGate | StopUnhealthyGate)
    pol = replace(spec, gates=(*spec.gates, claim)) if monitored else spec
    gates = _Neutral(claim).fns() if monitored else REAL_GATES
    for _ in range(runs):
        doc = rand_fleet(rng, max_vms=10)
        try:
            fleet = parse_fleet(doc, "<fuzz fleet>")
        except InputError:
            continue
        scheds = [s for s in rand_schedules(rng, spec, fleet, 3) if verify_schedule(spec, fleet, s).ok]
        for sched in scheds[:1]:
            faults_doc = rand_faults(rng, doc)
            stats.searched += 1
            stats.accepted += 1
            try:
                faults = parse_faults(faults_doc, fleet, "<fuzz faults>")
                sink = MemorySink()
                result = execute(pol, fleet, sched, SimDriver(fleet, faults, seed=rng.randint(0, 9)), sink,
                                 gates=gates)
            except MonitorBreach as e:
                if claim.name in str(e):
                    return json.dumps({"fleet": doc, "schedule": sched.model_dump(mode="json"), "faults": faults_doc,
                                       "breach": str(e)})
                continue
            except InputError:
                continue
            events = [json.loads(line) for line in sink.lines]
            why = judge_run(claim, fleet, events, dict(result.versions), sched)
            if why:
                return json.dumps({"fleet": doc, "schedule": sched.model_dump(mode="json"), "faults": faults_doc,
                                   "why": why})
    return ""


def replay_refutation(spec: Policy, claim_pol: Callable[[], Policy], out: Outcome) -> str:
    """'' when the refutation's counterexample separates the spec and the claim's policy again here; else why not.
    (A trace refutation of an executor claim carries no schedule: the prover replayed it through the executor.)"""
    cex = out.counterexample
    if cex is None:
        return "a refutation without a counterexample"
    if cex.schedule is None:
        return "" if cex.trace else "a trace refutation without a trace"
    try:
        fleet, sched = parse_fleet(cex.fleet), parse_schedule(cex.schedule)
    except InputError as e:
        return f"the counterexample is not valid input: {e}"
    if not verify_schedule(spec, fleet, sched).ok:
        return "the counterexample breaks the spec"
    if verify_schedule(claim_pol(), fleet, sched).ok:
        return "the counterexample keeps the claim"
    return ""


# ----------------------------------------------------------------------------------------------------------------
# Calendar claims: windows, freezes, bakes, install times

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Sydney")
TIME_START = parse_instant("2030-01-07T00:00Z")  # a Monday; plans start here or a little later
TIME_SHIFTS = (-86400, -3 * 3600, -3600, -1800, 1800, 3600, 3 * 3600, 86400)


def rand_days(rng: random.Random) -> tuple[DaySpec, ...]:
    r = rng.random()
    if r < 0.7:
        return tuple(DaySpec(weekday=d) for d in sorted(rng.sample(range(7), rng.randint(1, 7))))
    if r < 0.85:
        return (DaySpec(weekday=rng.randrange(7), nth=rng.choice((1, 2, -1))),)
    return tuple(DaySpec(month_day=d) for d in sorted(rng.sample((1, 7, 8, 9, 15, -1), rng.randint(1, 3))))


def rand_freeze_bounds(rng: random.Random) -> tuple[str, str]:
    day, hour = rng.randint(6, 16), rng.choice((0, 0, 6, 12, 22))
    start = dt.datetime(2030, 1, day, hour)
    end = start + dt.timedelta(hours=rng.choice((2, 12, 24, 48, 96)))
    return start.isoformat(timespec="minutes"), end.isoformat(timespec="minutes")


def rand_time_rule(rng: random.Random, name: str) -> TimeRule:
    kind = rng.choice(("window", "window", "freeze", "bake", "install"))
    if kind == "window":
        start = rng.randrange(0, 1440, 60)
        end = rng.choice([m for m in range(60, 1441, 60) if m != start])
        return Window(name, SPAN, days=rand_days(rng), start=start, end=end, zone=rng.choice(ZONES),
                      where=rand_where(rng, 1))
    if kind == "freeze":
        fs, fe = rand_freeze_bounds(rng)
        return Freeze(name, SPAN, start=fs, end=fe, zone=rng.choice(ZONES), where=rand_where(rng, 1))
    if kind == "bake":
        return Bake(name, SPAN, duration=Duration(rng.choice((1800, 3600, 4 * 3600, 86400))),
                    after=rng.choice(("phase", "wave", "first_wave", "first_zone")))
    return InstallTime(name, SPAN, duration=Duration(rng.choice((60, 300, 600, 1800))))


def mutate_time_rule(rng: random.Random, r: TimeRule) -> TimeRule:
    """A near neighbour of ``r`` (often implied by it, often not): the boundary where a wrong proof shows."""
    c = rng.random()
    if isinstance(r, Window):
        if c < 0.5:
            opens = max(0, min(1380, r.start + rng.choice((-60, 0, 60))))
            closes = max(60, min(1440, r.end + rng.choice((-60, 0, 60))))
            return replace(r, start=opens, end=closes) if opens != closes else r
        if c < 0.7:
            return replace(r, days=rand_days(rng))
        if c < 0.85:
            return replace(r, zone=rng.choice(ZONES))
        return replace(r, where=rand_where(rng, 1))
    if isinstance(r, Freeze):
        if c < 0.6:
            begins = dt.datetime.fromisoformat(r.start) + dt.timedelta(hours=rng.choice((-6, 0, 6)))
            ends = dt.datetime.fromisoformat(r.end) + dt.timedelta(hours=rng.choice((-6, 0, 6)))
            if ends <= begins:
                return r
            return replace(r, start=begins.isoformat(timespec="minutes"), end=ends.isoformat(timespec="minutes"))
        if c < 0.8:
            return replace(r, zone=rng.choice(ZONES))
        return replace(r, where=rand_where(rng, 1))
    if isinstance(r, Bake):
        if c < 0.6:
            return replace(r, duration=Duration(max(60, r.duration.seconds * rng.choice((1, 2)) // rng.choice((1, 2)))))
        return replace(r, after=rng.choice(("phase", "wave", "first_wave", "first_zone")))
    return replace(r, duration=Duration(max(60, r.duration.seconds * rng.choice((1, 2)) // rng.choice((1, 2)))))


def shift_schedule(rng: random.Random, doc: dict[str, Any]) -> dict[str, Any] | None:
    """A timed schedule with one wave moved in time (and every later wave with it), shortened or stretched."""
    waves = doc["waves"]
    if not waves:
        return None
    i = rng.randrange(len(waves))
    times = [(parse_instant(w["start"]), parse_instant(w["end"])) for w in waves]
    how = rng.choice(("shift", "shift", "pull", "shorten", "stretch"))
    if how == "pull":  # start right after the previous wave (or the rollout's start): no bake, no wait
        prev = times[i - 1][1] if i else parse_instant(doc["start"])
        delta = prev - times[i][0]
    else:
        delta = rng.choice(TIME_SHIFTS) if how == "shift" else 0
    moved = []
    for k, (ws, we) in enumerate(times):
        if k == i and how == "shorten":
            we = ws + (we - ws) // 2
        elif k == i and how == "stretch":
            we = we + 3600
        if k >= i:
            ws, we = ws + delta, we + delta + (3600 if how == "stretch" and k > i else 0)
            if how == "stretch" and k > i:
                ws += 3600
        moved.append((ws, we))
    for w, (ws, we) in zip(waves, moved, strict=True):
        w["start"], w["end"] = format_instant(ws), format_instant(we)
    doc.pop("finish", None)
    return doc


def timed_schedules(rng: random.Random, spec: Policy, fleet: Fleet, stats: Stats, mutations: int) -> list[Any]:
    start = TIME_START + rng.choice((0, 0, 5 * 3600, 86400 + 1800))
    try:
        got = plan(spec, fleet, time_limit=3.0, workers=1, certify_time=0.0, start=start)
    except CheckFailed:
        stats.planner_refused += 1
        return []
    except WavegateError:
        return []
    stats.planned += 1
    base = got.schedule.model_dump(mode="json", exclude={"certificate", "fleet_sha256", "policy_sha256"})
    base.pop("finish", None)
    out = [parse_schedule(base, "<fuzz schedule>")]
    for _ in range(mutations):
        doc = shift_schedule(rng, json.loads(json.dumps(base)))
        if doc is not None and rng.random() < 0.3:
            doc = shift_schedule(rng, doc)
        if doc is not None:
            try:
                out.append(parse_schedule(doc, "<fuzz schedule>"))
            except InputError:
                continue
    return out


def search_time(spec: Policy, claim: TimeRule, rng: random.Random, fleets: int, stats: Stats) -> str:
    """:func:`search_timed_pair` against the claim's policy, counting only the claim's own violations: that policy
    has no install time of its own, so its calendar check reads the executor's nominal one, which is not the claim."""
    return search_timed_pair(spec, time_claim_policy(spec, claim), rng, fleets, stats, only=claim.name)


def timed_pair(rng: random.Random, old: Policy, new: Policy) -> tuple[Policy, Policy]:
    """``old`` and ``new`` with time rules: random ones on OLD, and NEW's with one dropped, changed or added."""
    times = [rand_time_rule(rng, f"t{i}") for i in range(rng.randint(1, 2))]
    installs = [t for t in times if isinstance(t, InstallTime)]
    times = [t for t in times if not isinstance(t, InstallTime)] + installs[:1]
    changed = list(times)
    r = rng.random()
    if r < 0.25:
        changed.pop(rng.randrange(len(changed)))
    elif r < 0.75:
        i = rng.randrange(len(changed))
        changed[i] = mutate_time_rule(rng, changed[i])
    else:
        extra = rand_time_rule(rng, "t_new")
        if not (isinstance(extra, InstallTime) and installs):
            changed.append(extra)
    return replace(old, times=tuple(times)), replace(new, times=tuple(changed))


def search_timed_pair(sub: Policy, sup: Policy, rng: random.Random, fleets: int, stats: Stats,
                      only: str | None = None) -> str:
    """A fleet and a timed schedule (the planner's under ``sub``, and time-shifted ones) ``sub`` accepts and ``sup``
    rejects (its JSON), or ''; with ``only``, a rejection counts only when that rule is broken."""
    for _ in range(fleets):
        doc = rand_fleet(rng, max_vms=8)
        try:
            fleet = parse_fleet(doc, "<fuzz fleet>")
        except InputError:
            continue
        for sched in timed_schedules(rng, sub, fleet, stats, 6):
            stats.searched += 1
            if not verify_schedule(sub, fleet, sched).ok:
                continue
            stats.accepted += 1
            broken = [v for v in verify_schedule(sup, fleet, sched).violations if only is None or v.rule == only]
            if broken:
                return json.dumps({"fleet": doc, "schedule": sched.model_dump(mode="json"),
                                   "why": broken[0].message})
    return ""


def time_case(rng: random.Random, bases: list[Policy], stats: Stats, args: argparse.Namespace) -> None:
    spec = rand_spec(rng, bases)
    times: list[TimeRule] = [rand_time_rule(rng, f"t{i}") for i in range(rng.randint(1, 3))]
    installs = [t for t in times if isinstance(t, InstallTime)]
    times = [t for t in times if not isinstance(t, InstallTime)] + installs[:1]
    spec = replace(spec, times=tuple(times))
    if rng.random() < 0.3:  # a rule claim under a spec with a calendar: searched and replayed on timed schedules
        timed_rule_case(rng, spec, stats, args)
        return
    claim = mutate_time_rule(rng, rng.choice(times)) if rng.random() < 0.6 else rand_time_rule(rng, "claim")
    claim = replace(claim, name="claim")
    judge_answer(spec, claim, type(claim).__name__, stats, args,
                 search=lambda: search_time(spec, claim, rng, max(1, args.fleets // 2), stats),
                 replay=lambda out: replay_refutation(spec, lambda: time_claim_policy(spec, claim), out))


def timed_rule_case(rng: random.Random, spec: Policy, stats: Stats, args: argparse.Namespace) -> None:
    rule = mutate_rule(rng, rng.choice(spec.rules)) if spec.rules and rng.random() < 0.55 else rand_rule(rng, "claim")
    claim = replace(rule, name="claim")
    judge_answer(spec, claim, f"{type(claim).__name__} timed", stats, args,
                 search=lambda: search_timed_pair(spec, claim_policy(spec, claim), rng, max(1, args.fleets // 2),
                                                  stats),
                 replay=lambda out: replay_refutation(spec, lambda: claim_policy(spec, claim), out))


def judge_answer(spec: Policy, claim: Claim, kind: str, stats: Stats, args: argparse.Namespace,
                 search: Callable[[], str], replay: Callable[[Outcome], str]) -> Outcome:
    """Prove ``claim`` under ``spec`` and judge the answer: a proven or unknown claim is searched for a
    counterexample (one under "proven" is a disagreement; under "unknown" it counts toward completeness), a
    refutation is replayed (one that does not separate spec and claim is a disagreement)."""
    stats.kinds[kind] += 1
    out = prove_claim(spec, claim, args.time_limit)
    stats.status[out.status] += 1
    if out.status in ("proven", "unknown"):
        found = search()
        if out.status == "proven":
            stats.proven_by_kind[kind] += 1
            if found:
                stats.disagreements.append(f"proven but contradicted: {describe(spec, claim)}\n  {found}")
        elif found:
            stats.unknown_false += 1
        else:
            stats.unknown_open += 1
    elif out.status == "refuted":
        why = replay(out)
        if why:
            stats.disagreements.append(f"refuted but {why}: {describe(spec, claim)}")
    return out


# ----------------------------------------------------------------------------------------------------------------
# Cases


def describe(spec: Policy, claim: object) -> str:
    times = f" times {list(spec.times)!r}" if spec.times else ""
    return f"spec {spec.name}: rules {list(spec.rules)!r} gates {list(spec.gates)!r}{times}\n  claim {claim!r}"


def crossing_major(spec: Policy, fleet_doc: dict[str, Any]) -> str:
    """A task of the spec's upgrade resolution on this fleet that moves to another major version ('' if none)."""
    try:
        fleet = parse_fleet(fleet_doc, "<fuzz fleet>")
    except InputError:
        return ""
    for t in resolve_upgrades(fleet, spec.versions).tasks:
        if major(t.from_version) != major(t.to_version):
            return f"{t.vm}/{t.extension}: {t.from_version} -> {t.to_version}"
    return ""


def version_case(rng: random.Random, bases: list[Policy], stats: Stats, args: argparse.Namespace) -> None:
    """``no VM ever moves to a new major version`` under a spec that allows majors or not, judged on the real
    upgrade resolution of random fleets (their catalogs hold a 2.0 beside 1.x)."""
    spec = rand_spec(rng, bases)
    spec = replace(spec, versions=replace(spec.versions, allow_major=rng.random() < 0.3))
    claim = VersionClaim("no_major")

    def search() -> str:
        for _ in range(args.fleets):
            stats.searched += 1
            if found := crossing_major(spec, rand_fleet(rng)):
                return found
        return ""

    def replay(out: Outcome) -> str:
        cex = out.counterexample
        return "" if cex is not None and crossing_major(spec, cex.fleet) else "its fleet crosses no major"

    judge_answer(spec, claim, "VersionClaim", stats, args, search, replay)


def claim_case(rng: random.Random, bases: list[Policy], stats: Stats, args: argparse.Namespace) -> None:
    if rng.random() < 0.03:
        version_case(rng, bases, stats, args)
        return
    spec = rand_spec(rng, bases)
    claim: Rule | Gate
    if rng.random() < getattr(args, "gate_share", 0.12):
        claim = rand_gate_claim(rng, spec)
    elif spec.rules and rng.random() < 0.55:
        claim = mutate_rule(rng, rng.choice(spec.rules))
        claim = replace(claim, name="claim")
    else:
        claim = rand_rule(rng, "claim")
    certified = certify(spec, claim) is not None
    stats.certified += certified

    def search() -> str:
        if isinstance(claim, Gate):
            return search_run(spec, claim, rng, args.runs, stats)
        return search_rule(spec, claim_policy(spec, claim), rng, args.fleets, args.schedules, stats, _planned(args))

    out = judge_answer(spec, claim, type(claim).__name__, stats, args, search,
                       lambda out: replay_refutation(spec, lambda: claim_policy(spec, claim), out))  # type: ignore[arg-type]
    stats.certified_proven += certified and out.status == "proven"


def diff_case(rng: random.Random, bases: list[Policy], stats: Stats, args: argparse.Namespace) -> None:
    old = rand_spec(rng, bases)
    old = replace(old, gates=())
    rules = list(old.rules)
    for _ in range(rng.randint(1, 2)):
        r = rng.random()
        if rules and r < 0.3:
            rules.pop(rng.randrange(len(rules)))
        elif rules and r < 0.7:
            i = rng.randrange(len(rules))
            rules[i] = mutate_rule(rng, rules[i])
        else:
            rules.append(rand_rule(rng, f"new{len(rules)}"))
    new = replace(old, name=f"{old.name}-new", rules=tuple(rules))
    timed = rng.random() < getattr(args, "time_share", 0.0) * 3
    if timed:
        old, new = timed_pair(rng, old, new)
    stats.kinds["diff timed" if timed else "diff"] += 1
    res = diff_policies(old, new, args.time_limit)
    stats.diff_verdicts[res.verdict] += 1
    stats.status[f"diff {res.verdict}"] += 1
    checks: list[tuple[Policy, Policy]] = []  # (accepting, rejecting) must never both happen
    if res.verdict in ("stricter", "equivalent"):
        checks.append((new, old))
    if res.verdict in ("looser", "equivalent"):
        checks.append((old, new))
    for sub, sup in checks:
        if timed:
            found = search_timed_pair(sub, sup, rng, max(1, args.fleets // 2), stats)
        else:
            found = search_rule(sub, sup, rng, args.fleets, args.schedules, stats, _planned(args))
        if found:
            stats.disagreements.append(f"diff {res.verdict} but a fleet tells them apart: old {old.rules!r} "
                                       f"{old.times!r}\n  new {new.rules!r} {new.times!r}\n  {found}")


def _planned(args: Any) -> int:
    return int(getattr(args, "planned", 0))


def run_cases(first: int, stop: int, seed: int, args: Any) -> Stats:
    """Cases ``first`` .. ``stop - 1`` of the run seeded ``seed``: each case draws from its own generator, so a case
    is the same whichever worker runs it and whatever ran before it."""
    bases = [load_policy(ROOT / "specs" / name, ROOT) for name in SPECS]
    stats = Stats()
    for i in range(first, stop):
        rng = random.Random(seed * 1_000_003 + i)
        r = rng.random()
        if r < args.diff_share:
            diff_case(rng, bases, stats, args)
        elif r < args.diff_share + getattr(args, "time_share", 0.0):
            time_case(rng, bases, stats, args)
        else:
            claim_case(rng, bases, stats, args)
        stats.cases += 1
    return stats


def merge(total: Stats, part: Stats) -> None:
    """Add ``part`` (the next chunk, in case order) into ``total``."""
    total.cases += part.cases
    for name in ("status", "kinds", "proven_by_kind", "diff_verdicts"):
        getattr(total, name).update(getattr(part, name))
    for name in ("searched", "accepted", "unknown_false", "unknown_open", "certified", "certified_proven", "planned",
                 "planner_refused"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.disagreements.extend(part.disagreements)


def _chunk(job: tuple[int, int, int, Any]) -> Stats:
    return run_cases(*job)


def run(count: int, seed: int, args: Any) -> Stats:
    """Cases ``args.start`` .. ``args.start + count - 1``, in chunks over ``args.workers`` processes; chunks are
    merged in case order, so the totals do not depend on the number of workers."""
    first = getattr(args, "start", 0)
    workers = max(1, getattr(args, "workers", 1))
    size = max(1, min(getattr(args, "chunk", 250), count))
    jobs = [(lo, min(lo + size, first + count), seed, args) for lo in range(first, first + count, size)]
    stats = Stats()
    start = time.monotonic()
    if workers == 1:
        parts: Any = map(_chunk, jobs)
    else:
        import multiprocessing  # only a parallel run needs it

        pool = multiprocessing.get_context("fork").Pool(workers)
        parts = pool.imap(_chunk, jobs)
    for part in parts:
        merge(stats, part)
        if args.progress and stats.cases % args.progress < size and stats.cases < count:
            print(f"-- after {stats.cases} cases: {report(stats, time.monotonic() - start)}", flush=True)
    if workers > 1:
        pool.close()
        pool.join()
    return stats


def report(stats: Stats, seconds: float) -> str:
    s = stats.status
    lines = [
        f"cases          {stats.cases}",
        f"proven         {s['proven']}",
        f"refuted        {s['refuted']}",
        f"unknown        {s['unknown']}",
        f"vacuous        {s['vacuous']}",
        f"diff verdicts  {dict(sorted(stats.diff_verdicts.items()))}",
        f"searched       {stats.searched} (fleet, schedule or run) judgements behind proven / diff answers, "
        f"{stats.accepted} accepted by the spec",
        f"disagreements  {len(stats.disagreements)}",
        f"planned        {stats.planned} fleets searched with the planner's schedule and its mutations; "
        f"{stats.planner_refused} planner answers refused by its own re-check",
        f"completeness   {stats.status['proven']} proven of {stats.status['proven'] + stats.unknown_open} claims no "
        f"search refuted ({100 * stats.status['proven'] / max(1, stats.status['proven'] + stats.unknown_open):.1f}%, "
        f"a lower bound on the share of true claims proven); {stats.certified_proven} of {stats.certified} claims "
        f"a certificate shows true are proven; {stats.unknown_false} unknown claims were false",
        f"cases/second   {stats.cases / seconds:.1f} ({seconds:.1f}s)",
        "kinds          " + ", ".join(f"{k} {n} ({stats.proven_by_kind[k]} proven)"
                                      for k, n in sorted(stats.kinds.items())),
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--fleets", type=int, default=12, help="random fleets searched per proven claim")
    ap.add_argument("--schedules", type=int, default=6, help="random schedules per fleet")
    ap.add_argument("--runs", type=int, default=6, help="executor runs searched per proven executor claim")
    ap.add_argument("--time-limit", type=float, default=5.0, help="seconds the prover has per claim")
    ap.add_argument("--gate-share", type=float, default=0.12, help="fraction of claim cases that are executor claims")
    ap.add_argument("--time-share", type=float, default=0.08, help="fraction of cases that are calendar claims")
    ap.add_argument("--diff-share", type=float, default=0.1, help="fraction of cases that are diff cases")
    ap.add_argument("--progress", type=int, default=0, help="print the running totals every N cases")
    ap.add_argument("--planned", type=int, default=0,
                    help="of the fleets searched per answer, how many also get the planner's schedule and mutations")
    ap.add_argument("--start", type=int, default=0, help="index of the first case (to continue or split a run)")
    ap.add_argument("--workers", type=int, default=1, help="processes; the totals do not depend on it")
    ap.add_argument("--chunk", type=int, default=250, help="cases a worker takes at a time")
    args = ap.parse_args()
    start = time.monotonic()
    stats = run(args.count, args.seed, args)
    print(report(stats, time.monotonic() - start))
    for d in stats.disagreements[:20]:
        print("\nDISAGREEMENT", d)
    return 1 if stats.disagreements else 0


if __name__ == "__main__":
    sys.exit(main())

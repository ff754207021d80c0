"""``wavegate diff OLD NEW``: is NEW equivalent to, stricter than, looser than, or incomparable with OLD?

NEW is at least as strict as OLD when every schedule NEW permits, OLD permits too (on every fleet), and NEW's
executor stops at least as early.  Each direction is a batch of theorems for the prover, as Zelkova compares two
policies: OLD's rules and gates proven under NEW (NEW ⊆ OLD), and NEW's under OLD (OLD ⊆ NEW).  A refuted rule
gives a distinguishing fleet + schedule, replayed (it passes one policy and fails the other) before it is shown.
Version rules are compared by what they let resolve: majors, disabled extensions, opt-outs and pins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from dsl.policy import (
    Duration,
    Gate,
    HealthWaitGate,
    InstallTime,
    Policy,
    Rule,
    TimeRule,
    VersionClaim,
)
from engine.model.calendar import DEFAULT_INSTALL_SECONDS
from engine.model.text import selector_text
from engine.prove.kinds import CLAIMS
from engine.prove.prover import prove_claim
from engine.prove.reports import json_block
from engine.prove.results import Counterexample, Outcome

Verdict = Literal["equivalent", "stricter", "looser", "incomparable", "unknown"]


@dataclass(frozen=True)
class Difference:
    """One obligation of a direction that did not hold: the rule or gate, why, and a distinguishing example."""

    item: str
    status: str  # refuted / unknown / differs
    message: str
    counterexample: Counterexample | None = None


@dataclass(frozen=True)
class Direction:
    """Whether every behaviour ``sub`` permits, ``sup`` permits too; ``holds`` is None when unknown."""

    sub: str
    sup: str
    holds: bool | None
    differences: tuple[Difference, ...]
    checked: int


@dataclass(frozen=True)
class DiffResult:
    verdict: Verdict
    new_in_old: Direction  # NEW ⊆ OLD: NEW is at least as strict
    old_in_new: Direction  # OLD ⊆ NEW: NEW is at most as strict

    @property
    def exit_code(self) -> int:
        return 0 if self.verdict in ("equivalent", "stricter") else 1


def _strip(item: Rule | Gate | TimeRule) -> tuple[object, ...]:
    """A rule's meaning without its name and span (two identically written rules are the same constraint)."""
    fields = {k: v for k, v in vars(item).items() if k not in ("name", "span")}
    return (type(item).__name__, tuple(sorted((k, repr(v)) for k, v in fields.items())))


def _outcome_difference(item: str, out: Outcome) -> Difference | None:
    if out.status in ("proven", "vacuous"):  # vacuous: the other policy permits nothing of this shape
        return None
    return Difference(item, out.status, out.message, out.counterexample)


def _gate_differences(sub: Policy, sup: Policy, time_limit: float) -> tuple[list[Difference], int]:
    """Gates of ``sup`` that the executor under ``sub`` may not honour."""
    diffs: list[Difference] = []
    checked = 0
    sub_same = {_strip(g) for g in sub.gates}
    for g in sup.gates:
        checked += 1
        label = f"gate {g.name}"
        if _strip(g) in sub_same and (not _provable(g) or _same_gates(sub, sup, getattr(g, "of", ""))):
            continue  # the same gate, among the same gates of its scope: the executor behaves the same
        if _provable(g) and not (isinstance(g, HealthWaitGate) and g.on_timeout == "keep"):
            # A health wait: the rollback is proven here, the wait's length compared just below.
            claim = VersionClaim("rollback_restores") if isinstance(g, HealthWaitGate) else g
            d = _outcome_difference(label, prove_claim(sub, claim, time_limit))
            if d is not None:
                diffs.append(d)
            if isinstance(g, HealthWaitGate):
                waits = [x.wait.seconds for x in sub.gates if isinstance(x, HealthWaitGate)]
                if not waits or min(waits) < g.wait.seconds:
                    other = Duration(min(waits) if waits else 0)
                    diffs.append(Difference(label, "differs", f"health wait {g.wait} is not matched "
                                            f"(the other policy waits {other})"))
    return diffs, checked


def _provable(g: Gate) -> bool:
    """The prover has a proof method for gates of this kind (the transition model or a decision of the executor)."""
    return type(g) in CLAIMS


def _same_gates(a: Policy, b: Policy, scope: str) -> bool:
    """The gates that decide together with one of this scope (prechecks, stops, health wait) are identical."""

    def sig(p: Policy) -> set[tuple[object, ...]]:
        return {_strip(g) for g in p.gates if _provable(g) and getattr(g, "of", scope) == scope}

    return sig(a) == sig(b)


def _version_differences(sub: Policy, sup: Policy) -> list[Difference]:
    """Upgrades ``sub`` resolves that ``sup`` would not (compared rule by rule)."""
    a, b = sub.versions, sup.versions
    diffs = []
    if a.allow_major and not b.allow_major:
        diffs.append(Difference("versions", "differs", "allows upgrades to a new major version"))
    if b.only_enabled and not a.only_enabled:
        diffs.append(Difference("versions", "differs", "upgrades extensions without enable_automatic_upgrade"))
    b_opt = {o.selector for o in b.opt_outs}
    a_opt = {o.selector for o in a.opt_outs}
    for sel in sorted(b_opt - a_opt, key=repr):
        diffs.append(Difference("versions", "differs", f"no longer opts out {selector_text(sel)}"))
    a_pins = {p.selector: p.version for p in a.pins}
    b_pins = {p.selector: p.version for p in b.pins}
    for sel, ver in sorted(b_pins.items(), key=repr):
        if a_pins.get(sel) != ver:
            diffs.append(Difference("versions", "differs", f"does not pin {selector_text(sel)} to {ver}"))
    return diffs


def _implied_install_time(sup: Policy, sub: Policy) -> list[InstallTime]:
    """A policy with time rules and no ``install takes`` holds each wave to the executor's nominal install time (the
    checker's calendar check): an obligation like a rule, unless ``sub`` implies the same default.  Without it, NEW
    adding ``install takes 1m`` to OLD's windows came out "equivalent" though OLD refuses NEW's 1-minute waves."""
    if not sup.times or any(isinstance(t, InstallTime) for t in sup.times):
        return []
    if sub.times and not any(isinstance(t, InstallTime) for t in sub.times):
        return []  # both read the same nominal install time
    span = sup.times[0].span
    return [InstallTime("install time (the nominal one, implied by its time rules)", span,
                        duration=Duration(DEFAULT_INSTALL_SECONDS))]


def direction(sub: Policy, sup: Policy, sub_name: str, sup_name: str, time_limit: float) -> Direction:
    """Does every schedule (and execution) that ``sub`` permits satisfy ``sup``?"""
    diffs: list[Difference] = []
    sub_rules = {_strip(r) for r in sub.rules}
    checked = 0
    for r in sup.rules:
        checked += 1
        if _strip(r) in sub_rules:  # the same constraint, written the same way
            continue
        d = _outcome_difference(f"rule {r.name}", prove_claim(sub, r, time_limit))
        if d is not None:
            diffs.append(d)
    sub_times = {_strip(t) for t in sub.times}
    for t in (*sup.times, *_implied_install_time(sup, sub)):  # each proven under sub like a rule (kinds/timing.py)
        checked += 1
        if _strip(t) in sub_times:
            continue
        d = _outcome_difference(f"rule {t.name}", prove_claim(sub, t, time_limit))
        if d is not None:
            diffs.append(d)
    gate_diffs, n_gates = _gate_differences(sub, sup, time_limit)
    diffs += gate_diffs
    diffs += _version_differences(sub, sup)
    checked += n_gates + 1
    if not diffs:
        holds: bool | None = True
    elif any(d.status in ("refuted", "differs") for d in diffs):
        holds = False
    else:
        holds = None
    return Direction(sub_name, sup_name, holds, tuple(diffs), checked)


def diff_policies(old: Policy, new: Policy, time_limit: float = 10.0) -> DiffResult:
    new_in_old = direction(new, old, "NEW", "OLD", time_limit)
    old_in_new = direction(old, new, "OLD", "NEW", time_limit)
    a, b = new_in_old.holds, old_in_new.holds
    verdict: Verdict
    if a and b:
        verdict = "equivalent"
    elif a and b is False:
        verdict = "stricter"
    elif a is False and b:
        verdict = "looser"
    elif a is False and b is False:
        verdict = "incomparable"
    else:
        verdict = "unknown"
    return DiffResult(verdict, new_in_old, old_in_new)


# ----------------------------------------------------------------------------------------------------------------
# Rendering


def render_diff_text(res: DiffResult, old_label: str, new_label: str) -> str:
    lines = [res.verdict, f"  OLD = {old_label}", f"  NEW = {new_label}"]
    for d, what in ((res.new_in_old, "NEW permits what OLD forbids"), (res.old_in_new, "OLD permits what NEW forbids")):
        if d.holds:
            continue
        lines.append(f"{what}:" if d.holds is False else f"unknown whether {what.lower()}:")
        for x in d.differences:
            lines.append(f"  - {x.item}: {x.status}: {x.message}")
            cex = x.counterexample
            if cex is not None and cex.schedule is not None:
                lines += json_block("distinguishing fleet", cex.fleet, len(cex.fleet.get("vms", [])))
                lines += json_block("distinguishing schedule", cex.schedule,
                                    sum(len(w["tasks"]) for w in cex.schedule.get("waves", [])))
            elif cex is not None:
                lines.append(f"    distinguishing executor trace (set of {cex.fleet.get('set_size')} VMs):")
                lines += ["      " + json.dumps(st) for st in cex.trace]
    return "\n".join(lines) + "\n"


def render_diff_json(res: DiffResult) -> str:
    def direction_json(d: Direction) -> dict[str, Any]:
        return {
            "holds": d.holds,
            "checked": d.checked,
            "differences": [
                {"item": x.item, "status": x.status, "message": x.message,
                 "counterexample": None if x.counterexample is None else {
                     "fleet": x.counterexample.fleet, "schedule": x.counterexample.schedule,
                     "trace": list(x.counterexample.trace)}}
                for x in d.differences
            ],
        }

    doc = {"verdict": res.verdict, "new_within_old": direction_json(res.new_in_old),
           "old_within_new": direction_json(res.old_in_new)}
    return json.dumps(doc, indent=2) + "\n"

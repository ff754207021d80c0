"""The independent checker: does a schedule satisfy a checked policy on a fleet?

Plain Python written from the semantics of ``engine.check.semantics`` (the normative reading of the language); it
shares no code with the planner, the prover's encodings or the executor, so a bug there cannot hide itself here.
Every synthesised schedule passes through :func:`verify_schedule` before anyone sees it.  The checks:

* the structure of the schedule and its tasks (``engine.check.structure``);
* each hard rule, by its kind's check (``engine.check.rules``: one module per kind);
* with time rules, the schedule's calendar (``engine.check.timeline``) and each time rule, by its kind's check;
* the soft preferences, as notes with their cost.

A rule kind without a check, or a scope the checker does not know, is a violation of that rule: unknown is never a
pass.  A canary region without tasks cannot be placed first: a note, not a violation.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from dsl.policy import GROUP_KEY, DistinctLimit, Policy, Rule, TimeRule
from engine.check.certificate import Reprove, check_certificate
from engine.check.placement import Placement
from engine.check.report import SHOWN_VMS, VerifyReport, Violation
from engine.check.rules import CHECKS
from engine.check.structure import check_structure, check_tasks
from engine.check.timeline import check_calendar
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule

__all__ = ["SHOWN_VMS", "VerifyReport", "Violation", "verify_schedule"]


def check_rule(rule: Rule | TimeRule, at: Placement) -> None:
    checker = CHECKS.get(type(rule))
    if checker is None:
        at.add(rule.name, rule.span, f"the checker does not know rule kind {type(rule).__name__}")
        return
    for field in checker.scope_fields:
        scope = getattr(rule, field)
        # DistinctLimit may count the distinct extensions its tasks touch (a per-task value, not a group).
        if scope not in GROUP_KEY and not (scope == "extension" and isinstance(rule, DistinctLimit)):
            at.add(rule.name, rule.span, f"the checker does not know scope '{scope}'")
            return
    checker.check(rule, at)


def check(policy: Policy, fleet: Fleet, schedule: Schedule, reprove: Reprove | None = None) -> VerifyReport:
    """Check ``schedule`` against every hard rule of ``policy`` on ``fleet``, plus structure, tasks and skipped, and
    its certificate when it has one (``reprove`` re-runs the second solver's proofs; without it they are noted)."""
    at = Placement(policy, fleet, schedule)
    check_structure(at)
    check_tasks(at)
    for rule in policy.rules:
        check_rule(rule, at)
    check_calendar(at)
    for time_rule in policy.times:
        check_rule(time_rule, at)
    for pref in policy.preferences:
        checker = CHECKS.get(type(pref))
        if checker is not None:
            checker.check(pref, at)
    _check_certificate(at, reprove)
    return VerifyReport(tuple(at.violations), tuple(at.notes), len(policy.rules) + len(policy.times))


def _check_certificate(at: Placement, reprove: Reprove | None) -> None:
    found = check_certificate(at.policy, at.fleet, at.schedule, reprove)
    if found is None:
        return
    for text in found.problems:
        at.add("certificate", None, f"refused: {text}")
    for text in found.unconfirmed:
        at.note("certificate", None, text)


@contextmanager
def _collector_paused() -> Iterator[None]:
    # The check allocates millions of small objects and no cycles; the cyclic collector would rescan the whole
    # fleet again and again (half the time at 100k VMs), so it is paused for the call and restored after.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def verify_schedule(policy: Policy, fleet: Fleet, schedule: Schedule, reprove: Reprove | None = None) -> VerifyReport:
    """:func:`check`, with the garbage collector paused (the same answer, faster on big fleets)."""
    with _collector_paused():
        return check(policy, fleet, schedule, reprove)

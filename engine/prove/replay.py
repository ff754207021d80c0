"""Replay of a candidate counterexample through the independent checker (``engine.check.verify``).

A candidate fleet + schedule refutes a claim only when the checker accepts the schedule under the spec and rejects it
under the *claim policy* (the spec's fleet-level settings with the claim as its only obligation).  The schedule's
skipped list is filled from the real upgrade resolution first, so only the claim can make it fail; when the spec has
time rules, an untimed candidate is first placed on its calendar (engine.prove.timed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from dsl.policy import Policy, Rule
from engine.check.verify import verify_schedule
from engine.model.errors import InputError
from engine.model.fleet import parse_fleet
from engine.model.schedule import Skipped, parse_schedule
from engine.model.upgrades import resolve_upgrades
from engine.prove.timed import on_calendar


def rule_claim_policy(spec: Policy, claim: Rule) -> Policy:
    """The policy whose only obligation is the claim (versions as in the spec)."""
    return replace(spec, name=f"{spec.name} (claim)", rules=(claim,), preferences=(), gates=())


def verify_ok(policy: Policy, fleet_json: dict[str, Any], schedule_json: dict[str, Any]) -> tuple[bool, str]:
    fleet = parse_fleet(fleet_json, "<counterexample fleet>")
    schedule = parse_schedule(schedule_json, "<counterexample schedule>")
    report = verify_schedule(policy, fleet, schedule)
    msgs = [str(getattr(v, "message", v)) for v in getattr(report, "violations", ())]
    return bool(report.ok), "; ".join(msgs[:3])


def complete_schedule(spec: Policy, fleet_json: dict[str, Any], schedule_json: dict[str, Any]) -> dict[str, Any]:
    """Fill the schedule's skipped list from the real upgrade resolution, so only the claim can make it fail; with
    time rules, place an untimed schedule on the spec's calendar (left untimed when it finds no place)."""
    fleet = parse_fleet(fleet_json, "<counterexample fleet>")
    res = resolve_upgrades(fleet, spec.versions)
    out = dict(schedule_json)
    out["skipped"] = [s.model_dump(mode="json") for s in sorted(res.skipped, key=_skip_key)]
    return on_calendar(spec, fleet_json, out) or out


def _skip_key(s: Skipped) -> tuple[str, str]:
    return (s.vm, s.extension)


Precondition = Callable[[dict[str, Any]], str]  # why a candidate fleet cannot count ('' when it can)


def replay(spec: Policy, claim_policy: Policy, fleet_json: dict[str, Any], schedule_json: dict[str, Any],
           precondition: Precondition | None = None) -> tuple[bool, str]:
    """True (with the checker's reason) when the schedule passes the checker under the spec and fails it under
    ``claim_policy``; ``precondition`` is what the claim's kind requires of the candidate fleet beyond that."""
    try:
        schedule_json = complete_schedule(spec, fleet_json, schedule_json)
        if spec.times and not schedule_json.get("start"):
            return False, "the candidate schedule found no place on the spec's calendar (windows, freezes)"
        why_not = precondition(fleet_json) if precondition is not None else ""
        if why_not:
            return False, why_not
        ok_spec, why_spec = verify_ok(spec, fleet_json, schedule_json)
        if not ok_spec:
            return False, f"the candidate schedule breaks the spec itself ({why_spec})"
        ok_claim, why_claim = verify_ok(claim_policy, fleet_json, schedule_json)
        if ok_claim:
            return False, "the candidate schedule satisfies the claim after all"
        return True, why_claim
    except InputError as e:
        return False, f"the candidate fleet or schedule is not valid input: {e}"

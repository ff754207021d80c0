"""The Python API for pipelines that do not shell out: load a policy and a fleet, plan, verify.

Example::

    from engine import api

    policy = api.load_policy("specs/azure-default.wg")
    fleet = api.load_fleet("fleet.json")
    schedule = api.plan(policy, fleet, time_limit=60)
    report = api.verify(policy, fleet, schedule)
    assert report.ok, [v.render() for v in report.violations]

Every function raises :class:`engine.model.errors.InputError` (with diagnostics) on bad input, never a bare traceback;
``plan`` raises :class:`engine.model.errors.Infeasible` when no schedule exists.  Documented in docs/api.md.
"""

from __future__ import annotations

from pathlib import Path

from dsl.loader import load_policy as _load_policy
from dsl.policy import Policy
from engine.certify.certify import reprover
from engine.check.verify import VerifyReport, Violation, verify_schedule
from engine.model.fleet import Fleet, parse_fleet
from engine.model.fleet import load_fleet as _load_fleet
from engine.model.schedule import Schedule, parse_schedule
from engine.model.schedule import load_schedule as _load_schedule
from engine.model.upgrades import Resolution, resolve_upgrades
from engine.plan.synthesis import PlanResult
from engine.plan.synthesis import plan as _plan

__all__ = [
    "Fleet",
    "Policy",
    "Resolution",
    "Schedule",
    "VerifyReport",
    "Violation",
    "load_fleet",
    "load_policy",
    "load_schedule",
    "parse_fleet",
    "parse_schedule",
    "plan",
    "plan_result",
    "resolve",
    "verify",
]


def load_policy(path: str | Path, project_root: str | Path | None = None) -> Policy:
    """Parse and check a policy file (``.wg``, or a bundled one by name: ``wavegate:azure-default``), following
    ``extends`` (inside ``project_root``, default the file's folder); the checked IR of ``dsl.policy``."""
    return _load_policy(path, project_root)


def load_fleet(path: str | Path) -> Fleet:
    """Read and validate a fleet JSON file (format v1, see docs/formats.md)."""
    return _load_fleet(path)


def load_schedule(path: str | Path) -> Schedule:
    """Read a schedule JSON file (format v1, see docs/formats.md)."""
    return _load_schedule(path)


def resolve(policy: Policy, fleet: Fleet) -> Resolution:
    """Which (VM, extension) pairs upgrade, to which version, and why the others are skipped."""
    return resolve_upgrades(fleet, policy.versions)


def plan(policy: Policy, fleet: Fleet, *, time_limit: float = 60.0, workers: int = 2,
         start: int | None = None, certify_time: float = 30.0) -> Schedule:
    """The shortest schedule the planner finds within ``time_limit`` seconds (checked by :func:`verify` before it
    is returned); ``schedule.optimal`` and ``schedule.lower_bound`` say how good it is, as certified by
    ``schedule.certificate`` (the second solver gets ``certify_time`` seconds where the witness falls short, within
    the time limit).  With time rules the waves get times from ``start`` (epoch seconds; default: now, to the
    minute)."""
    return plan_result(policy, fleet, time_limit=time_limit, workers=workers, start=start,
                       certify_time=certify_time).schedule


def plan_result(policy: Policy, fleet: Fleet, *, time_limit: float = 60.0, workers: int = 2,
                start: int | None = None, certify_time: float = 30.0) -> PlanResult:
    """Like :func:`plan`, with the planner's statistics (``engine.plan.synthesis.PlanResult``: time, bound, notes)."""
    return _plan(policy, fleet, time_limit=time_limit, workers=workers, start=start, certify_time=certify_time)


def verify(policy: Policy, fleet: Fleet, schedule: Schedule, *, certify_time: float = 30.0) -> VerifyReport:
    """Re-check ``schedule`` independently of the planner; ``report.ok`` is True when every hard rule holds and its
    certificate (if any) re-derives, the second solver's proofs re-run within ``certify_time`` seconds."""
    return verify_schedule(policy, fleet, schedule, reprover(policy, fleet, certify_time))

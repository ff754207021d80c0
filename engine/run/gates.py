"""The executor's gate decisions as small pure functions over plain integers and the policy's gate IR.

The executor (``engine.run.executor``) takes every gate decision through these functions (bundled in :class:`GateFns`
so a test can inject a broken one); the prover encodes the same functions in Z3 and replays the executor's event
logs against them.  Every percentage is exact: "more than 20%" is ``Percent.exceeded_by`` (rational arithmetic).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

from dsl.policy import HealthWaitGate, Percent, PrecheckGate, RetryGate, StopUnhealthyGate, StopUpgradedGate

HealthOutcome = Literal["ok", "rollback", "keep"]


def _exceeds(cap: Percent, part: int, whole: int) -> bool:
    """``cap.exceeded_by(part, whole)`` without building Fractions: part/whole > n/d  <=>  part*100*d > n*whole
    (whole > 0, d > 0), exact integer arithmetic; the hot path calls this once per group and batch."""
    v = cap.value
    return whole > 0 and part * 100 * v.denominator > v.numerator * whole


def may_start_batch(set_size: int, unhealthy: int, gate: PrecheckGate) -> bool:
    """Precheck: a batch of the group may start unless more than ``gate.cap`` of its VMs are unhealthy."""
    return not _exceeds(gate.cap, unhealthy, set_size)


def upgraded_breach(upgraded: int, upgraded_unhealthy: int, gate: StopUpgradedGate) -> bool:
    """Stop the group when more than ``gate.cap`` of its upgraded instances turned unhealthy."""
    return _exceeds(gate.cap, upgraded_unhealthy, upgraded)


def set_breach(set_size: int, unhealthy: int, gate: StopUnhealthyGate) -> bool:
    """Stop the group at the end of the batch when more than ``gate.cap`` of it was unhealthy during the batch."""
    return _exceeds(gate.cap, unhealthy, set_size)


def health_outcome(healthy_within_wait: bool, gate: HealthWaitGate | None) -> HealthOutcome:
    """After an install: ok when healthy within the wait; else roll back (or keep, when the policy says so)."""
    if healthy_within_wait:
        return "ok"
    if gate is not None and gate.on_timeout == "keep":
        return "keep"
    return "rollback"


def may_retry(failed_attempts: int, gate: RetryGate | None, max_retries: int | None) -> bool:
    """A failed task is retried when a retry gate exists and fewer than the allowed retries were made.

    ``failed_attempts`` counts attempts that failed so far (1 after the first failure); ``max_retries`` overrides
    the gate's ``max_attempts`` (the command line's ``--max-retries``)."""
    if gate is None:
        return False
    limit = gate.max_attempts if max_retries is None else max_retries
    return failed_attempts <= limit


def may_start_phase(unfinished_due_tasks: int) -> bool:
    """Phase gate: the next phase starts only when no due task of the previous phases is unfinished."""
    return unfinished_due_tasks == 0


def install_allowed(from_version: str, to_version: str, allow_major: bool) -> bool:
    """Never install a different major version than the one installed (unless the policy allows majors).

    Versions reaching the executor are validated, so the major is the integer before the first dot."""
    return allow_major or int(from_version.partition(".")[0]) == int(to_version.partition(".")[0])


def unblocking_cap(part: int, whole: int) -> Fraction:
    """The smallest cap (in percent) at which ``part`` of ``whole`` is no longer "more than the cap"."""
    return Fraction(part * 100, whole) if whole > 0 else Fraction(0)


def repairs_needed(part: int, whole: int, cap: Percent) -> int:
    """How many of ``part`` unhealthy VMs must become healthy before ``part`` of ``whole`` passes ``cap``."""
    k = 0
    while k < part and cap.exceeded_by(part - k, whole):
        k += 1
    return k


@dataclass(frozen=True)
class GateFns:
    """The gate decisions the executor calls; replace one (dependency injection) to test the monitors."""

    may_start_batch: Callable[[int, int, PrecheckGate], bool] = may_start_batch
    upgraded_breach: Callable[[int, int, StopUpgradedGate], bool] = upgraded_breach
    set_breach: Callable[[int, int, StopUnhealthyGate], bool] = set_breach
    health_outcome: Callable[[bool, HealthWaitGate | None], HealthOutcome] = health_outcome
    may_retry: Callable[[int, RetryGate | None, int | None], bool] = may_retry
    may_start_phase: Callable[[int], bool] = may_start_phase
    install_allowed: Callable[[str, str, bool], bool] = install_allowed


REAL_GATES = GateFns()


def percent_text(value: Fraction) -> str:
    """50 -> "50%", 100/3 -> "33.33%" (rounded for people; decisions never use this)."""
    if value.denominator == 1:
        return f"{value.numerator}%"
    return f"{float(value):.2f}".rstrip("0").rstrip(".") + "%"

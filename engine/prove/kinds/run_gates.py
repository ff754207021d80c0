"""Claims about single decisions of the executor: ``a phase starts only after the previous phase succeeded``
(PhaseGate), ``retry failed after D, at most N times`` (RetryGate), ``pause D between batches of a S`` (PauseGate).

The executor decides these with ``gates.may_start_phase``, ``gates.may_retry`` (a retry is due ``after`` later) and
the pause before a group's next batch.  Each kind's :meth:`RunClaim.decision` is that decision as assertions over
symbolic inputs, built from the spec's gates of the claim's kind (its premises), together with the negated claim:
unsatisfiable exactly when the decision can never break the claim, for every fleet.  A refutation is a small scenario
run by the real executor whose event log breaks the claim.

A decision proves a claim about the whole run only with an argument from the executor's structure, which each kind
states (:meth:`RunClaim.run_argument`) and restricts itself to: a pause claim only on a set scope (one batch per set
per executed wave, executed waves one after another; the batches of several sets of a region start together, so a
region's pause claim is refuted by two scale sets run by the real executor); a retry claim from the first retry gate,
the one the executor reads (failed attempts are counted over the run), and *vacuous* when the spec never retries;
a phase claim from the phase gate the executor asks before each phase.  Where the structure does not carry the
decision to the run (:meth:`RunClaim.covered`), the claim is refuted by a replayed scenario or unknown.
"""

from __future__ import annotations

import itertools
import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any, TypeVar

import z3

from dsl.policy import Duration, PauseGate, PhaseGate, Policy, RetryGate
from engine.model.errors import InputError, MonitorBreach
from engine.model.solver import Unknown, Unsat, solve
from engine.prove.containment import same_groups_everywhere
from engine.prove.kinds.base import ClaimKind
from engine.prove.kinds.gates import BATCH_SCOPES
from engine.prove.results import Counterexample, Outcome
from engine.prove.transition import WITNESS, run_executor, scenario

G = TypeVar("G")
RUN_SCOPE = "for all fleets (the executor's decision)"
Scenario = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]  # fleet, schedule, fault script JSON
SHOWN_EVENTS = ("phase_started", "batch_started", "batch_finished", "install_started", "install_failed",
                "retry_scheduled")


def elapsed_text(minutes: float) -> str:
    """Time between two events of a log (minutes) as a duration is written everywhere (whole seconds, rounded
    down: a gap shown never looks longer than it was)."""
    return str(Duration(math.floor(round(minutes * 60, 6))))


@dataclass(frozen=True)
class Decision:
    """One decision of the executor with the claim negated, the claim's text, and the spec gates it reads."""

    assertions: list[z3.BoolRef]
    text: str
    involved: tuple[str, ...]


class RunClaim(ClaimKind[G]):
    """A claim on one decision of the executor (see the module docstring)."""

    @abstractmethod
    def decision(self, spec: Policy, claim: G) -> Decision: ...

    @abstractmethod
    def scenarios(self, claim: G) -> list[Scenario]:
        """Small fleets, schedules and fault scripts on which a spec that can break the claim does."""

    def vacuous(self, spec: Policy, claim: G) -> str:
        """Why the claim holds only because the executor never does what it is about ('' when it does)."""
        return ""

    def covered(self, claim: G) -> str:
        """Why the decision does not decide the claim on a whole run ('' when it does)."""
        return ""

    @abstractmethod
    def broken_in_log(self, claim: G, events: list[dict[str, Any]]) -> str: ...

    def prove(self, spec: Policy, claim: G, deadline: float) -> Outcome:
        d = self.decision(spec, claim)
        why_vacuous = self.vacuous(spec, claim)
        not_covered = self.covered(claim)
        r = solve(d.assertions, deadline)
        if isinstance(r, Unsat) and not not_covered:
            if why_vacuous:
                return Outcome("vacuous", RUN_SCOPE, f"{why_vacuous}: the claim holds only because nothing of its "
                               "kind happens", involved=d.involved)
            return Outcome("proven", RUN_SCOPE, f"{d.text}: the executor's decision cannot break it, and "
                           f"{self.run_argument(claim)}", involved=d.involved)
        if isinstance(r, Unknown):
            return Outcome("unknown", RUN_SCOPE, "the solver gave no answer within the time limit",
                           involved=d.involved)
        why = "the executor kept the claim"
        for fleet, schedule, faults in self.scenarios(claim):
            try:
                events, _ = run_executor(spec, fleet, schedule, faults)
            except (InputError, MonitorBreach) as e:
                why = str(e)
                continue
            broken = self.broken_in_log(claim, events)
            if not broken:
                continue
            trace = tuple({"step": i, "event": e["event"], "time_minutes": e["time"], "vm": e.get("vm")}
                          for i, e in enumerate(events) if e["event"] in SHOWN_EVENTS)
            cex = Counterexample({"set_size": len(fleet["vms"]), "fleet": fleet, "schedule": schedule,
                                  "faults": faults}, None, trace, f"{d.text} fails: {broken}")
            return Outcome("refuted", RUN_SCOPE, f"counterexample trace: {broken}", counterexample=cex,
                           involved=d.involved)
        if not_covered:
            return Outcome("unknown", RUN_SCOPE, f"{not_covered}: cannot be proven here", involved=d.involved)
        return Outcome("unknown", RUN_SCOPE, f"a candidate counterexample did not replay: {why}",
                       involved=d.involved)

    def run_argument(self, claim: G) -> str:
        """Why one decision deciding it is enough for the whole run (the executor's structure)."""
        return "the executor takes it before every step the claim is about"


def two_phase_scenario() -> Scenario:
    """Two regions in two phases, one VM each; the first VM's install always fails."""
    vms = [{"name": f"vm{i}", "region": f"region{i}", "subscription": "sub0",
            "extensions": [{"name": "agent", "publisher": WITNESS["publisher"], "type": WITNESS["type"],
                            "version": "1.0", "enable_automatic_upgrade": True}]} for i in range(2)]
    fleet = {"regions": [{"name": f"region{i}", "pair": None, "zones": 0} for i in range(2)],
             "catalog": [{"publisher": WITNESS["publisher"], "type": WITNESS["type"], "versions": ["1.0", "1.1"]}],
             "scale_sets": [], "availability_sets": [], "vms": vms}
    task = {"extension": "agent", "from_version": "1.0", "to_version": "1.1"}
    schedule = {"phases": [{"index": i, "regions": [f"region{i}"]} for i in range(2)],
                "waves": [{"index": i, "phase": i, "tasks": [{"vm": f"vm{i}", **task}]} for i in range(2)],
                "skipped": [], "lower_bound": 0, "optimal": False, "stats": {}}
    faults = {"vm_failures": [{"vm": "vm0", "extension": "agent", "attempts": None}]}
    return fleet, schedule, faults


class PhaseClaim(RunClaim[PhaseGate]):
    """Premise: the spec's phase gates (``gates.may_start_phase``: with one, a phase waits for every due task of an
    eligible VM).  The claim is read as the Azure sentence it encodes: "only if *eligible* VMs in the previous phase
    upgrade successfully" — a VM unhealthy when its turn comes is not eligible, and its deferred task does not hold
    the next phase (``Executor.holders``)."""

    kind = PhaseGate

    def decision(self, spec: Policy, claim: PhaseGate) -> Decision:
        gates = [g for g in spec.gates if isinstance(g, PhaseGate)]
        unfinished, starts = z3.Int("unfinished_due_tasks"), z3.Bool("next_phase_starts")
        return Decision([unfinished >= 0, starts == (z3.BoolVal(not gates) | (unfinished == 0)), starts,
                         unfinished > 0],
                        "a phase starts only after every due task of an eligible VM (healthy when its turn came) of "
                        "the previous phases succeeded",
                        tuple(g.name for g in gates))

    def scenarios(self, claim: PhaseGate) -> list[Scenario]:
        return [two_phase_scenario()]

    def run_argument(self, claim: PhaseGate) -> str:
        return "the executor takes it before starting each phase, and again after each retry it waits for"

    def broken_in_log(self, claim: PhaseGate, events: list[dict[str, Any]]) -> str:
        failed_open = False
        for e in events:
            if e["event"] == "install_failed" and e.get("vm") == "vm0":
                failed_open = True
            elif e["event"] == "install_succeeded" and e.get("vm") == "vm0":
                failed_open = False
            elif e["event"] == "phase_started" and (e.get("detail") or {}).get("phase") == 1 and failed_open:
                return f"phase 1 started at {e['time']} min while vm0's upgrade in phase 0 had failed"
        return ""


class PauseClaim(RunClaim[PauseGate]):
    """Premise: the spec's pause gates on the same group (the executor waits the longest after a batch ended)."""

    kind = PauseGate

    def decision(self, spec: Policy, claim: PauseGate) -> Decision:
        pauses = [g for g in spec.gates if isinstance(g, PauseGate) and same_groups_everywhere(g.of, claim.of)]
        gap = z3.Int("seconds_between_batches")
        return Decision([gap >= max([g.pause.seconds for g in pauses] or [0]), gap < claim.pause.seconds],
                        f"batches of a {claim.of} are at least {claim.pause} apart", tuple(g.name for g in pauses))

    def covered(self, claim: PauseGate) -> str:
        if claim.of in BATCH_SCOPES:
            return ""
        return (f"the executor pauses per gate group, and the batches of several sets of one "
                f"{claim.of.replace('_', ' ')} start together")

    def run_argument(self, claim: PauseGate) -> str:
        return (f"a {claim.of.replace('_', ' ')} has one batch per executed wave and executed waves run one after "
                "another, each batch starting no sooner than the pause after the group's last batch ended")

    def scenarios(self, claim: PauseGate) -> list[Scenario]:
        """One set of ten VMs upgraded one per wave (of each set kind the scope has), or two scale sets of one
        group of the claim's scope in one wave; no faults."""
        if claim.of not in BATCH_SCOPES:
            return [two_set_scenario()]
        kinds = {"scale_set": ("scale_set",), "availability_set": ("availability_set",)}.get(
            claim.of, ("scale_set", "availability_set"))
        out: list[Scenario] = []
        for kind in kinds:
            fleet, schedule, _ = scenario(({"set_size": 10, "u": 0, "action": "init", "uu": 0},
                                           {"action": "start", "b": 1, "uu": 0}, {"action": "finish", "uu": 0},
                                           {"action": "start", "b": 1, "uu": 0}), kind)
            out.append((fleet, schedule, {}))
        return out

    def broken_in_log(self, claim: PauseGate, events: list[dict[str, Any]]) -> str:
        """Two batches of the scenario (every batch is in one group of the claim's scope) closer than the pause:
        by start time, a batch starting before the pause after an earlier one ended, or while it ran."""
        batches: list[tuple[float, float | None, str]] = []  # (start, end, set) in start order
        for e in events:
            if e["event"] == "batch_started":
                batches.append((e["time"], None, e["detail"]["set"]))
            elif e["event"] == "batch_finished":
                i = next(i for i, b in enumerate(batches) if b[1] is None and b[2] == e["detail"]["set"])
                batches[i] = (batches[i][0], e["time"], batches[i][2])
        for (start0, end0, set0), (start1, _, set1) in itertools.pairwise(batches):
            if end0 is None or start1 < end0:
                return (f"batches of sets {set0} and {set1} of one {claim.of.replace('_', ' ')} ran at the same "
                        f"time (the second started {elapsed_text(start1 - start0)} after the first)")
            if (start1 - end0) * 60 < claim.pause.seconds:
                return (f"the next batch of the set started {elapsed_text(start1 - end0)} after the last one, less "
                        f"than {claim.pause}")
        return ""


def two_set_scenario() -> Scenario:
    """Two scale sets of one region, zone, subscription and geography, one VM each, both in wave 0."""
    vms = [{"name": f"vm{i}", "region": "region0", "zone": "1", "subscription": "sub0", "scale_set": f"ss{i}",
            "update_domain": 0,
            "extensions": [{"name": "agent", "publisher": WITNESS["publisher"], "type": WITNESS["type"],
                            "version": "1.0", "enable_automatic_upgrade": True}]} for i in range(2)]
    fleet = {"regions": [{"name": "region0", "pair": None, "zones": 1, "geography": "geo0"}],
             "catalog": [{"publisher": WITNESS["publisher"], "type": WITNESS["type"], "versions": ["1.0", "1.1"]}],
             "scale_sets": [{"name": f"ss{i}", "region": "region0"} for i in range(2)], "availability_sets": [],
             "vms": vms}
    task = {"extension": "agent", "from_version": "1.0", "to_version": "1.1"}
    schedule = {"phases": [{"index": 0, "regions": ["region0"]}],
                "waves": [{"index": 0, "phase": 0, "tasks": [{"vm": f"vm{i}", **task} for i in range(2)]}],
                "skipped": [], "lower_bound": 0, "optimal": False, "stats": {}}
    return fleet, schedule, {}


class RetryClaim(RunClaim[RetryGate]):
    """Premise: the spec's first retry gate (``gates.may_retry``: at most ``max_attempts`` retries, each ``after``
    the failure); without one, nothing is retried."""

    kind = RetryGate

    def decision(self, spec: Policy, claim: RetryGate) -> Decision:
        retries = [g for g in spec.gates if isinstance(g, RetryGate)]
        failed, retried, delay = z3.Int("failed_attempts"), z3.Bool("retried"), z3.Int("retry_after_seconds")
        allowed = z3.Or(*[z3.And(failed <= g.max_attempts, delay == g.after.seconds) for g in retries[:1]]) \
            if retries else z3.BoolVal(False)
        return Decision([failed >= 1, retried == allowed, retried,
                         z3.Or(failed > claim.max_attempts, delay < claim.after.seconds)],
                        f"failed upgrades are retried at most {claim.max_attempts} times, each at least {claim.after} "
                        "later", tuple(g.name for g in retries))

    def scenarios(self, claim: RetryGate) -> list[Scenario]:
        return [two_phase_scenario()]

    def vacuous(self, spec: Policy, claim: RetryGate) -> str:
        retries = [g for g in spec.gates if isinstance(g, RetryGate)]
        if not retries or retries[0].max_attempts < 1:
            return "the spec never retries a failed upgrade (no retry gate allowing one)"
        return ""

    def run_argument(self, claim: RetryGate) -> str:
        return ("every retry of a run is queued by that decision (a task's failed attempts are counted over the "
                "run, never reset)")

    def broken_in_log(self, claim: RetryGate, events: list[dict[str, Any]]) -> str:
        starts = [e["time"] for e in events if e["event"] == "install_started" and e.get("vm") == "vm0"]
        fails = [e["time"] for e in events if e["event"] == "install_failed" and e.get("vm") == "vm0"]
        if len(starts) - 1 > claim.max_attempts:
            return f"vm0 was retried {len(starts) - 1} times, more than {claim.max_attempts}"
        for failed_at, next_start in zip(fails, starts[1:], strict=False):
            if (next_start - failed_at) * 60 < claim.after.seconds:
                return (f"vm0 was retried {elapsed_text(next_start - failed_at)} after failing, sooner than "
                        f"{claim.after}")
        return ""

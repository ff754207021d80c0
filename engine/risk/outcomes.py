"""One scenario run: draw its fault script, run the executor on the simulated fleet (events hashed in memory, never
written), and keep what the report needs as a small :class:`ScenarioOutcome`.

Everything here runs on a Dask worker: a :class:`RiskJob` (the policy, fleet, schedule and scenario space) is shipped
once per worker, and ``run_batch(job, indices)`` runs a batch of scenarios.  An outcome depends only on the job and
the scenario index (``engine.risk.scenarios``), so the results, and their digest, are the same on any scheduler.
"""

from __future__ import annotations

import gc
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from dsl.policy import PhaseGate, Policy
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule
from engine.risk.scenarios import ScenarioSpace, draw_faults, scenario_seed
from engine.run.driver import SimDriver
from engine.run.executor import SUCCEEDED, Executor, Halt


@dataclass(frozen=True)
class RiskJob:
    """What every scenario of a run shares (shipped once to each worker)."""

    policy: Policy
    fleet: Fleet
    schedule: Schedule
    space: ScenarioSpace
    run_seed: int
    max_retries: int | None = None


@dataclass(frozen=True)
class HaltRecord:
    kind: str  # blocked | stopped
    rule: str
    group: str
    region: str | None  # the group's region, None when it spans several
    seconds: int


@dataclass(frozen=True)
class ScenarioOutcome:
    index: int
    seed: int
    outcome: str  # completed | halted
    seconds: int  # virtual time at the end of the run
    tasks: int
    succeeded: int
    not_succeeded: dict[str, int]  # tasks per final state other than succeeded
    rolled_back: int
    retried: int
    vms_left_old: int  # VMs with a scheduled task not on its target version at the end
    halts: tuple[HaltRecord, ...]
    held: tuple[int, str] | None  # (phase, phase gate) when a phase was held
    faults: dict[str, int]
    events: int
    log: str  # sha256 of the event log (its first 16 hex digits): what `simulate --events` would write

    def line(self) -> str:
        """The outcome as one canonical JSON line (keys sorted): the unit of the run's digest."""
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class DigestSink:
    """An event sink that hashes the lines (each followed by a newline, as the JSONL file would hold them)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def write(self, lines: list[str]) -> None:
        if lines:
            self._hash.update(("\n".join(lines) + "\n").encode())

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _region(ex: Executor, fleet: Fleet, h: Halt) -> str | None:
    vms = fleet.vm_by_name
    regions = {vms[name].region for name in ex.members.get((h.scope, h.key), ())}
    return regions.pop() if len(regions) == 1 else None


def _phase_gate(policy: Policy) -> str:
    return next(g.name for g in policy.gates if isinstance(g, PhaseGate))  # a held phase implies the gate


def run_scenario(job: RiskJob, index: int) -> ScenarioOutcome:
    seed = scenario_seed(job.run_seed, index)
    drawn = draw_faults(job.space, seed)
    sink = DigestSink()
    ex = Executor(job.policy, job.fleet, job.schedule, SimDriver(job.fleet, drawn.script, seed), sink,
                  max_retries=job.max_retries)
    result = ex.run()
    left = {vm for vm, ext in job.space.tasks if (vm, ext) not in result.versions}
    held = (int(result.held["phase"]), _phase_gate(job.policy)) if result.held is not None else None
    return ScenarioOutcome(
        index=index, seed=seed, outcome=result.outcome, seconds=result.duration, tasks=result.tasks,
        succeeded=result.states.get(SUCCEEDED, 0),
        not_succeeded={k: v for k, v in result.states.items() if k != SUCCEEDED},
        rolled_back=result.rolled_back, retried=result.retried, vms_left_old=len(left),
        halts=tuple(HaltRecord(h.kind, h.rule, h.group, _region(ex, job.fleet, h), h.time) for h in result.halts),
        held=held, faults=drawn.counts, events=result.events, log=sink.hexdigest()[:16])


def run_batch(job: RiskJob, indices: Sequence[int]) -> list[ScenarioOutcome]:
    """The outcomes of the scenarios ``indices`` (a Dask task).

    The cyclic GC stays off for the batch and collects the youngest generation after each scenario: a finished
    executor leaves reference cycles behind (about 2 MB a sample scenario) that only a collection frees, and the
    executor's own GC pause, when it is the one that turns the GC back on, moves them to the oldest generation,
    which no collection reaches between scenarios (1,000 scenarios grew a worker to 2 GB).  With the GC already off
    the executor leaves it off, everything the scenario allocated stays in generation 0, and ``gc.collect(0)``
    frees its garbage scanning only that."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        out: list[ScenarioOutcome] = []
        for i in indices:
            out.append(run_scenario(job, i))
            gc.collect(0)
        return out
    finally:
        if enabled:
            gc.enable()


def results_digest(outcomes: Sequence[ScenarioOutcome]) -> str:
    """sha256 of the outcome lines in scenario order (what ``wavegate risk --results`` writes)."""
    h = hashlib.sha256()
    for o in sorted(outcomes, key=lambda o: o.index):
        h.update(o.line().encode() + b"\n")
    return h.hexdigest()


def outcome_from_json(data: dict[str, Any]) -> ScenarioOutcome:
    """An outcome read back from its line (tests, pipelines)."""
    fields = dict(data)
    fields["halts"] = tuple(HaltRecord(**h) for h in data["halts"])
    fields["held"] = tuple(data["held"]) if data["held"] is not None else None
    return ScenarioOutcome(**fields)

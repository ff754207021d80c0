"""``assess``: the risk of a schedule under a fault model, as the outcomes of ``scenarios`` seeded scenarios."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.diagnostics import Diagnostic
from dsl.policy import Policy
from engine.model.errors import InputError
from engine.model.fault_model import FaultModel
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule
from engine.risk.dispatch import Backend, Progress, run_scenarios
from engine.risk.outcomes import RiskJob, ScenarioOutcome
from engine.risk.scenarios import build_space
from engine.run.executor import check_max_retries, check_schedule

MAX_SCENARIOS = 10_000_000


def check_options(scenarios: int, batch: int | None) -> None:
    """InputError unless 1 <= scenarios <= MAX_SCENARIOS and the batch size (when given) is at least 1."""
    if not 1 <= scenarios <= MAX_SCENARIOS:
        raise InputError([Diagnostic("E-USAGE", f"--scenarios must be between 1 and {MAX_SCENARIOS:,}, not {scenarios}",
                                     hint="e.g. --scenarios 1000")])
    if batch is not None and batch < 1:
        raise InputError([Diagnostic("E-USAGE", f"--batch-size must be at least 1, not {batch}")])


def assess(
    policy: Policy,
    fleet: Fleet,
    schedule: Schedule,
    model: FaultModel,
    *,
    scenarios: int,
    seed: int,
    backend: Backend,
    batch: int | None = None,
    max_retries: int | None = None,
    progress: Progress | None = None,
) -> Sequence[ScenarioOutcome]:
    """Run scenarios ``0..scenarios-1`` of seed ``seed`` (each: a fault script drawn from ``model``, the executor on
    the simulated fleet) and return their outcomes in scenario order.  The schedule must fit the fleet (checked
    here) and should have passed ``engine.api.verify``."""
    check_options(scenarios, batch)
    check_max_retries(max_retries)
    if backend.kind == "local" and backend.workers < 1:
        raise InputError([Diagnostic("E-USAGE", f"a local cluster needs at least 1 worker, not {backend.workers}",
                                     hint="--workers 0 runs in this process")])
    check_schedule(schedule, fleet)
    job = RiskJob(policy, fleet, schedule, build_space(model, policy, fleet, schedule), seed, max_retries)
    return run_scenarios(job, scenarios, backend, batch=batch, progress=progress)

"""The planner's answers against the checker's (the normative semantics), on generated small fleets and rules of every
kind (tests/strategies.py): every schedule the planner returns passes ``verify_schedule``, and whenever it says "no
schedule exists", no task-level schedule of the fleet (each task in any wave, a VM's tasks split or not, every phase
numbering) passes ``verify_schedule`` either, found by exhaustive search.  A schedule needs at most one wave per task,
so with at most ``MAX_TASKS`` tasks and as many waves the search is complete."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator, Sequence

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from strategies import SPAN, fleets, rules

from dsl.policy import Policy, Rule
from engine.check.verify import verify_schedule
from engine.model.errors import Infeasible
from engine.model.fleet import Fleet
from engine.model.schedule import Phase, Schedule, Skipped, Task, Wave
from engine.model.upgrades import UpgradeTask, resolve_upgrades
from engine.plan.synthesis import plan

MAX_TASKS = 5
CASES = settings(max_examples=250, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _policy(rs: Sequence[Rule]) -> Policy:
    named = tuple(dataclasses.replace(r, name=f"r{i}") for i, r in enumerate(rs))
    return Policy(name="generated", span=SPAN, files=("<generated>",), rules=named)


def _wave_sequences(n_tasks: int) -> Iterator[tuple[int, ...]]:
    """Each task's wave, waves numbered 0..k-1 with none empty (every schedule up to renaming empty waves away)."""
    for waves in itertools.product(range(min(n_tasks, MAX_TASKS)), repeat=n_tasks):
        used = set(waves)
        if used == set(range(len(used))):
            yield waves


def _phase_numberings(k: int) -> Iterator[tuple[int, ...]]:
    for steps in itertools.product((0, 1), repeat=max(0, k - 1)):
        yield tuple(itertools.accumulate((0, *steps)))


def _schedules(fleet: Fleet, tasks: Sequence[UpgradeTask], skipped: list[Skipped]) -> Iterator[Schedule]:
    region = fleet.vm_by_name
    for waves in _wave_sequences(len(tasks)):
        k = max(waves) + 1
        for phases in _phase_numberings(k):
            of_region: dict[str, set[int]] = {}
            for t, w in zip(tasks, waves, strict=True):
                of_region.setdefault(region[t.vm].region, set()).add(phases[w])
            if any(len(ps) > 1 for ps in of_region.values()):
                continue
            listed = [Phase(index=p, regions=sorted(r for r, ps in of_region.items() if p in ps))
                      for p in range(phases[-1] + 1)]
            out = [Wave(index=w, phase=phases[w], tasks=[
                Task(vm=t.vm, extension=t.extension, from_version=t.from_version, to_version=t.to_version)
                for t, tw in zip(tasks, waves, strict=True) if tw == w]) for w in range(k)]
            yield Schedule(phases=listed, waves=out, skipped=skipped, lower_bound=0, optimal=False)


def _some_schedule_passes(policy: Policy, fleet: Fleet) -> Schedule | None:
    resolution = resolve_upgrades(fleet, policy.versions)
    skipped = [Skipped(vm=s.vm, extension=s.extension, reason=s.reason) for s in resolution.skipped]
    for schedule in _schedules(fleet, resolution.tasks, skipped):
        if verify_schedule(policy, fleet, schedule).ok:
            return schedule
    return None


@CASES
@given(fleets(max_vms=3), st.lists(rules(), min_size=1, max_size=2))
def test_planned_schedules_pass_and_refusals_hold(fleet: Fleet, rs: list[Rule]) -> None:
    policy = _policy(rs)
    assume(len(resolve_upgrades(fleet, policy.versions).tasks) <= MAX_TASKS)
    try:
        res = plan(policy, fleet, time_limit=30, workers=1)
    except Infeasible as e:
        event("no schedule exists")
        found = _some_schedule_passes(policy, fleet)
        assert found is None, f"the planner said {e.explanation!r}, but this schedule passes: {found.to_json()}"
        return
    event("planned")
    report = verify_schedule(policy, fleet, res.schedule)
    assert report.ok, [v.render() for v in report.violations]

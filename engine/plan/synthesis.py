"""Synthesis: the shortest schedule the policy allows on a fleet, its lower bound, and whether it is proven optimal.

Pipeline (each step exact, see engine.plan.compiler for the models):

1. Upgrade resolution gives the tasks; scheduled VMs are aggregated into classes (engine.plan.groups).
2. Per region, with every rule restricted to the region: a lower bound (engine.plan.lower_bounds), a constructive plan
   (engine.plan.construct) and, when the two differ, Z3 queries "does W waves suffice?" from the bound upwards, each
   with a time limit; an unsat answer proves W-1 impossible.  Regions needing the solver run in parallel processes.
3. Phases: regions are independent once phases are fixed, so the shortest schedule is a phase assignment minimising
   the sum over phases of the longest region in it, under the phase-unit rules (pairs, canary, order, regions per
   phase, per-phase budgets, the fleet's wave limit); solved with Z3 by bisection on the total.
4. When a rule couples regions within waves (fleet-wide per-wave caps, per-subscription wave budgets, wave order
   across regions, pairs apart per wave), steps 2-3 give a lower bound only: a constructive plan over the phases
   gives a schedule and a joint model over all classes tries to close the gap in the time left.
5. Soft preferences (Spread) are repaired at the fixed length by moving single VMs to waves where that breaks no
   rule; per-VM waves are then read off the class counts in VM-name order.

Every schedule is re-checked by engine.check.verify (which shares no code with this module) before it is returned.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from dsl.policy import Policy
from engine.certify.certify import certify_schedule, confirm_infeasible
from engine.check.verify import verify_schedule
from engine.model.digest import tie
from engine.model.errors import CheckFailed, Infeasible, SolverTimeout
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule
from engine.model.solver import Sat, Unsat
from engine.model.upgrades import resolve_upgrades
from engine.plan.budget import Budget
from engine.plan.calendar import place as place_calendar
from engine.plan.compiler import compile_model
from engine.plan.construct import WavePlan, construct
from engine.plan.encoding import OutOfTime
from engine.plan.groups import Groups, build_groups
from engine.plan.infeasible import explain_joint, explain_phases, explain_regions
from engine.plan.kinds.spread import repair_spread
from engine.plan.lower_bounds import need
from engine.plan.output import build_schedule
from engine.plan.phases import (
    PhaseAssignment,
    first_fit_if_tight,
    first_fit_ready,
    first_fit_valid,
    greedy_phases,
    phase_bound,
    phase_total,
    renumber,
)

Progress = Callable[[str], None]
# Class x wave cells beyond which the joint model is not built: measured, such models do not answer in a minute.
JOINT_LIMIT = 60_000


@dataclass(frozen=True)
class PlanResult:
    schedule: Schedule
    elapsed: float
    lower_bound: int
    optimal: bool
    waves: int
    solver_calls: int
    spread_cost: int
    coupled: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass
class RegionPlan:
    region: str
    plan: WavePlan
    lower_bound: int
    optimal: bool
    solver_calls: int = 0
    variables: int = 0


def fleet_wave_limit(groups: Groups) -> int | None:
    limits = [n for p in groups.plans if (n := p.fleet_wave_limit()) is not None]
    return min(limits) if limits else None


def coupling_rules(groups: Groups) -> list[str]:
    """Rules that tie regions together inside waves (the per-region decomposition is then only a bound)."""
    return [p.rule.name for p in groups.plans if p.couples_regions()]


# ----------------------------------------------------------------------------------------------------------------
# Per region


def _solve_region(groups: Groups, region: str, ids: list[int], limit: int | None, seconds: float,
                  hard_deadline: float) -> RegionPlan:
    """Shortest plan for one region under every rule restricted to it (sound: the restriction only relaxes).
    ``seconds`` is the region's share, counted from when it starts; no check runs past ``hard_deadline``."""
    counts = {c: groups.classes[c].count for c in ids}
    lb = need(groups, counts)
    cap = _region_wave_cap(groups, limit)
    if cap is not None and lb > cap:
        # The bound alone proves it: the region needs more waves than a wave limit lets it have.
        return RegionPlan(region, [], lb, True)
    got = construct(groups, [ids], max_waves=limit)
    plan = got[0] if got is not None else None
    calls = 0
    variables = 0
    deadline = min(hard_deadline, time.monotonic() + seconds)
    if plan is None:
        n = sum(counts.values())
        # Any schedule compresses to at most n non-empty waves (and at most the fleet's wave limit).
        wmax = min(n, limit) if limit is not None else n
        try:
            enc = compile_model(groups, ids, wmax, "region", track=False, deadline=hard_deadline)
        except OutOfTime:
            return RegionPlan(region, [], lb, False, calls, variables)
        calls += 1
        variables += enc.variables
        answer = enc.check(max(deadline, min(hard_deadline, time.monotonic() + 0.1)))
        if not isinstance(answer, Sat):
            return RegionPlan(region, [], lb, isinstance(answer, Unsat), calls, variables)
        plan = _compact(enc.counts(answer), wmax)
    if len(plan) <= lb:
        return RegionPlan(region, plan, len(plan), True, calls, variables)
    optimal = False
    w = lb
    while w < len(plan):
        if deadline - time.monotonic() <= 0.05:
            break
        try:
            enc = compile_model(groups, ids, w, "region", track=False, deadline=deadline)
        except OutOfTime:
            break
        calls += 1
        variables += enc.variables
        answer = enc.check(deadline)
        if isinstance(answer, Sat):
            plan = _compact(enc.counts(answer), w)
            optimal = True
            break
        if not isinstance(answer, Unsat):
            break
        w += 1
        lb = w
    if w >= len(plan):
        optimal = True
        lb = len(plan)
    return RegionPlan(region, plan, min(lb, len(plan)), optimal, calls, variables)


def _region_wave_cap(groups: Groups, limit: int | None) -> int | None:
    """The tightest unfiltered wave limit that bounds one region's waves (fleet-wide or per region), if any."""
    caps = [n for p in groups.plans if (n := p.region_wave_cap()) is not None]
    if limit is not None:
        caps.append(limit)
    return min(caps) if caps else None


def _compact(counts: dict[int, list[int]], waves: int) -> WavePlan:
    plan: WavePlan = [{} for _ in range(waves)]
    for c, row in counts.items():
        for w, n in enumerate(row):
            if n:
                plan[w][c] = n
    return [w for w in plan if w]


# One region's solve as it travels to a worker: (groups, region, class ids, wave limit, share in seconds, seconds
# left until the hard deadline).  Seconds, not a monotonic instant: another machine's clock has another origin.
RegionJob = tuple[Groups, str, list[int], int | None, float, float]
# Runs the jobs (anywhere: this process, a process pool, a Dask cluster) and returns their plans in job order.
RegionMap = Callable[[Callable[[RegionJob], RegionPlan], list[RegionJob]], list[RegionPlan]]


def region_job(job: RegionJob) -> RegionPlan:
    groups, region, ids, limit, share, left = job
    return _solve_region(groups, region, ids, limit, share, time.monotonic() + left)


# ----------------------------------------------------------------------------------------------------------------
# Phases


def solve_phases(groups: Groups, lengths: dict[str, int], budget: Budget, share: float = 0.5) -> PhaseAssignment | None:
    """Phase per region minimising the sum of phase lengths; None when the phase rules admit no assignment.
    Returns (phase of each region, numbered 0.. in order, total waves, proven optimal)."""
    if not lengths:
        return {}, 0, True
    try:
        enc = compile_model(groups, [], 0, "phases", lengths=lengths, track=False, deadline=budget.deadline)
    except OutOfTime:
        raise SolverTimeout("the phase model was not built within the time limit; raise --time-limit") from None
    budget.calls += 1
    budget.variables += enc.variables
    deadline = min(budget.deadline, time.monotonic() + max(1.0, share * budget.left()))
    answer = enc.check(max(deadline, min(budget.deadline, time.monotonic() + 0.1)))
    if isinstance(answer, Unsat):
        return None
    if not isinstance(answer, Sat):
        raise SolverTimeout("the phase assignment did not finish within the time limit; raise --time-limit")
    best = enc.region_phases(answer)
    total = phase_total(best, lengths)
    lo = max(lengths.values())
    optimal = False

    while lo < total:
        mid = (lo + total) // 2
        enc.solver.push()
        enc.solver.add(enc.sum(enc.plen) <= mid)
        budget.calls += 1
        found = enc.check(deadline) if deadline - time.monotonic() > 0.05 else None
        if isinstance(found, Sat):
            best = enc.region_phases(found)
            total = phase_total(best, lengths)
        elif isinstance(found, Unsat):
            lo = mid + 1
        enc.solver.pop()
        if not isinstance(found, Sat | Unsat):
            break
    else:
        optimal = True
    return renumber(best), total, optimal


# ----------------------------------------------------------------------------------------------------------------
# The plan


def plan(
    policy: Policy,
    fleet: Fleet,
    *,
    time_limit: float = 60.0,
    workers: int = 2,
    progress: Progress | None = None,
    region_map: RegionMap | None = None,
    start: int | None = None,
    certify_time: float = 30.0,
) -> PlanResult:
    """Shortest verified schedule for ``fleet`` under ``policy``, with the certificate of its lower bound
    (engine.certify: a combinatorial witness, else the second solver within ``certify_time`` seconds, and never
    past ``time_limit``); raises Infeasible (with the minimal conflicting rules, re-proved by the second solver)
    when none exists, SolverTimeout when none was found in time or a refusal was not re-proved, CheckFailed on an
    encoding bug or when the two solvers disagree.  With time rules, the waves are placed on the calendar from
    ``start`` (epoch seconds; default: now, to the minute).  ``region_map`` runs the independent per-region solves
    elsewhere (e.g. a Dask cluster); default: ``workers`` local processes.  The schedule does not depend on where
    they ran."""
    clock = time.monotonic()
    begin = start if start is not None else int(time.time()) // 60 * 60
    try:
        found = _plan(policy, fleet, time_limit, workers, progress, region_map, begin)
    except Infeasible as refusal:
        raise confirm_infeasible(policy, fleet, refusal, _second_solver_time(clock, time_limit, certify_time)) from None
    (progress or (lambda _msg: None))("certifying the lower bound")
    schedule = certify_schedule(policy, fleet, found.schedule, _second_solver_time(clock, time_limit, certify_time))
    cert_notes = tuple(schedule.certificate.notes) if schedule.certificate is not None else ()
    return dataclasses.replace(found, schedule=schedule, lower_bound=schedule.lower_bound, optimal=schedule.optimal,
                               elapsed=time.monotonic() - clock, notes=found.notes + cert_notes)


def _second_solver_time(clock: float, time_limit: float, certify_time: float) -> float:
    """CP-SAT's seconds: ``certify_time``, within what is left of ``time_limit`` (0: the answer stays unconfirmed)."""
    return max(0.0, min(certify_time, clock + time_limit - time.monotonic()))


def _plan(policy: Policy, fleet: Fleet, time_limit: float, workers: int, progress: Progress | None,
          region_map: RegionMap | None, begin: int) -> PlanResult:
    clock = time.monotonic()
    say = progress or (lambda _msg: None)
    budget = Budget(clock + time_limit)
    resolution = resolve_upgrades(fleet, policy.versions)
    groups = build_groups(policy, fleet, resolution)
    say(f"{len(groups.classes)} classes from {sum(c.count for c in groups.classes if c.unit == 0)} VMs with tasks")
    by_region: dict[str, list[int]] = defaultdict(list)
    for c in groups.classes:
        by_region[c.region].append(c.index)
    limit = fleet_wave_limit(groups)
    coupled = coupling_rules(groups)
    regions = _plan_regions(groups, by_region, limit, budget, workers, say, region_map)
    bad = [r for r in regions.values() if not r.plan]
    if bad:
        proven = [r.region for r in bad if r.optimal]
        if proven:
            raise explain_regions(groups, proven, limit, budget.deadline)
        raise SolverTimeout(f"no schedule found for region {bad[0].region} within the time limit; raise --time-limit")
    lengths = {r: len(p.plan) for r, p in regions.items()}
    phases = first_fit_if_tight(groups, lengths, limit)
    if phases is None:
        phases = solve_phases(groups, lengths, budget)
    if phases is None:
        raise explain_phases(groups, lengths, budget.deadline)
    assign, total, phase_opt = phases
    regions_opt = all(p.optimal for p in regions.values())
    if regions_opt and phase_opt:
        lower = total
    else:
        lbs = {r: p.lower_bound for r, p in regions.items()}
        try:
            relaxed = solve_phases(groups, lbs, budget, 0.3) if lbs != lengths else phases
        except SolverTimeout:
            relaxed = None
        lower = relaxed[1] if relaxed is not None and relaxed[2] else 0
        lower = max(lower, phase_bound(groups, lbs))
    say(f"{len(regions)} regions in {len(set(assign.values()))} phases, {total} waves (lower bound {lower})")
    candidates = [_blocks(assign)]
    # The phase model did not prove its answer: also try longest-first first-fit phases, keep the shorter.
    if not (regions_opt and phase_opt) and first_fit_ready(groups):
        ff = greedy_phases(groups, lengths)
        alt = _blocks(ff)
        if alt != candidates[0] and first_fit_valid(groups, ff):
            candidates.append(alt)
    if coupled:
        lower = max(lower, need(groups, {c.index: c.count for c in groups.classes}))
        plans, lower = _plan_coupled(groups, candidates, regions, lower, limit, budget, say)
        waves_plan = [(p, wave) for p, block_plan in enumerate(plans) for wave in block_plan]
    else:
        options = [_assemble(groups, b, regions) for b in candidates]
        waves_plan = min(options, key=len)
    optimal = len(waves_plan) <= lower
    lower = min(lower, len(waves_plan))
    spread_cost = repair_spread(groups.prefs, groups.planners, groups.classes, waves_plan)
    schedule = tie(build_schedule(groups, resolution.skipped, waves_plan, lower, optimal, budget, coupled, spread_cost),
                   policy, fleet)
    # The classes and tasks are no longer needed: free them before the checker builds its own view of the fleet.
    n_waves = len(waves_plan)
    region_lower = {r: p.lower_bound for r, p in regions.items()}
    del groups, resolution, regions, waves_plan
    if policy.times:
        schedule = place_calendar(policy, fleet, schedule, begin, region_lower)
        say(f"calendar: finish {schedule.finish.planned if schedule.finish else '?'}")
    _recheck(policy, fleet, schedule)
    elapsed = time.monotonic() - clock
    return PlanResult(schedule, elapsed, lower, optimal, n_waves, budget.calls, spread_cost,
                      tuple(coupled), tuple(budget.notes))


def _plan_regions(groups: Groups, by_region: dict[str, list[int]], limit: int | None, budget: Budget,
                  workers: int, say: Progress, region_map: RegionMap | None = None) -> dict[str, RegionPlan]:
    out: dict[str, RegionPlan] = {}
    hard: list[str] = []
    for r in sorted(by_region):
        ids = by_region[r]
        lb = need(groups, {c: groups.classes[c].count for c in ids})
        got = construct(groups, [ids], max_waves=limit)
        if got is not None and len(got[0]) <= lb:
            out[r] = RegionPlan(r, got[0], lb, True)
        else:
            hard.append(r)
    if hard:
        say(f"solver on {len(hard)} region(s): {', '.join(hard[:5])}{' ...' if len(hard) > 5 else ''}")
        share = budget.left() / max(1, -(-len(hard) // max(1, workers))) * 0.5
        left = budget.left()
        jobs: list[RegionJob] = [(groups, r, by_region[r], limit, share, left) for r in hard]
        if region_map is not None:
            results = region_map(region_job, jobs)
        elif workers > 1 and len(hard) > 1:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(region_job, jobs))
        else:
            results = [region_job(j) for j in jobs]
        for res in results:
            out[res.region] = res
            budget.calls += res.solver_calls
            budget.variables += res.variables
    return out


def _blocks(assign: dict[str, int]) -> list[list[str]]:
    n = max(assign.values(), default=-1) + 1
    blocks: list[list[str]] = [[] for _ in range(n)]
    for r in sorted(assign):
        blocks[assign[r]].append(r)
    return blocks


def _assemble(groups: Groups, blocks: list[list[str]], regions: dict[str, RegionPlan]) -> list[tuple[int, dict[int, int]]]:
    out: list[tuple[int, dict[int, int]]] = []
    for p, block in enumerate(blocks):
        length = max(len(regions[r].plan) for r in block)
        waves: list[dict[int, int]] = [{} for _ in range(length)]
        for r in block:
            for w, wave in enumerate(regions[r].plan):
                waves[w].update(wave)
        out.extend((p, w) for w in waves)
    return out


def _plan_coupled(groups: Groups, candidates: list[list[list[str]]], regions: dict[str, RegionPlan], lower: int,
                  limit: int | None, budget: Budget, say: Progress) -> tuple[list[WavePlan], int]:
    """Rules couple regions inside waves: a constructive plan over the phases, then the joint model on the gap.
    Returns the plan and the lower bound, raised by every wave count the joint model proved too few."""
    by_region: dict[str, list[int]] = defaultdict(list)
    for c in groups.classes:
        by_region[c.region].append(c.index)
    best: list[WavePlan] | None = None
    for blocks in candidates:
        class_blocks = [[c for r in block for c in by_region[r]] for block in blocks]
        plans = construct(groups, class_blocks, max_waves=limit)
        if plans is not None and (best is None or sum(map(len, plans)) < sum(map(len, best))):
            best = plans
    ub = sum(len(p) for p in best) if best is not None else None
    ids = [c.index for c in groups.classes]
    n = sum(c.count for c in groups.classes)
    wmax = min(n, limit) if limit is not None else n
    if ub is None and lower > wmax:
        # No plan, and the bound already exceeds the most waves any schedule can have: the joint model at that
        # many waves is unsat (its core explains why; the refusal is then re-proved by the second solver).
        raise explain_joint(groups, wmax, budget.deadline, limit)
    w = lower
    while (ub is None or w < ub) and budget.left() > 0.5 and w <= wmax:
        if len(ids) * w > JOINT_LIMIT:
            budget.notes.append(f"joint model of {len(ids)} classes x {w} waves is too large to close the gap; "
                                "the gap to the lower bound is stated")
            break
        say(f"joint model over {len(ids)} classes with {w} waves")
        try:
            enc = compile_model(groups, ids, w, "joint", track=False, deadline=budget.deadline)
        except OutOfTime:
            budget.notes.append(f"joint model with {w} waves: not built within the time limit")
            break
        budget.calls += 1
        budget.variables += enc.variables
        answer = enc.check(budget.deadline)
        if isinstance(answer, Sat):
            best = _split_joint(enc.counts(answer), enc.wave_phases(answer), w)
            ub = sum(len(p) for p in best)
            break
        if not isinstance(answer, Unsat):
            budget.notes.append(f"joint model with {w} waves: unknown within the time limit")
            break
        if ub is None and w >= wmax:
            raise explain_joint(groups, w, budget.deadline, limit)
        # Without a plan, grow geometrically up to the bound that proves infeasibility (any schedule compresses
        # to at most that many waves); with one, step up from the lower bound so each unsat raises it.
        lower = max(lower, w + 1)
        w = min(wmax, 2 * w) if ub is None else w + 1
    if best is None:
        raise SolverTimeout("no schedule found within the time limit; raise --time-limit")
    return best, lower


def _split_joint(counts: dict[int, list[int]], phases: list[int], waves: int) -> list[WavePlan]:
    per: dict[int, WavePlan] = defaultdict(list)
    for w in range(waves):
        wave = {c: row[w] for c, row in counts.items() if row[w]}
        if wave:
            per[phases[w]].append(wave)
    return [per[p] for p in sorted(per)]


# ----------------------------------------------------------------------------------------------------------------
# Output


def _recheck(policy: Policy, fleet: Fleet, schedule: Schedule) -> None:
    report = verify_schedule(policy, fleet, schedule)
    if not report.ok:
        shown = "; ".join(v.render() for v in report.violations[:5])
        raise CheckFailed(f"internal error: the synthesised schedule failed the independent check: {shown}")

"""Certify the planner's unsat answers: the lower bound of a schedule (and so its optimality), and "no schedule exists".

A schedule's lower bound is certified by the combinatorial witness (``engine.certify.witness``) where that reaches
it; where the planner's bound came from Z3 and the witness falls short, by CP-SAT (``engine.certify.cpsat``): first
per region (a region's tasks have no schedule one wave shorter than the schedule gives them, then the phase
arguments combine the raised regions), then for the whole fleet.  A bound CP-SAT cannot confirm in time is not
certified: the schedule then says the certified bound and not optimal, with a note.  CP-SAT finding a schedule the
planner said cannot exist is an error (``CheckFailed``), never a pass.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence

from dsl.policy import Policy, Rule
from engine.certify.cpsat import Found, NoSchedule, solve
from engine.certify.witness import Witness, best_witness
from engine.check.certificate import Due, Fact, Reprove, WitnessCheck, check_certificate, due_tasks
from engine.check.verify import verify_schedule
from engine.model.errors import CheckFailed, Infeasible, SolverTimeout
from engine.model.fleet import Fleet
from engine.model.schedule import BoundNode, Certificate, Phase, Schedule, Task, Wave
from engine.model.upgrades import resolve_upgrades

SOLVER = "OR-tools CP-SAT"


def _lengths(schedule: Schedule, dues: Sequence[Due]) -> dict[str, int]:
    region_of = {d.vm.name: d.vm.region for d in dues}
    waves: dict[str, set[int]] = {}
    for w in schedule.waves:
        for t in w.tasks:
            if t.vm in region_of:
                waves.setdefault(region_of[t.vm], set()).add(w.index)
    return {r: len(ws) for r, ws in sorted(waves.items())}


def solver_node(waves: int, fallback: BoundNode, what: str) -> BoundNode:
    return BoundNode(kind="solver", waves=waves, solver=SOLVER, parts=[fallback],
                     why=f"{SOLVER} proved that {what} has no schedule in {waves - 1} waves")


def to_schedule(policy: Policy, fleet: Fleet, dues: Sequence[Due], found: Found) -> Schedule:
    """The second solver's schedule of every due task, in the interchange format (for the checker)."""
    n = max(found.waves.values(), default=-1) + 1
    by_wave: list[list[Task]] = [[] for _ in range(n)]
    regions: dict[int, set[str]] = {}
    for d in sorted(dues, key=lambda d: (d.vm.name, d.ext.name)):
        w = found.waves[(d.vm.name, d.ext.name)]
        by_wave[w].append(Task(vm=d.vm.name, extension=d.ext.name, from_version=d.task.from_version,
                               to_version=d.task.to_version))
        regions.setdefault(found.phases[w], set()).add(d.vm.region)
    skipped = sorted(resolve_upgrades(fleet, policy.versions).skipped, key=lambda s: (s.vm, s.extension))
    return Schedule(phases=[Phase(index=p, regions=sorted(regions[p])) for p in sorted(regions)],
                    waves=[Wave(index=w, phase=found.phases[w], tasks=by_wave[w]) for w in range(n)],
                    skipped=list(skipped), lower_bound=0, optimal=False)


def disagreement(policy: Policy, fleet: Fleet, dues: Sequence[Due], found: Found, claim: str) -> CheckFailed:
    """CP-SAT found a schedule where the planner said there is none: an error either way, saying whose."""
    other = to_schedule(policy, fleet, dues, found)
    report = verify_schedule(policy, fleet, other)
    if report.ok:
        return CheckFailed(f"internal error: the planner (Z3) says {claim}, but {SOLVER} found a schedule of "
                           f"{len(other.waves)} waves that the independent checker accepts; the answer is refused")
    shown = "; ".join(v.render() for v in report.violations[:3])
    return CheckFailed(f"internal error: the planner (Z3) says {claim}, and {SOLVER}'s model disagrees with it, "
                       f"but its schedule fails the independent checker ({shown}); the answer is refused")


class Certifier:
    """One certification run: the fleet's due tasks and the witness search, the second solver's time."""

    def __init__(self, policy: Policy, fleet: Fleet, seconds: float) -> None:
        self.policy = policy
        self.fleet = fleet
        self.dues = due_tasks(policy, fleet)
        self.witness = Witness(policy, fleet, self.dues)
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.notes: list[str] = []
        self.undecided: list[str] = []  # why second-solver attempts did not decide (noted when it matters)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def refute(self, rules: Sequence[Rule], dues: Sequence[Due], waves: int | None, share: float,
               facts: Sequence[Fact] = ()) -> Found | NoSchedule | None:
        """CP-SAT on "no schedule of ``dues`` in ``waves`` waves" (None: in any number); None when undecided or too
        large to build."""
        if self.left() <= 0.05:
            return None
        answer = solve(rules, self.fleet, dues, waves, min(self.left(), share), facts)
        if isinstance(answer, Found | NoSchedule):
            return answer
        self.undecided.append(answer.reason)
        return None

    def certify(self, schedule: Schedule) -> Schedule:
        w = self.witness
        tasks = w.by_region()
        nodes = {r: n for r, ts in tasks.items() if (n := w.need(ts)) is not None}
        root = best_witness(w, nodes)
        claimed = schedule.lower_bound
        if root.waves < claimed:
            root = self._regions(schedule, nodes, root, claimed)
        if root.waves < claimed:
            root = self._whole(root, claimed)
        waves = len(schedule.waves)
        if root.waves > waves:
            raise CheckFailed(f"internal error: the certified lower bound {root.waves} exceeds the schedule's "
                              f"{waves} waves")
        if claimed > root.waves:
            why = f" ({self.undecided[-1]})" if self.undecided else ""
            self.notes.append(f"optimality unconfirmed: the planner (Z3) proved at least {claimed} waves; "
                              f"{SOLVER} did not confirm it within {self.seconds:g}s{why}, so the certified bound is "
                              f"{root.waves}")
        optimal = root.waves == waves
        cert = Certificate(lower_bound=root.waves, optimal=optimal, witness=root, notes=self.notes)
        out = schedule.model_copy(update={"lower_bound": root.waves, "optimal": optimal, "certificate": cert})
        # The certificate passes its checker before anyone sees it (its solver steps were just proved).
        found = check_certificate(self.policy, self.fleet, out)
        if found is not None and found.problems:
            raise CheckFailed(f"internal error: the certificate failed its own check: {'; '.join(found.problems[:3])}")
        return out

    def _regions(self, schedule: Schedule, nodes: dict[str, BoundNode], root: BoundNode, claimed: int) -> BoundNode:
        lengths = _lengths(schedule, self.dues)
        by_region = self.witness.by_region()
        short = sorted((r for r in nodes if nodes[r].waves < lengths.get(r, 0)),
                       key=lambda r: (-lengths[r], r))
        for r in short:
            share = max(1.0, self.left() / 4)
            mine = [self.dues[i] for i in by_region[r]]
            answer = self.refute(self.policy.rules, mine, lengths[r] - 1, share, self.facts(nodes[r], mine))
            if isinstance(answer, NoSchedule):
                nodes[r] = solver_node(lengths[r], nodes[r], f"region {r}")
                root = best_witness(self.witness, nodes)
                if root.waves >= claimed:
                    break
        return root

    def facts(self, node: BoundNode, dues: Sequence[Due]) -> list[Fact]:
        """What the certificate checker re-derives of the node's subtree (facts the second solver may use)."""
        check = WitnessCheck(self.policy, self.fleet)
        check.value(node, dues, "witness")
        return check.facts

    def _whole(self, root: BoundNode, claimed: int) -> BoundNode:
        answer = self.refute(self.policy.rules, self.dues, claimed - 1, self.left(), self.facts(root, self.dues))
        if isinstance(answer, NoSchedule):
            return solver_node(claimed, root, "the fleet")
        if isinstance(answer, Found):
            raise disagreement(self.policy, self.fleet, self.dues, answer,
                               f"no schedule has fewer than {claimed} waves")
        return root


def certify_schedule(policy: Policy, fleet: Fleet, schedule: Schedule, seconds: float = 30.0) -> Schedule:
    """The schedule with its certificate; its lower bound and optimality become what is certified."""
    return Certifier(policy, fleet, seconds).certify(schedule)


def confirm_infeasible(policy: Policy, fleet: Fleet, refusal: Infeasible, seconds: float = 30.0) -> Infeasible:
    """Re-prove "no schedule exists" with CP-SAT: the explanation's rules alone (all rules when it names none) on
    its regions, then (when those regions alone have a schedule: the part was only where the core was found) on the
    whole fleet.  Returns the refusal, marked re-proved; raises CheckFailed when CP-SAT finds a schedule,
    SolverTimeout (the answer is unknown) when it cannot decide in time."""
    names = set(refusal.conflicting_rules)
    rules = [r for r in policy.rules if r.name in names] if names else list(policy.rules)
    certifier = Certifier(policy, fleet, seconds)
    part = set(refusal.regions)
    answer: Found | NoSchedule | None = None
    if part:
        answer = certifier.refute(rules, [d for d in certifier.dues if d.vm.region in part], None, seconds)
    if not isinstance(answer, NoSchedule):
        answer = certifier.refute(rules, certifier.dues, None, seconds)
    if isinstance(answer, NoSchedule):
        return Infeasible(f"{refusal.explanation} (re-proved by {SOLVER} on a model built from the checker's "
                          "reading)", refusal.conflicting_rules, refusal.regions)
    if isinstance(answer, Found):
        if len(rules) == len(policy.rules):
            raise disagreement(policy, fleet, certifier.dues, answer, "no schedule exists")
        core = dataclasses.replace(policy, rules=tuple(rules))
        raise disagreement(core, fleet, certifier.dues, answer, f"rules {', '.join(sorted(names))} alone conflict")
    more = f" ({certifier.undecided[-1]})" if certifier.undecided else ""
    raise SolverTimeout(f"unknown: the planner (Z3) found that no schedule exists ({refusal.explanation}), but "
                        f"{SOLVER} did not confirm it within {seconds:g}s{more}; raise --certify-time")


def reprover(policy: Policy, fleet: Fleet, seconds: float = 30.0) -> Reprove:
    """The check's hook that re-runs the second solver on a certificate's solver nodes (``seconds`` for all)."""
    deadline = time.monotonic() + seconds

    def reprove(dues: Sequence[Due], waves: int, facts: Sequence[Fact]) -> str | None:
        left = deadline - time.monotonic()
        if left <= 0.05:
            return f"no time left for {SOLVER}"
        answer = solve(policy.rules, fleet, dues, waves, left, facts)
        if isinstance(answer, NoSchedule):
            return None
        if isinstance(answer, Found):
            return f"{SOLVER} found a schedule of them in {max(answer.waves.values(), default=-1) + 1} waves"
        return answer.reason

    return reprove

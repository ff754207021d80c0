"""The executor's gate logic as a transition system in Z3, and invariants proved by induction or k-induction.

One group of the gates' scope (a scale set) of symbolic size ``n >= 1``; the state counts its unhealthy VMs ``u``,
upgraded VMs ``m``, upgraded-unhealthy ``uu``, VMs still pending, the running batch, and the stop flags.  Steps are
the three things that happen in ``engine.run.executor`` (see docs/executor.md):

* ``start``  — a batch of ``b`` pending VMs starts; allowed only when the set is not stopped and every gate decision
  of :mod:`engine.run.gates` allows it (``may_start_batch`` for each precheck gate, no ``upgraded_breach``);
* ``env``    — health changes for any reason (faults, maintenance): any ``u``, any ``uu <= min(m, u)``; during a
  batch a ``set_breach`` marks the set to stop at the end of the batch;
* ``finish`` — the batch ends with ``f`` VMs failing their health wait: ``m += b``, ``uu += f``; a failed VM is rolled
  back or kept per ``health_outcome``; the set stops on ``upgraded_breach`` or a breach seen during the batch.

Each invariant is checked the IVy/Apalache way: first bounded model checking from the initial states (a failure is
a trace), then an inductive invariant ``P and lemmas`` (lemmas kept by a Houdini pass: candidates that are not
inductive are dropped), reported as three obligations — initiation, consecution, safety — each PASS or FAIL;
when plain induction fails, k-induction for k = 2..4.  Sizes are symbolic, so a proof holds for sets of every size.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import z3

from dsl.policy import (
    Capacity,
    Gate,
    HealthWaitGate,
    PauseGate,
    Percent,
    PhaseGate,
    Policy,
    PrecheckGate,
    RetryGate,
    Rule,
    StopUnhealthyGate,
    StopUpgradedGate,
    TrueP,
    VersionClaim,
)
from engine.model.errors import InputError, MonitorBreach
from engine.model.faults import parse_faults
from engine.model.fleet import parse_fleet
from engine.model.schedule import parse_schedule
from engine.prove.results import Counterexample, Obligation, Outcome, Status
from engine.prove.symbolic import cap_term, exceeded_term, same_group
from engine.run.driver import SimDriver
from engine.run.events import MemorySink
from engine.run.executor import execute

BMC_DEPTH = 6
MAX_K = 4
SCOPE = "for all set sizes (induction over the executor's gate transitions)"


@dataclass(frozen=True)
class GateParams:
    """The gates of one scope that the executor enforces, read from a policy."""

    scope: str
    precheck: tuple[Percent, ...]
    stop_upgraded: tuple[Percent, ...]
    stop_unhealthy: tuple[Percent, ...]
    rollback: bool
    names: tuple[str, ...]


def gate_params(policy: Policy, scope: str) -> GateParams:
    pre = [g for g in policy.gates if isinstance(g, PrecheckGate) and same_group(g.of, scope)]
    up = [g for g in policy.gates if isinstance(g, StopUpgradedGate) and same_group(g.of, scope)]
    un = [g for g in policy.gates if isinstance(g, StopUnhealthyGate) and same_group(g.of, scope)]
    wait = [g for g in policy.gates if isinstance(g, HealthWaitGate)]
    # Without a wait gate the executor never watches health: a VM broken by its upgrade stays on the new version.
    rollback = bool(wait) and wait[0].on_timeout == "rollback"
    names = tuple(g.name for g in (*pre, *up, *un, *wait[:1]))
    return GateParams(scope, tuple(g.cap for g in pre), tuple(g.cap for g in up), tuple(g.cap for g in un),
                      rollback, names)


# ----------------------------------------------------------------------------------------------------------------
# The state and the steps

INT_VARS = ("u", "m", "uu", "pend", "b", "su", "suu", "sm", "tph", "tv")
BOOL_VARS = ("inb", "stopped", "sae", "started", "breach", "bflag", "sbflag", "tfail")


@dataclass
class State:
    v: dict[str, z3.ExprRef]

    def __getitem__(self, k: str) -> Any:
        return self.v[k]


def state(i: int) -> State:
    v: dict[str, z3.ExprRef] = {k: z3.Int(f"{k}_{i}") for k in INT_VARS}
    v.update({k: z3.Bool(f"{k}_{i}") for k in BOOL_VARS})
    return State(v)


def _any_exceeded(caps: tuple[Percent, ...], part: z3.ArithRef, whole: z3.ArithRef) -> z3.BoolRef:
    return z3.Or(*[exceeded_term(c, part, whole) for c in caps]) if caps else z3.BoolVal(False)


class GateModel:
    """Init and transition relation of one group under ``params``; ``claim_cap`` drives the breach monitor.

    ``realizable`` restricts the environment to what a fleet JSON plus a fault script can produce (unhealthy VMs
    fixed from the start, failures only as health failures of upgraded VMs): counterexample traces are searched
    there first, so that they can be reproduced by the real executor.
    """

    def __init__(self, params: GateParams, claim_unhealthy_cap: Percent | None, realizable: bool = False,
                 batch_caps: tuple[Capacity, ...] = ()) -> None:
        self.p = params
        self.n = z3.Int("n")
        self.claim_cap = claim_unhealthy_cap
        self.realizable = realizable
        # Batch caps of the spec (e.g. 20% of a scale set per wave): the executor's monitors enforce them.
        self.side: list[z3.BoolRef] = []
        self.batch_limits = [cap_term(r.amount, self.n, self.side, f"batch{j}") for j, r in enumerate(batch_caps)]

    def init(self, s: State) -> z3.BoolRef:
        n = self.n
        pend_max = n - s["u"] if self.realizable else n
        return z3.And(
            *self.side, n >= 1, s["u"] >= 0, s["u"] <= n, s["m"] == 0, s["uu"] == 0, s["pend"] >= 0, s["pend"] <= pend_max,
            s["b"] == 0, s["su"] == 0, s["suu"] == 0, s["sm"] == 0, s["tph"] == 0, s["tv"] == 0,
            *[z3.Not(s[k]) for k in BOOL_VARS],
        )

    def _unchanged(self, s: State, t: State, keys: tuple[str, ...]) -> list[z3.BoolRef]:
        return [t[k] == s[k] for k in keys]

    def _breach(self, u: z3.ArithRef) -> z3.BoolRef:
        return exceeded_term(self.claim_cap, u, self.n) if self.claim_cap is not None else z3.BoolVal(False)

    # The gate decisions of engine.run.gates, shared by the transition relation and the conformance check.
    def precheck_blocks(self, u: z3.ArithRef, n: z3.ArithRef) -> z3.BoolRef:
        """Some precheck gate refuses the batch (not ``gates.may_start_batch``)."""
        return _any_exceeded(self.p.precheck, u, n)

    def stop_after_batch(self, uu: z3.ArithRef, m: z3.ArithRef, peak: z3.ArithRef, n: z3.ArithRef) -> z3.BoolRef:
        """``gates.upgraded_breach`` on the counts after the batch, or ``gates.set_breach`` on its peak."""
        return z3.Or(_any_exceeded(self.p.stop_upgraded, uu, m), _any_exceeded(self.p.stop_unhealthy, peak, n))

    def start(self, s: State, t: State) -> z3.BoolRef:
        n = self.n
        guard = z3.And(z3.Not(s["stopped"]), z3.Not(s["inb"]), s["pend"] >= 1, z3.Not(self.precheck_blocks(s["u"], n)))
        return z3.And(
            guard, t["b"] >= 1, t["b"] <= s["pend"], t["pend"] == s["pend"] - t["b"], t["inb"], t["started"],
            *[t["b"] <= lim for lim in self.batch_limits],
            t["su"] == s["u"], t["suu"] == s["uu"], t["sm"] == s["m"], t["sbflag"] == s["bflag"],
            t["breach"] == self._breach(s["u"]), t["sae"] == _any_exceeded(self.p.stop_unhealthy, s["u"], n),
            z3.If(s["tph"] == 0, z3.Or(t["tph"] == 0, t["tph"] == 1), t["tph"] == s["tph"]),
            *self._unchanged(s, t, ("u", "m", "uu", "stopped", "bflag", "tfail", "tv")),
        )

    def block(self, s: State, t: State) -> z3.BoolRef:
        """A precheck refuses: the group is blocked (halted) for the rest of the run."""
        return z3.And(
            z3.Not(s["stopped"]), z3.Not(s["inb"]), s["pend"] >= 1, self.precheck_blocks(s["u"], self.n),
            t["stopped"], z3.Not(t["started"]),
            *self._unchanged(s, t, ("u", "m", "uu", "pend", "b", "inb", "sae", "breach", "bflag", "su", "suu", "sm",
                                    "sbflag", "tph", "tfail", "tv")),
        )

    def env(self, s: State, t: State) -> z3.BoolRef:
        """Health changes for reasons outside the rollout; the upgraded counts change only at batch ends."""
        n = self.n
        return z3.And(
            z3.BoolVal(not self.realizable),
            t["u"] >= 0, t["u"] <= n, z3.Not(t["started"]),
            t["breach"] == z3.Or(s["breach"], z3.And(s["inb"], self._breach(t["u"]))),
            t["sae"] == z3.Or(s["sae"], z3.And(s["inb"], _any_exceeded(self.p.stop_unhealthy, t["u"], n))),
            *self._unchanged(s, t, ("m", "uu", "pend", "b", "inb", "stopped", "bflag", "su", "suu", "sm", "sbflag",
                                    "tph", "tfail", "tv")),
        )

    def finish(self, s: State, t: State) -> z3.BoolRef:
        n, p = self.n, self.p
        f = z3.Int(f"f_of_{t['u']}")
        tracked = z3.If(
            s["tph"] == 1,
            z3.And(t["tph"] == 2, z3.Implies(t["tfail"], f >= 1), z3.Implies(z3.Not(t["tfail"]), f <= s["b"] - 1),
                   t["tv"] == z3.If(z3.And(t["tfail"], z3.BoolVal(p.rollback)), 0, 1)),
            z3.And(t["tph"] == s["tph"], t["tfail"] == s["tfail"], t["tv"] == s["tv"]),
        )
        if self.realizable:
            # Failed VMs were healthy before; rolled back they are healthy again, kept they stay unhealthy.
            counts = z3.And(t["m"] == s["m"] + s["b"], t["uu"] == s["uu"] + f, t["pend"] == s["pend"],
                            t["u"] == s["u"] + (0 if p.rollback else f), s["u"] + f <= n)
            peak = s["u"] + f
        else:
            # A VM counts once however often it is upgraded (retries); retried tasks go back to pending.
            counts = z3.And(t["m"] >= s["m"], t["m"] <= s["m"] + s["b"], t["m"] <= n, t["uu"] >= s["uu"],
                            t["uu"] <= s["uu"] + f, t["uu"] <= t["m"], t["pend"] >= s["pend"],
                            t["pend"] <= s["pend"] + f, t["u"] >= 0, t["u"] <= n)
            peak = s["u"]
        return z3.And(
            s["inb"], f >= 0, f <= s["b"], z3.Not(t["inb"]), z3.Not(t["started"]), t["b"] == 0, counts,
            t["stopped"] == z3.Or(s["stopped"], s["sae"], self.stop_after_batch(t["uu"], t["m"], peak, n)),
            t["bflag"] == z3.Or(s["bflag"], s["breach"], self._breach(peak)), z3.Not(t["breach"]),
            z3.Not(t["sae"]), tracked,
            *self._unchanged(s, t, ("su", "suu", "sm", "sbflag")),
        )

    def trans(self, s: State, t: State) -> z3.BoolRef:
        return z3.Or(self.start(s, t), self.block(s, t), self.env(s, t), self.finish(s, t))

    def action(self, m: z3.ModelRef, s: State, t: State) -> str:
        for name, rel in (("start", self.start), ("finish", self.finish), ("block", self.block), ("env", self.env)):
            if z3.is_true(m.eval(rel(s, t), model_completion=True)):
                return name
        return "?"


# ----------------------------------------------------------------------------------------------------------------
# Properties and candidate lemmas


Prop = Callable[[State], z3.BoolRef]


def claim_property(claim: Gate | VersionClaim, model: GateModel) -> tuple[Prop, str]:
    n = model.n
    if isinstance(claim, PrecheckGate):
        return (lambda s: z3.Implies(s["started"], z3.Not(exceeded_term(claim.cap, s["su"], n))),
                f"never starts a batch while more than {claim.cap} of the set is unhealthy")
    if isinstance(claim, StopUpgradedGate):
        return (lambda s: z3.Implies(s["started"], z3.Not(exceeded_term(claim.cap, s["suu"], s["sm"]))),
                f"never starts a batch while more than {claim.cap} of the set's upgraded instances are unhealthy")
    if isinstance(claim, StopUnhealthyGate):
        return (lambda s: z3.Implies(s["started"], z3.Not(s["sbflag"])),
                f"never starts a batch after a batch during which more than {claim.cap} of the set was unhealthy")
    if (isinstance(claim, HealthWaitGate) and claim.on_timeout == "rollback") or (
            isinstance(claim, VersionClaim) and claim.kind == "rollback_restores"):
        return (lambda s: z3.Implies(z3.And(s["tph"] == 2, s["tfail"]), s["tv"] == 0),
                "a VM whose upgrade failed health ends on its previous version")
    raise ValueError(type(claim).__name__)


def candidate_lemmas(model: GateModel) -> list[tuple[str, Prop]]:
    n = model.n
    return [
        ("bounds", lambda s: z3.And(s["u"] >= 0, s["u"] <= n, s["uu"] >= 0, s["uu"] <= s["m"], s["m"] <= n,
                                    s["m"] >= 0, s["pend"] >= 0, s["b"] >= 0, n >= 1)),
        ("started-snapshot", lambda s: z3.Implies(s["started"], z3.And(
            s["su"] == s["u"], s["suu"] == s["uu"], s["sm"] == s["m"], s["sbflag"] == s["bflag"],
            z3.Not(s["stopped"])))),
        ("upgraded-guard", lambda s: z3.Or(s["stopped"], z3.Not(_any_exceeded(model.p.stop_upgraded, s["uu"],
                                                                              s["m"])))),
        ("idle-batch", lambda s: z3.Implies(z3.Not(s["inb"]), z3.And(s["b"] == 0, z3.Not(s["breach"]),
                                                                      z3.Not(s["sae"])))),
        ("started-in-batch", lambda s: z3.Implies(s["started"], s["inb"])),
        ("breach-stops", lambda s: z3.Implies(s["breach"], s["sae"])),
        ("bflag-stopped", lambda s: z3.Implies(s["bflag"], s["stopped"])),
        ("tracked", lambda s: z3.And(s["tph"] >= 0, s["tph"] <= 2, z3.Implies(s["tph"] == 0, s["tv"] == 0))),
        ("tracked-batch", lambda s: z3.Implies(s["tph"] == 1, z3.And(s["inb"], s["tv"] == 0, s["b"] >= 1))),
        ("rollback", lambda s: z3.Implies(z3.And(s["tph"] == 2, s["tfail"]), s["tv"] == 0)),
    ]


def _solve(assertions: list[z3.BoolRef], deadline: float) -> tuple[str, z3.ModelRef | None]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return "unknown", None
    s = z3.Solver()
    s.set("timeout", max(1, int(remaining * 1000)))
    s.add(*assertions)
    r = s.check()
    return ("sat", s.model()) if r == z3.sat else ("unsat", None) if r == z3.unsat else ("unknown", None)


@dataclass(frozen=True)
class InductionResult:
    status: Status
    obligations: tuple[Obligation, ...]
    trace: tuple[dict[str, Any], ...]
    message: str
    lemmas: tuple[str, ...] = ()


def bmc(model: GateModel, prop: Prop, depth: int, deadline: float,
        target: Callable[[State], z3.BoolRef] | None = None) -> tuple[str, tuple[dict[str, Any], ...]]:
    """Search paths of up to ``depth`` steps from the initial states for a state where ``target`` holds
    (default: the property fails).  Returns 'sat' with the trace, 'unsat', or 'unknown'."""
    goal = target or (lambda s: z3.Not(prop(s)))
    states = [state(0)]
    solver = z3.Solver()  # incremental: the path grows by one step, each goal is pushed and popped
    solver.add(model.init(states[0]))
    for i in range(depth + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return "unknown", ()
        solver.set("timeout", max(1, int(remaining * 1000)))
        solver.push()
        solver.add(goal(states[i]))
        r = solver.check()
        if r == z3.sat:
            return "sat", _trace(model, solver.model(), states)
        solver.pop()
        if r != z3.unsat:
            return "unknown", ()
        states.append(state(i + 1))
        solver.add(model.trans(states[i], states[i + 1]))
    return "unsat", ()


def _trace(model: GateModel, m: z3.ModelRef, states: list[State]) -> tuple[dict[str, Any], ...]:
    out = []
    n = m.eval(model.n, model_completion=True).as_long()
    for i, s in enumerate(states):
        step: dict[str, Any] = {"step": i, "action": "init" if i == 0 else model.action(m, states[i - 1], s),
                                "set_size": n}
        for k in ("u", "m", "uu", "pend", "b"):
            step[k] = m.eval(s[k], model_completion=True).as_long()
        for k in ("inb", "stopped", "started"):
            step[k] = z3.is_true(m.eval(s[k], model_completion=True))
        out.append(step)
    return tuple(out)


def prove_invariant(model: GateModel, prop: Prop, deadline: float, lemmas_on: bool = True) -> InductionResult:
    r, trace = bmc(model, prop, BMC_DEPTH, deadline)
    if r == "sat":
        return InductionResult("refuted", (), trace, f"violated after {len(trace) - 1} steps")
    if r == "unknown":
        return InductionResult("unknown", (), (), "bounded search gave no answer within the time limit")
    s0, s1 = state(100), state(101)
    lemmas = candidate_lemmas(model) if lemmas_on else []
    # Houdini: drop candidate lemmas that are not initiated or not preserved, until the rest is inductive.
    # One incremental solver per question (push/pop per lemma) keeps this to a few milliseconds per lemma.
    init_solver = z3.Solver()
    init_solver.add(model.init(s0))
    trans = model.trans(s0, s1)
    while True:
        inv0 = z3.And(prop(s0), *[lem(s0) for _, lem in lemmas])
        cons_solver = z3.Solver()
        cons_solver.add(inv0, trans)
        dropped = []
        for name, lem in lemmas:
            answers = []
            for solver, goal in ((init_solver, z3.Not(lem(s0))), (cons_solver, z3.Not(lem(s1)))):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return InductionResult("unknown", (), (), "induction gave no answer within the time limit")
                solver.set("timeout", max(1, int(remaining * 1000)))
                solver.push()
                solver.add(goal)
                answers.append(solver.check())
                solver.pop()
            if z3.unknown in answers:
                return InductionResult("unknown", (), (), "induction gave no answer within the time limit")
            if z3.sat in answers:
                dropped.append(name)
        if not dropped:
            break
        lemmas = [(nm, lem) for nm, lem in lemmas if nm not in dropped]
    inv = lambda s: z3.And(prop(s), *[lem(s) for _, lem in lemmas])  # noqa: E731
    r_init, _ = _solve([model.init(s0), z3.Not(inv(s0))], deadline)
    r_cons, _ = _solve([inv(s0), model.trans(s0, s1), z3.Not(inv(s1))], deadline)
    r_safe, _ = _solve([inv(s0), z3.Not(prop(s0))], deadline)
    obligations = (
        Obligation("initiation", r_init == "unsat", "the initial states satisfy the invariant"),
        Obligation("consecution", r_cons == "unsat", "every step preserves the invariant"),
        Obligation("safety", r_safe == "unsat", "the invariant implies the property"),
    )
    names = tuple(nm for nm, _ in lemmas)
    if all(o.ok for o in obligations):
        return InductionResult("proven", obligations, (), "inductive invariant: property + " + ", ".join(names),
                               names)
    for k in range(2, MAX_K + 1):
        ss = [state(200 + i) for i in range(k + 1)]
        chain = [model.trans(ss[i], ss[i + 1]) for i in range(k)]
        r_step, _ = _solve([*chain, *[prop(ss[i]) for i in range(k)], z3.Not(prop(ss[k]))], deadline)
        if r_step == "unsat":
            r_base, _ = bmc(model, prop, k, deadline)
            # The failed plain-induction obligations stay in the report, followed by the k-induction ones.
            k_obligations = (
                Obligation(f"initiation (k={k})", r_base == "unsat", f"no violation within {k} steps of a start"),
                Obligation(f"consecution (k={k})", True, f"{k} good steps are followed by a good one"),
                Obligation(f"safety (k={k})", True, "the property is the invariant"),
            )
            ok = r_base == "unsat"
            return InductionResult("proven" if ok else "unknown", (*obligations, *k_obligations), (),
                                   f"{k}-induction (plain induction fails)")
    return InductionResult("unknown", obligations, (), "neither induction nor k-induction closes the proof")


def involved_gates(spec: Policy, claim: object, scope: str) -> tuple[str, ...]:
    """The spec's gates a claim is about (where a SARIF result or a refutation points)."""
    kinds: tuple[type, ...] = (PrecheckGate, StopUpgradedGate, StopUnhealthyGate)
    kind: type = type(claim) if isinstance(claim, kinds) else HealthWaitGate
    return tuple(g.name for g in spec.gates if isinstance(g, kind) and same_group(getattr(g, "of", scope), scope))


def prove_gate_claim(spec: Policy, claim: Rule | Gate | VersionClaim, deadline: float) -> Outcome:
    """A gate claim (or ``rollback_restores``) under the spec's gates: proven / refuted / unknown / vacuous."""
    if isinstance(claim, PhaseGate | RetryGate | PauseGate):
        return prove_run_claim(spec, claim, deadline)
    scope = getattr(claim, "of", "scale_set")
    params = replace(gate_params(spec, scope), names=involved_gates(spec, claim, scope))
    if isinstance(claim, HealthWaitGate):
        waits = [g.wait.seconds for g in spec.gates if isinstance(g, HealthWaitGate)]
        if waits and waits[0] != claim.wait.seconds:
            # The model proves what happens after a failed wait, not how long the wait is.
            return Outcome("unknown", SCOPE, f"the spec waits {waits[0]}s for health, the claim {claim.wait}: only "
                           "the rollback after a failed wait is modelled", involved=params.names)
    cap = claim.cap if isinstance(claim, StopUnhealthyGate) else None
    model = GateModel(params, cap)
    try:
        prop, text = claim_property(claim, model)  # type: ignore[arg-type]
    except ValueError:
        return Outcome("unknown", "none", f"no transition-system encoding for claims of kind {type(claim).__name__}")
    # Vacuity: the executor must be able to start (and finish) a batch at all.
    r, _ = bmc(model, prop, 3, deadline, target=lambda s: z3.And(s["tph"] == 2, s["m"] >= 1))
    if r != "sat":
        status: Status = "vacuous" if r == "unsat" else "unknown"
        return Outcome(status, SCOPE, "the gates never let a batch run: the claim holds only because nothing runs",
                       involved=params.names)
    res = prove_invariant(model, prop, deadline)
    if res.status == "refuted":
        trace = realizable_trace(spec, claim, deadline)
        if not trace:
            return Outcome("unknown", SCOPE, "the model breaks the claim only with health changes a fault script "
                           "cannot reproduce", involved=params.names)
        ok, why, files = replay_trace(spec, claim, trace)
        if not ok:
            return Outcome("unknown", SCOPE, f"a candidate counterexample trace did not replay: {why}",
                           involved=params.names, obligations=res.obligations)
        fleet = {"set_size": trace[0]["set_size"], **files}
        cex = Counterexample(fleet, None, trace, f"{text} fails: {why}")
        return Outcome("refuted", SCOPE, f"counterexample trace: {why}", counterexample=cex, involved=params.names)
    msg = f"{text}: {res.message}"
    return Outcome(res.status, SCOPE, msg, involved=params.names, obligations=res.obligations)


# ----------------------------------------------------------------------------------------------------------------
# Phase progression and retries: one decision of the executor each, for every fleet


RUN_SCOPE = "for all fleets (the executor's decision)"


def prove_run_claim(spec: Policy, claim: PhaseGate | RetryGate | PauseGate, deadline: float) -> Outcome:
    """``a phase starts only after the previous phase succeeded`` and ``retry failed after D, at most N times``.

    The executor decides these with ``gates.may_start_phase`` and ``gates.may_retry`` (and schedules a retry
    ``after`` later); the assertions below are those decisions, negated claim included, unsatisfiable exactly when
    the claim holds for every run.  A refutation is replayed by the executor on a two-VM scenario."""
    s = z3.Solver()
    s.set("timeout", max(1, int((deadline - time.monotonic()) * 1000)))
    names: tuple[str, ...]
    if isinstance(claim, PhaseGate):
        gates = [g for g in spec.gates if isinstance(g, PhaseGate)]
        names = tuple(g.name for g in gates)
        unfinished, starts = z3.Int("unfinished_due_tasks"), z3.Bool("next_phase_starts")
        s.add(unfinished >= 0, starts == (z3.BoolVal(not gates) | (unfinished == 0)))  # gates.may_start_phase
        s.add(starts, unfinished > 0)
        text = "a phase starts only after every due task of the previous phases succeeded"
    elif isinstance(claim, PauseGate):
        pauses = [g for g in spec.gates if isinstance(g, PauseGate) and same_group(g.of, claim.of)]
        names = tuple(g.name for g in pauses)
        gap = z3.Int("seconds_between_batches")
        # The executor starts a group's next batch no sooner than the longest pause after its last batch ended.
        s.add(gap >= max([g.pause.seconds for g in pauses] or [0]), gap < claim.pause.seconds)
        text = f"batches of a {claim.of} are at least {claim.pause} apart"
    else:
        retries = [g for g in spec.gates if isinstance(g, RetryGate)]
        names = tuple(g.name for g in retries)
        failed, retried, delay = z3.Int("failed_attempts"), z3.Bool("retried"), z3.Int("retry_after_seconds")
        allowed = z3.Or(*[z3.And(failed <= g.max_attempts, delay == g.after.seconds) for g in retries[:1]]) \
            if retries else z3.BoolVal(False)
        s.add(failed >= 1, retried == allowed)  # gates.may_retry, due ``after`` later
        s.add(retried, z3.Or(failed > claim.max_attempts, delay < claim.after.seconds))
        text = f"failed upgrades are retried at most {claim.max_attempts} times, each at least {claim.after} later"
    r = s.check()
    if r == z3.unsat:
        return Outcome("proven", RUN_SCOPE, f"{text}: the executor's decision cannot break it", involved=names)
    if r != z3.sat:
        return Outcome("unknown", RUN_SCOPE, "the solver gave no answer within the time limit", involved=names)
    fleet, schedule, faults = _run_scenario(claim)
    try:
        events, _ = run_executor(spec, fleet, schedule, faults)
    except (InputError, MonitorBreach) as e:
        return Outcome("unknown", RUN_SCOPE, f"a candidate counterexample did not replay: {e}", involved=names)
    why = _run_claim_broken(claim, events)
    if not why:
        return Outcome("unknown", RUN_SCOPE, "a candidate counterexample did not replay: the executor kept the claim",
                       involved=names)
    shown = ("phase_started", "batch_started", "batch_finished", "install_started", "install_failed",
             "retry_scheduled")
    trace = tuple({"step": i, "event": e["event"], "time_minutes": e["time"], "vm": e.get("vm")}
                  for i, e in enumerate(events) if e["event"] in shown)
    cex = Counterexample({"set_size": len(fleet["vms"]), "fleet": fleet, "schedule": schedule, "faults": faults},
                         None, trace, f"{text} fails: {why}")
    return Outcome("refuted", RUN_SCOPE, f"counterexample trace: {why}", counterexample=cex, involved=names)


def _run_scenario(claim: PhaseGate | RetryGate | PauseGate) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Two regions in two phases, one VM each; the first VM's install always fails.  For a pause: one scale set of
    ten VMs upgraded one per wave, no faults."""
    if isinstance(claim, PauseGate):
        fleet, schedule, _ = scenario(({"set_size": 10, "u": 0, "action": "init", "uu": 0},
                                       {"action": "start", "b": 1, "uu": 0}, {"action": "finish", "uu": 0},
                                       {"action": "start", "b": 1, "uu": 0}))
        return fleet, schedule, {}
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


def _run_claim_broken(claim: PhaseGate | RetryGate | PauseGate, events: list[dict[str, Any]]) -> str:
    if isinstance(claim, PauseGate):
        ends = [e["time"] for e in events if e["event"] == "batch_finished"]
        begins = [e["time"] for e in events if e["event"] == "batch_started"]
        for end, begin in zip(ends, begins[1:], strict=False):
            if (begin - end) * 60 < claim.pause.seconds:
                return f"the next batch of the set started {begin - end:g} min after the last one, less than {claim.pause}"
        return ""
    if isinstance(claim, PhaseGate):
        failed_open = False
        for e in events:
            if e["event"] == "install_failed" and e.get("vm") == "vm0":
                failed_open = True
            elif e["event"] == "install_succeeded" and e.get("vm") == "vm0":
                failed_open = False
            elif e["event"] == "phase_started" and (e.get("detail") or {}).get("phase") == 1 and failed_open:
                return f"phase 1 started at {e['time']} min while vm0's upgrade in phase 0 had failed"
        return ""
    starts = [e["time"] for e in events if e["event"] == "install_started" and e.get("vm") == "vm0"]
    fails = [e["time"] for e in events if e["event"] == "install_failed" and e.get("vm") == "vm0"]
    if len(starts) - 1 > claim.max_attempts:
        return f"vm0 was retried {len(starts) - 1} times, more than {claim.max_attempts}"
    for failed_at, next_start in zip(fails, starts[1:], strict=False):
        if (next_start - failed_at) * 60 < claim.after.seconds:
            return f"vm0 was retried {next_start - failed_at:g} min after failing, sooner than {claim.after}"
    return ""


# ----------------------------------------------------------------------------------------------------------------
# Reproducing a model trace with the real executor


WITNESS = {"publisher": "Wavegate.Witness", "type": "WitnessAgent"}
BAD_TYPE = "WitnessAgentBad"  # failing VMs carry this type; its new version fails every health watch


def realizable_trace(spec: Policy, claim: object, deadline: float) -> tuple[dict[str, Any], ...]:
    """A counterexample trace in the realizable sub-model (fleet + fault script can produce it), or ()."""
    scope = getattr(claim, "of", "scale_set")
    params = gate_params(spec, scope)
    cap = claim.cap if isinstance(claim, StopUnhealthyGate) else None
    caps = tuple(r for r in spec.rules if isinstance(r, Capacity) and r.within == "wave" and r.of in (scope, "set")
                 and r.where == TrueP())
    model = GateModel(params, cap, realizable=True, batch_caps=caps)
    rprop = claim_property(claim, model)[0]  # type: ignore[arg-type]
    states = [state(0)]
    path: list[z3.BoolRef] = [model.init(states[0]), model.n <= 40]
    for i in range(BMC_DEPTH + 1):
        r, m = _solve([*path, z3.Not(rprop(states[i]))], deadline)
        if r == "sat" and m is not None:
            return _trace(model, m, states)
        if r == "unknown":
            return ()
        states.append(state(i + 1))
        path.append(model.trans(states[i], states[i + 1]))
    return ()


def scenario(trace: tuple[dict[str, Any], ...]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Fleet, schedule and fault script that make the executor walk the realizable trace."""
    n, u0 = trace[0]["set_size"], trace[0]["u"]
    batches: list[tuple[int, int]] = []  # (size, failures)
    for prev, step in itertools.pairwise(trace):
        if step["action"] == "start":
            batches.append((step["b"], 0))
        elif step["action"] == "finish" and batches:
            size, _ = batches[-1]
            batches[-1] = (size, step["uu"] - prev["uu"])
    vms: list[dict[str, Any]] = []

    def vm(i: int, healthy: bool, typ: str, version: str) -> dict[str, Any]:
        return {"name": f"vm{i:02d}", "region": "region0", "scale_set": "ss0", "update_domain": 0,
                "subscription": "sub0", "healthy": healthy,
                "extensions": [{"name": "agent", "publisher": WITNESS["publisher"], "type": typ, "version": version,
                                "enable_automatic_upgrade": True}]}

    for _ in range(u0):
        vms.append(vm(len(vms), False, WITNESS["type"], "1.1"))
    waves = []
    for w, (size, fails) in enumerate(batches):
        tasks = []
        for j in range(size):
            typ = BAD_TYPE if j < fails else WITNESS["type"]
            v = vm(len(vms), True, typ, "1.0")
            vms.append(v)
            tasks.append({"vm": v["name"], "extension": "agent", "from_version": "1.0", "to_version": "1.1"})
        waves.append({"index": w, "phase": 0, "tasks": tasks})
    while len(vms) < n:
        vms.append(vm(len(vms), True, WITNESS["type"], "1.1"))
    fleet = {"regions": [{"name": "region0", "pair": None, "zones": 0}],
             "catalog": [{"publisher": WITNESS["publisher"], "type": t, "versions": ["1.0", "1.1"]}
                         for t in (WITNESS["type"], BAD_TYPE)],
             "scale_sets": [{"name": "ss0", "region": "region0"}], "availability_sets": [], "vms": vms}
    schedule = {"phases": [{"index": 0, "regions": ["region0"]}], "waves": waves, "skipped": [], "lower_bound": 0,
                "optimal": False, "stats": {}}
    faults = {"bad_versions": [{"publisher": WITNESS["publisher"], "type": BAD_TYPE, "version": "1.1",
                                "fail_rate": 1.0}]}
    return fleet, schedule, faults


def run_executor(spec: Policy, fleet_json: dict[str, Any], schedule_json: dict[str, Any],
                 faults_json: dict[str, Any], seed: int = 0) -> tuple[list[dict[str, Any]], Any]:
    """Run the real executor with the simulated driver; the event log as dicts, and the run result."""
    fleet = parse_fleet(fleet_json, "<scenario fleet>")
    schedule = parse_schedule(schedule_json, "<scenario schedule>")
    faults = parse_faults(faults_json, fleet, "<scenario faults>")
    sink = MemorySink()
    result = execute(spec, fleet, schedule, SimDriver(fleet, faults, seed=seed), sink)
    return [json.loads(line) for line in sink.lines], result


def claim_broken_in_log(claim: object, events: list[dict[str, Any]], set_size: int, outside_unhealthy: int,
                        final_versions: dict[tuple[str, str], str] | None = None,
                        broken_vms: frozenset[str] = frozenset()) -> str:
    """Where the real event log (and final state) breaks the claim for the one-set scenarios of :func:`scenario`,
    or ''.  ``broken_vms`` are the VMs whose new version fails health."""
    if isinstance(claim, VersionClaim | HealthWaitGate) and final_versions is not None:
        stayed = sorted(vm for (vm, _), v in final_versions.items() if vm in broken_vms and v != "1.0")
        if stayed and not any(e["event"] == "health_failed" for e in events):
            return f"{stayed[0]}'s upgrade broke its health and it stayed on the new version (no health watch)"
    upgraded: set[str] = set()
    turned: set[str] = set()
    kept = 0
    breach_seen = False
    pending: dict[str, Any] = {"up": set(), "turned": set(), "kept": 0}
    for e in events:
        kind = e["event"]
        if kind == "install_succeeded":
            pending["up"].add(e["vm"])
        elif kind == "health_failed" and not (e.get("detail") or {}).get("was_unhealthy_before", False):
            pending["turned"].add(e["vm"])
        elif kind == "kept_unhealthy":
            pending["kept"] += 1
            if isinstance(claim, VersionClaim | HealthWaitGate):
                return f"{e['vm']} failed its health watch and was kept on {e['to_version']} (event at {e['time']} min)"
        elif kind == "batch_started":
            u = outside_unhealthy + kept
            if isinstance(claim, PrecheckGate) and claim.cap.exceeded_by(u, set_size):
                return (f"batch of wave {e['detail']['wave']} started at {e['time']} min with {u} of {set_size} VMs "
                        f"unhealthy (more than {claim.cap})")
            if isinstance(claim, StopUpgradedGate) and claim.cap.exceeded_by(len(turned), len(upgraded)):
                return (f"batch of wave {e['detail']['wave']} started at {e['time']} min with {len(turned)} of "
                        f"{len(upgraded)} upgraded VMs unhealthy (more than {claim.cap})")
            if isinstance(claim, StopUnhealthyGate) and breach_seen:
                return (f"batch of wave {e['detail']['wave']} started at {e['time']} min after a batch during which "
                        f"more than {claim.cap} of the set was unhealthy")
            if isinstance(claim, StopUnhealthyGate) and claim.cap.exceeded_by(u, set_size):
                breach_seen_now = True
            else:
                breach_seen_now = False
            pending["breach"] = breach_seen_now
        elif kind == "batch_finished":
            upgraded |= pending["up"]
            turned |= pending["turned"]
            peak = outside_unhealthy + kept + len(pending["turned"])
            kept += pending["kept"]
            if isinstance(claim, StopUnhealthyGate) and (pending.get("breach") or claim.cap.exceeded_by(peak, set_size)):
                breach_seen = True
            pending = {"up": set(), "turned": set(), "kept": 0}
    return ""


def replay_trace(spec: Policy, claim: object, trace: tuple[dict[str, Any], ...]) -> tuple[bool, str, dict[str, Any]]:
    """Reproduce a (realizable) model trace with the real executor before calling it a counterexample."""
    fleet, schedule, faults = scenario(trace)
    try:
        events, result = run_executor(spec, fleet, schedule, faults)
    except InputError as e:
        return False, f"the scenario is not valid input: {e}", {}
    except MonitorBreach as e:
        return False, f"the executor's runtime monitor stopped the scenario: {e}", {}
    broken = frozenset(v["name"] for v in fleet["vms"] if v["extensions"][0]["type"] == BAD_TYPE)
    why = claim_broken_in_log(claim, events, trace[0]["set_size"], trace[0]["u"], result.versions, broken)
    if not why:
        return False, "the executor did not break the claim on the scenario", {}
    return True, why, {"fleet": fleet, "schedule": schedule, "faults": faults}


# ----------------------------------------------------------------------------------------------------------------
# Conformance: every step of a real event log is a transition the model allows


def conformance_errors(policy: Policy, events: list[dict[str, Any]]) -> list[str]:
    """Replay an executor event log against the model: each batch start must satisfy the model's start guard on the
    logged counts, counts only grow at batch ends, and a group stops exactly when the model's stop decision says so
    (``stop_after_batch``), and a failed health watch rolls back exactly when the model does."""
    errors: list[str] = []
    models: dict[str, GateModel] = {}
    counts: dict[str, tuple[int, int]] = {}
    halted: dict[str, str] = {}
    expected_stop: dict[str, float] = {}

    def model_for(scope: str) -> GateModel:
        if scope not in models:
            models[scope] = GateModel(gate_params(policy, scope), None)
        return models[scope]

    def holds(expr: z3.BoolRef) -> bool:
        return z3.is_true(z3.simplify(expr))

    rollback = gate_params(policy, "scale_set").rollback
    last_health_failed: dict[tuple[str, str], bool] = {}
    for i, e in enumerate(events):
        kind, d = e["event"], e.get("detail") or {}
        where = f"event {i} ({kind} at {e['time']} min)"
        if kind == "batch_started":
            for c in d.get("checks", []):
                g = c["group"]
                gate = policy.rule(c["rule"])
                scope = getattr(gate, "of", "scale_set")
                model = model_for(scope)
                n, u, m, uu = (z3.IntVal(c[k]) for k in ("set_size", "unhealthy", "upgraded", "upgraded_unhealthy"))
                if g in halted:
                    errors.append(f"{where}: batch starts in {g}, which the model has {halted[g]}")
                if isinstance(gate, PrecheckGate) and holds(model.precheck_blocks(u, n)):
                    errors.append(f"{where}: batch starts in {g} though the model's precheck refuses "
                                  f"({c['unhealthy']} of {c['set_size']} unhealthy)")
                if not holds(z3.And(uu >= 0, uu <= m, m <= n)):
                    errors.append(f"{where}: counts of {g} outside the model's bounds")
                if g in counts and counts[g] != (c["upgraded"], c["upgraded_unhealthy"]):
                    errors.append(f"{where}: {g} shows upgraded/unhealthy {c['upgraded']}/{c['upgraded_unhealthy']}"
                                  f", the model has {counts[g][0]}/{counts[g][1]}")
        elif kind == "batch_finished":
            for c in d.get("checks", []):
                g = c["group"]
                prev = counts.get(g, (0, 0))
                m2, uu2 = c["upgraded"], c["upgraded_unhealthy"]
                if m2 < prev[0] or uu2 < prev[1] or uu2 > m2 or m2 > c["set_size"]:
                    errors.append(f"{where}: {g} counts {prev} -> {(m2, uu2)} are not a model step")
                counts[g] = (m2, uu2)
                model = model_for("scale_set" if not g.startswith("availability set") else "availability_set")
                stop = holds(model.stop_after_batch(z3.IntVal(uu2), z3.IntVal(m2), z3.IntVal(c["unhealthy_max"]),
                                                    z3.IntVal(c["set_size"])))
                if stop and g not in halted:
                    expected_stop[g] = e["time"]
        elif kind in ("set_stopped", "set_blocked"):
            g = d.get("group", "")
            if kind == "set_stopped":
                if g not in expected_stop and g not in halted:
                    errors.append(f"{where}: {g} stopped but the model's stop decision does not fire")
                expected_stop.pop(g, None)
            else:
                gate = policy.rule(e.get("rule") or "")
                scope = getattr(gate, "of", "scale_set")
                if not holds(model_for(scope).precheck_blocks(z3.IntVal(d["unhealthy"]), z3.IntVal(d["set_size"]))):
                    errors.append(f"{where}: {g} blocked but the model's precheck allows it")
            halted.setdefault(g, "stopped" if kind == "set_stopped" else "blocked")
        elif kind == "health_failed":
            last_health_failed[(e["vm"], e["extension"])] = True
        elif kind in ("rolled_back", "kept_unhealthy"):
            key = (e["vm"], e["extension"])
            if not last_health_failed.pop(key, False):
                errors.append(f"{where}: {kind} without a failed health watch")
            if (kind == "rolled_back") != rollback:
                errors.append(f"{where}: {kind}, but the model {'rolls back' if rollback else 'keeps'}")
    for g, t in sorted(expected_stop.items()):
        if g not in halted:
            errors.append(f"{g}: the model stops it at {t} min, the executor did not")
    return errors

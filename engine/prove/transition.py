"""The executor's gate logic as a transition system in Z3, invariants proved by induction or k-induction, and the
replay of a model trace by the real executor.

One group of the gates' scope (a scale set) of symbolic size ``n >= 1``; the state counts its unhealthy VMs ``u``,
upgraded VMs ``m``, upgraded-unhealthy ``uu``, VMs still pending, the running batch, and the stop flags.  Steps are
the three things that happen in ``engine.run.executor`` (see docs/executor.md):

* ``start``  — a batch of ``b`` pending VMs starts; allowed only when the set is not stopped and every gate decision
  of :mod:`engine.run.gates` allows it (``may_start_batch`` for each precheck gate, no ``upgraded_breach``);
* ``env``    — health changes for any reason (faults, maintenance): any ``u``, any ``uu <= min(m, u)``; during a
  batch a ``set_breach`` marks the set to stop at the end of the batch;
* ``finish`` — the batch ends with ``f`` VMs failing their health wait: ``m += b``, ``uu += f``; a failed VM is rolled
  back or kept per ``health_outcome``; the set stops on ``upgraded_breach`` or a breach seen during the batch.

A *tracked* VM (``tph``: pending, in a batch, done; ``tv`` its version; ``tfail`` its last watch failed) follows one
VM through the run: under a retry gate a rolled-back tracked VM may join a later batch again (``engine.run.executor``
queues a rolled-back task as a failure to retry), so its properties hold on the whole run, not only on the attempt.

Only gates on exactly the group's scope are premises (``containment.same_groups_everywhere``: the executor applies
a gate to the groups of its own scope; a gate on scale sets does nothing to an availability set).

Each invariant is checked the IVy/Apalache way: first bounded model checking from the initial states (a failure is
a trace), then an inductive invariant ``P and lemmas`` (lemmas kept by a Houdini pass: candidates that are not
inductive are dropped), reported as three obligations — initiation, consecution, safety — each PASS or FAIL;
when plain induction fails, k-induction for k = 2..4.  Sizes are symbolic, so a proof holds for sets of every size.
Every check goes through the solver layer (``engine.model.solver``: seeded, deadline-bounded; unknown never passes).

The claims themselves (which property, how a real event log breaks it) are the gate kinds' of
:mod:`engine.prove.kinds.gates`; :func:`prove_gate_claim` is the pipeline they share.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import z3

from dsl.policy import (
    Capacity,
    HealthWaitGate,
    Percent,
    Policy,
    PrecheckGate,
    RetryGate,
    StopUnhealthyGate,
    StopUpgradedGate,
    TrueP,
)
from engine.model.errors import InputError, MonitorBreach
from engine.model.faults import parse_faults
from engine.model.fleet import parse_fleet
from engine.model.schedule import parse_schedule
from engine.model.solver import Result, Sat, Solver, Unknown, Unsat, solve
from engine.prove.containment import same_groups_everywhere
from engine.prove.results import Counterexample, Obligation, Outcome, Status
from engine.prove.symbolic import cap_term, exceeded_term
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
    retry: bool = False  # a failed task is retried (a retry gate allowing at least one retry)


def gate_params(policy: Policy, scope: str) -> GateParams:
    """What the spec's gates contribute to the model of one group: its prechecks, stop gates and health wait."""
    pre = [g for g in policy.gates if isinstance(g, PrecheckGate) and same_groups_everywhere(g.of, scope)]
    up = [g for g in policy.gates if isinstance(g, StopUpgradedGate) and same_groups_everywhere(g.of, scope)]
    un = [g for g in policy.gates if isinstance(g, StopUnhealthyGate) and same_groups_everywhere(g.of, scope)]
    wait = [g for g in policy.gates if isinstance(g, HealthWaitGate)]
    retries = [g for g in policy.gates if isinstance(g, RetryGate)]
    # Without a wait gate the executor never watches health: a VM broken by its upgrade stays on the new version.
    rollback = bool(wait) and wait[0].on_timeout == "rollback"
    names = tuple(g.name for g in (*pre, *up, *un, *wait[:1]))
    return GateParams(scope, tuple(g.cap for g in pre), tuple(g.cap for g in up), tuple(g.cap for g in un),
                      rollback, names, bool(retries) and retries[0].max_attempts >= 1)


def batch_caps(policy: Policy, scope: str) -> tuple[Capacity, ...]:
    """What the spec's rules contribute to the realizable model: unfiltered per-wave caps of the group (the
    executor's monitors enforce them, so a replayable trace keeps its batches within them)."""
    return tuple(r for r in policy.rules if isinstance(r, Capacity) and r.within == "wave" and r.of in (scope, "set")
                 and r.where == TrueP())


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
            z3.If(s["tph"] == 0, z3.Or(t["tph"] == 0, t["tph"] == 1),
                  # A tracked VM rolled back after a failed watch may be retried in a later batch.
                  z3.If(z3.And(s["tph"] == 2, s["tfail"], z3.BoolVal(self.p.retry and self.p.rollback)),
                        z3.Or(t["tph"] == 2, t["tph"] == 1), t["tph"] == s["tph"])),
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

    def action(self, m: Sat, s: State, t: State) -> str:
        for name, rel in (("start", self.start), ("finish", self.finish), ("block", self.block), ("env", self.env)):
            if m.value(rel(s, t)) is True:
                return name
        return "?"


# ----------------------------------------------------------------------------------------------------------------
# Properties, candidate lemmas, induction


Prop = Callable[[State], z3.BoolRef]


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


@dataclass(frozen=True)
class InductionResult:
    status: Status
    obligations: tuple[Obligation, ...]
    trace: tuple[dict[str, Any], ...]
    message: str
    lemmas: tuple[str, ...] = ()


def bmc(model: GateModel, prop: Prop, depth: int, deadline: float,
        target: Callable[[State], z3.BoolRef] | None = None) -> tuple[Result, tuple[dict[str, Any], ...]]:
    """Search paths of up to ``depth`` steps from the initial states for a state where ``target`` holds
    (default: the property fails).  Sat with the trace, unsat, or unknown."""
    goal = target or (lambda s: z3.Not(prop(s)))
    states = [state(0)]
    solver = Solver(ctx=z3.main_ctx())  # incremental: the path grows by one step, each goal is pushed and popped
    solver.add(model.init(states[0]))
    for i in range(depth + 1):
        solver.push()
        solver.add(goal(states[i]))
        r = solver.check(deadline)
        if isinstance(r, Sat):
            return r, _trace(model, r, states)
        solver.pop()
        if isinstance(r, Unknown):
            return r, ()
        states.append(state(i + 1))
        solver.add(model.trans(states[i], states[i + 1]))
    return Unsat(), ()


def _trace(model: GateModel, m: Sat, states: list[State]) -> tuple[dict[str, Any], ...]:
    out = []
    n = m.value(model.n)
    for i, s in enumerate(states):
        step: dict[str, Any] = {"step": i, "action": "init" if i == 0 else model.action(m, states[i - 1], s),
                                "set_size": n}
        for k in ("u", "m", "uu", "pend", "b"):
            step[k] = m.value(s[k])
        for k in ("inb", "stopped", "started"):
            step[k] = m.value(s[k]) is True
        out.append(step)
    return tuple(out)


def _houdini(model: GateModel, prop: Prop, lemmas: list[tuple[str, Prop]], s0: State, s1: State,
             deadline: float) -> list[tuple[str, Prop]] | None:
    """Drop candidate lemmas that are not initiated or not preserved, until the rest is inductive (None: unknown).
    One incremental solver per question (push/pop per lemma) keeps this to a few milliseconds per lemma."""
    init_solver = Solver(ctx=z3.main_ctx())
    init_solver.add(model.init(s0))
    trans = model.trans(s0, s1)
    while True:
        cons_solver = Solver(ctx=z3.main_ctx())
        cons_solver.add(z3.And(prop(s0), *[lem(s0) for _, lem in lemmas]), trans)
        dropped = []
        for name, lem in lemmas:
            answers = []
            for solver, goal in ((init_solver, z3.Not(lem(s0))), (cons_solver, z3.Not(lem(s1)))):
                solver.push()
                solver.add(goal)
                answers.append(solver.check(deadline))
                solver.pop()
            if any(isinstance(a, Unknown) for a in answers):
                return None
            if any(isinstance(a, Sat) for a in answers):
                dropped.append(name)
        if not dropped:
            return lemmas
        lemmas = [(nm, lem) for nm, lem in lemmas if nm not in dropped]


def prove_invariant(model: GateModel, prop: Prop, deadline: float, lemmas_on: bool = True) -> InductionResult:
    r, trace = bmc(model, prop, BMC_DEPTH, deadline)
    if isinstance(r, Sat):
        return InductionResult("refuted", (), trace, f"violated after {len(trace) - 1} steps")
    if isinstance(r, Unknown):
        return InductionResult("unknown", (), (), "bounded search gave no answer within the time limit")
    s0, s1 = state(100), state(101)
    lemmas = _houdini(model, prop, candidate_lemmas(model) if lemmas_on else [], s0, s1, deadline)
    if lemmas is None:
        return InductionResult("unknown", (), (), "induction gave no answer within the time limit")
    inv = lambda s: z3.And(prop(s), *[lem(s) for _, lem in lemmas])  # noqa: E731
    r_init = solve([model.init(s0), z3.Not(inv(s0))], deadline)
    r_cons = solve([inv(s0), model.trans(s0, s1), z3.Not(inv(s1))], deadline)
    r_safe = solve([inv(s0), z3.Not(prop(s0))], deadline)
    obligations = (
        Obligation("initiation", isinstance(r_init, Unsat), "the initial states satisfy the invariant"),
        Obligation("consecution", isinstance(r_cons, Unsat), "every step preserves the invariant"),
        Obligation("safety", isinstance(r_safe, Unsat), "the invariant implies the property"),
    )
    names = tuple(nm for nm, _ in lemmas)
    if all(o.ok for o in obligations):
        return InductionResult("proven", obligations, (), "inductive invariant: property + " + ", ".join(names),
                               names)
    return _k_induction(model, prop, obligations, deadline)


def _k_induction(model: GateModel, prop: Prop, obligations: tuple[Obligation, ...],
                 deadline: float) -> InductionResult:
    """k = 2..MAX_K; the failed plain-induction obligations stay in the report, followed by the k-induction ones."""
    for k in range(2, MAX_K + 1):
        ss = [state(200 + i) for i in range(k + 1)]
        chain = [model.trans(ss[i], ss[i + 1]) for i in range(k)]
        r_step = solve([*chain, *[prop(ss[i]) for i in range(k)], z3.Not(prop(ss[k]))], deadline)
        if isinstance(r_step, Unsat):
            r_base, _ = bmc(model, prop, k, deadline)
            ok = isinstance(r_base, Unsat)
            k_obligations = (
                Obligation(f"initiation (k={k})", ok, f"no violation within {k} steps of a start"),
                Obligation(f"consecution (k={k})", True, f"{k} good steps are followed by a good one"),
                Obligation(f"safety (k={k})", True, "the property is the invariant"),
            )
            return InductionResult("proven" if ok else "unknown", (*obligations, *k_obligations), (),
                                   f"{k}-induction (plain induction fails)")
    return InductionResult("unknown", obligations, (), "neither induction nor k-induction closes the proof")


# ----------------------------------------------------------------------------------------------------------------
# The pipeline of a gate claim


@dataclass(frozen=True)
class GateProperty:
    """What a gate claim asks of the model of one group: its property (and its text), the cap that drives the
    model's breach monitor, and how a real event log breaks it."""

    scope: str
    prop: Callable[[GateModel], Prop]
    text: str
    involved: tuple[str, ...]
    log_check: Callable[[BatchLog], str]
    unhealthy_cap: Percent | None = None
    shape: Callable[[GateModel], Prop] | None = None  # a state the claim is about, reachable unless it is vacuous


def prove_gate_claim(spec: Policy, claim: GateProperty, deadline: float) -> Outcome:
    """A gate claim under the spec's gates: proven / refuted / unknown / vacuous."""
    params = replace(gate_params(spec, claim.scope), names=claim.involved)
    model = GateModel(params, claim.unhealthy_cap)
    prop = claim.prop(model)
    # Vacuity: the executor must be able to start (and finish) a batch at all, and reach the claim's shape.
    shape = claim.shape(model) if claim.shape is not None else (lambda s: z3.BoolVal(True))
    r, _ = bmc(model, prop, 3, deadline, target=lambda s: z3.And(s["tph"] == 2, s["m"] >= 1, shape(s)))
    if not isinstance(r, Sat):
        status: Status = "vacuous" if isinstance(r, Unsat) else "unknown"
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
        cex = Counterexample(fleet, None, trace, f"{claim.text} fails: {why}")
        return Outcome("refuted", SCOPE, f"counterexample trace: {why}", counterexample=cex, involved=params.names)
    return Outcome(res.status, SCOPE, f"{claim.text}: {res.message}", involved=params.names,
                   obligations=res.obligations)


# ----------------------------------------------------------------------------------------------------------------
# Reproducing a model trace with the real executor


WITNESS = {"publisher": "Wavegate.Witness", "type": "WitnessAgent"}
BAD_TYPE = "WitnessAgentBad"  # failing VMs carry this type; its new version fails every health watch


def realizable_trace(spec: Policy, claim: GateProperty, deadline: float) -> tuple[dict[str, Any], ...]:
    """A counterexample trace in the realizable sub-model (fleet + fault script can produce it), or ()."""
    params = gate_params(spec, claim.scope)
    model = GateModel(params, claim.unhealthy_cap, realizable=True, batch_caps=batch_caps(spec, claim.scope))
    rprop = claim.prop(model)
    states = [state(0)]
    path: list[z3.BoolRef] = [model.init(states[0]), model.n <= 40]
    for i in range(BMC_DEPTH + 1):
        r = solve([*path, z3.Not(rprop(states[i]))], deadline)
        if isinstance(r, Sat):
            return _trace(model, r, states)
        if isinstance(r, Unknown):
            return ()
        states.append(state(i + 1))
        path.append(model.trans(states[i], states[i + 1]))
    return ()


def scenario(trace: tuple[dict[str, Any], ...], kind: str = "scale_set"
             ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Fleet, schedule and fault script that make the executor walk the realizable trace, on one set of ``kind``
    (``scale_set`` or ``availability_set``)."""
    set_name = "ss0" if kind == "scale_set" else "as0"
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
        return {"name": f"vm{i:02d}", "region": "region0", kind: set_name, "update_domain": 0,
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
             "scale_sets": [], "availability_sets": [], "vms": vms}
    fleet["scale_sets" if kind == "scale_set" else "availability_sets"] = [{"name": set_name, "region": "region0"}]
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


@dataclass(frozen=True)
class Batch:
    """One batch of the scenario's set as its event log shows it: counts when it started, and its unhealthy peak."""

    wave: Any
    time: Any  # minutes, as the event log has it
    unhealthy: int  # unhealthy VMs of the set when the batch started
    upgraded: int  # VMs upgraded by the batches finished before it
    turned: int  # of which turned unhealthy by their upgrade
    peak: int | None = None  # unhealthy VMs at the batch's worst moment (None: it never finished)


@dataclass(frozen=True)
class BatchLog:
    """A real event log of the one-set scenarios of :func:`scenario`, and the run's end state."""

    events: list[dict[str, Any]]
    set_size: int
    outside_unhealthy: int  # VMs unhealthy from the start
    final_versions: dict[tuple[str, str], str] | None = None
    broken_vms: frozenset[str] = frozenset()  # VMs whose new version fails health
    batches: tuple[Batch, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "batches", tuple(_batches(self.events, self.outside_unhealthy)))


def _batches(events: list[dict[str, Any]], outside_unhealthy: int) -> list[Batch]:
    out: list[Batch] = []
    upgraded: set[str] = set()
    turned: set[str] = set()
    kept = 0
    pending: dict[str, Any] = {"up": set(), "turned": set(), "kept": 0}
    for e in events:
        kind = e["event"]
        if kind == "install_succeeded":
            pending["up"].add(e["vm"])
        elif kind == "health_failed" and not (e.get("detail") or {}).get("was_unhealthy_before", False):
            pending["turned"].add(e["vm"])
        elif kind == "kept_unhealthy":
            pending["kept"] += 1
        elif kind == "batch_started":
            out.append(Batch(e["detail"]["wave"], e["time"], outside_unhealthy + kept, len(upgraded), len(turned)))
        elif kind == "batch_finished":
            upgraded |= pending["up"]
            turned |= pending["turned"]
            peak = outside_unhealthy + kept + len(pending["turned"])
            kept += pending["kept"]
            if out:
                out[-1] = replace(out[-1], peak=peak)
            pending = {"up": set(), "turned": set(), "kept": 0}
    return out


def replay_trace(spec: Policy, claim: GateProperty, trace: tuple[dict[str, Any], ...]
                 ) -> tuple[bool, str, dict[str, Any]]:
    """Reproduce a (realizable) model trace with the real executor before calling it a counterexample, on each
    set kind the claim's scope has (a gate on scale sets is no gate on an availability set)."""
    kinds = {"availability_set": ("availability_set",), "set": ("scale_set", "availability_set")}.get(
        claim.scope, ("scale_set",))
    why = ""
    for kind in kinds:
        ok, why, files = _replay_on(spec, claim, trace, kind)
        if ok:
            return ok, why, files
    return False, why, {}


def _replay_on(spec: Policy, claim: GateProperty, trace: tuple[dict[str, Any], ...], kind: str
               ) -> tuple[bool, str, dict[str, Any]]:
    fleet, schedule, faults = scenario(trace, kind)
    try:
        events, result = run_executor(spec, fleet, schedule, faults)
    except InputError as e:
        return False, f"the scenario is not valid input: {e}", {}
    except MonitorBreach as e:
        return False, f"the executor's runtime monitor stopped the scenario: {e}", {}
    broken = frozenset(v["name"] for v in fleet["vms"] if v["extensions"][0]["type"] == BAD_TYPE)
    why = claim.log_check(BatchLog(events, trace[0]["set_size"], trace[0]["u"], result.versions, broken))
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

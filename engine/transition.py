"""The executor's gate logic as a transition system in Z3, and invariants proved by induction or k-induction.

One group of the gates' scope (a scale set) of symbolic size ``n >= 1``; the state counts its unhealthy VMs ``u``,
upgraded VMs ``m``, upgraded-unhealthy ``uu``, VMs still pending, the running batch, and the stop flags.  Steps are
the three things that happen in ``engine.executor`` (see docs/executor.md):

* ``start``  — a batch of ``b`` pending VMs starts; allowed only when the set is not stopped and every gate decision
  of :mod:`engine.gates` allows it (``may_start_batch`` for each precheck gate, no ``upgraded_breach``);
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

import time
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import z3

from dsl.policy import (
    Gate,
    HealthWaitGate,
    Percent,
    Policy,
    PrecheckGate,
    Rule,
    StopUnhealthyGate,
    StopUpgradedGate,
    VersionClaim,
)
from engine.prover import Counterexample, Obligation, Outcome, Status
from engine.symbolic import exceeded_term, same_group

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
    # health_outcome: a failed health wait keeps the new version only when a wait gate says "keep".
    rollback = not (wait and wait[0].on_timeout == "keep")
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
    """Init and transition relation of one group under ``params``; ``claim_cap`` drives the breach monitor."""

    def __init__(self, params: GateParams, claim_unhealthy_cap: Percent | None) -> None:
        self.p = params
        self.n = z3.Int("n")
        self.claim_cap = claim_unhealthy_cap

    def init(self, s: State) -> z3.BoolRef:
        n = self.n
        return z3.And(
            n >= 1, s["u"] >= 0, s["u"] <= n, s["m"] == 0, s["uu"] == 0, s["pend"] >= 0, s["pend"] <= n,
            s["b"] == 0, s["su"] == 0, s["suu"] == 0, s["sm"] == 0, s["tph"] == 0, s["tv"] == 0,
            *[z3.Not(s[k]) for k in BOOL_VARS],
        )

    def _unchanged(self, s: State, t: State, keys: tuple[str, ...]) -> list[z3.BoolRef]:
        return [t[k] == s[k] for k in keys]

    def _breach(self, u: z3.ArithRef) -> z3.BoolRef:
        return exceeded_term(self.claim_cap, u, self.n) if self.claim_cap is not None else z3.BoolVal(False)

    def start(self, s: State, t: State) -> z3.BoolRef:
        n, p = self.n, self.p
        guard = z3.And(
            z3.Not(s["stopped"]), z3.Not(s["inb"]), s["pend"] >= 1,
            z3.Not(_any_exceeded(p.precheck, s["u"], n)),  # gates.may_start_batch for each precheck gate
            z3.Not(_any_exceeded(p.stop_upgraded, s["uu"], s["m"])),  # no gates.upgraded_breach
        )
        return z3.And(
            guard, t["b"] >= 1, t["b"] <= s["pend"], t["pend"] == s["pend"] - t["b"], t["inb"], t["started"],
            t["su"] == s["u"], t["suu"] == s["uu"], t["sm"] == s["m"], t["sbflag"] == s["bflag"],
            t["breach"] == self._breach(s["u"]), t["sae"] == _any_exceeded(p.stop_unhealthy, s["u"], n),
            z3.If(s["tph"] == 0, z3.Or(t["tph"] == 0, t["tph"] == 1), t["tph"] == s["tph"]),
            *self._unchanged(s, t, ("u", "m", "uu", "stopped", "bflag", "tfail", "tv")),
        )

    def env(self, s: State, t: State) -> z3.BoolRef:
        n, p = self.n, self.p
        return z3.And(
            t["u"] >= 0, t["u"] <= n, t["uu"] >= 0, t["uu"] <= s["m"], t["uu"] <= t["u"], z3.Not(t["started"]),
            t["breach"] == z3.Or(s["breach"], z3.And(s["inb"], self._breach(t["u"]))),
            t["sae"] == z3.Or(s["sae"], z3.And(s["inb"], _any_exceeded(p.stop_unhealthy, t["u"], n))),
            *self._unchanged(s, t, ("m", "pend", "b", "inb", "stopped", "bflag", "su", "suu", "sm", "sbflag",
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
        return z3.And(
            s["inb"], f >= 0, f <= s["b"], z3.Not(t["inb"]), z3.Not(t["started"]), t["b"] == 0,
            t["m"] == s["m"] + s["b"], t["uu"] == s["uu"] + f, t["u"] >= t["uu"], t["u"] <= n,
            t["stopped"] == z3.Or(s["stopped"], s["sae"], _any_exceeded(p.stop_upgraded, t["uu"], t["m"])),
            t["bflag"] == z3.Or(s["bflag"], s["breach"]), z3.Not(t["breach"]), z3.Not(t["sae"]),
            tracked,
            *self._unchanged(s, t, ("pend", "su", "suu", "sm", "sbflag")),
        )

    def trans(self, s: State, t: State) -> z3.BoolRef:
        return z3.Or(self.start(s, t), self.env(s, t), self.finish(s, t))

    def action(self, m: z3.ModelRef, s: State, t: State) -> str:
        for name, rel in (("start", self.start), ("finish", self.finish), ("env", self.env)):
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
        ("bounds", lambda s: z3.And(s["u"] >= 0, s["u"] <= n, s["uu"] >= 0, s["uu"] <= s["m"], s["uu"] <= s["u"],
                                    s["m"] >= 0, s["pend"] >= 0, s["b"] >= 0, n >= 1)),
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
    path: list[z3.BoolRef] = [model.init(states[0])]
    for i in range(depth + 1):
        r, m = _solve([*path, goal(states[i])], deadline)
        if r == "sat" and m is not None:
            return "sat", _trace(model, m, states)
        if r == "unknown":
            return "unknown", ()
        states.append(state(i + 1))
        path.append(model.trans(states[i], states[i + 1]))
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


def prove_invariant(model: GateModel, prop: Prop, deadline: float) -> InductionResult:
    r, trace = bmc(model, prop, BMC_DEPTH, deadline)
    if r == "sat":
        return InductionResult("refuted", (), trace, f"violated after {len(trace) - 1} steps")
    if r == "unknown":
        return InductionResult("unknown", (), (), "bounded search gave no answer within the time limit")
    s0, s1 = state(100), state(101)
    lemmas = candidate_lemmas(model)
    # Houdini: drop candidate lemmas that are not initiated or not preserved, until the rest is inductive.
    while True:
        inv0 = z3.And(prop(s0), *[lem(s0) for _, lem in lemmas])
        dropped = []
        for name, lem in lemmas:
            r_init, _ = _solve([model.init(s0), z3.Not(lem(s0))], deadline)
            r_cons, _ = _solve([inv0, model.trans(s0, s1), z3.Not(lem(s1))], deadline)
            if "unknown" in (r_init, r_cons):
                return InductionResult("unknown", (), (), "induction gave no answer within the time limit")
            if r_init == "sat" or r_cons == "sat":
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
            obligations = (
                Obligation(f"initiation (k={k})", r_base == "unsat", f"no violation within {k} steps of a start"),
                Obligation(f"consecution (k={k})", True, f"{k} good steps are followed by a good one"),
                Obligation("safety", True, "the property is the invariant"),
            )
            ok = r_base == "unsat"
            return InductionResult("proven" if ok else "unknown", obligations, (), f"{k}-induction")
    return InductionResult("unknown", obligations, (), "neither induction nor k-induction closes the proof")


def prove_gate_claim(spec: Policy, claim: Rule | Gate | VersionClaim, deadline: float) -> Outcome:
    """A gate claim (or ``rollback_restores``) under the spec's gates: proven / refuted / unknown / vacuous."""
    scope = getattr(claim, "of", "scale_set")
    params = gate_params(spec, scope)
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
        ok, why = replay_trace(spec, claim, res.trace)
        if not ok:
            return Outcome("unknown", SCOPE, f"a candidate counterexample trace did not replay: {why}",
                           involved=params.names, obligations=res.obligations)
        fleet = {"set_size": res.trace[0]["set_size"]}
        cex = Counterexample(fleet, None, res.trace, f"{text}: fails at step {len(res.trace) - 1}")
        return Outcome("refuted", SCOPE, f"counterexample trace: {why}", counterexample=cex, involved=params.names)
    msg = f"{text}: {res.message}"
    return Outcome(res.status, SCOPE, msg, involved=params.names, obligations=res.obligations)


def replay_trace(spec: Policy, claim: object, trace: tuple[dict[str, Any], ...]) -> tuple[bool, str]:
    """Reproduce a model trace with the real executor before calling it a counterexample."""
    import importlib.util

    if importlib.util.find_spec("engine.executor") is None:
        return False, "the executor (engine.executor) is not available to reproduce the trace"
    return False, "reproducing gate traces with the executor is not wired yet"


def fraction_text(v: Fraction) -> str:
    return str(v.numerator) if v.denominator == 1 else f"{float(v):.2f}"

"""Claims about the executor's batch gates, proven on its transition model (:mod:`engine.prove.transition`).

``before a batch, unhealthy in the S <= C`` (PrecheckGate), ``stop the S when unhealthy among upgraded > C``
(StopUpgradedGate), ``stop the S at the end of the batch when unhealthy > C`` (StopUnhealthyGate) and ``after a batch
wait up to D for health, else roll back`` (HealthWaitGate: a VM whose upgrade failed health ends on its previous
version).  Each kind gives the property the model's states must keep, the spec gates it is about, and how a real
event log of the one-set scenario breaks it (a refutation is a model trace replayed by the real executor).

The premises are the spec's gates on exactly the claim's groups (``transition.gate_params`` with
``containment.same_groups_everywhere``: the executor applies a gate to the groups of its own scope, so a gate on
scale sets is no premise of a claim on sets or availability sets), as the executor applies them; the model is one set
of symbolic size whose batches run one at a time, so a proof holds for sets of every size, and a claim on a scope
whose batches may overlap (a region, a zone, a VM's several sets…) is unknown (:data:`BATCH_SCOPES`).  Soundness is
the model's (its conformance with the executor is tested on random event logs).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from typing import ClassVar, TypeVar

import z3

from dsl.policy import (
    Duration,
    HealthWaitGate,
    Percent,
    Policy,
    PrecheckGate,
    StopUnhealthyGate,
    StopUpgradedGate,
)
from engine.prove.containment import same_groups_everywhere
from engine.prove.kinds.base import ClaimKind
from engine.prove.results import Outcome
from engine.prove.symbolic import exceeded_term
from engine.prove.transition import SCOPE, BatchLog, GateModel, GateProperty, Prop, prove_gate_claim

G = TypeVar("G")
# Scopes whose groups the executor runs one batch at a time (a batch is one set's tasks of a wave): the model's one
# group with one running batch is such a group.
BATCH_SCOPES = frozenset({"scale_set", "availability_set", "set"})
ROLLBACK_TEXT = "a VM whose upgrade failed health ends on its previous version"


def rollback_property(model: GateModel) -> Prop:
    """The tracked VM, once its batch finished with its health failed, is back on its previous version."""
    return lambda s: z3.Implies(z3.And(s["tph"] == 2, s["tfail"]), s["tv"] == 0)


def rollback_broken(log: BatchLog) -> str:
    """A VM broken by its upgrade stayed on the new version (no health watch), or one was kept unhealthy."""
    if log.final_versions is not None:
        stayed = sorted(vm for (vm, _), v in log.final_versions.items() if vm in log.broken_vms and v != "1.0")
        if stayed and not any(e["event"] == "health_failed" for e in log.events):
            return f"{stayed[0]}'s upgrade broke its health and it stayed on the new version (no health watch)"
    for e in log.events:
        if e["event"] == "kept_unhealthy":
            return f"{e['vm']} failed its health watch and was kept on {e['to_version']} (event at {e['time']} min)"
    return ""


def gate_names(spec: Policy, kind: type, scope: str) -> tuple[str, ...]:
    """The spec's gates of ``kind`` on the claim's group (where a SARIF result or a refutation points)."""
    return tuple(g.name for g in spec.gates if isinstance(g, kind) and same_groups_everywhere(getattr(g, "of", scope), scope))


class GateClaim(ClaimKind[G]):
    """A claim on one group of the gates' scope: a property of the model's states and its event-log reading."""

    involved_kind: ClassVar[type]  # the spec gates the claim is about

    @abstractmethod
    def prop(self, claim: G, model: GateModel) -> Prop: ...

    @abstractmethod
    def text(self, claim: G) -> str: ...

    @abstractmethod
    def broken_in_log(self, claim: G, log: BatchLog) -> str: ...

    def scope(self, claim: G) -> str:
        return str(getattr(claim, "of", "scale_set"))

    def unhealthy_cap(self, claim: G) -> Percent | None:
        """The cap that drives the model's breach monitor (a stop-unhealthy claim's)."""
        return None

    def shape(self, claim: G) -> Callable[[GateModel], Prop] | None:
        """The states the claim is about, for the vacuity check (None: any state after a batch)."""
        return None

    def gate_property(self, spec: Policy, claim: G) -> GateProperty:
        scope = self.scope(claim)
        return GateProperty(scope, lambda model: self.prop(claim, model), self.text(claim),
                            gate_names(spec, self.involved_kind, scope), lambda log: self.broken_in_log(claim, log),
                            self.unhealthy_cap(claim), self.shape(claim))

    def prove(self, spec: Policy, claim: G, deadline: float) -> Outcome:
        scope = self.scope(claim)
        if scope not in BATCH_SCOPES:
            return Outcome("unknown", "none", f"the executor's transition model is of one set's batches, which never "
                           f"overlap; the batches of a {scope.replace('_', ' ')} may (several sets at once), which it "
                           "does not model: cannot be proven here")
        return prove_gate_claim(spec, self.gate_property(spec, claim), deadline)


class PrecheckClaim(GateClaim[PrecheckGate]):
    """The executor never starts a batch while more than ``cap`` of the set is unhealthy."""

    kind = PrecheckGate
    involved_kind = PrecheckGate

    def prop(self, claim: PrecheckGate, model: GateModel) -> Prop:
        return lambda s: z3.Implies(s["started"], z3.Not(exceeded_term(claim.cap, s["su"], model.n)))

    def text(self, claim: PrecheckGate) -> str:
        return f"never starts a batch while more than {claim.cap} of the set is unhealthy"

    def broken_in_log(self, claim: PrecheckGate, log: BatchLog) -> str:
        for b in log.batches:
            if claim.cap.exceeded_by(b.unhealthy, log.set_size):
                return (f"batch of wave {b.wave} started at {b.time} min with {b.unhealthy} of {log.set_size} VMs "
                        f"unhealthy (more than {claim.cap})")
        return ""


class StopUpgradedClaim(GateClaim[StopUpgradedGate]):
    """The executor never starts a batch while more than ``cap`` of the set's upgraded instances are unhealthy."""

    kind = StopUpgradedGate
    involved_kind = StopUpgradedGate

    def prop(self, claim: StopUpgradedGate, model: GateModel) -> Prop:
        return lambda s: z3.Implies(s["started"], z3.Not(exceeded_term(claim.cap, s["suu"], s["sm"])))

    def text(self, claim: StopUpgradedGate) -> str:
        return f"never starts a batch while more than {claim.cap} of the set's upgraded instances are unhealthy"

    def broken_in_log(self, claim: StopUpgradedGate, log: BatchLog) -> str:
        for b in log.batches:
            if claim.cap.exceeded_by(b.turned, b.upgraded):
                return (f"batch of wave {b.wave} started at {b.time} min with {b.turned} of {b.upgraded} upgraded VMs "
                        f"unhealthy (more than {claim.cap})")
        return ""


class StopUnhealthyClaim(GateClaim[StopUnhealthyGate]):
    """The executor never starts a batch after a batch during which more than ``cap`` of the set was unhealthy."""

    kind = StopUnhealthyGate
    involved_kind = StopUnhealthyGate

    def prop(self, claim: StopUnhealthyGate, model: GateModel) -> Prop:
        return lambda s: z3.Implies(s["started"], z3.Not(s["sbflag"]))

    def text(self, claim: StopUnhealthyGate) -> str:
        return f"never starts a batch after a batch during which more than {claim.cap} of the set was unhealthy"

    def unhealthy_cap(self, claim: StopUnhealthyGate) -> Percent | None:
        return claim.cap

    def broken_in_log(self, claim: StopUnhealthyGate, log: BatchLog) -> str:
        breach_seen = False
        for b in log.batches:
            if breach_seen:
                return (f"batch of wave {b.wave} started at {b.time} min after a batch during which more than "
                        f"{claim.cap} of the set was unhealthy")
            breach_seen = b.peak is not None and (claim.cap.exceeded_by(b.unhealthy, log.set_size)
                                                  or claim.cap.exceeded_by(b.peak, log.set_size))
        return ""


class HealthWaitClaim(GateClaim[HealthWaitGate]):
    """``after a batch wait up to D for health, else roll back``: a VM whose upgrade failed health ends on its
    previous version — read on the whole run: a VM whose *last* attempt failed its health watch (a retry that
    succeeds is an upgrade that did not fail).  The model lets the tracked VM, once rolled back, be retried in a later
    batch whenever the spec retries, so the property holds in every state of the run, its end state included.  How
    long the wait is is not modelled: a claim with another wait than the spec's is unknown, and one that keeps
    unhealthy VMs has no encoding."""

    kind = HealthWaitGate
    involved_kind = HealthWaitGate

    def prop(self, claim: HealthWaitGate, model: GateModel) -> Prop:
        return rollback_property(model)

    def shape(self, claim: HealthWaitGate) -> Callable[[GateModel], Prop] | None:
        return lambda model: lambda s: s["tfail"]  # some upgrade fails its health watch

    def text(self, claim: HealthWaitGate) -> str:
        return ROLLBACK_TEXT

    def broken_in_log(self, claim: HealthWaitGate, log: BatchLog) -> str:
        return rollback_broken(log)

    def prove(self, spec: Policy, claim: HealthWaitGate, deadline: float) -> Outcome:
        waits = [g.wait.seconds for g in spec.gates if isinstance(g, HealthWaitGate)]
        if waits and waits[0] != claim.wait.seconds:
            # The model proves what happens after a failed wait, not how long the wait is.
            return Outcome("unknown", SCOPE, f"the spec waits {Duration(waits[0])} for health, the claim "
                           f"{claim.wait}: only the rollback after a failed wait is modelled",
                           involved=gate_names(spec, HealthWaitGate, self.scope(claim)))
        if claim.on_timeout != "rollback":
            return Outcome("unknown", "none", f"no transition-system encoding for claims of kind {self.kind.__name__}")
        return super().prove(spec, claim, deadline)


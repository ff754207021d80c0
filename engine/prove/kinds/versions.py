"""Version claims: ``no VM ever moves to a new major version`` (no_major) and ``a VM whose upgrade failed health ends
on its previous version`` (rollback_restores).

no_major, on the upgrade resolution of one extension: installed version ``a.x``, a target ``t.y`` newer than it
(resolution only ever moves forward); the spec's version rules are the premises (``never a new major`` keeps the
target's major, a policy allowing majors leaves it free).  The violation is a target of another major.  Soundness:
every task of every fleet is an instance (versions are free integers), and the premise is what the resolution
guarantees.  A refutation is a one-VM fleet whose real resolution crosses a major, replayed through the checker under
a claim policy that forbids majors.

rollback_restores goes through the executor's transition model, as the health-wait gate does
(:mod:`engine.prove.kinds.gates`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import z3

from dsl.policy import HealthWaitGate, Policy, VersionClaim
from dsl.versions import major
from engine.model.fleet import parse_fleet
from engine.model.solver import Sat
from engine.model.upgrades import resolve_upgrades
from engine.prove.kinds.base import Encoding, SymbolicClaim, Unsupported
from engine.prove.kinds.gates import ROLLBACK_TEXT, gate_names, rollback_broken, rollback_property
from engine.prove.replay import Precondition
from engine.prove.results import Outcome
from engine.prove.transition import GateProperty, prove_gate_claim
from engine.prove.witness import Witness, assemble, plain_vm, region_entry


class VersionClaimKind(SymbolicClaim[VersionClaim]):
    kind = VersionClaim

    def prove(self, spec: Policy, claim: VersionClaim, deadline: float) -> Outcome:
        if claim.kind == "rollback_restores":
            prop = GateProperty("scale_set", rollback_property, ROLLBACK_TEXT,
                                gate_names(spec, HealthWaitGate, "scale_set"), rollback_broken)
            return prove_gate_claim(spec, prop, deadline)
        return super().prove(spec, claim, deadline)

    def encode(self, spec: Policy, claim: VersionClaim) -> Encoding:
        """Upgrade resolution on one extension: installed major a, target t newer; the target's major differs."""
        if claim.kind != "no_major":
            raise Unsupported(f"no symbolic encoding for version claims of kind {claim.kind}")
        inst_major, inst_rest = z3.Int("inst_major"), z3.Int("inst_rest")
        tgt_major, tgt_rest = z3.Int("tgt_major"), z3.Int("tgt_rest")
        newer = z3.Or(tgt_major > inst_major, z3.And(tgt_major == inst_major, tgt_rest > inst_rest))
        premises: list[z3.BoolRef] = [inst_major >= 0, inst_rest >= 0, tgt_major >= 0, tgt_rest >= 0, newer]
        if not spec.versions.allow_major:
            premises.append(tgt_major == inst_major)

        def build(m: Sat, deadline: float) -> Witness:
            old = f"{m.value(inst_major)}.{m.value(inst_rest)}"
            new = f"{m.value(tgt_major)}.{m.value(tgt_rest)}"
            vm = plain_vm("vm-0", "region0", True)
            vm["extensions"][0]["version"] = old
            return assemble([region_entry("region0")], [], [], [vm], [["region0"]], [(0, ["vm-0"])],
                            catalog=[old, new])

        return Encoding("for all fleets", premises, z3.BoolVal(True), tgt_major != inst_major, ["versions"], [], build)

    def claim_policy(self, spec: Policy, claim: VersionClaim) -> Policy:
        """The spec's version rules without majors, and no rule: only a task across a major can fail it."""
        return replace(spec, name=f"{spec.name} (claim)", rules=(), preferences=(), gates=(),
                       versions=replace(spec.versions, allow_major=False))

    def precondition(self, spec: Policy, claim: VersionClaim) -> Precondition | None:
        def crosses_a_major(fleet_json: dict[str, Any]) -> str:
            fleet = parse_fleet(fleet_json, "<counterexample fleet>")
            crossing = [t for t in resolve_upgrades(fleet, spec.versions).tasks
                        if major(t.from_version) != major(t.to_version)]
            return "" if crossing else "upgrade resolution chose no task across a major version"

        return crosses_a_major

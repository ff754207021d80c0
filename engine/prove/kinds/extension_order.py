"""``extension F before extension S on each vm`` (ExtensionOrder): on each VM with due tasks of both, every F task in
the same wave as, or an earlier wave than, every S task.

The element: one VM with a due task of an extension matching ``first`` in wave ``wave_first`` and one matching
``second`` in wave ``wave_second``.  Premises (:data:`EXTENSION_ORDER_PREMISES`): an ExtensionOrder rule of the spec
with the same selectors says ``wave_first <= wave_second``; no other rule orders two extensions of one VM.  The
violation is ``wave_first > wave_second``.

Soundness: any violating VM of any fleet is an instance of the element, and the premise is exactly what an identical
rule says about it.  What a proof covers: the schedule's wave order on each VM.  That the executor installs the
second extension only after the first succeeded on that VM is the run stage's job (its sequencing and monitors),
not proven here.  A refutation is one VM with both extensions, the second's task in an earlier wave, replayed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import z3

from dsl.policy import ExtensionOrder, ExtensionSelector, Policy
from engine.model.fleet import parse_fleet
from engine.model.solver import Sat
from engine.model.upgrades import resolve_upgrades
from engine.prove.kinds.base import Encoding, RuleClaim, Unsupported
from engine.prove.witness import OLD_VERSION, WITNESS_EXTENSION, Witness, region_entry, schedule_json

COVERS = ("this proves the schedule's wave order on each VM; that the executor installs the second extension only "
          "after the first succeeded is the run stage's (not proven here)")


def _same_selectors(r: ExtensionOrder, claim: ExtensionOrder) -> bool:
    return (r.first, r.second) == (claim.first, claim.second)


# What a spec rule of each kind contributes to an ExtensionOrder claim: whether it orders the element's two tasks.
EXTENSION_ORDER_PREMISES: Mapping[type, Callable[[Any, ExtensionOrder], bool]] = {ExtensionOrder: _same_selectors}


class ExtensionOrderClaim(RuleClaim[ExtensionOrder]):
    """The violation: on one VM, a task of the first extension in a later wave than a task of the second."""

    kind = ExtensionOrder

    def encode(self, spec: Policy, claim: ExtensionOrder) -> Encoding:
        wave_first, wave_second = z3.Int("wave_first"), z3.Int("wave_second")
        premises: list[z3.BoolRef] = [wave_first >= 0, wave_second >= 0]
        involved: list[str] = []
        dropped: list[str] = []
        for r in spec.rules:
            contribution = EXTENSION_ORDER_PREMISES.get(type(r))
            if contribution is not None and contribution(r, claim):
                involved.append(r.name)
                premises.append(wave_first <= wave_second)
            else:
                dropped.append(r.name)

        def build(m: Sat, deadline: float) -> Witness:
            found = self.witnesses(spec, claim, deadline)
            if not found:
                raise Unsupported("no witness VM has due tasks of both extensions (the selectors name one extension, or the "
                                  "spec's version rules leave one of them not due)")
            return found[0]

        return Encoding("for all fleets", premises, z3.BoolVal(True), wave_first > wave_second, involved, dropped,
                        build, covers=COVERS)

    def witnesses(self, spec: Policy, claim: ExtensionOrder, deadline: float) -> list[Witness]:
        """One VM with an extension matching each selector, both due; the second's task in wave 0, the first's in
        wave 1 (targets as the spec's version rules resolve them)."""
        first = _extension(claim.first, "first", "WitnessFirst")
        second = _extension(claim.second, "second", "WitnessSecond")
        if first["name"] == second["name"]:
            return []  # one VM cannot carry two extensions of one name
        catalog = sorted({(e["publisher"], e["type"]) for e in (first, second)})
        fleet = {
            "regions": [region_entry("region0")],
            "catalog": [{"publisher": p, "type": t, "versions": [OLD_VERSION, "1.1"]} for p, t in catalog],
            "scale_sets": [],
            "availability_sets": [],
            "vms": [{"name": "vm0", "region": "region0", "subscription": "sub0", "extensions": [first, second]}],
        }
        tasks = {t.extension: t for t in resolve_upgrades(parse_fleet(fleet, "<witness fleet>"), spec.versions).tasks}
        if first["name"] not in tasks or second["name"] not in tasks:
            return []
        waves = [{"index": i, "phase": 0, "tasks": [{"vm": "vm0", "extension": e["name"], "from_version": OLD_VERSION,
                                                     "to_version": tasks[e["name"]].to_version}]}
                 for i, e in enumerate((second, first))]
        return [(fleet, schedule_json([{"index": 0, "regions": ["region0"]}], waves))]


def _extension(sel: ExtensionSelector, name: str, typ: str) -> dict[str, Any]:
    """An installed extension matching ``sel`` (the witness catalog's names where the selector gives none)."""
    return {"name": sel.name or name, "publisher": sel.publisher or WITNESS_EXTENSION["publisher"],
            "type": sel.type or typ, "version": OLD_VERSION, "enable_automatic_upgrade": True}

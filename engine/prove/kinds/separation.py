"""``never together in a U: regions that are paired`` (SeparatePairs) and ``... regions "a", "b"`` (SeparateRegions).

The element: two regions a and b with tasks, with symbolic names (ids of the policy's strings, or fresh), a
symbolic pairing in each direction, and whether they share a wave or a phase (sharing a wave means sharing its
phase).  Premises (:data:`SEPARATION_PREMISES`): separation rules (paired or listed regions never share their unit)
and canaries that go alone (a listed region and an unlisted one never share the first phase; the element does not
say which phase it is, so "never share a phase" is all it keeps — weaker, hence sound).

Soundness: any two regions of any fleet with tasks are an instance of the element (names, pairing and sharing are
free), and each premise is what its rule says about those two regions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import z3

from dsl.policy import Canary, Policy, Rule, SeparatePairs, SeparateRegions
from engine.model.solver import Sat
from engine.prove.kinds.base import Encoding, RuleClaim
from engine.prove.symbolic import AttrVals, Interner
from engine.prove.witness import Witness, assemble, interner_for, plain_vm


@dataclass(frozen=True)
class RegionPair:
    """Two regions with tasks: their names, who names whom as its pair, and which units they share."""

    strings: Interner
    ra: AttrVals
    rb: AttrVals
    a_names_b: z3.BoolRef
    b_names_a: z3.BoolRef
    same_phase: z3.BoolRef
    same_wave: z3.BoolRef

    @property
    def name_a(self) -> z3.ArithRef:
        return self.ra.get("region.name")[0]

    @property
    def name_b(self) -> z3.ArithRef:
        return self.rb.get("region.name")[0]

    @property
    def paired(self) -> z3.BoolRef:
        return z3.Or(self.a_names_b, self.b_names_a)

    def shares(self, within: str) -> z3.BoolRef:
        return self.same_wave if within == "wave" else self.same_phase

    def listed(self, names: tuple[str, ...], x: z3.ArithRef) -> z3.BoolRef:
        return z3.Or(*[x == self.strings.id(s) for s in names]) if names else z3.BoolVal(False)

    def both_listed(self, names: tuple[str, ...]) -> z3.BoolRef:
        return z3.And(self.listed(names, self.name_a), self.listed(names, self.name_b))


def _pairs_premise(r: SeparatePairs, el: RegionPair) -> z3.BoolRef | None:
    return z3.Implies(el.paired, z3.Not(el.shares(r.within)))


def _regions_premise(r: SeparateRegions, el: RegionPair) -> z3.BoolRef | None:
    return z3.Implies(el.both_listed(r.regions), z3.Not(el.shares(r.within)))


def _canary_premise(r: Canary, el: RegionPair) -> z3.BoolRef | None:
    if not r.alone:
        return None
    la, lb = el.listed(r.regions, el.name_a), el.listed(r.regions, el.name_b)
    return z3.Implies(z3.Xor(la, lb), z3.Not(el.same_phase))


# What a spec rule of each kind contributes as a premise on two regions (None or absent: nothing).
SEPARATION_PREMISES: Mapping[type, Callable[[Rule, RegionPair], z3.BoolRef | None]] = {
    SeparatePairs: _pairs_premise,  # type: ignore[dict-item]
    SeparateRegions: _regions_premise,  # type: ignore[dict-item]
    Canary: _canary_premise,  # type: ignore[dict-item]
}


def encode_separation(policy: Policy, claim: SeparatePairs | SeparateRegions) -> tuple[RegionPair, list[z3.BoolRef], list[str], list[str]]:
    """The element, its premises, and the spec rules involved / dropped."""
    strings = interner_for(policy, claim)
    ra = AttrVals("ra", None, (), strings)
    rb = AttrVals("rb", None, (), strings)
    ra.get("region.name")
    rb.get("region.name")
    el = RegionPair(strings, ra, rb, z3.Bool("a_pair_b"), z3.Bool("b_pair_a"), z3.Bool("same_phase"),
                    z3.Bool("same_wave"))
    premises: list[z3.BoolRef] = [el.name_a != el.name_b, z3.Implies(el.same_wave, el.same_phase)]
    premises += [ra.get("region.paired")[0] == z3.Or(el.a_names_b), rb.get("region.paired")[0] == z3.Or(el.b_names_a)]
    involved: list[str] = []
    dropped: list[str] = []
    for r in policy.rules:
        contribution = SEPARATION_PREMISES.get(type(r))
        premise = contribution(r, el) if contribution is not None else None
        if premise is None:
            dropped.append(r.name)
        else:
            premises.append(premise)
            involved.append(r.name)
    return el, premises, involved, dropped


def _encoding(el: RegionPair, premises: list[z3.BoolRef], involved: list[str], dropped: list[str],
              shape: z3.BoolRef, violation: z3.BoolRef) -> Encoding:
    premises = [*premises, *el.ra.all_side(), *el.rb.all_side()]

    def build(m: Sat, deadline: float) -> Witness:
        na = el.strings.name(m.value(el.name_a), "region")
        nb = el.strings.name(m.value(el.name_b), "region")
        regions = [{"name": na, "pair": nb if m.value(el.a_names_b) else None, "zones": 0},
                   {"name": nb, "pair": na if m.value(el.b_names_a) else None, "zones": 0}]
        vms = [plain_vm(f"vm-{na}", na, True), plain_vm(f"vm-{nb}", nb, True)]
        if m.value(el.same_wave):
            phases = [[na, nb]]
            waves = [(0, [vms[0]["name"], vms[1]["name"]])]
        elif m.value(el.same_phase):
            phases = [[na, nb]]
            waves = [(0, [vms[0]["name"]]), (0, [vms[1]["name"]])]
        else:
            phases = [[na], [nb]]
            waves = [(0, [vms[0]["name"]]), (1, [vms[1]["name"]])]
        return assemble(regions, [], [], vms, phases, waves)

    return Encoding("for all fleet sizes", premises, shape, violation, involved, dropped, build)


class SeparatePairsClaim(RuleClaim[SeparatePairs]):
    """Two regions, either naming the other as its pair, that share the claim's unit."""

    kind = SeparatePairs

    def encode(self, spec: Policy, claim: SeparatePairs) -> Encoding:
        el, premises, involved, dropped = encode_separation(spec, claim)
        return _encoding(el, premises, involved, dropped, el.paired,
                         z3.And(el.paired, el.shares(claim.within)))


class SeparateRegionsClaim(RuleClaim[SeparateRegions]):
    """Two of the listed regions that share the claim's unit."""

    kind = SeparateRegions

    def encode(self, spec: Policy, claim: SeparateRegions) -> Encoding:
        el, premises, involved, dropped = encode_separation(spec, claim)
        la, lb = el.listed(claim.regions, el.name_a), el.listed(claim.regions, el.name_b)
        return _encoding(el, premises, involved, dropped, el.both_listed(claim.regions),
                         z3.And(la, lb, el.shares(claim.within)))

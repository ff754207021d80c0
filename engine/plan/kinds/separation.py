"""What the two separation kinds share: two regions kept apart never share a ``within`` unit.

Per phase the model states ``phase(a) != phase(b)``; per wave, no wave holds tasks of both (which couples regions, so
the joint model decides).  The first-fit phases keep such regions in different phases whatever the unit (per wave it
is then met too)."""

from __future__ import annotations

from abc import abstractmethod
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import TypeVar

import z3

from dsl.policy import SeparatePairs, SeparateRegions
from engine.model.fleet import VM, Extension
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Filler, Load, PhaseShape, PlanKind
from engine.plan.reading import FleetFacts

S = TypeVar("S", SeparatePairs, SeparateRegions)


class Separation(PlanKind[S, None]):
    why = ""

    @abstractmethod
    def pairs(self) -> list[tuple[str, str]]:
        """The region pairs kept apart (each pair once)."""

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> None:
        return None

    def couples_regions(self) -> bool:
        return self.rule.within == "wave"

    def first_fit_ready(self) -> bool:
        return True

    def shape_phases(self, shape: PhaseShape) -> None:
        pairs = self.pairs()
        shape.kept_apart.update(pairs)
        if self.rule.within == "phase":
            have = set(self.layout.regions)
            shape.apart.update((a, b) for a, b in pairs if a in have and b in have)

    def encode(self, enc: Encoding) -> None:
        rule = self.rule
        for a, b in self.pairs():
            if a not in enc.regions or b not in enc.regions:
                continue
            facts = f"regions {a} and {b} are {self.why}, so they never share a {rule.within}"
            if rule.within == "phase":
                enc.add(enc.rp[a] != enc.rp[b] if enc.mode != "region" else False, rule.name, f"{a}/{b}", facts)
            elif not enc.skip("wave"):
                enc.add(enc.all([z3.Not(enc.all(enc.region_active(a, w), enc.region_active(b, w)))
                                 for w in range(enc.W)]), rule.name, f"{a}/{b}", facts)

    def partners(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for a, b in self.pairs():
            out[a].add(b)
            out[b].add(a)
        return out

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        if self.rule.within != "wave":
            return None
        return _ApartFiller(self, self.partners())

    def load(self, wave: Mapping[int, int]) -> Load | None:
        if self.rule.within != "wave":
            return None
        return _ApartLoad(self, self.partners(), wave)


class _ApartFiller(Filler):
    def __init__(self, plan: Separation[S], partners: dict[str, set[str]]) -> None:
        self.cls = plan.classes
        self.partners = partners
        self.active: set[str] = set()

    def begin_wave(self) -> None:
        self.active = set()

    def room(self, c: int, k: int) -> int:
        mine = self.partners.get(self.cls[c].region)
        return 0 if mine and mine & self.active else k

    def take(self, c: int, k: int) -> None:
        self.active.add(self.cls[c].region)


class _ApartLoad(Load):
    """A VM may move into a wave only when no region kept apart from its own has VMs there."""

    def __init__(self, plan: Separation[S], partners: dict[str, set[str]], wave: Mapping[int, int]) -> None:
        self.cls = plan.classes
        self.partners = partners
        self.vms: dict[str, int] = defaultdict(int)
        for c, n in wave.items():
            self.change(c, n)

    def change(self, c: int, n: int) -> None:
        self.vms[self.cls[c].region] += n

    def fits(self, c: int) -> bool:
        return not any(self.vms.get(r, 0) > 0 for r in self.partners.get(self.cls[c].region, ()))

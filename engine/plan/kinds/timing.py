"""The interface every time rule kind implements in the planning stage: the calendar placement
(``engine.plan.calendar``) asks each rule when a wave may start, and what the rule alone forces on any schedule.

A wave is placed whole: it runs from its start for its length (the install time times its longest chain of one
VM's tasks); a rule answers the earliest start at or after ``t`` that it admits for the wave (None: none within the
search horizon), given the planned ends of the earlier waves.  The placement iterates the rules to a fixpoint.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.policy import Freeze, Predicate, Window
from engine.model.calendar import CalendarError, zone_of
from engine.model.errors import InputError
from engine.model.fleet import VM, Extension
from engine.plan.reading import FleetFacts

R = TypeVar("R")


@dataclass
class WaveFacts:
    """What the calendar knows of one wave of the wave plan."""

    index: int
    phase: int
    vms: list[tuple[VM, list[Extension]]] = field(default_factory=list)
    chain: int = 1  # the most tasks one VM has in the wave


class TimeKind(ABC, Generic[R]):
    """The planning of one time rule (of IR type ``kind``)."""

    kind: ClassVar[type]

    def __init__(self, rule: R) -> None:
        self.rule = rule

    def prepare(self, waves: Sequence[WaveFacts], facts: FleetFacts) -> None:
        """Read what the rule needs of the waves (the VMs it selects, their zones)."""
        return None

    def earliest(self, wave: int, t: int, length: int, ends: Sequence[int]) -> int | None:
        """The earliest start ``>= t`` the rule admits for the wave; ``ends``: the earlier waves' planned ends."""
        return t

    def part_earliest(self, facts: FleetFacts, vms: Sequence[tuple[VM, list[Extension]]], wave: int, t: int,
                      length: int, ends: Sequence[int]) -> int | None:
        """Like :meth:`earliest`, for a part of the wave holding only ``vms`` (weighing a split of the wave)."""
        return self.earliest(wave, t, length, ends)

    def blocker(self, wave: int, ends: Sequence[int]) -> int | None:
        """The earlier wave whose end the rule makes this wave wait for, if any (the critical path)."""
        return None

    def install_seconds(self) -> int | None:
        """The install time the rule sets, if any."""
        return None

    def vm_earliest(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension], t: int, length: int) -> int | None:
        """The earliest start ``>= t`` of a run of ``length`` on this VM alone that the rule admits (the bound)."""
        return t

    def vm_key(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> object:
        """What :meth:`vm_earliest` reads of a VM: VMs with equal keys get equal answers."""
        return None

    def reason(self, blocker: int | None) -> str:
        """Why a wave the rule delayed starts when it does (the critical path's words)."""
        return self.label()

    def label(self) -> str:
        return f"{type(self.rule).__name__.lower()} {getattr(self.rule, 'name', '?')}"


def vm_zone(rule: Window | Freeze, vm: VM, facts: FleetFacts) -> dt.tzinfo:
    """The zone a window or freeze reads this VM's times in; a VM without a valid zone tag is bad input."""
    try:
        region = facts.regions.get(vm.region)
        return zone_of(rule.zone, rule.zone_tag, vm.tags, rule.zone_region, region.time_zone if region else None)
    except CalendarError as e:
        raise InputError([Diagnostic("E-FLEET", f"VM {vm.name} {e}, which rule {rule.name} reads its times in",
                                     JsonLocation("<fleet>", "$.vms"))]) from None


def selected(facts: FleetFacts, where: Predicate, vm: VM, exts: Sequence[Extension]) -> bool:
    return facts.matches_scheduled(where, vm, exts)


class ZoneKeys:
    """Whether a window or freeze selects a VM (with the extensions being upgraded), and the zone it reads it in,
    computed once per VM and extensions: the calendar asks per wave and again for the bound."""

    def __init__(self, rule: Window | Freeze) -> None:
        self.rule = rule
        self._keys: dict[tuple[str, tuple[str, ...]], dt.tzinfo | None] = {}

    def zone(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> dt.tzinfo | None:
        """The VM's zone for the rule; None when the rule does not select it."""
        key = (vm.name, tuple(e.name for e in exts))
        found = self._keys.get(key, self)
        if found is self:
            found = self._keys[key] = vm_zone(self.rule, vm, facts) if selected(facts, self.rule.where, vm, exts) else None
        return found  # type: ignore[return-value]

"""Counted classes of interchangeable VMs (or of one task unit of such VMs): the unit every planning step works on.

A class holds scheduled VMs that no rule can tell apart (engine.plan.groups builds them).  Normally a class holds
all of its VMs' tasks (``units == 1``).  When a rule forces a VM's tasks into several waves (an order rule reading
``extension.*``, a limit on distinct extensions per wave), the VM's tasks form ``units`` task units, planned in that
order in strictly increasing waves: the class then holds unit ``unit`` of each of its VMs, and ``family`` is the index
of the class holding unit 0 of the same VMs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.model.fleet import Extension

GroupKey = tuple[Any, ...]


@dataclass(frozen=True)
class VMClass:
    index: int
    region: str
    vms: tuple[str, ...]
    family: int = -1  # the class holding unit 0 of these VMs (itself when not split); -1 reads as ``index``
    unit: int = 0
    units: int = 1

    @property
    def count(self) -> int:
        return len(self.vms)

    @property
    def split(self) -> bool:
        return self.units > 1

    @property
    def first(self) -> int:
        """The index of the class holding unit 0 of these VMs."""
        return self.index if self.family < 0 else self.family


@dataclass(frozen=True)
class Layout:
    """What every rule's planner may read of the classes: the classes, the regions with tasks and their geo-pairs."""

    classes: tuple[VMClass, ...]
    regions: tuple[str, ...]  # regions with tasks, sorted
    pairs: tuple[tuple[str, str], ...]  # geo-pairs among regions with tasks, each sorted, list sorted
    unit_exts: Mapping[str, tuple[tuple[Extension, ...], ...]] = field(default_factory=dict)  # split VM -> units


def distinct_vms(classes: list[VMClass]) -> int:
    """How many VMs the classes hold (a split VM's units count once)."""
    seen: set[int] = set()
    n = 0
    for c in classes:
        if c.first not in seen:
            seen.add(c.first)
            n += c.count
    return n

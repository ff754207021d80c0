"""A schedule placed on a fleet: which waves and phases each scheduled VM (and each of its tasks) lies in, and the
questions every rule check asks of it (the scheduled VMs matching a filter, per unit; group sizes; regions per unit).

A VM is *scheduled in* every wave that holds one of its tasks; a filter reading ``extension.*`` selects, per task,
only the waves of the tasks whose extension matches.  A region is in the phases of the waves holding its tasks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from dsl.diagnostics import Span
from dsl.policy import Policy, Predicate, TrueP
from engine.check.report import Violation
from engine.check.semantics import GroupKey, Semantics, uses_extension
from engine.model.fleet import VM, Extension, Fleet
from engine.model.schedule import Schedule, Task


@dataclass(slots=True)
class Placed:
    vm: VM
    waves: list[int] = field(default_factory=list)  # sorted, unique
    tasks: list[tuple[int, Extension | None]] = field(default_factory=list)


class Placement:
    """The schedule on the fleet, with the findings of the check so far (``add`` records a violation)."""

    def __init__(self, policy: Policy, fleet: Fleet, schedule: Schedule) -> None:
        self.policy = policy
        self.fleet = fleet
        self.schedule = schedule
        self.sem = Semantics(fleet)
        self.violations: list[Violation] = []
        self.notes: list[Violation] = []
        self.phase_of_wave: dict[int, int] = {w.index: w.phase for w in schedule.waves}
        self.placed: dict[str, Placed] = {}
        # Every task once, with its VM and extension looked up (None when unknown), in schedule order.
        self.task_refs: list[tuple[int, Task, VM | None, Extension | None]] = []
        self._place()
        self._order = [self.placed[n] for n in sorted(self.placed)]
        self._sizes: dict[tuple[str, Predicate], dict[GroupKey, int]] = {}
        self._region_units: dict[str, dict[str, set[int]]] = {}

    def add(self, rule: str, span: Span | None, message: str, wave: int | None = None, vms: Iterable[str] = (),
            phase: int | None = None) -> None:
        self.violations.append(Violation(rule, span, wave, tuple(sorted(set(vms))), message, phase))

    def note(self, rule: str, span: Span | None, message: str, wave: int | None = None, vms: Iterable[str] = ()) -> None:
        self.notes.append(Violation(rule, span, wave, tuple(sorted(set(vms))), message))

    def _place(self) -> None:
        vms = self.fleet.vm_by_name
        for w in self.schedule.waves:
            for t in w.tasks:
                vm = vms.get(t.vm)
                if vm is None:
                    self.task_refs.append((w.index, t, None, None))
                    continue
                p = self.placed.get(t.vm)
                if p is None:
                    p = self.placed[t.vm] = Placed(vm)
                ext = next((e for e in vm.extensions if e.name == t.extension), None)
                p.tasks.append((w.index, ext))
                self.task_refs.append((w.index, t, vm, ext))
        for p in self.placed.values():
            p.waves = sorted({w for w, _ in p.tasks})

    # -- units -------------------------------------------------------------------------------------------------

    def unit(self, wave: int, within: str) -> int:
        """The unit (a wave's own index, or its phase) that ``within`` counts a wave in."""
        return wave if within == "wave" else self.phase_of_wave.get(wave, -1)

    @staticmethod
    def at(within: str, unit: int) -> tuple[int | None, int | None]:
        """(wave, phase) to report a finding at, for a unit of ``within``."""
        return (unit, None) if within == "wave" else (None, unit)

    def scheduled(self, where: Predicate, within: str) -> Iterator[tuple[VM, list[int]]]:
        """Each scheduled VM matching ``where`` (in name order) with the units it is scheduled in, sorted."""
        per_task = uses_extension(where)
        for p in self._order:
            if isinstance(where, TrueP):
                waves = p.waves
            elif per_task:
                waves = sorted({w for w, e in p.tasks if self.sem.holds(where, p.vm, e)})
            else:
                waves = p.waves if self.sem.holds(where, p.vm) else []
            if waves:
                yield p.vm, sorted({self.unit(w, within) for w in waves})

    def task_units(self, vm: VM, where: Predicate, within: str) -> list[tuple[int, Extension]]:
        """(unit, extension) of each task of the VM that ``where`` selects."""
        return [(self.unit(w, within), e) for w, e in self.placed[vm.name].tasks
                if e is not None and self.sem.matches_task(where, vm, e)]

    # -- groups and regions ------------------------------------------------------------------------------------

    def sizes(self, scope: str, where: Predicate) -> dict[GroupKey, int]:
        """Group sizes of ``scope`` under ``where`` (every fleet VM, scheduled or not), computed once per pair."""
        found = self._sizes.get((scope, where))
        if found is None:
            found = self._sizes[(scope, where)] = self.sem.sizes(scope, where)
        return found

    def members_per_unit(self, of: str, where: Predicate, within: str) -> dict[tuple[GroupKey, int], list[str]]:
        """The scheduled VMs (matching ``where``) of each (group of scope ``of``, unit)."""
        out: dict[tuple[GroupKey, int], list[str]] = defaultdict(list)
        for vm, units in self.scheduled(where, within):
            key = self.sem.group_key(of, vm)
            if key is not None:
                for u in units:
                    out[(key, u)].append(vm.name)
        return out

    def region_units(self, within: str) -> dict[str, set[int]]:
        """The units each region with tasks is scheduled in."""
        found = self._region_units.get(within)
        if found is None:
            found = defaultdict(set)
            for vm, units in self.scheduled(TrueP(), within):
                found[vm.region].update(units)
            self._region_units[within] = found
        return found

    def region_vms(self, region: str, within: str, units: Iterable[int]) -> list[str]:
        """The scheduled VMs of a region in any of ``units``."""
        want = set(units)
        return [vm.name for vm, us in self.scheduled(TrueP(), within) if vm.region == region and want & set(us)]

"""``ExtensionOrder`` at run time (``extension "A" before extension "B" on each vm``): on a VM with due tasks of both,
no install of an extension the rule's ``second`` selects starts before every task of another extension its ``first``
selects succeeded (installed and healthy) on that VM in this run.

Built from the fleet (each VM's extensions, matched by ``engine.model.upgrades.selector_matches``, the model's one
reading of a selector) and the schedule being run (which tasks are due), never from the executor's task order."""

from __future__ import annotations

from collections.abc import Sequence

from dsl.policy import ExtensionOrder
from engine.model.text import selector_text
from engine.model.upgrades import selector_matches
from engine.run.monitors.base import KindMonitor, RunContext, breach, where_text


class ExtensionOrderMonitor(KindMonitor[ExtensionOrder]):
    kind = ExtensionOrder
    tracks_successes = True

    def __init__(self, items: Sequence[ExtensionOrder], run: RunContext) -> None:
        super().__init__(items, run)
        if run.schedule is None:
            raise ValueError("the extension order monitor needs the schedule being run (which tasks are due)")
        due: dict[str, set[str]] = {}
        for w in run.schedule.waves:
            for t in w.tasks:
                due.setdefault(t.vm, set()).add(t.extension)
        vms = self.index.fleet.vm_by_name
        # (VM, extension of a second) -> the extensions of firsts that must have succeeded there, with the rule.
        self._waits: dict[tuple[str, str], list[tuple[str, ExtensionOrder]]] = {}
        for name in sorted(due):
            exts = [e for e in vms[name].extensions if e.name in due[name]]
            for rule in self.items:
                firsts = [e.name for e in exts if selector_matches(rule.first, e)]
                for e in exts:
                    if selector_matches(rule.second, e):
                        waits = [(f, rule) for f in firsts if f != e.name]
                        if waits:
                            self._waits.setdefault((name, e.name), []).extend(waits)
        self._succeeded: set[tuple[str, str]] = set()

    def on_succeeded(self, vm: str, extension: str) -> None:
        self._succeeded.add((vm, extension))

    def on_install(self, vm: str, extension: str, from_version: str, to_version: str) -> None:
        waits = self._waits.get((vm, extension))
        if not waits:
            return
        for first, rule in waits:
            if (vm, first) not in self._succeeded:
                raise breach(f"install of {extension} started on {vm} before {first} succeeded there: "
                             f"{selector_text(rule.first)} must come first (rule {rule.name}{where_text(rule)})")

"""The order of one VM's tasks within a batch under the policy's ``ExtensionOrder`` rules.

A VM's tasks in a batch run one after another.  Without an order rule they run by extension name; with them, in a
stable topological order: every task of an extension a rule's ``first`` selects before every task of another
extension its ``second`` selects, ties by extension name (Kahn's algorithm taking the smallest name available).  The
language refuses cyclic rules; a cycle that still reaches the executor (on the tasks of some VM) is bad input,
refused before the run starts, never a loop.  Selectors are read by ``engine.model.upgrades.selector_matches``, the
model's one reading of a selector.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

from dsl.diagnostics import Diagnostic
from dsl.policy import ExtensionOrder
from engine.model.errors import InputError
from engine.model.fleet import Extension
from engine.model.upgrades import selector_matches

Identity = tuple[str, str, str]  # an extension's name, publisher and type: all a selector reads


@dataclass(frozen=True)
class VmOrder:
    """For a VM's tasks listed by extension name: the positions in run order, and each ordering constraint as
    (position of the second, position of the first, index of the rule)."""

    order: tuple[int, ...]
    after: tuple[tuple[int, int, int], ...]


class TaskOrder:
    """The ``ExtensionOrder`` rules of a policy applied to VMs; VMs with the same extensions share one answer."""

    def __init__(self, rules: Sequence[ExtensionOrder]) -> None:
        self.rules = tuple(rules)
        self._known: dict[tuple[Identity, ...], VmOrder | None] = {}

    def of_vm(self, vm: str, exts: Sequence[Extension]) -> VmOrder | None:
        """The order of the VM's tasks of ``exts`` (sorted by name); None when no rule relates two of them.
        Raises InputError when the rules make a cycle on them."""
        key = tuple((e.name, e.publisher, e.type) for e in exts)
        if key not in self._known:
            self._known[key] = self._order(vm, exts)
        return self._known[key]

    def _order(self, vm: str, exts: Sequence[Extension]) -> VmOrder | None:
        after: list[tuple[int, int, int]] = []
        for r, rule in enumerate(self.rules):
            firsts = [i for i, e in enumerate(exts) if selector_matches(rule.first, e)]
            for s, e in enumerate(exts):
                if selector_matches(rule.second, e):
                    after.extend((s, f, r) for f in firsts if f != s)
        if not after:
            return None
        successors: dict[int, set[int]] = {}
        for s, f, _ in after:
            successors.setdefault(f, set()).add(s)
        waiting = [0] * len(exts)  # distinct firsts each task still waits for
        for targets in successors.values():
            for s in targets:
                waiting[s] += 1
        ready = [i for i in range(len(exts)) if waiting[i] == 0]
        heapq.heapify(ready)  # positions are by extension name: the smallest ready one is the tie-break
        order: list[int] = []
        while ready:
            i = heapq.heappop(ready)
            order.append(i)
            for s in sorted(successors.get(i, ())):
                waiting[s] -= 1
                if waiting[s] == 0:
                    heapq.heappush(ready, s)
        if len(order) < len(exts):
            raise self._cycle(vm, exts, after, {i for i in range(len(exts)) if waiting[i] > 0})
        return VmOrder(tuple(order), tuple(after))

    def _cycle(self, vm: str, exts: Sequence[Extension], after: list[tuple[int, int, int]],
               stuck: set[int]) -> InputError:
        """The error for rules that order some of a VM's tasks in a circle: one cycle, each step with its rule."""
        # Every stuck task waits for a stuck first (a placed one would have been counted off): walking from a stuck
        # task to one it waits for, again and again, closes a cycle.
        waits_for = {s: (f, r) for s, f, r in sorted(after, reverse=True) if s in stuck and f in stuck}
        path: list[int] = []
        node = min(stuck)
        while node not in path:
            path.append(node)
            node = waits_for[node][0]
        cycle = path[path.index(node):][::-1]
        steps = []
        for s in cycle:
            f, r = waits_for[s]
            rule = self.rules[r]
            steps.append(f"{exts[f].name} before {exts[s].name} (rule {rule.name}, {rule.span.render()})")
        first_rule = self.rules[waits_for[cycle[0]][1]]
        return InputError([Diagnostic(
            "E-EXTENSION-ORDER",
            f"the extension order rules make a cycle on VM {vm}: {'; '.join(steps)}; the executor cannot order "
            "these tasks", first_rule.span,
            "drop or narrow one of these rules, so that no extension must come before itself")])

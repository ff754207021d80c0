"""``extension "A" before extension "B" on each vm``: on each VM, every task of an extension matching the first
selector lies in the same wave as, or an earlier wave than, every task of another extension matching the second
(the executor then installs them in that order within the VM, the second only after the first succeeded)."""

from __future__ import annotations

from dsl.policy import ExtensionOrder
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.model.text import selector_text
from engine.model.upgrades import selector_matches


class ExtensionOrderCheck(RuleCheck[ExtensionOrder]):
    kind = ExtensionOrder

    def check(self, rule: ExtensionOrder, at: Placement) -> None:
        for name in sorted(at.placed):
            tasks = [(w, e) for w, e in at.placed[name].tasks if e is not None]
            late = [(w1, e1, w2, e2) for w1, e1 in tasks if selector_matches(rule.first, e1)
                    for w2, e2 in tasks if e2.name != e1.name and selector_matches(rule.second, e2) and w1 > w2]
            if not late:
                continue
            w1, e1, w2, e2 = max(late, key=lambda t: (t[0] - t[2], t[1].name, t[3].name))
            at.add(rule.name, rule.span, f"on VM {name}, {selector_text(rule.first)} ({e1.name}, wave {w1}) must not "
                   f"come after {selector_text(rule.second)} ({e2.name}, wave {w2})", wave=w2, vms=[name])

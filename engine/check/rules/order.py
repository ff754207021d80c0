"""``VMs where A before VMs where B by wave|phase``: every scheduled VM (task, for ``extension.*`` filters) matching A
lies in a strictly earlier unit than every one matching B."""

from __future__ import annotations

from dsl.policy import Order
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.model.text import predicate_text


class OrderCheck(RuleCheck[Order]):
    kind = Order

    def check(self, rule: Order, at: Placement) -> None:
        earlier = list(at.scheduled(rule.earlier, rule.unit))
        later = list(at.scheduled(rule.later, rule.unit))
        if not earlier or not later:
            return
        max_e = max(us[-1] for _, us in earlier)
        min_l = min(us[0] for _, us in later)
        if max_e < min_l:
            return
        bad_e = [vm.name for vm, us in earlier if us[-1] >= min_l]
        bad_l = [vm.name for vm, us in later if us[0] <= max_e]
        wave, phase = at.at(rule.unit, min_l)
        at.add(rule.name, rule.span, f"VMs matching [{predicate_text(rule.earlier)}] must come before VMs matching "
               f"[{predicate_text(rule.later)}], but {len(bad_e)} of them are in {rule.unit} {min_l} or later (up to "
               f"{max_e}) and {len(bad_l)} later VMs are in {rule.unit} {max_e} or earlier (from {min_l})",
               wave=wave, phase=phase, vms=bad_e + bad_l)

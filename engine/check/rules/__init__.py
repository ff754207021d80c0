"""The check of every rule kind, by IR type: ``CHECKS[type(rule)].check(rule, placement)``.

Adding a rule kind: a module here with a :class:`~engine.check.rules.base.RuleCheck` subclass, listed below
(``tests/test_rule_kinds.py`` fails for a kind of the IR that no check handles).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.policy import GATE_KINDS
from engine.check.rules.bake import BakeCheck
from engine.check.rules.base import RuleCheck
from engine.check.rules.canary import CanaryCheck
from engine.check.rules.capacity import CapacityCheck
from engine.check.rules.distinct_limit import DistinctLimitCheck
from engine.check.rules.extension_order import ExtensionOrderCheck
from engine.check.rules.freeze import FreezeCheck
from engine.check.rules.install_time import InstallTimeCheck
from engine.check.rules.not_whole import NotWholeCheck
from engine.check.rules.order import OrderCheck
from engine.check.rules.order_by import OrderByCheck
from engine.check.rules.separate_pairs import SeparatePairsCheck
from engine.check.rules.separate_regions import SeparateRegionsCheck
from engine.check.rules.spread import SpreadCheck
from engine.check.rules.unit_limit import UnitLimitCheck
from engine.check.rules.window import WindowCheck

_ALL: tuple[RuleCheck[Any], ...] = (
    SeparatePairsCheck(),
    SeparateRegionsCheck(),
    DistinctLimitCheck(),
    CapacityCheck(),
    NotWholeCheck(),
    UnitLimitCheck(),
    CanaryCheck(),
    OrderCheck(),
    OrderByCheck(),
    ExtensionOrderCheck(),
    SpreadCheck(),
    InstallTimeCheck(),
    BakeCheck(),
    WindowCheck(),
    FreezeCheck(),
)
CHECKS: Mapping[type, RuleCheck[Any]] = {c.kind: c for c in _ALL}

# Gates are what the executor does, not properties of a schedule: ``wavegate verify`` does not read them.
UNSUPPORTED: Mapping[type, str] = {
    kind: f"{kind.__name__} is a gate: the executor applies it while running (and its monitors re-check it); a "
          "schedule has nothing to check against it" for kind in GATE_KINDS
}

"""The planning of every rule kind, by IR type: ``PLANNERS[type(rule)](rule, index)`` makes a rule's planner.

Adding a rule kind: a module here with a :class:`~engine.plan.kinds.base.PlanKind` subclass, listed below
(``tests/test_rule_kinds.py`` fails for a kind of the IR that the planner neither plans nor refuses, and
:func:`planner_for` refuses, loudly, a rule of a kind it does not know: a rule is never silently unconstrained).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.policy import GATE_KINDS
from engine.model.errors import CheckFailed
from engine.plan.kinds.bake import BakePlan
from engine.plan.kinds.base import PlanKind
from engine.plan.kinds.canary import CanaryPlan
from engine.plan.kinds.capacity import CapacityPlan
from engine.plan.kinds.distinct_limit import DistinctLimitPlan
from engine.plan.kinds.extension_order import ExtensionOrderPlan
from engine.plan.kinds.freeze import FreezePlan
from engine.plan.kinds.install_time import InstallTimePlan
from engine.plan.kinds.not_whole import NotWholePlan
from engine.plan.kinds.order import OrderPlan
from engine.plan.kinds.order_by import OrderByPlan
from engine.plan.kinds.separate_pairs import SeparatePairsPlan
from engine.plan.kinds.separate_regions import SeparateRegionsPlan
from engine.plan.kinds.spread import SpreadPlan
from engine.plan.kinds.timing import TimeKind
from engine.plan.kinds.unit_limit import UnitLimitPlan
from engine.plan.kinds.window import WindowPlan

_ALL: tuple[type[PlanKind[Any, Any]], ...] = (
    SeparatePairsPlan,
    SeparateRegionsPlan,
    DistinctLimitPlan,
    CapacityPlan,
    NotWholePlan,
    UnitLimitPlan,
    CanaryPlan,
    OrderPlan,
    OrderByPlan,
    ExtensionOrderPlan,
    SpreadPlan,
)
PLANNERS: Mapping[type, type[PlanKind[Any, Any]]] = {p.kind: p for p in _ALL}

# Time rules do not shape waves: the calendar (engine.plan.calendar) places the planned waves under them.
_TIME: tuple[type[TimeKind[Any]], ...] = (InstallTimePlan, BakePlan, WindowPlan, FreezePlan)
TIME_PLANNERS: Mapping[type, type[TimeKind[Any]]] = {p.kind: p for p in _TIME}

# Gates are what the executor does while running: a schedule has nothing to place for them.
UNSUPPORTED: Mapping[type, str] = {
    kind: f"{kind.__name__} is a gate: the executor applies it while the rollout runs; the planner ignores it (a "
          "schedule places tasks in waves, a gate decides at run time whether a wave may start)" for kind in GATE_KINDS
}


def planner_for(rule: Any, index: int) -> PlanKind[Any, Any]:
    """The planner of one rule or preference; an IR kind without a planner is an error, never unconstrained."""
    planner = PLANNERS.get(type(rule))
    if planner is None:
        why = UNSUPPORTED.get(type(rule), f"the planner has no module for rule kind {type(rule).__name__}")
        raise CheckFailed(f"internal error: cannot plan rule {getattr(rule, 'name', '?')}: {why}")
    return planner(rule, index)

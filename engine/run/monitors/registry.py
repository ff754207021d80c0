"""The runtime monitor of every kind the executor re-checks while it runs, by IR type, and why the other kinds are
not re-checked at run time (``tests/test_rule_kinds.py`` fails for a kind of the IR listed in neither).

Adding a monitor for a kind: a module here with a :class:`~engine.run.monitors.base.KindMonitor` subclass naming the
kind, listed in ``_ALL`` (the order in which the monitors see a batch start), and the kind removed from
``UNSUPPORTED``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl.policy import (
    Canary,
    HealthWaitGate,
    InstallTime,
    NotWhole,
    Order,
    OrderBy,
    PauseGate,
    PhaseGate,
    RetryGate,
    Spread,
    StopUnhealthyGate,
    UnitLimit,
)
from engine.run.monitors.bake import BakeMonitor
from engine.run.monitors.base import KindMonitor
from engine.run.monitors.capacity import CapacityMonitor
from engine.run.monitors.distinct_limit import DistinctLimitMonitor
from engine.run.monitors.extension_order import ExtensionOrderMonitor
from engine.run.monitors.freeze import FreezeMonitor
from engine.run.monitors.precheck import PrecheckMonitor
from engine.run.monitors.separate_pairs import SeparatePairsMonitor
from engine.run.monitors.separate_regions import SeparateRegionsMonitor
from engine.run.monitors.stop_upgraded import StopUpgradedMonitor
from engine.run.monitors.window import WindowMonitor

_ALL: tuple[type[KindMonitor[Any]], ...] = (
    PrecheckMonitor,
    StopUpgradedMonitor,
    CapacityMonitor,
    DistinctLimitMonitor,
    SeparatePairsMonitor,
    SeparateRegionsMonitor,
    ExtensionOrderMonitor,
    WindowMonitor,
    FreezeMonitor,
    BakeMonitor,
)
MONITORS: Mapping[type, type[KindMonitor[Any]]] = {m.kind: m for m in _ALL}

_ON_THE_SCHEDULE = ("checked on the schedule before the run by the independent checker (wavegate verify); the "
                    "executor runs the schedule's waves as given, so a runtime monitor would re-check nothing new")
UNSUPPORTED: Mapping[type, str] = {
    NotWhole: _ON_THE_SCHEDULE,
    UnitLimit: _ON_THE_SCHEDULE,
    Order: _ON_THE_SCHEDULE,
    OrderBy: _ON_THE_SCHEDULE,
    Canary: _ON_THE_SCHEDULE,
    Spread: "a soft preference of the planner (a cost, not a limit): nothing to enforce at run time",
    HealthWaitGate: "applied by the executor to each install's health watch; not re-checked at run time (the outcome "
                    "is the driver's report; the prover's conformance replay checks that a failed watch rolls back or "
                    "keeps as the policy says)",
    StopUnhealthyGate: "applied by the executor at each batch end; its count (the most VMs of a group unhealthy at "
                       "one instant during the batch) is not re-counted at run time, as the monitors see health only "
                       "at instants: they check that no batch starts in a group once it is stopped (halted groups), "
                       "and the prover's conformance replay checks each stop decision",
    PhaseGate: "applied by the executor before each phase; not re-checked at run time (the monitors do not follow "
               "task outcomes across phases): holding a phase only delays work, and each hold is a phase_held event "
               "naming its holders",
    RetryGate: "applied by the executor at each batch end; not re-checked at run time: a retry wave holds only tasks "
               "of its own wave, so the wave and phase rules stay checked on it",
    InstallTime: "the planner's unit of a wave's length: installs take what the driver reports, so there is nothing "
                 "to enforce at run time (simulate compares the planned finish with the simulated one)",
    PauseGate: "applied by the executor before each batch; not re-checked at run time: a pause only delays a batch, "
               "no availability invariant depends on it",
}

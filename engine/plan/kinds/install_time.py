"""``install takes D`` (InstallTime) in the calendar: the unit of every wave's length."""

from __future__ import annotations

from dsl.policy import InstallTime
from engine.plan.kinds.timing import TimeKind


class InstallTimePlan(TimeKind[InstallTime]):
    kind = InstallTime

    def install_seconds(self) -> int | None:
        return self.rule.duration.seconds

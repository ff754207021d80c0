"""``install takes D`` (InstallTime): every wave lasts at least ``D`` times the most tasks one VM has in it."""

from __future__ import annotations

from dsl.policy import InstallTime
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck
from engine.check.timeline import check_lengths, wave_times


class InstallTimeCheck(RuleCheck[InstallTime]):
    kind = InstallTime

    def check(self, rule: InstallTime, at: Placement) -> None:
        check_lengths(at, wave_times(at), rule.duration.seconds, rule.name, rule.span)

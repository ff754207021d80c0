"""Exhaustiveness: every kind of the IR (rules, preferences, gates, theorem claims) is handled by every stage, or
listed there as unsupported together with the error a user sees.  A new kind that a stage forgets fails here.

Each stage exports ``handled(kind) -> bool`` through its registry and ``UNSUPPORTED: Mapping[type, str]`` (kind ->
the user-visible message); the two never overlap."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

import pytest

from dsl.policy import CLAIM_KINDS, GATE_KINDS, PREFERENCE_KINDS, RULE_KINDS, TIME_KINDS

# stage -> (registry module, the attribute mapping kinds to handlers, the kinds the stage must cover).  Time kinds do
# not shape waves: the planner places the waves under them on the calendar (``TIME_PLANNERS``).
STAGES: dict[str, tuple[str, str, tuple[type, ...]]] = {
    "check": ("engine.check.rules", "CHECKS", (*RULE_KINDS, *PREFERENCE_KINDS, *GATE_KINDS, *TIME_KINDS)),
    "plan": ("engine.plan.kinds", "PLANNERS", (*RULE_KINDS, *PREFERENCE_KINDS, *GATE_KINDS)),
    "plan-calendar": ("engine.plan.kinds", "TIME_PLANNERS", TIME_KINDS),
    "run": ("engine.run.monitors", "MONITORS", (*RULE_KINDS, *PREFERENCE_KINDS, *GATE_KINDS, *TIME_KINDS)),
    "prove": ("engine.prove.kinds", "CLAIMS", CLAIM_KINDS),
}


def _registry(stage: str) -> tuple[Mapping[type, object], Mapping[type, str], tuple[type, ...]]:
    module_name, attr, kinds = STAGES[stage]
    module = importlib.import_module(module_name)
    unsupported = {} if attr == "TIME_PLANNERS" else getattr(module, "UNSUPPORTED", {})
    return getattr(module, attr), unsupported, kinds


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_every_kind_is_handled_or_refused_with_a_message(stage: str) -> None:
    handlers, unsupported, kinds = _registry(stage)
    missing = [k.__name__ for k in kinds if k not in handlers and k not in unsupported]
    assert not missing, f"stage {stage} neither handles nor refuses: {', '.join(missing)}"
    both = [k.__name__ for k in handlers if k in unsupported]
    assert not both, f"stage {stage} both handles and refuses: {', '.join(both)}"
    empty = [k.__name__ for k, msg in unsupported.items() if not msg.strip()]
    assert not empty, f"stage {stage} refuses without a message: {', '.join(empty)}"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_each_handler_names_the_kind_it_is_registered_under(stage: str) -> None:
    handlers, _, _ = _registry(stage)
    for kind, handler in handlers.items():
        assert getattr(handler, "kind", kind) is kind, (stage, kind, handler)


def test_claim_kinds_cover_rules_gates_and_version_claims() -> None:
    assert set(CLAIM_KINDS) >= set(RULE_KINDS) | set(GATE_KINDS)


def test_the_planner_refuses_a_rule_kind_it_does_not_know() -> None:
    """A rule kind without a planner fails loudly instead of being silently unconstrained."""
    from dataclasses import dataclass

    from dsl.diagnostics import Span
    from dsl.policy import RuleBase
    from engine.model.errors import CheckFailed
    from engine.plan.kinds import planner_for

    @dataclass(frozen=True)
    class NewKind(RuleBase):
        pass

    with pytest.raises(CheckFailed, match="NewKind"):
        planner_for(NewKind("fresh", Span("x.wg", 1, 1, 1, 2)), 0)

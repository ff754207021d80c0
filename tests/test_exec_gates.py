"""The pure gate functions: exact "more than N%" arithmetic and the unblock hints."""

from __future__ import annotations

from fractions import Fraction

from exec_support import CAP20, span
from hypothesis import given
from hypothesis import strategies as st

from dsl.policy import (
    Duration,
    HealthWaitGate,
    Percent,
    PrecheckGate,
    RetryGate,
    StopUnhealthyGate,
    StopUpgradedGate,
)
from engine.run import gates


def test_precheck_is_more_than_the_cap_not_at_least() -> None:
    g = PrecheckGate("precheck", span(1), cap=CAP20)
    assert gates.may_start_batch(10, 2, g)  # 20% is not more than 20%
    assert not gates.may_start_batch(10, 3, g)
    assert not gates.may_start_batch(2, 1, g)  # the 2-VM set: 50%
    assert gates.may_start_batch(5, 1, g)
    assert gates.may_start_batch(0, 0, g)  # an empty group never blocks


def test_stop_gates() -> None:
    up = StopUpgradedGate("stop_upgraded", span(2), cap=CAP20)
    assert gates.upgraded_breach(2, 2, up)
    assert not gates.upgraded_breach(5, 1, up)
    assert gates.upgraded_breach(4, 1, up)  # 25%
    assert not gates.upgraded_breach(0, 0, up)
    un = StopUnhealthyGate("stop_unhealthy", span(3), cap=CAP20)
    assert gates.set_breach(10, 3, un) and not gates.set_breach(10, 2, un)


def test_exact_rationals_at_a_third() -> None:
    g = PrecheckGate("p", span(1), cap=Percent(Fraction(100, 3)))
    assert gates.may_start_batch(3, 1, g)  # exactly 1/3 is not more than 33.33...%
    assert not gates.may_start_batch(299, 100, g)


def test_health_outcome_and_retry() -> None:
    assert gates.health_outcome(True, None) == "ok"
    assert gates.health_outcome(False, HealthWaitGate("h", span(1))) == "rollback"
    assert gates.health_outcome(False, HealthWaitGate("h", span(1), on_timeout="keep")) == "keep"
    r = RetryGate("retry", span(1), after=Duration(60), max_attempts=2)
    assert gates.may_retry(1, r, None) and gates.may_retry(2, r, None) and not gates.may_retry(3, r, None)
    assert not gates.may_retry(1, r, 0)  # --max-retries 0
    assert not gates.may_retry(1, None, 5)  # no retry gate, no retries


def test_major_versions() -> None:
    assert gates.install_allowed("9.5", "9.10", False)
    assert not gates.install_allowed("9.5", "10.0", False)
    assert gates.install_allowed("9.5", "10.0", True)


@given(st.integers(0, 200), st.integers(1, 200), st.fractions(0, 100))
def test_unblock_hints_are_exact(part: int, whole: int, value: Fraction) -> None:
    part = min(part, whole)
    cap = Percent(value)
    need = gates.unblocking_cap(part, whole)
    # Raising the cap to the hint always unblocks, and any lower cap still blocks (when it blocks at all).
    assert not Percent(need).exceeded_by(part, whole)
    if part:
        assert Percent(need - Fraction(1, 10**6)).exceeded_by(part, whole)
    k = gates.repairs_needed(part, whole, cap)
    assert not cap.exceeded_by(part - k, whole)
    if k:
        assert cap.exceeded_by(part - k + 1, whole)


def test_gate_fns_default_to_the_real_functions() -> None:
    assert gates.REAL_GATES.may_start_batch is gates.may_start_batch
    assert gates.REAL_GATES.install_allowed is gates.install_allowed
    assert gates.percent_text(Fraction(50)) == "50%" and gates.percent_text(Fraction(100, 3)) == "33.33%"


@given(st.from_regex(r"\d{1,3}(\.\d{1,3}){0,3}", fullmatch=True), st.from_regex(r"\d{1,3}(\.\d{1,3}){0,3}", fullmatch=True))
def test_fast_major_check_agrees_with_parse_version(a: str, b: str) -> None:
    from dsl.versions import major

    assert gates.install_allowed(a, b, False) == (major(a) == major(b))


def test_fast_group_keys_agree_with_engine_groups() -> None:
    from exec_support import fleet

    from dsl.policy import GROUP_KEY
    from engine.plan.reading import FleetFacts
    from engine.run.monitors import key_getter, value_getter

    fl = fleet({"a": 7, "b": 3}, singles=3, zones=True, regions=("eastus", "westus"))
    data = fl.model_dump()
    data["vms"][0]["update_domain"] = None
    data["vms"][1]["zone"] = None
    from engine.model.fleet import Fleet

    fl = Fleet.model_validate(data)
    group_key, count_value = FleetFacts(fl).group_key, FleetFacts(fl).count_value
    for scope in [s for s in GROUP_KEY if s != "geography"]:  # WIP(run stage): geography reads the region table
        get, val = key_getter(scope), value_getter(scope)
        for vm in fl.vms:
            assert get(vm) == group_key(scope, vm), (scope, vm.name)
            assert val(vm) == count_value(scope, vm), (scope, vm.name)

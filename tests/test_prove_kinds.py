"""The prove stage's claim kinds on the two new IR kinds: the geography scope (containment, membership, shared
attributes, witnesses that set Region.geography) and extension order on each VM.  Every refutation is re-checked
here with the checker, under the spec and under the claim."""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from dsl.diagnostics import Span
from dsl.loader import load_policy
from dsl.policy import (
    And,
    Attr,
    Capacity,
    Compare,
    Count,
    DistinctLimit,
    ExtensionOrder,
    ExtensionSelector,
    Or,
    Policy,
    Rule,
    UnitLimit,
)
from engine.check.verify import verify_schedule
from engine.model.fleet import parse_fleet
from engine.model.schedule import parse_schedule
from engine.prove.prover import claim_policy, prove_claim
from engine.prove.results import Outcome

ROOT = Path(__file__).resolve().parent.parent
SPAN = Span("t.wg", 1, 1, 1, 2)
REGIONS_PER_GEOGRAPHY = DistinctLimit("g2", SPAN, limit=2, count="region", per="geography", within="phase")
PER_GEOGRAPHY = Capacity("c10", SPAN, amount=Count(10), of="geography", within="wave")
PHASES_PER_GEOGRAPHY = UnitLimit("u1", SPAN, limit=1, unit="phase", per="geography")
IN_EUROPE = Capacity("eu", SPAN, amount=Count(1), of="scale_set", within="wave",
                     where=Compare("==", Attr(("region", "geography")), "Europe"))
AMA_BEFORE_DA = ExtensionOrder("eo", SPAN, first=ExtensionSelector(type="AzureMonitorLinuxAgent"),
                               second=ExtensionSelector(type="DependencyAgentLinux"))


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy(ROOT / "specs" / "azure-default.wg", ROOT)


def _with(spec: Policy, *rules: Rule) -> Policy:
    return replace(spec, rules=(*spec.rules, *rules))


def _replayed(spec: Policy, claim: Rule, out: Outcome) -> dict:
    """The refutation's fleet, after checking that it passes the spec and breaks the claim."""
    assert out.status == "refuted", out.message
    cex = out.counterexample
    assert cex is not None and cex.schedule is not None
    fleet, schedule = parse_fleet(cex.fleet), parse_schedule(cex.schedule)
    assert verify_schedule(spec, fleet, schedule).ok
    assert not verify_schedule(claim_policy(spec, claim), fleet, schedule).ok
    return cex.fleet


@pytest.mark.parametrize("claim", [REGIONS_PER_GEOGRAPHY, PER_GEOGRAPHY, PHASES_PER_GEOGRAPHY, IN_EUROPE],
                         ids=["regions-per-geography", "vms-per-geography", "phases-per-geography", "where-geography"])
def test_a_geography_claim_is_refuted_by_a_fleet_that_names_its_geographies(default: Policy, claim: Rule) -> None:
    fleet = _replayed(default, claim, prove_claim(default, claim, 20.0))
    # The checker reads the geography from the fleet's region entries (the witness regions are not Azure regions).
    assert all(r.get("geography") for r in fleet["regions"]), fleet["regions"]


@pytest.mark.parametrize("claim", [REGIONS_PER_GEOGRAPHY, PER_GEOGRAPHY, PHASES_PER_GEOGRAPHY, IN_EUROPE],
                         ids=["regions-per-geography", "vms-per-geography", "phases-per-geography", "where-geography"])
def test_a_geography_claim_is_proven_from_the_same_rule(default: Policy, claim: Rule) -> None:
    out = prove_claim(_with(default, replace(claim, name="rule")), claim, 20.0)
    assert out.status == "proven", out.message
    assert "rule" in out.involved


@pytest.mark.parametrize("claim", [
    Capacity("r1", SPAN, amount=Count(1), of="region", within="wave"),
    Capacity("s1", SPAN, amount=Count(1), of="scale_set", within="wave"),
    UnitLimit("w1", SPAN, limit=1, unit="wave", per="region"),
    DistinctLimit("z1", SPAN, limit=1, count="zone", per="region", within="wave"),
], ids=["vms-per-region", "vms-per-scale-set", "waves-per-region", "zones-per-region"])
def test_a_geography_rule_does_not_bind_regions_without_a_geography(default: Policy, claim: Rule) -> None:
    """A region with no known geography is in no geography group: a geography rule says nothing about it."""
    geo_rule: Rule = (replace(claim, name="geo", of="geography") if isinstance(claim, Capacity)
                      else replace(claim, name="geo", per="geography"))
    spec = _with(replace(default, rules=tuple(r for r in default.rules if r.name != "one_zone")), geo_rule)
    fleet = _replayed(spec, claim, prove_claim(spec, claim, 20.0))
    assert not any(r.get("geography") for r in fleet["regions"])


def test_a_geography_rule_binds_the_regions_inside_a_geography(default: Policy) -> None:
    """Proven when the claim only speaks about regions with a known geography."""
    in_europe = Compare("==", Attr(("region", "geography")), "Europe")
    claim = Capacity("r1", SPAN, amount=Count(1), of="region", within="wave", where=in_europe)
    spec = _with(default, Capacity("geo", SPAN, amount=Count(1), of="geography", within="wave"))
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "proven", out.message


def test_extension_order_is_refuted_by_one_vm_with_both_extensions(default: Policy) -> None:
    out = prove_claim(default, AMA_BEFORE_DA, 20.0)
    fleet = _replayed(default, AMA_BEFORE_DA, out)
    [vm] = fleet["vms"]
    assert [e["type"] for e in vm["extensions"]] == ["AzureMonitorLinuxAgent", "DependencyAgentLinux"]
    waves = out.counterexample.schedule["waves"]  # type: ignore[union-attr]
    assert [[t["extension"] for t in w["tasks"]] for w in waves] == [["second"], ["first"]]


def test_extension_order_is_proven_from_a_rule_with_the_same_selectors(default: Policy) -> None:
    out = prove_claim(_with(default, replace(AMA_BEFORE_DA, name="ext_order")), AMA_BEFORE_DA, 20.0)
    assert out.status == "proven" and out.involved == ("ext_order",)
    assert "wave order" in out.message and "run stage" in out.message  # what the proof covers, and what not


def test_extension_order_is_not_proven_from_a_rule_with_other_selectors(default: Policy) -> None:
    other = replace(AMA_BEFORE_DA, name="other", first=ExtensionSelector(name="ama"))
    spec = _with(default, other)
    _replayed(spec, AMA_BEFORE_DA, prove_claim(spec, AMA_BEFORE_DA, 20.0))


def test_extension_order_without_a_witness_is_unknown(default: Policy) -> None:
    same_name = ExtensionOrder("eo", SPAN, first=ExtensionSelector(name="x"), second=ExtensionSelector(name="x"))
    out = prove_claim(default, same_name, 20.0)
    assert out.status == "unknown", out.message


# ----------------------------------------------------------------------------------------------------------------
# Drifts of the prover's filter reading found by tests/test_semantics_differential.py, as whole proofs


def _tag(key: str, op: str, value: object) -> Compare:
    return Compare(op, Attr(("vm", "tags", key)), value)  # type: ignore[arg-type]


def test_a_tag_compared_with_a_number_reads_as_a_number(default: Policy) -> None:
    """`vm.tags.ring == 7` holds for a VM tagged "7" (the checker reads both as numbers).  The prover read it as
    never true, so this false claim came back vacuous, and a claim depending on its negation proven."""
    ring7 = Capacity("c", SPAN, amount=Count(1), of="scale_set", within="wave", where=_tag("ring", "==", 7))
    fleet = _replayed(default, ring7, prove_claim(default, ring7, 20.0))
    assert {vm["tags"]["ring"] for vm in fleet["vms"] if vm.get("tags")} == {"7"}
    no_dev = Capacity("A", SPAN, amount=Count(0), of="fleet", within="wave",
                      where=And((_tag("ring", "!=", 7), _tag("env", "==", "dev"))))
    one_prod = Capacity("B", SPAN, amount=Count(1), of="fleet", within="wave", where=_tag("env", "==", "prod"))
    claim = Capacity("C", SPAN, amount=Count(1), of="fleet", within="wave",
                     where=Or((_tag("env", "==", "dev"), _tag("env", "==", "prod"))))
    spec = _with(default, no_dev, one_prod)
    _replayed(spec, claim, prove_claim(spec, claim, 20.0))  # was: proven


def test_a_size_against_a_fraction_is_a_comparison_not_a_crash(default: Policy) -> None:
    claim = Capacity("c", SPAN, amount=Count(1), of="scale_set", within="wave",
                     where=Compare("<", Attr(("scale_set", "size")), Fraction(5, 2)))
    out = prove_claim(default, claim, 20.0)  # was: an internal error (z3: invalid rational value as an integer)
    assert out.status == "proven", out.message  # sets of 1 or 2 VMs: the 20% batch rule allows 1 VM per wave

"""Every "proven" is re-checked without trusting Z3: a plain-Python implication certificate
(``engine.prove.certificate``) or a second solver (cvc5, ``engine.prove.recheck``); else it is unknown."""

from __future__ import annotations

import itertools
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from dsl.diagnostics import Span
from dsl.loader import load_policy, load_theorems
from dsl.policy import (
    And,
    Attr,
    Capacity,
    Compare,
    Count,
    DistinctLimit,
    HasTag,
    Not,
    NotWhole,
    Percent,
    Policy,
    TrueP,
)
from engine.prove.certificate import at_most, certify
from engine.prove.kinds import base
from engine.prove.prover import prove_claim

ROOT = Path(__file__).resolve().parent.parent
SPAN = Span("t.wg", 1, 1, 1, 2)
AMOUNTS = [Count(1), Count(3), *[Percent(Fraction(v), r, m) for v in (10, 20, 34, 50)
                                 for r in ("floor", "ceil") for m in (0, 1, 2)]]


@pytest.mark.parametrize("lo", [1, 5, 10])
def test_the_bound_comparison_agrees_with_brute_force(lo: int) -> None:
    """The horizon argument: the exact check up to the horizon gives the answer on every size up to 3,000."""
    for rule, claim in itertools.product(AMOUNTS, AMOUNTS):
        brute = all(rule.of(n) <= claim.of(n) for n in range(lo, 3000))
        assert at_most(rule, claim, lo) == brute, (rule, claim, lo)


@pytest.mark.parametrize("name", ["azure-default.wg", "team-strict.wg", "ring-ordered.wg"])
def test_every_bundled_theorem_has_a_certificate(name: str) -> None:
    theorems = load_theorems(ROOT / "proofs" / name, ROOT)
    spec = load_policy(ROOT / "specs" / name, ROOT)
    for t in theorems.theorems:
        assert t.claim is not None and certify(spec, t.claim) is not None, t.name


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy(ROOT / "specs" / "azure-default.wg", ROOT)


def test_a_proof_without_certificate_is_rechecked_by_cvc5(default: Policy) -> None:
    """Never whole from a 50% cap: Z3 proves it, no single rule of the same kind implies it, cvc5 confirms."""
    spec = replace(default, rules=(Capacity("half", SPAN, amount=Percent(Fraction(50), "floor", 1),
                                            of="availability_set"),))
    claim = NotWhole("t", SPAN, of="availability_set", within="wave", min_size=2)
    assert certify(spec, claim) is None
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "proven" and "cvc5" in out.rechecked, out.message


def test_without_an_independent_check_proven_becomes_unknown(default: Policy,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    spec = replace(default, rules=(Capacity("half", SPAN, amount=Percent(Fraction(50), "floor", 1),
                                            of="availability_set"),))
    claim = NotWhole("t", SPAN, of="availability_set", within="wave", min_size=2)
    monkeypatch.setattr(base, "recheck_unsat", lambda assertions, deadline: False)
    out = prove_claim(spec, claim, 20.0)
    assert out.status == "unknown" and "independent" in out.message


def test_completeness_examples_are_proven_and_certified(default: Policy) -> None:
    """Issue 10's completeness cases: a claim identical to a spec rule with a 4-atom filter, and two counts the
    group's key determines."""
    where = And((Compare("==", Attr(("vm", "region")), "eastus"), HasTag("ring"),
                 Compare(">=", Attr(("vm", "update_domain")), 1), Not(Compare("==", Attr(("vm", "zone")), "2"))))
    rule = Capacity("four", SPAN, amount=Percent(Fraction(10), "floor", 1), of="scale_set", where=where)
    spec = replace(default, rules=(*default.rules, rule))
    for claim in (replace(rule, name="t"),
                  DistinctLimit("t", SPAN, limit=1, count="region", per="zone", within="wave"),
                  DistinctLimit("t", SPAN, limit=1, count="scale_set", per="update_domain", within="wave")):
        out = prove_claim(spec, claim, 20.0)
        assert out.status == "proven", (claim, out.message)
        assert out.rechecked.startswith("certificate"), out.rechecked


def test_a_count_rule_on_a_containing_group_certifies(default: Policy) -> None:
    spec = replace(default, rules=(Capacity("fleet", SPAN, amount=Count(2), of="fleet", where=TrueP()),))
    assert certify(spec, Capacity("t", SPAN, amount=Percent(Fraction(10), "floor", 2), of="zone")) is not None
    assert certify(spec, Capacity("t", SPAN, amount=Percent(Fraction(10), "floor", 1), of="zone")) is None

"""The language's newest forms, generated (hypothesis): extension order on each VM and the geography scope.

Grammar-wide generation (tests/test_dsl_format.py) rarely writes these forms, so they are generated here from their
own pieces, with random spacing, comments and wrong words: every text checks to a policy or to diagnostics, formats
back to the same tree, and a policy is accepted exactly when its extension orders have no cycle (an independent
depth-first reading of the checked rules).
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_dsl_format import outcome_holds, roundtrip_holds

from dsl import policy as ir
from dsl.loader import check_source

CORPUS = Path(__file__).parent / "corpus"
# Few types and mostly bare selectors, so that cycles (and selectors before themselves) are common.
TYPES = st.sampled_from(['"A"', '"B"', '"C"'])
FIELD = st.tuples(st.sampled_from(["publisher", "type", "name"]), TYPES).map(" ".join)
FIELDS = st.lists(FIELD, min_size=1, max_size=3).map(" ".join)
SELECTOR = st.one_of(TYPES, TYPES, TYPES, FIELDS).map("extension {}".format)
SPACE = st.sampled_from([" ", "  ", "\n  ", "  # c\n  "])
NOUN = st.sampled_from(["vm"] * 12 + ["VMs", "vn", "region"])
EXT_ORDER = st.builds("{}{}before{}{}{}on each {}".format, SELECTOR, SPACE, SPACE, SELECTOR, SPACE, NOUN)

COUNTED = st.sampled_from(["region", "regions", "geography", "geographies", "zone", "VMs", "geogrpahy"])
SCOPE = st.sampled_from(["geography", "geographies", "region", "zone", "scale_set", "fleet"])
GEO = st.sampled_from(['"Europe"', '"United States"', '"Eurpoe"', '["Japan", "Korea"]', "5"])
WHERE = st.one_of(st.just(""), st.builds(" where region.geography {} {}".format, st.sampled_from(["==", "!=", "in"]), GEO))
GEO_LIMIT = st.tuples(st.integers(0, 3), COUNTED, SCOPE, st.sampled_from(["wave", "phase"]), WHERE)
SINGULAR = {"regions": "region", "geographies": "geography", "VMs": "vm"}


def policy_text(bodies: list[str]) -> str:
    return "policy p\n" + "".join(f"rule r{i}: {b}\n" for i, b in enumerate(bodies))


def has_cycle(orders: list[ir.ExtensionOrder]) -> bool:
    after: dict[ir.ExtensionSelector, set[ir.ExtensionSelector]] = {}
    for o in orders:
        after.setdefault(o.first, set()).add(o.second)

    def reaches(a: ir.ExtensionSelector, goal: ir.ExtensionSelector, seen: set[ir.ExtensionSelector]) -> bool:
        return any(b == goal or (b not in seen and reaches(b, goal, seen | {b})) for b in after.get(a, ()))

    return any(reaches(o.second, o.first, {o.second}) for o in orders)


SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@SETTINGS
@given(st.lists(EXT_ORDER, min_size=2, max_size=6))
def test_extension_orders_check_roundtrip_and_refuse_exactly_the_cycles(bodies: list[str]) -> None:
    text = policy_text(bodies)
    res = check_source(text, "gen.wg", "/nonexistent-root")
    outcome_holds(res)
    roundtrip_holds(text)
    if res.policy is not None:
        orders = [r for r in res.policy.rules if isinstance(r, ir.ExtensionOrder)]
        assert len(orders) == len(bodies) and not has_cycle(orders)
    cycles = [d for d in res.diagnostics if d.code == "E222" and "cycle" in d.message]
    if not any(d.is_error for d in res.diagnostics if d not in cycles):
        # Every other rule is fine, so the policy fails exactly when the (checked) orders have a cycle.
        assert bool(cycles) == (res.policy is None)
        # The same statements as claims are not merged rules: no cycle check, each claim is its order's IR.
        claims = text.replace("policy p", 'theorems about "../lib/base.wg"').replace("rule ", "theorem ")
        theorems = check_source(claims, str(CORPUS / "valid" / "gen.wg"), CORPUS).theorems
        assert theorems is not None
        assert all(isinstance(t.claim, ir.ExtensionOrder) for t in theorems.theorems)


@SETTINGS
@given(st.lists(GEO_LIMIT, min_size=1, max_size=3))
def test_geography_limits_check_and_roundtrip(limits: list[tuple[int, str, str, str, str]]) -> None:
    text = policy_text([f"at most {n} {counted} per {scope} per {unit}{where}" for n, counted, scope, unit, where in limits])
    res = check_source(text, "gen.wg", "/nonexistent-root")
    outcome_holds(res)
    roundtrip_holds(text)
    for d in res.diagnostics:
        if d.code == "W307":
            assert "Eurpoe" in d.message and d.hint == "did you mean `Europe`?"
        if d.code == "E205":
            assert "geogrpahy" in d.message and d.hint == "did you mean `geography`?"
    if res.policy is None:
        return
    for rule, (n, counted, scope, _, _) in zip(res.policy.rules, limits, strict=True):
        per = SINGULAR.get(scope, scope)
        if counted == "VMs":
            assert rule == ir.Capacity(rule.name, rule.span, amount=ir.Count(n), of=per, within=rule.within,
                                       where=rule.where)
        else:
            assert isinstance(rule, ir.DistinctLimit) and (rule.limit, rule.count, rule.per) == (
                n, SINGULAR.get(counted, counted), per)

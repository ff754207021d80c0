"""Implication certificates: a "proven" re-derived in plain Python, without Z3 and without the symbolic encodings.

:func:`certify` looks for one spec rule or gate that implies the claim by itself, and gives the derivation as text,
or None.  The argument is the language's semantics read directly, never a solver:

* **the same kind of obligation, on a group containing the claim's**: the containment table
  (:mod:`engine.prove.containment`, tested against the checker's grouping) says each group of the claim's scope lies
  in one group of the rule's, unconditionally; a rule about each unit U binds the claim's unit when a unit of the
  claim lies in one of U (a wave in its phase); the rule's filter is the claim's, or selects every VM where that only
  strengthens the rule's bound;
* **a bound comparison** decided exactly: ``amount.of(n)`` (the checker's own rounding) is compared on every group
  size ``n`` the claim can meet up to a horizon past which the comparison is settled — for a smaller percentage by
  its slope (``ceil(a n) < a n + 1 <= b n - 1 < floor(b n)`` once ``n >= 200 / (b - a)``), for an equal one by
  periodicity (past the minimums the difference depends on ``n`` modulo the percentage's denominator);
* **facts of the fleet format** the checker enforces: the counted value of a scope whose key the group's key
  determines is one value per group; a group inside one region lies in one phase;
* **the executor's gates**: a gate of the claim's kind on groups that are the claim's groups (the executor applies a
  gate before or after every batch of every group of its scope), at least as strict.

Every certificate names the spec item it rests on.  A claim with no certificate keeps Z3's answer only if a second,
independent solver confirms the same query (:func:`engine.model.solver.recheck_unsat`), else it is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

from dsl.policy import (
    GROUP_KEY,
    And,
    Attr,
    Canary,
    Capacity,
    Compare,
    Count,
    DistinctLimit,
    ExtensionOrder,
    Gate,
    HealthWaitGate,
    NotWhole,
    Order,
    OrderBy,
    PauseGate,
    Percent,
    PhaseGate,
    Policy,
    PrecheckGate,
    Predicate,
    RetryGate,
    Rule,
    SeparatePairs,
    SeparateRegions,
    StopUnhealthyGate,
    StopUpgradedGate,
    TrueP,
    UnitLimit,
    VersionClaim,
)
from engine.prove.containment import IN_ONE_REGION, closure, relation, same_groups_everywhere, unit_covers

Amount = Count | Percent
HORIZON_CAP = 100_000  # sizes checked one by one at most (beyond, no certificate: the claim keeps Z3's check)
BATCH_SCOPES = frozenset({"scale_set", "availability_set", "set"})


def _slope(a: Amount) -> Fraction:
    return Fraction(0) if isinstance(a, Count) else Fraction(a.value) / 100


def _minimum(a: Amount) -> int:
    return a.n if isinstance(a, Count) else a.minimum


def _period(a: Amount) -> int:
    return 1 if isinstance(a, Count) else (Fraction(a.value) / 100).denominator


def at_most(rule: Amount, claim: Amount, lo: int = 1, hi: int | None = None) -> bool:
    """``rule.of(n) <= claim.of(n)`` for every size ``lo <= n (<= hi)``, decided exactly (see the module docstring):
    sizes are checked one by one up to a horizon past which the answer cannot change."""
    if hi is None:
        a, b = _slope(rule), _slope(claim)
        if a > b:
            return False  # the rule's bound outgrows the claim's
        top = max(_minimum(rule), _minimum(claim)) + 1
        if a < b:  # past max(2 / (b - a), (min + 1) / b): ceil(a n) < a n + 1 <= b n - 1 < floor(b n), min <= floor(b n)
            hi = max(lo, math.ceil(2 / (b - a)), math.ceil(top / b)) + 1
        elif a == 0:
            hi = lo  # two constants
        else:  # equal slopes: past the minimums the two differ by the rounding only, periodic in n
            hi = max(lo, math.ceil(top / a)) + max(_period(rule), _period(claim)) + 1
    if hi - lo > HORIZON_CAP:
        return False
    return all(rule.of(n) <= claim.of(n) for n in range(lo, hi + 1))


def _size_bounds(where: Predicate, scope: str) -> tuple[Predicate, int, int | None] | None:
    """A claim filter as (the rest, lo, hi): its conjuncts ``<scope>.size op k`` on a set scope bound the group's
    size (every VM of a set shares its size, so such a filter keeps a whole set or none); None when malformed."""
    items = where.items if isinstance(where, And) else (where,)
    lo, hi = 1, None
    rest: list[Predicate] = []
    for p in items:
        if (scope in ("scale_set", "availability_set") and isinstance(p, Compare)
                and p.left == Attr((scope, "size")) and isinstance(p.right, int) and not isinstance(p.right, bool)):
            k = p.right
            if p.op == ">=":
                lo = max(lo, k)
            elif p.op == ">":
                lo = max(lo, k + 1)
            elif p.op == "<=":
                hi = k if hi is None else min(hi, k)
            elif p.op == "<":
                hi = k - 1 if hi is None else min(hi, k - 1)
            elif p.op == "==":
                lo, hi = max(lo, k), k if hi is None else min(hi, k)
            else:
                rest.append(p)
        else:
            rest.append(p)
    rest_p: Predicate = TrueP() if not rest else rest[0] if len(rest) == 1 else And(tuple(rest))
    return rest_p, lo, hi


def _capacity(spec: Policy, c: Capacity) -> str | None:
    bounds = _size_bounds(c.where, c.of)
    for r in spec.rules:
        if not isinstance(r, Capacity) or not unit_covers(r.within, c.within):
            continue
        rel = relation(r.of, c.of)
        if not rel.inside or rel.guard:
            continue
        if rel.same and r.where == c.where and at_most(r.amount, c.amount):
            return f"{r.name} bounds the same group, filter and unit at least as tightly"
        if rel.same and bounds is not None and bounds[0] == r.where and r.where == TrueP() and (
                bounds[2] is None or bounds[1] <= bounds[2]) and at_most(r.amount, c.amount, bounds[1], bounds[2]):
            return (f"{r.name} bounds every set of {bounds[1]}{'' if bounds[2] is None else f' to {bounds[2]}'} VMs "
                    "at least as tightly (the claim's filter keeps whole sets of those sizes)")
        if isinstance(r.amount, Count) and r.where in (TrueP(), c.where) and r.amount.n <= _minimum(c.amount):
            return (f"{r.name} allows at most {r.amount.n} VMs of a group containing the claim's in its unit, "
                    f"and the claim allows at least {_minimum(c.amount)}")
    return None


def _not_whole(spec: Policy, c: NotWhole) -> str | None:
    for r in spec.rules:
        rel = relation(r.of, c.of) if isinstance(r, NotWhole) else None
        if isinstance(r, NotWhole) and rel is not None and rel.same and not rel.guard and r.where == c.where and (
                unit_covers(r.within, c.within) and max(r.min_size, 1) <= max(c.min_size, 1)):
            return f"{r.name} keeps the same groups from being whole in a unit, from a smaller size on"
    return None


def _distinct(spec: Policy, c: DistinctLimit) -> str | None:
    if c.count in GROUP_KEY and set(GROUP_KEY[c.count]) <= closure(GROUP_KEY[c.per]) and c.limit >= 1:
        return (f"the key of a {c.per.replace('_', ' ')} determines its {c.count.replace('_', ' ')}: each group "
                "shows one value")
    for r in spec.rules:
        if not isinstance(r, DistinctLimit) or r.count != c.count or not unit_covers(r.within, c.within):
            continue
        rel = relation(r.per, c.per)
        if rel.inside and not rel.guard and r.where in (TrueP(), c.where) and r.limit <= c.limit:
            return f"{r.name} limits the same count over a group containing the claim's, at least as tightly"
    return None


def _unit_limit(spec: Policy, c: UnitLimit) -> str | None:
    if c.unit == "phase" and c.per in IN_ONE_REGION and c.limit >= 1:
        return "a group inside one region lies in one phase (the schedule format: a region is in one phase)"
    for r in spec.rules:
        if not isinstance(r, UnitLimit) or not (r.unit == c.unit or (r.unit == "wave" and c.unit == "phase")):
            continue
        rel = relation(r.per, c.per)
        if rel.inside and not rel.guard and r.where in (TrueP(), c.where) and r.limit <= c.limit:
            return f"{r.name} limits the units of a group containing the claim's at least as tightly"
    return None


def _separation(spec: Policy, c: SeparatePairs | SeparateRegions) -> str | None:
    if isinstance(c, SeparatePairs):
        for r in spec.rules:
            if isinstance(r, SeparatePairs) and unit_covers(r.within, c.within):
                return f"{r.name} keeps geo-paired regions apart in a unit containing the claim's"
        return None
    pairs = {frozenset((a, b)) for a in c.regions for b in c.regions if a != b}
    covering = [r for r in spec.rules if isinstance(r, SeparateRegions) and unit_covers(r.within, c.within)]
    for pair in pairs:
        if not any(pair <= set(r.regions) for r in covering):
            return None
    return f"{', '.join(r.name for r in covering)} keep every two of the regions apart" if pairs else (
        "fewer than two regions: nothing to keep apart")


def _same_rule(spec: Policy, c: Rule) -> str | None:
    for r in spec.rules:
        if type(r) is type(c) and _strip(r) == _strip(c):
            return f"{r.name} is the same rule"
    return None


def _canary(spec: Policy, c: Canary) -> str | None:
    for r in spec.rules:
        if isinstance(r, Canary) and set(c.regions) <= set(r.regions) and (
                not c.alone or (r.alone and set(c.regions) == set(r.regions))):
            return f"{r.name} puts these regions in the first phase{' alone' if c.alone else ''}"
    return None


def _strip(item: object) -> tuple[object, ...]:
    fields = getattr(item, "__dataclass_fields__", {})
    return tuple(getattr(item, f) for f in fields if f not in ("name", "span"))


def _gate(spec: Policy, c: Gate) -> str | None:
    scope = getattr(c, "of", None)
    for g in spec.gates:
        if type(g) is not type(c):
            continue
        if isinstance(c, PrecheckGate | StopUpgradedGate | StopUnhealthyGate):
            assert isinstance(g, PrecheckGate | StopUpgradedGate | StopUnhealthyGate)
            if scope in BATCH_SCOPES and same_groups_everywhere(g.of, c.of) and g.cap.value <= c.cap.value:
                return (f"{g.name} is applied by the executor to every batch of every group of the claim's scope, "
                        "with a cap at most the claim's")
        elif isinstance(c, PauseGate):
            assert isinstance(g, PauseGate)
            if c.of in BATCH_SCOPES and same_groups_everywhere(g.of, c.of) and g.pause.seconds >= c.pause.seconds:
                return (f"{g.name} makes the executor wait at least as long before each next batch of a set (one "
                        "batch per set per executed wave; executed waves run one after another)")
        elif isinstance(c, RetryGate):
            first = next(x for x in spec.gates if isinstance(x, RetryGate))
            if g is first and 1 <= g.max_attempts <= c.max_attempts and g.after.seconds >= c.after.seconds:
                return f"{g.name} is the executor's retry gate: no more retries, none sooner"
        elif isinstance(c, PhaseGate):
            return f"{g.name} is the executor's phase gate"
        elif isinstance(c, HealthWaitGate):
            assert isinstance(g, HealthWaitGate)
            first_wait = next(x for x in spec.gates if isinstance(x, HealthWaitGate))
            if g is first_wait and g.on_timeout == "rollback" and c.on_timeout == "rollback" and (
                    g.wait.seconds == c.wait.seconds):
                return (f"{g.name} rolls back every upgrade whose health watch fails, at every attempt (a retry "
                        "that succeeds is an upgrade that did not fail)")
    return None


CERTIFIERS: dict[type, Callable[[Policy, object], str | None]] = {
    Capacity: _capacity,  # type: ignore[dict-item]
    NotWhole: _not_whole,  # type: ignore[dict-item]
    DistinctLimit: _distinct,  # type: ignore[dict-item]
    UnitLimit: _unit_limit,  # type: ignore[dict-item]
    SeparatePairs: _separation,  # type: ignore[dict-item]
    SeparateRegions: _separation,  # type: ignore[dict-item]
    Canary: _canary,  # type: ignore[dict-item]
    Order: _same_rule,  # type: ignore[dict-item]
    OrderBy: _same_rule,  # type: ignore[dict-item]
    ExtensionOrder: _same_rule,  # type: ignore[dict-item]
}


def certify(spec: Policy, claim: Rule | Gate | VersionClaim) -> str | None:
    """A plain-Python derivation of the claim from one spec item, or None (see the module docstring)."""
    if isinstance(claim, VersionClaim):
        if claim.kind == "no_major":
            return None if spec.versions.allow_major else (
                "the spec's versions never allow a new major: the resolution keeps every target in its major")
        waits = [g for g in spec.gates if isinstance(g, HealthWaitGate)]
        return _gate(spec, waits[0]) if waits else None
    if isinstance(claim, PrecheckGate | StopUpgradedGate | StopUnhealthyGate | PauseGate | RetryGate | PhaseGate
                  | HealthWaitGate):
        return _gate(spec, claim)
    certifier = CERTIFIERS.get(type(claim))
    return certifier(spec, claim) if certifier is not None else None

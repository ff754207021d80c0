"""Why no schedule exists: the minimal set of conflicting rules, with their source lines and the fleet facts.

Every (rule, group) assertion of the compiled model is guarded by a named literal; on unsat the solver's core is
shrunk by deletion (drop one assertion, re-check; keep it out when the rest is still unsat), so no assertion of the
reported set can be dropped.  Cores are computed on a part of the fleet (one region, or the regions of a phase
conflict): every rule restricted to a part only relaxes it (group sizes still count the whole fleet), so a part
without a schedule proves the fleet has none.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from dsl.policy import UnitLimit
from engine.model.errors import Infeasible
from engine.plan.compiler import Encoding, Tracked
from engine.plan.construct import construct
from engine.plan.groups import Groups

MAX_FACTS = 4


def minimise(enc: Encoding, core: Sequence[str], deadline: float) -> list[str]:
    """Deletion-based: each assertion whose removal leaves the rest unsat is removed."""
    kept = list(core)
    i = 0
    while i < len(kept):
        left = deadline - time.monotonic()
        if left <= 0.05:
            break
        trial = kept[:i] + kept[i + 1:]
        if enc.check(left, trial) == "unsat":
            smaller = set(enc.core())
            kept = [n for n in trial if n in smaller]
        else:
            i += 1
    return kept


def paragraph(groups: Groups, items: Sequence[Tracked]) -> tuple[str, list[str]]:
    """One readable paragraph naming the rules (policy order) with their spans, then the facts involved."""
    order = {r.name: k for k, r in enumerate(groups.rules)}
    names = sorted({t.rule for t in items}, key=lambda n: (order.get(n, len(order)), n))
    spans = {r.name: r.span for r in groups.rules}
    labels = []
    for n in names:
        span = spans.get(n)
        labels.append(f"{n} ({span.file}:{span.line})" if span is not None else n)
    if len(labels) == 1:
        head = f"rule {labels[0]} cannot be met"
    else:
        head = f"rules {', '.join(labels[:-1])} and {labels[-1]} conflict"
    facts: list[str] = []
    for n in names:
        mine = sorted({t.facts for t in items if t.rule == n})
        facts.extend(mine[:MAX_FACTS])
        if len(mine) > MAX_FACTS:
            facts.append(f"and {len(mine) - MAX_FACTS} more group(s) of {n}")
    text = f"no schedule exists: {head}: {'; '.join(facts)}."
    return text, names


def _explain(groups: Groups, enc: Encoding, deadline: float, extra: Sequence[Tracked] = ()) -> Infeasible | None:
    answer = enc.check(max(0.1, deadline - time.monotonic()))
    if answer != "unsat":
        return None
    core = minimise(enc, enc.core(), deadline)
    items = [enc.tracked[n] for n in core] + list(extra)
    text, names = paragraph(groups, items)
    return Infeasible(text, names)


def _wave_room(groups: Groups, ids: list[int], limit: int | None) -> int:
    """Waves for an explaining model: enough that the count itself is no constraint.  Any schedule compresses to at
    most n non-empty waves and to at most the fleet's wave limit; one more than the limit lets that rule show."""
    n = sum(groups.classes[c].count for c in ids)
    relaxed = construct(groups, [ids], honour_unit_limits=False)
    room = len(relaxed[0]) if relaxed is not None else n
    if limit is not None:
        room = max(room, limit + 1)
    return max(1, min(n, room))


def explain_regions(groups: Groups, regions: Sequence[str], limit: int | None, seconds: float) -> Infeasible:
    deadline = time.monotonic() + max(1.0, seconds)
    for region in sorted(regions):
        ids = [c.index for c in groups.classes if c.region == region]
        enc = Encoding(groups, ids, _wave_room(groups, ids, limit), "region", symmetry=False)
        found = _explain(groups, enc, deadline)
        if found is not None:
            return found
    return Infeasible(f"no schedule exists for region(s) {', '.join(sorted(regions))}, but the conflicting rules "
                      "could not be isolated within the time limit")


def explain_phases(groups: Groups, lengths: dict[str, int], limit: int | None, seconds: float) -> Infeasible:
    """The phase rules admit no assignment; when the fleet's wave limit is in the core, the rules that make the
    regions involved that long are added (each region's model one wave short, unsat since its length is minimal)."""
    deadline = time.monotonic() + max(1.0, seconds)
    enc = Encoding(groups, [], 0, "phases", lengths=lengths, symmetry=False)
    answer = enc.check(max(0.1, deadline - time.monotonic()))
    if answer != "unsat":
        return Infeasible("no phase assignment satisfies the phase rules (not isolated within the time limit)")
    core = minimise(enc, enc.core(), deadline)
    items = [enc.tracked[n] for n in core]
    budget_rules = {r.name for r in groups.rules if isinstance(r, UnitLimit) and r.unit == "wave"}
    region_facts: list[str] = []
    if any(t.rule in budget_rules for t in items):
        involved = sorted({part for t in items if t.rule not in budget_rules for part in t.group.split("/")
                           if part in lengths})
        if not involved:
            involved = [max(sorted(lengths), key=lambda r: lengths[r])]
        for region in involved:
            w = lengths[region] - 1
            if w <= 0:
                continue
            ids = [c.index for c in groups.classes if c.region == region]
            renc = Encoding(groups, ids, w, "region", symmetry=False)
            if renc.check(max(0.1, deadline - time.monotonic())) == "unsat":
                rcore = minimise(renc, renc.core(), deadline)
                items.extend(renc.tracked[n] for n in rcore)
            region_facts.append(f"region {region} needs {lengths[region]} waves")
    text, names = paragraph(groups, items)
    if region_facts:
        text = text[:-1] + "; " + "; ".join(region_facts) + "."
    return Infeasible(text, names)


def explain_joint(groups: Groups, waves: int, seconds: float) -> Infeasible:
    deadline = time.monotonic() + max(1.0, seconds)
    enc = Encoding(groups, [c.index for c in groups.classes], waves, "joint", symmetry=False)
    found = _explain(groups, enc, deadline)
    if found is not None:
        return found
    return Infeasible("no schedule exists, but the conflicting rules could not be isolated within the time limit")

"""Why no schedule exists: the minimal set of conflicting rules, with their source lines and the fleet facts.

Every (rule, group) assertion of the compiled model is guarded by a named literal; on unsat the solver's core is
shrunk by deletion (drop one assertion, re-check; keep it out when the rest is still unsat), so no assertion of the
reported set can be dropped.  Cores are computed on a part of the fleet (one region, or the regions of a phase
conflict): every rule restricted to a part only relaxes it (group sizes still count the whole fleet), so a part
without a schedule proves the fleet has none.  Every check stops at the planner's one deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial

from engine.model.errors import Infeasible
from engine.model.solver import Unsat
from engine.plan.compiler import compile_model
from engine.plan.construct import construct
from engine.plan.encoding import Encoding, OutOfTime, Tracked
from engine.plan.groups import Groups

MAX_FACTS = 4


def minimise(enc: Encoding, core: Sequence[str], deadline: float) -> list[str]:
    """Deletion-based: each assertion whose removal leaves the rest unsat is removed (until the deadline)."""
    kept = list(core)
    i = 0
    while i < len(kept):
        trial = kept[:i] + kept[i + 1:]
        answer = enc.check(deadline, trial)
        if isinstance(answer, Unsat):
            smaller = set(enc.core(answer))
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


def _core(build: Callable[[], Encoding], deadline: float) -> list[Tracked] | None:
    """The minimised core of an unsat model, or None when the model is not built and shown unsat by the deadline."""
    try:
        enc = build()
    except OutOfTime:
        return None
    answer = enc.check(deadline)
    if not isinstance(answer, Unsat):
        return None
    return [enc.tracked[n] for n in minimise(enc, enc.core(answer), deadline)]


def _wave_room(groups: Groups, ids: list[int], limit: int | None) -> int:
    """Waves for an explaining model: enough that the count itself is no constraint.  Any schedule compresses to at
    most n non-empty waves and to at most the fleet's wave limit; one more than the limit lets that rule show."""
    n = sum(groups.classes[c].count for c in ids)
    relaxed = construct(groups, [ids], honour_unit_limits=False)
    room = len(relaxed[0]) if relaxed is not None else n
    if limit is not None:
        room = max(room, limit + 1)
    return max(1, min(n, room))


def explain_regions(groups: Groups, regions: Sequence[str], limit: int | None, deadline: float) -> Infeasible:
    for region in sorted(regions):
        if time.monotonic() >= deadline:
            break
        ids = [c.index for c in groups.classes if c.region == region]
        room = _wave_room(groups, ids, limit)
        items = _core(partial(compile_model, groups, ids, room, "region", symmetry=False, deadline=deadline), deadline)
        if items is not None:
            return Infeasible(*paragraph(groups, items), regions=(region,))
    return Infeasible(f"no schedule exists for region(s) {', '.join(sorted(regions))}, but the conflicting rules "
                      "could not be isolated within the time limit", regions=sorted(regions))


def explain_phases(groups: Groups, lengths: dict[str, int], deadline: float) -> Infeasible:
    """The phase rules admit no assignment; when a wave-count rule is in the core, the rules that make the regions
    involved that long are added (each region's model one wave short, unsat since its length is minimal)."""
    core = _core(partial(compile_model, groups, [], 0, "phases", lengths=lengths, symmetry=False, deadline=deadline),
                 deadline)
    if core is None:
        return Infeasible("no phase assignment satisfies the phase rules (not isolated within the time limit)")
    items = list(core)
    budget_rules = {p.rule.name for p in groups.plans if p.limits_waves()}
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
            rcore = _core(partial(compile_model, groups, ids, w, "region", symmetry=False, deadline=deadline), deadline)
            items.extend(rcore or ())
            region_facts.append(f"region {region} needs {lengths[region]} waves")
    text, names = paragraph(groups, items)
    if region_facts:
        text = text[:-1] + "; " + "; ".join(region_facts) + "."
    # The regions the core's assertions name: the part of the fleet the conflict lies in.
    part = sorted({p for t in items for p in t.group.split("/") if p in lengths})
    return Infeasible(text, names, part)


def explain_joint(groups: Groups, waves: int, deadline: float, limit: int | None = None) -> Infeasible:
    """The joint model shown unsat at ``waves`` (the most any schedule needs, or the fleet's wave limit): explained
    with one wave more than the limit (at most n), so that the rules setting the limit show in the core."""
    ids = [c.index for c in groups.classes]
    if limit is not None:
        waves = max(waves, min(sum(c.count for c in groups.classes), limit + 1))
    items = _core(partial(compile_model, groups, ids, waves, "joint", symmetry=False, deadline=deadline), deadline)
    if items is not None:
        return Infeasible(*paragraph(groups, items))
    return Infeasible("no schedule exists, but the conflicting rules could not be isolated within the time limit")

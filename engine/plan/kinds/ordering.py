"""What the order kinds share (``Order``, ``OrderBy``, the chain of a split VM's task units): every class of one side
lies in strictly earlier units than every class of the other.

Per wave: an integer t with ``a[c,w] -> t >= w`` for the early side and ``a[c,w] -> t < w`` for the late side.  Per
phase: the early side's regions are in strictly earlier phases than the late side's (one region on both sides cannot
be).  In the phase model a wave order becomes "the early side's regions are in the same or earlier phases" (waves
never go back in phase), a necessary condition."""

from __future__ import annotations

import z3

from engine.plan.classes import VMClass
from engine.plan.encoding import Encoding


def encode_order(enc: Encoding, rule: str, unit: str, early: list[VMClass], late: list[VMClass], ea: str, la: str,
                 lead: str = "VMs with", strict: bool = True) -> None:
    """``lead ea`` go in strictly earlier ``unit``s than ``lead la`` (``ea``/``la`` name the sides in messages);
    with ``strict=False`` (waves only), in the same or earlier waves."""
    if not early or not late:
        return
    how = "strictly before" if strict else "no later than"
    facts = f"{lead} {ea} go in {unit}s {how} {lead} {la}"
    if unit == "phase":
        if enc.mode == "region":
            enc.add(False, rule, f"{ea} before {la}", facts + f" (both in region {early[0].region})")
            return
        terms = []
        for re in sorted({c.region for c in early}):
            for rl in sorted({c.region for c in late}):
                terms.append(enc.rp[re] < enc.rp[rl] if re != rl else z3.BoolVal(False, enc.ctx))
        enc.add(enc.all(terms), rule, f"{ea} before {la}", facts)
        return
    if enc.mode == "phases":
        for re in sorted({c.region for c in early}):
            for rl in sorted({c.region for c in late}):
                if re != rl:
                    enc.add(enc.rp[re] <= enc.rp[rl], rule, f"{re}/{rl}",
                            f"{lead} {ea} in {re} go in waves before {lead} {la} in {rl}, so {re} is in the same or an "
                            "earlier phase")
        return
    t = enc.order_var(rule)
    terms = []
    for w in range(enc.W):
        enc.tick()
        after, before = t >= w, (t < w) if strict else (t <= w)
        terms += [enc.implies(enc.a[(c.index, w)], after) for c in early]
        terms += [enc.implies(enc.a[(c.index, w)], before) for c in late]
    enc.add(enc.all(terms), rule, f"{ea} before {la}", facts)

"""What the two separation kinds share: two regions apart never share a unit."""

from __future__ import annotations

from collections.abc import Iterable

from dsl.policy import SeparatePairs, SeparateRegions
from engine.check.placement import Placement


def separate(rule: SeparatePairs | SeparateRegions, at: Placement, pairs: Iterable[tuple[str, str]], why: str) -> None:
    units = at.region_units(rule.within)
    done: set[frozenset[str]] = set()
    for a, b in pairs:
        key = frozenset((a, b))
        if a == b or key in done:
            continue
        done.add(key)
        for u in sorted(units.get(a, set()) & units.get(b, set())):
            wave, phase = at.at(rule.within, u)
            x, y = sorted((a, b))
            at.add(rule.name, rule.span, f"{why} regions {x} and {y} are both in {rule.within} {u}", wave=wave,
                   phase=phase, vms=at.region_vms(x, rule.within, [u]) + at.region_vms(y, rule.within, [u]))

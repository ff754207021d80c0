"""``order by KEY [descending] by wave|phase``: scheduled VMs with a smaller key value lie in strictly earlier units;
VMs without the key are free.  Values compare as integers when both parse as integers, else as strings."""

from __future__ import annotations

import bisect

from dsl.policy import OrderBy
from engine.check.placement import Placement
from engine.check.rules.base import RuleCheck

# Above this many distinct key values the all-pairs reading is replaced by its tested fast path.
PLAIN_KEYS = 256


def is_int(s: str) -> bool:
    try:
        int(s)
    except ValueError:
        return False
    return True


def before(a: str, b: str, descending: bool) -> bool:
    """Must key value ``a`` lie in strictly earlier units than ``b``?"""
    if is_int(a) and is_int(b):
        return int(a) > int(b) if descending else int(a) < int(b)
    return a > b if descending else a < b


def key_text(raw: object) -> str:
    return ("true" if raw else "false") if isinstance(raw, bool) else str(raw)


def conflicts(lo: dict[str, int], hi: dict[str, int], descending: bool) -> list[tuple[str, str]]:
    """The normative reading: for each key b (in order), the key a that must precede b but whose latest unit is not
    before b's earliest, the one with the latest unit (ties: the larger a).  All pairs, O(K^2)."""
    out = []
    for b in sorted(lo):
        late = [a for a in lo if before(a, b, descending) and hi[a] >= lo[b]]
        if late:
            out.append((max(late, key=lambda a: (hi[a], a)), b))
    return out


def conflicts_fast(lo: dict[str, int], hi: dict[str, int], descending: bool) -> list[tuple[str, str]]:
    """:func:`conflicts` in O(K log K): the keys that must precede b form a prefix (or suffix) of three sorted
    lists (integers, non-integer strings, all strings), so a running maximum of (hi, key) answers each b."""
    keys = sorted(lo)
    ints = sorted((k for k in keys if is_int(k)), key=int)
    texts = [k for k in keys if not is_int(k)]

    def running(seq: list[str], from_end: bool) -> list[str]:
        order = list(reversed(seq)) if from_end else seq
        best: list[str] = []
        for k in order:
            best.append(k if not best or (hi[k], k) > (hi[best[-1]], best[-1]) else best[-1])
        return list(reversed(best)) if from_end else best

    int_values = [int(k) for k in ints]
    prefix = {"ints": running(ints, False), "texts": running(texts, False), "keys": running(keys, False)}
    suffix = {"ints": running(ints, True), "texts": running(texts, True), "keys": running(keys, True)}

    def pick(name: str, seq: list[str] | list[int], probe: str | int) -> str | None:
        if descending:
            i = bisect.bisect_right(seq, probe)
            return suffix[name][i] if i < len(seq) else None
        i = bisect.bisect_left(seq, probe)
        return prefix[name][i - 1] if i > 0 else None

    out = []
    for b in keys:
        found = [pick("ints", int_values, int(b)), pick("texts", texts, b)] if is_int(b) else [pick("keys", keys, b)]
        late = [a for a in found if a is not None and hi[a] >= lo[b]]
        if late:
            out.append((max(late, key=lambda a: (hi[a], a)), b))
    return out


class OrderByCheck(RuleCheck[OrderBy]):
    kind = OrderBy

    def check(self, rule: OrderBy, at: Placement) -> None:
        lo: dict[str, int] = {}
        hi: dict[str, int] = {}
        lo_vm: dict[str, str] = {}
        hi_vm: dict[str, str] = {}
        for vm, units in at.scheduled(rule.where, rule.unit):
            raw = at.sem.attr(rule.key.path, vm)
            if raw is None:
                continue
            k = key_text(raw)
            if k not in lo or units[0] < lo[k]:
                lo[k], lo_vm[k] = units[0], vm.name
            if k not in hi or units[-1] > hi[k]:
                hi[k], hi_vm[k] = units[-1], vm.name
        found = conflicts(lo, hi, rule.descending) if len(lo) <= PLAIN_KEYS else conflicts_fast(lo, hi, rule.descending)
        for a, b in found:
            wave, phase = at.at(rule.unit, lo[b])
            direction = "larger" if rule.descending else "smaller"
            at.add(rule.name, rule.span, f"{rule.key} = {a} must lie in earlier {rule.unit}s than {rule.key} = {b} "
                   f"({direction} first), but VM {hi_vm[a]} ({a}) is in {rule.unit} {hi[a]} and VM {lo_vm[b]} ({b}) is "
                   f"in {rule.unit} {lo[b]}", wave=wave, phase=phase, vms=[hi_vm[a], lo_vm[b]])

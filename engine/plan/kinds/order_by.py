"""``order waves|phases by KEY [descending] [where ...]``: scheduled VMs with a smaller key value lie in strictly
earlier units; VMs without the key are free.  Values compare as integers when both parse as integers, else as
strings.  Every pair of present keys (a before b) is an order of its own (engine.plan.kinds.ordering)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from dsl.policy import OrderBy
from engine.model.fleet import VM, Extension
from engine.plan.classes import VMClass
from engine.plan.encoding import Encoding
from engine.plan.kinds.base import Filler, Need, PlanKind
from engine.plan.kinds.ordering import encode_order
from engine.plan.reading import FleetFacts, key_before, order_key_text


class OrderByPlan(PlanKind[OrderBy, str]):
    kind = OrderBy

    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> str | None:
        if not facts.matches_scheduled(self.rule.where, vm, exts):
            return None
        raw = facts.attr(self.rule.key.path, vm, None)
        return None if raw is None else order_key_text(raw)

    def before(self, a: str, b: str) -> bool:
        return key_before(a, b, self.rule.descending)

    def order_pairs(self) -> list[tuple[str, str]]:
        """Every (a, b) of keys present where a must lie strictly before b."""
        keys = sorted({v for v in self.views if v is not None})
        return [(a, b) for a in keys for b in keys if a != b and self.before(a, b)]

    def couples_regions(self) -> bool:
        cls = self.classes
        return self.rule.unit == "wave" and len({cls[c].region for c, v in enumerate(self.views) if v is not None}) > 1

    def orders_waves(self, ids: set[int]) -> bool:
        return self.rule.unit == "wave" and len({self.views[c] for c in ids} - {None}) > 1

    def orders_phases(self) -> bool:
        return self.rule.unit == "phase"

    def first_fit_ready(self) -> bool:
        return self.rule.unit != "phase"

    def pins(self, c: int) -> bool:
        return self.views[c] is not None

    def bound(self, live: Mapping[int, int], used: frozenset[int], depth: int, need: Need) -> int:
        if depth <= 0 or self.index in used or self.rule.unit != "wave":
            return 0
        by_key: dict[str, dict[int, int]] = defaultdict(dict)
        for c, n in live.items():
            v = self.views[c]
            if v is not None:
                by_key[v][c] = n
        keys = sorted(by_key)
        # Longest chain through the "before" relation (keys are few); each link adds that key's need.
        ks = {k: need(by_key[k], used | {self.index}, depth - 1) for k in keys}
        chain: dict[str, int] = {}
        for k in sorted(keys, key=lambda k: sum(1 for a in keys if self.before(a, k))):
            prev = [chain[a] for a in keys if a in chain and self.before(a, k)]
            chain[k] = ks[k] + max(prev, default=0)
        return max(chain.values(), default=0)

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        if self.rule.unit != "wave":
            return None
        left: dict[str, int] = defaultdict(int)
        for c in ids:
            v = self.views[c]
            if v is not None:
                left[v] += self.classes[c].count
        return _KeysFiller(self, left)

    def encode(self, enc: Encoding) -> None:
        by_key: dict[str, list[VMClass]] = defaultdict(list)
        for c, v in enumerate(self.views):
            if v is not None and enc.in_model(self.classes[c]):
                by_key[v].append(self.classes[c])
        r = self.rule
        for a, b in self.order_pairs():
            if a in by_key and b in by_key:
                encode_order(enc, r.name, r.unit, by_key[a], by_key[b], f"{r.key} = {a}", f"{r.key} = {b}")


class _KeysFiller(Filler):
    """A key waits until every key before it is placed; a key stops once a key after it is in."""

    def __init__(self, plan: OrderByPlan, left: dict[str, int]) -> None:
        self.plan = plan
        self.keys = sorted(left)
        self.left = left
        self.left_at_start = dict(left)
        self.started: set[str] = set()

    def begin_wave(self) -> None:
        self.left_at_start = dict(self.left)

    def room(self, c: int, k: int) -> int:
        v = self.plan.views[c]
        if v is None:
            return k
        before = self.plan.before
        if any(self.left_at_start.get(a, 0) > 0 for a in self.keys if before(a, v)):
            return 0
        if any(b in self.started for b in self.keys if before(v, b)):
            return 0
        return k

    def take(self, c: int, k: int) -> None:
        v = self.plan.views[c]
        if v is not None:
            self.left[v] -= k
            self.started.add(v)

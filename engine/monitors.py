"""Runtime invariant monitors: the invariants the proofs state, re-checked on every state change of a run.

The executor tells the :class:`Monitor` about each batch it starts, each install it starts and each group it halts;
the monitor recomputes from the policy and the fleet (never through ``engine.gates``, so a broken gate function
cannot hide itself) and raises :class:`MonitorBreach` on the first broken invariant:

* no batch starts while a precheck gate would fail for one of its groups, nor in a blocked or stopped group, nor
  in a group where more than a stop gate's cap of the upgraded VMs turned unhealthy;
* every ``Capacity`` rule (the batch cap: at most 20% of a scale set per wave) holds per executed wave or phase;
* every ``DistinctLimit`` rule (one zone per region per wave, one update domain per set per wave) holds;
* geo-paired regions (``SeparatePairs``) and listed regions (``SeparateRegions``) never share a wave or phase;
* no install crosses a major version unless the policy allows majors.

An executed wave is a wave of the schedule, or a later wave of retries of some of its tasks; a retry wave is a
subset of its wave, so a schedule that satisfies the rules satisfies them per executed wave too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import Any

from dsl.policy import (
    GROUP_KEY,
    Capacity,
    DistinctLimit,
    Policy,
    PrecheckGate,
    SeparatePairs,
    SeparateRegions,
    StopUpgradedGate,
    TrueP,
)
from engine.errors import MonitorBreach
from engine.fleet import VM, Extension, Fleet
from engine.groups import FleetFacts, group_label

GroupKey = tuple[Any, ...]
# (scope, group key, its VM names, time) -> how many of them are unhealthy then (the executor's health view).
UnhealthyCount = Callable[[str, GroupKey, Sequence[str], int], int]


def key_getter(scope: str) -> Callable[[VM], GroupKey | None]:
    """``engine.groups.group_key`` for one scope as a fast function (attrgetter in C); tests check they agree."""
    if scope == "fleet":
        return lambda vm: ()
    fields = [("set_name" if f == "set" else f) for f in GROUP_KEY[scope]]
    get = attrgetter(*fields)
    if len(fields) == 1:
        return lambda vm: None if (v := get(vm)) is None else (v,)
    if scope in ("update_domain", "fault_domain"):
        return lambda vm: t if (t := get(vm))[0] is not None else None  # a null domain is a group of its own
    return lambda vm: None if None in (t := get(vm)) else t


def value_getter(scope: str) -> Callable[[VM], GroupKey | None]:
    """``engine.groups.count_value`` for one scope: a null zone does not count, other nulls are a value."""
    if scope == "fleet":
        return lambda vm: ()
    fields = [("set_name" if f == "set" else f) for f in GROUP_KEY[scope]]
    get = attrgetter(*fields)
    if len(fields) == 1:
        return lambda vm: (get(vm),)
    if scope == "zone":
        return lambda vm: None if vm.zone is None else get(vm)
    return get


def _where_text(rule: object) -> str:
    span = getattr(rule, "span", None)
    return f" ({span.render()})" if span is not None else ""


class Monitor:
    def __init__(self, policy: Policy, fleet: Fleet, unhealthy_count: UnhealthyCount) -> None:
        self.policy = policy
        self.fleet = fleet
        self.facts = FleetFacts(fleet)
        self.unhealthy_count = unhealthy_count
        self.prechecks = [g for g in policy.gates if isinstance(g, PrecheckGate)]
        self.stop_upgraded = [g for g in policy.gates if isinstance(g, StopUpgradedGate)]
        self._upgraded: dict[tuple[str, GroupKey], set[str]] = defaultdict(set)
        self._turned: dict[tuple[str, GroupKey], set[str]] = defaultdict(set)
        self.capacities = [r for r in policy.rules if isinstance(r, Capacity)]
        # Counting per-task values (``count extension``) is a schedule-level rule the checker owns, not a monitor.
        self.distincts = [r for r in policy.rules if isinstance(r, DistinctLimit) and r.count in GROUP_KEY
                          and r.per in GROUP_KEY]
        self.separations = [r for r in policy.rules if isinstance(r, SeparatePairs | SeparateRegions)]
        self.allow_major = policy.versions.allow_major
        self._counts = [value_getter(d.count) for d in self.distincts]
        self._members: dict[tuple[str, GroupKey], list[str]] = {}
        self._sizes: dict[int, dict[GroupKey, int]] = {}
        self._cap_counts: dict[tuple[int, int, GroupKey], set[str]] = defaultdict(set)
        self._distinct: dict[tuple[int, int, GroupKey], set[GroupKey]] = defaultdict(set)
        self._unit_regions: dict[tuple[str, int], set[str]] = defaultdict(set)
        self.halted: dict[str, set[GroupKey]] = defaultdict(set)
        self._getters: dict[str, Callable[[VM], GroupKey | None]] = {}
        self._caps: dict[tuple[int, GroupKey], int] = {}
        self.checks = 0
        self._same_major: set[tuple[str, str]] = set()  # version pairs seen not to cross a major
        # The indexes over the whole fleet the checks need (group members, capacity sizes), built up front.
        self._indexed: set[str] = set()
        for scope in sorted({g.of for g in self.prechecks}):
            self._index_members(scope)
        for i, rule in enumerate(self.capacities):
            self._capacity_sizes(i, rule)
        # Pre-bound per-rule getters and exact caps as integer ratios (the hot path: one batch start each).
        self._pre = [(g, key_getter(g.of), g.cap.value.numerator, g.cap.value.denominator * 100)
                     for g in self.prechecks]
        self._up = [(g, key_getter(g.of), g.cap.value.numerator, g.cap.value.denominator * 100)
                    for g in self.stop_upgraded]
        self._cap_rules = [(i, r, key_getter(r.of), isinstance(r.where, TrueP)) for i, r in enumerate(self.capacities)]
        self._distinct_rules = [(i, d, key_getter(d.per), value_getter(d.count), isinstance(d.where, TrueP))
                                for i, d in enumerate(self.distincts)]

    # -- helpers ---------------------------------------------------------------------------------------------

    def key_of(self, scope: str) -> Callable[[VM], GroupKey | None]:
        getter = self._getters.get(scope)
        if getter is None:
            getter = self._getters[scope] = key_getter(scope)
        return getter

    def key(self, scope: str, vm: VM) -> GroupKey | None:
        return self.key_of(scope)(vm)

    def members(self, scope: str, key: GroupKey) -> list[str]:
        found = self._members.get((scope, key))
        if found is None:
            if scope not in self._indexed:
                self._index_members(scope)
            found = self._members.setdefault((scope, key), [])
        return found

    def _index_members(self, scope: str) -> None:
        by_key: dict[GroupKey, list[str]] = defaultdict(list)
        get = self.key_of(scope)
        for vm in self.fleet.vms:
            k = get(vm)
            if k is not None:
                by_key[k].append(vm.name)
        for k, names in by_key.items():
            self._members.setdefault((scope, k), names)
        self._indexed.add(scope)

    def _capacity_sizes(self, i: int, rule: Capacity) -> dict[GroupKey, int]:
        sizes = self._sizes.get(i)
        if sizes is None:
            sizes = defaultdict(int)
            get = self.key_of(rule.of)
            every = isinstance(rule.where, TrueP)
            for vm in self.fleet.vms:
                if every or self.facts.matches_for_size(rule.where, vm):
                    k = get(vm)
                    if k is not None:
                        sizes[k] += 1
            self._sizes[i] = sizes
        return sizes

    @staticmethod
    def _breach(message: str) -> MonitorBreach:
        return MonitorBreach(f"monitor: {message}")

    # -- events from the executor ----------------------------------------------------------------------------

    def on_halt(self, scope: str, key: GroupKey) -> None:
        self.halted[scope].add(key)

    def on_batch_start(self, wave: int, phase: int, time: int, batch: Sequence[tuple[VM, Sequence[Extension]]],
                       label: str) -> None:
        """A batch (VMs with the extensions being upgraded) starts in executed wave ``wave`` at ``time``."""
        self.checks += 1
        vms = [vm for vm, _ in batch]
        for scope, keys in self.halted.items():
            if not keys:
                continue
            get = self.key_of(scope)
            for vm in vms:
                key = get(vm)
                if key in keys:
                    raise self._breach(f"batch {label} started at {time}s in halted {group_label(scope, key)}")
        # "more than cap" of part/whole, exactly: whole > 0 and part * 100 * den > num * whole.
        for gate, get, num, den100 in self._pre:
            keys = {k for vm in vms if (k := get(vm)) is not None}
            for key in (sorted(keys, key=repr) if len(keys) > 1 else keys):
                names = self.members(gate.of, key)
                whole = len(names)
                bad = self.unhealthy_count(gate.of, key, names, time)
                if whole > 0 and bad * den100 > num * whole:
                    raise self._breach(
                        f"batch {label} started while {bad} of {whole} VMs of {group_label(gate.of, key)} were "
                        f"unhealthy, more than {gate.cap} (rule {gate.name}{_where_text(gate)})")
        for up_gate, get, num, den100 in self._up:
            keys = {k for vm in vms if (k := get(vm)) is not None}
            for key in (sorted(keys, key=repr) if len(keys) > 1 else keys):
                turned = self._turned.get((up_gate.of, key))
                up, bad = len(self._upgraded[(up_gate.of, key)]), len(turned) if turned else 0
                if up > 0 and bad * den100 > num * up:
                    raise self._breach(
                        f"batch {label} started after {bad} of {up} upgraded VMs of {group_label(up_gate.of, key)} "
                        f"turned unhealthy, more than {up_gate.cap} (rule {up_gate.name}{_where_text(up_gate)})")
        cap_counts = self._cap_counts
        for i, rule, get, every in self._cap_rules:
            unit = wave if rule.within == "wave" else phase
            matching = vms if every else [vm for vm, exts in batch if self.facts.matches_scheduled(rule.where, vm, exts)]
            by_key: dict[GroupKey, list[str]] = {}
            for vm in matching:
                key = get(vm)
                if key is not None:
                    by_key.setdefault(key, []).append(vm.name)
            for key, names in by_key.items():
                seen = cap_counts[(i, unit, key)]
                seen.update(names)
                cap = self._caps.get((i, key))
                if cap is None:
                    cap = self._caps[(i, key)] = rule.amount.of(self._capacity_sizes(i, rule).get(key, 0))
                if len(seen) > cap:
                    raise self._breach(
                        f"{len(seen)} VMs of {group_label(rule.of, key)} in one {rule.within} ({rule.within} {unit}), "
                        f"more than the cap {cap} (rule {rule.name}{_where_text(rule)})")
        distinct = self._distinct
        for i, d, get, count, every in self._distinct_rules:
            unit = wave if d.within == "wave" else phase
            matching = vms if every else [vm for vm, exts in batch if self.facts.matches_scheduled(d.where, vm, exts)]
            shown: dict[GroupKey, set[GroupKey]] = {}
            for vm in matching:
                key = get(vm)
                if key is not None:
                    value = count(vm)
                    if value is not None:
                        shown.setdefault(key, set()).add(value)
            for key, batch_values in shown.items():
                values = distinct[(i, unit, key)]
                values |= batch_values
                if len(values) > d.limit:
                    raise self._breach(
                        f"{len(values)} distinct {d.count.replace('_', ' ')}s of {group_label(d.per, key)} in one "
                        f"{d.within} ({d.within} {unit}), more than {d.limit} (rule {d.name}{_where_text(d)})")
        if self.separations:
            batch_regions = sorted({vm.region for vm in vms})
            for sep in self.separations:
                unit = wave if sep.within == "wave" else phase
                regions = self._unit_regions[(sep.within, unit)]
                for region in batch_regions:
                    if region in regions:
                        continue
                    for other in sorted(regions):
                        apart = (self.fleet.paired(region, other) if isinstance(sep, SeparatePairs)
                                 else region in sep.regions and other in sep.regions)
                        if apart:
                            raise self._breach(
                                f"regions {other} and {region} upgrade in the same {sep.within} ({sep.within} {unit}) "
                                f"(rule {sep.name}{_where_text(sep)})")
                    regions.add(region)

    def on_batch_end(self, upgraded: Sequence[VM], turned: Sequence[VM]) -> None:
        """A batch ended: ``upgraded`` got a new version installed, ``turned`` were healthy before and not after."""
        for gate, get, _, _ in self._up:
            for vm in upgraded:
                key = get(vm)
                if key is not None:
                    self._upgraded[(gate.of, key)].add(vm.name)
            for vm in turned:
                key = get(vm)
                if key is not None:
                    self._turned[(gate.of, key)].add(vm.name)

    def on_install(self, vm: str, extension: str, from_version: str, to_version: str) -> None:
        # The major is the integer before the first dot (versions reaching the executor are validated); the few
        # distinct version pairs of a rollout are checked once each.
        if self.allow_major or (from_version, to_version) in self._same_major:
            return
        if int(from_version.partition(".")[0]) != int(to_version.partition(".")[0]):
            raise self._breach(f"install of {extension} {from_version} -> {to_version} on {vm} crosses a major version")
        self._same_major.add((from_version, to_version))

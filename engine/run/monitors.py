"""Runtime invariant monitors: the invariants the proofs state, re-checked on every state change of a run.

The executor tells the :class:`Monitor` about each batch it starts, each install it starts and each group it halts;
the monitor recomputes from the policy and the fleet (never through ``engine.run.gates``, so a broken gate function
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
    StopUnhealthyGate,
    StopUpgradedGate,
    TrueP,
)
from engine.model.errors import MonitorBreach
from engine.model.fleet import VM, Extension, Fleet
from engine.model.scopes import group_label
from engine.run.reading import RunReading

GroupKey = tuple[Any, ...]
# (scope, group key, its VM names, time) -> how many of them are unhealthy then (the executor's health view).
UnhealthyCount = Callable[[str, GroupKey, Sequence[str], int], int]


def key_getter(scope: str) -> Callable[[VM], GroupKey | None]:
    """``engine.plan.groups.group_key`` for one scope as a fast function (attrgetter in C); tests check they agree."""
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
    """``engine.plan.groups.count_value`` for one scope: a null zone does not count, other nulls are a value."""
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
    """Checks each state change the executor reports.  VMs are named by their index in ``fleet.vms``: the monitor
    keeps its own per-scope key lists over that index (built from the fleet, never from the executor's groups), so
    the hot path reads compact lists instead of the VM models."""

    def __init__(self, policy: Policy, fleet: Fleet, unhealthy_count: UnhealthyCount) -> None:
        self.policy = policy
        self.fleet = fleet
        self.vms = fleet.vms
        self.facts = RunReading(fleet)
        self.unhealthy_count = unhealthy_count
        self.prechecks = [g for g in policy.gates if isinstance(g, PrecheckGate)]
        self.stop_upgraded = [g for g in policy.gates if isinstance(g, StopUpgradedGate)]
        self._upgraded: dict[tuple[str, GroupKey], set[int]] = defaultdict(set)
        self._turned: dict[tuple[str, GroupKey], set[int]] = defaultdict(set)
        self.capacities = [r for r in policy.rules if isinstance(r, Capacity)]
        # Counting per-task values (``count extension``) is a schedule-level rule the checker owns, not a monitor.
        self.distincts = [r for r in policy.rules if isinstance(r, DistinctLimit) and r.count in GROUP_KEY
                          and r.per in GROUP_KEY]
        self.separations = [r for r in policy.rules if isinstance(r, SeparatePairs | SeparateRegions)]
        self.allow_major = policy.versions.allow_major
        self._members: dict[tuple[str, GroupKey], list[str]] = {}
        self._sizes: dict[int, dict[GroupKey, int]] = {}
        # What each rule has counted per (rule, unit, group): rules within a phase keep theirs for the run, rules
        # within a wave only for the current executed wave (waves never come back: dropping the rest keeps these
        # small at a million VMs).
        self._cap_counts: dict[tuple[int, int, GroupKey], set[int]] = defaultdict(set)
        self._distinct: dict[tuple[int, int, GroupKey], set[int]] = defaultdict(set)
        self._unit_regions: dict[tuple[str, int], set[str]] = defaultdict(set)
        self._cap_counts_wave: dict[tuple[int, int, GroupKey], set[int]] = defaultdict(set)
        self._distinct_wave: dict[tuple[int, int, GroupKey], set[int]] = defaultdict(set)
        self._unit_regions_wave: dict[tuple[str, int], set[str]] = defaultdict(set)
        self._wave = -1  # the executed wave counted now
        self.halted: dict[str, set[GroupKey]] = defaultdict(set)
        self._getters: dict[str, Callable[[VM], GroupKey | None]] = {}
        self._keys: dict[str, list[GroupKey | None]] = {}  # scope -> each VM's group key (by VM index)
        # Each VM's region and keys in every indexed scope as one int: VMs with equal ints are in the same groups.
        self._signature: list[int] = []
        self._caps: dict[tuple[int, GroupKey], int] = {}
        self.checks = 0
        self._same_major: set[tuple[str, str]] = set()  # version pairs seen not to cross a major
        # One pass over the fleet reads every field the checks need (each VM model is a cache miss away); the hot
        # path then reads compact lists by VM index, and group members and capacity sizes come from those lists.
        scopes = {g.of for g in policy.gates if isinstance(g, PrecheckGate | StopUpgradedGate | StopUnhealthyGate)}
        scopes |= {r.of for r in self.capacities} | {d.per for d in self.distincts}
        value_scopes = sorted({d.count for d in self.distincts})
        self._signed = frozenset(scopes)  # the scopes a signature covers
        self._names, self._regions, self._values = self._index_fleet(sorted(scopes), value_scopes)
        self._indexed: set[str] = set()
        for scope in sorted({g.of for g in self.prechecks}):
            self._index_members(scope)
        for i, rule in enumerate(self.capacities):
            self._capacity_sizes(i, rule)
        # Pre-bound per-rule key lists and exact caps as integer ratios (the hot path: one batch start each).
        self._pre = [(g, self.keys_of(g.of), g.cap.value.numerator, g.cap.value.denominator * 100)
                     for g in self.prechecks]
        self._up = [(g, self.keys_of(g.of), g.cap.value.numerator, g.cap.value.denominator * 100)
                    for g in self.stop_upgraded]
        self._cap_rules = [(i, r, self.keys_of(r.of), isinstance(r.where, TrueP)) for i, r in enumerate(self.capacities)]
        self._distinct_rules = [(i, d, self.keys_of(d.per), self._values[d.count], isinstance(d.where, TrueP))
                                for i, d in enumerate(self.distincts)]
        # Whether on_batch_start needs the scheduled extensions (a rule's ``where`` reads more than TrueP).
        self.needs_extensions = any(not every for *_, every in self._cap_rules) or \
            any(not every for *_, every in self._distinct_rules)

    # -- helpers ---------------------------------------------------------------------------------------------

    def key_of(self, scope: str) -> Callable[[VM], GroupKey | None]:
        getter = self._getters.get(scope)
        if getter is None:
            getter = self._getters[scope] = key_getter(scope)
        return getter

    def keys_of(self, scope: str) -> list[GroupKey | None]:
        """Each VM's group key in ``scope``, by VM index."""
        keys = self._keys.get(scope)
        if keys is None:
            get = self.key_of(scope)
            shared: dict[GroupKey, GroupKey] = {}  # one tuple per group: comparing keys is then an identity check
            keys = self._keys[scope] = [None if (k := get(vm)) is None else shared.setdefault(k, k) for vm in self.vms]
        return keys

    def _index_fleet(self, key_scopes: list[str], value_scopes: list[str]
                     ) -> tuple[list[str], list[str], dict[str, list[int | None]]]:
        """VM names and regions by VM index; each VM's group key per scope of ``key_scopes`` (into ``_keys``, one
        shared tuple per group, so comparing keys is an identity check); each VM's counted value per scope of
        ``value_scopes`` as a small int (equal values, equal ints; None does not count), so a set of values
        hashes ints instead of tuples."""
        keyed: list[tuple[Callable[[VM], GroupKey | None], dict[GroupKey, GroupKey], list[GroupKey | None]]] = [
            (key_getter(scope), {}, self._keys.setdefault(scope, [])) for scope in key_scopes]
        valued: list[tuple[Callable[[VM], GroupKey | None], dict[GroupKey, int], list[int | None]]] = [
            (value_getter(scope), {}, []) for scope in value_scopes]
        names: list[str] = []
        regions: list[str] = []
        signatures: dict[tuple[Any, ...], int] = {}
        sig = self._signature
        for vm in self.vms:
            names.append(vm.name)
            regions.append(vm.region)
            row: list[Any] = [vm.region]
            for get, shared, out in keyed:
                k = get(vm)
                out.append(k := None if k is None else shared.setdefault(k, k))
                row.append(k)
            sig.append(signatures.setdefault(tuple(row), len(signatures)))
            for count, ids, counted in valued:
                v = count(vm)
                counted.append(None if v is None else ids.setdefault(v, len(ids)))
        return names, regions, {scope: counted for scope, (_, _, counted) in zip(value_scopes, valued, strict=True)}

    def members(self, scope: str, key: GroupKey) -> list[str]:
        found = self._members.get((scope, key))
        if found is None:
            if scope not in self._indexed:
                self._index_members(scope)
            found = self._members.setdefault((scope, key), [])
        return found

    def _index_members(self, scope: str) -> None:
        by_key: dict[GroupKey, list[str]] = defaultdict(list)
        names = self._names
        for i, k in enumerate(self.keys_of(scope)):
            if k is not None:
                by_key[k].append(names[i])
        for k, found in by_key.items():
            self._members.setdefault((scope, k), found)
        self._indexed.add(scope)

    def _capacity_sizes(self, i: int, rule: Capacity) -> dict[GroupKey, int]:
        sizes = self._sizes.get(i)
        if sizes is None:
            sizes = defaultdict(int)
            keys = self.keys_of(rule.of)
            every = isinstance(rule.where, TrueP)
            for v, k in enumerate(keys):
                if k is not None and (every or self.facts.matches_for_size(rule.where, self.vms[v])):
                    sizes[k] += 1
            self._sizes[i] = sizes
        return sizes

    @staticmethod
    def _breach(message: str) -> MonitorBreach:
        return MonitorBreach(f"monitor: {message}")

    @staticmethod
    def _distinct_keys(keys: list[GroupKey | None], vms: Sequence[int], uniform: bool) -> list[GroupKey]:
        """The groups of ``vms`` in a fixed order (by repr); a batch is mostly one set: one key, no sorting.
        ``uniform``: the VMs are known to share every key."""
        first = keys[vms[0]]
        if uniform or all(keys[v] is first for v in vms):  # one key: keys of a group are one shared tuple
            return [] if first is None else [first]
        found = {k for v in vms if (k := keys[v]) is not None}
        return sorted(found, key=repr)

    # -- events from the executor ----------------------------------------------------------------------------

    def on_halt(self, scope: str, key: GroupKey) -> None:
        self.halted[scope].add(key)

    def on_batch_start(self, wave: int, phase: int, time: int, vms: Sequence[int], label: str,
                       scheduled: Sequence[Sequence[Extension]] | None = None) -> None:
        """A batch starts in executed wave ``wave`` at ``time``: ``vms`` (indexes into ``fleet.vms``), with the
        extensions being upgraded on each in ``scheduled`` (required when ``needs_extensions``)."""
        self.checks += 1
        if wave != self._wave:
            if wave < self._wave:
                raise self._breach(f"batch {label} started in executed wave {wave} after wave {self._wave} had started")
            self._wave = wave
            self._cap_counts_wave.clear()
            self._distinct_wave.clear()
            self._unit_regions_wave.clear()
        if not vms:
            return
        sig = self._signature
        first_sig = sig[vms[0]]
        uniform = all(sig[v] == first_sig for v in vms)  # one region, one group per indexed scope: no regrouping
        for scope, halted in self.halted.items():
            if not halted:
                continue
            for key in self._distinct_keys(self.keys_of(scope), vms, uniform and scope in self._signed):
                if key in halted:
                    raise self._breach(f"batch {label} started at {time}s in halted {group_label(scope, key)}")
        # "more than cap" of part/whole, exactly: whole > 0 and part * 100 * den > num * whole.
        for gate, keys, num, den100 in self._pre:
            for key in self._distinct_keys(keys, vms, uniform):
                names = self.members(gate.of, key)
                whole = len(names)
                bad = self.unhealthy_count(gate.of, key, names, time)
                if whole > 0 and bad * den100 > num * whole:
                    raise self._breach(
                        f"batch {label} started while {bad} of {whole} VMs of {group_label(gate.of, key)} were "
                        f"unhealthy, more than {gate.cap} (rule {gate.name}{_where_text(gate)})")
        for up_gate, keys, num, den100 in self._up:
            for key in self._distinct_keys(keys, vms, uniform):
                turned = self._turned.get((up_gate.of, key))
                ups = self._upgraded.get((up_gate.of, key))
                up, bad = len(ups) if ups else 0, len(turned) if turned else 0
                if up > 0 and bad * den100 > num * up:
                    raise self._breach(
                        f"batch {label} started after {bad} of {up} upgraded VMs of {group_label(up_gate.of, key)} "
                        f"turned unhealthy, more than {up_gate.cap} (rule {up_gate.name}{_where_text(up_gate)})")
        for i, rule, keys, every in self._cap_rules:
            unit, cap_counts = (wave, self._cap_counts_wave) if rule.within == "wave" else (phase, self._cap_counts)
            matching = vms if every else self._matching(rule.where, vms, scheduled)
            for key, ids in self._by_key(keys, matching, uniform):
                seen = cap_counts[(i, unit, key)]
                seen.update(ids)
                cap = self._caps.get((i, key))
                if cap is None:
                    cap = self._caps[(i, key)] = rule.amount.of(self._capacity_sizes(i, rule).get(key, 0))
                if len(seen) > cap:
                    raise self._breach(
                        f"{len(seen)} VMs of {group_label(rule.of, key)} in one {rule.within} ({rule.within} {unit}), "
                        f"more than the cap {cap} (rule {rule.name}{_where_text(rule)})")
        for i, d, keys, values_of, every in self._distinct_rules:
            unit, distinct = (wave, self._distinct_wave) if d.within == "wave" else (phase, self._distinct)
            matching = vms if every else self._matching(d.where, vms, scheduled)
            for key, ids in self._by_key(keys, matching, uniform):
                batch_values = {value for v in ids if (value := values_of[v]) is not None}
                if not batch_values:
                    continue
                values = distinct[(i, unit, key)]
                values |= batch_values
                if len(values) > d.limit:
                    raise self._breach(
                        f"{len(values)} distinct {d.count.replace('_', ' ')}s of {group_label(d.per, key)} in one "
                        f"{d.within} ({d.within} {unit}), more than {d.limit} (rule {d.name}{_where_text(d)})")
        if self.separations:
            regions_of = self._regions
            first = regions_of[vms[0]]
            batch_regions = [first] if uniform or all(regions_of[v] == first for v in vms) else \
                sorted({regions_of[v] for v in vms})
            for sep in self.separations:
                unit, by_unit = (wave, self._unit_regions_wave) if sep.within == "wave" else (phase, self._unit_regions)
                regions = by_unit[(sep.within, unit)]
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

    @staticmethod
    def _by_key(keys: list[GroupKey | None], vms: Sequence[int], uniform: bool) -> list[tuple[GroupKey, Sequence[int]]]:
        """``vms`` by group key, groups in first-seen order, VMs without a key left out; a batch is mostly one
        set, so first the one-key case without a dict.  ``uniform``: the VMs are known to share every key."""
        if not vms:
            return []
        first = keys[vms[0]]
        if first is not None and (uniform or all(keys[v] is first for v in vms)):
            return [(first, vms)]
        out: dict[GroupKey, list[int]] = {}
        for v in vms:
            key = keys[v]
            if key is not None:
                found = out.get(key)
                if found is None:
                    out[key] = [v]
                else:
                    found.append(v)
        return list(out.items())

    def _matching(self, where: Any, vms: Sequence[int], scheduled: Sequence[Sequence[Extension]] | None) -> list[int]:
        if scheduled is None:
            raise ValueError("on_batch_start needs the scheduled extensions for a rule with a where clause")
        return [v for v, exts in zip(vms, scheduled, strict=True) if self.facts.matches_scheduled(where, self.vms[v], exts)]

    def on_batch_end(self, upgraded: Sequence[int], turned: Sequence[int]) -> None:
        """A batch ended: ``upgraded`` (VM indexes) got a new version installed, ``turned`` were healthy before
        and not after."""
        for gate, keys, _, _ in self._up:
            for v in upgraded:
                key = keys[v]
                if key is not None:
                    self._upgraded[(gate.of, key)].add(v)
            for v in turned:
                key = keys[v]
                if key is not None:
                    self._turned[(gate.of, key)].add(v)

    def on_install(self, vm: str, extension: str, from_version: str, to_version: str) -> None:
        # The major is the integer before the first dot (versions reaching the executor are validated); the few
        # distinct version pairs of a rollout are checked once each.
        if self.allow_major or (from_version, to_version) in self._same_major:
            return
        if int(from_version.partition(".")[0]) != int(to_version.partition(".")[0]):
            raise self._breach(f"install of {extension} {from_version} -> {to_version} on {vm} crosses a major version")
        self._same_major.add((from_version, to_version))

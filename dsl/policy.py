"""The checked, resolved policy: the plain data type every later stage consumes.

The checker (``dsl.checker``) produces a :class:`Policy` from source text: parameters are substituted, ``extends``
is merged, and every rule keeps the span of the text it came from.  Synthesis, verification, the executor and the
prover read only this module's types, never the syntax tree.

Semantics fixed here (and documented in docs/language.md), so that every stage reads a rule the same way:

* A *group* of scope S is the set of VMs sharing S's key (see :data:`GROUP_KEY`).  ``fleet`` is one group holding
  every VM.  ``update_domain`` and ``fault_domain`` are keyed within their set (scale set or availability set).
  ``geography`` is the geography of the VM's region (the fleet's region entry, else the bundled Azure table).
* A VM is *scheduled in* every wave that holds one of its tasks (the planner keeps a VM's tasks in one wave
  unless a rule reading ``extension.*`` needs them apart; then, as in any schedule that splits them, the VM counts
  in each of those waves).
* A region is in the phase of the waves holding its tasks; regions without tasks are in no phase.
* Sizes of groups (the base of a percentage) count every VM of the group that matches the rule's ``where``
  filter, scheduled or not.
* Counting distinct values (``DistinctLimit``): a VM whose value is null does not count for ``zone`` (regional VMs
  belong to no zone); for every other scope a null value counts as one value of its own (unknown domain).
* Percentages are exact rationals; ``Percent.of(n)`` applies the rounding, then the minimum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, get_args

from dsl.diagnostics import Span

# ----------------------------------------------------------------------------------------------------------------
# Scopes and attributes

Scope = Literal[
    "fleet",
    "phase",
    "wave",
    "region",
    "zone",
    "scale_set",
    "availability_set",
    "update_domain",
    "fault_domain",
    "subscription",
    "geography",
    "vm",
    "extension",
]
SCOPES: tuple[str, ...] = (
    "fleet",
    "phase",
    "wave",
    "region",
    "zone",
    "scale_set",
    "availability_set",
    "update_domain",
    "fault_domain",
    "subscription",
    "geography",
    "vm",
    "extension",
)
# Scopes that partition VMs into groups (``phase``, ``wave`` are time units; ``extension`` is per task).
GROUP_SCOPES: tuple[str, ...] = (
    "fleet",
    "region",
    "zone",
    "scale_set",
    "availability_set",
    "set",
    "update_domain",
    "fault_domain",
    "subscription",
    "geography",
    "vm",
)
# How a VM's group key is formed, by scope; a VM with a null component is in no group of that scope,
# except fleet (always) and update/fault domain (keyed by set, null domain is a group of its own).
GROUP_KEY: Mapping[str, tuple[str, ...]] = {
    "fleet": (),
    "region": ("region",),
    "zone": ("region", "zone"),
    "scale_set": ("scale_set",),
    "availability_set": ("availability_set",),
    "set": ("set",),  # the VM's scale set or availability set, whichever it has
    "update_domain": ("set", "update_domain"),
    "fault_domain": ("set", "fault_domain"),
    "subscription": ("subscription",),
    "geography": ("geography",),  # the geography of the VM's region
    "vm": ("name",),
}
TimeUnit = Literal["wave", "phase"]

# Attribute paths usable in predicates, with their value type.  ``vm.tags.<key>`` is any tag.
ATTRIBUTES: Mapping[str, str] = {
    "vm.name": "string",
    "vm.region": "string",
    "vm.zone": "string",
    "vm.subscription": "string",
    "vm.healthy": "bool",
    "vm.single": "bool",  # in neither a scale set nor an availability set
    "vm.update_domain": "int",
    "vm.fault_domain": "int",
    "vm.tags": "tag",  # vm.tags.<key> -> string
    "scale_set.name": "string",
    "scale_set.size": "int",
    "scale_set.upgrade_mode": "string",
    "availability_set.name": "string",
    "availability_set.size": "int",
    "region.name": "string",
    "region.zones": "int",
    "region.paired": "bool",
    "region.geography": "string",
    "extension.name": "string",
    "extension.publisher": "string",
    "extension.type": "string",
}


# ----------------------------------------------------------------------------------------------------------------
# Values and amounts

Value = int | str | bool | Fraction | tuple["Value", ...]


@dataclass(frozen=True)
class Duration:
    seconds: int

    @property
    def minutes(self) -> Fraction:
        return Fraction(self.seconds, 60)

    def __str__(self) -> str:
        s = self.seconds
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if s and s % size == 0:
                return f"{s // size}{unit}"
        return f"{s}s"


@dataclass(frozen=True)
class Count:
    """A fixed number of VMs."""

    n: int

    def of(self, size: int) -> int:
        return self.n

    def __str__(self) -> str:
        return str(self.n)


@dataclass(frozen=True)
class Percent:
    """``value`` percent of a group's size, rounded, then raised to ``minimum``."""

    value: Fraction
    rounding: Literal["floor", "ceil"] = "floor"
    minimum: int = 0

    def of(self, size: int) -> int:
        exact = self.value * size / 100
        n = math.floor(exact) if self.rounding == "floor" else math.ceil(exact)
        return max(self.minimum, n)

    def exceeded_by(self, part: int, whole: int) -> bool:
        """True when ``part`` is more than ``value`` percent of ``whole`` (health caps: "more than 20%")."""
        return whole > 0 and Fraction(part * 100, whole) > self.value

    def __str__(self) -> str:
        v = self.value
        text = str(v.numerator) if v.denominator == 1 else str(float(v))
        return f"{text}%"


Amount = Count | Percent


# ----------------------------------------------------------------------------------------------------------------
# Predicates (the ``where`` filters)


@dataclass(frozen=True)
class Attr:
    """An attribute path, e.g. ("vm", "tags", "env") or ("scale_set", "size")."""

    path: tuple[str, ...]

    def __str__(self) -> str:
        return ".".join(self.path)


CompareOp = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in"]


@dataclass(frozen=True)
class Compare:
    op: CompareOp
    left: Attr
    right: Value  # a tuple for in / not in


@dataclass(frozen=True)
class HasTag:
    key: str


@dataclass(frozen=True)
class Not:
    item: Predicate


@dataclass(frozen=True)
class And:
    items: tuple[Predicate, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Predicate, ...]


@dataclass(frozen=True)
class TrueP:
    pass


Predicate = Compare | HasTag | Not | And | Or | TrueP
ALWAYS: Predicate = TrueP()


# ----------------------------------------------------------------------------------------------------------------
# Hard rules (what a schedule must satisfy)


@dataclass(frozen=True)
class RuleBase:
    name: str
    span: Span


@dataclass(frozen=True)
class SeparatePairs(RuleBase):
    """Geo-paired regions never share a ``within`` unit.  A pair is directed in the fleet (a -> b); the rule
    separates a and b whenever either names the other."""

    within: TimeUnit = "phase"


@dataclass(frozen=True)
class SeparateRegions(RuleBase):
    """Explicitly listed regions never share a ``within`` unit (pairwise)."""

    regions: tuple[str, ...] = ()
    within: TimeUnit = "phase"


@dataclass(frozen=True)
class DistinctLimit(RuleBase):
    """For each group of scope ``per`` and each ``within`` unit, the scheduled VMs (matching ``where``) show at
    most ``limit`` distinct values of scope ``count``.  E.g. at most 1 zone per region per wave."""

    limit: int = 1
    count: str = "zone"
    per: str = "region"
    within: TimeUnit = "wave"
    where: Predicate = ALWAYS


@dataclass(frozen=True)
class Capacity(RuleBase):
    """For each group of scope ``of`` and each ``within`` unit, at most ``amount.of(size)`` of the group's VMs
    (matching ``where``) are scheduled in that unit; size counts the group's VMs matching ``where``."""

    amount: Amount = Count(1)
    of: str = "scale_set"
    within: TimeUnit = "wave"
    where: Predicate = ALWAYS


@dataclass(frozen=True)
class NotWhole(RuleBase):
    """A group of scope ``of`` with at least ``min_size`` VMs (matching ``where``) never has all of them in one
    ``within`` unit."""

    of: str = "availability_set"
    within: TimeUnit = "wave"
    min_size: int = 2
    where: Predicate = ALWAYS


@dataclass(frozen=True)
class UnitLimit(RuleBase):
    """At most ``limit`` units (waves or phases) in which each group of scope ``per`` has scheduled VMs; with
    ``per == "fleet"`` this bounds the schedule's length."""

    limit: int = 1
    unit: TimeUnit = "wave"
    per: str = "fleet"
    where: Predicate = ALWAYS


@dataclass(frozen=True)
class Canary(RuleBase):
    """The listed regions are in the first phase; with ``alone``, nothing else is."""

    regions: tuple[str, ...] = ()
    alone: bool = True


@dataclass(frozen=True)
class Order(RuleBase):
    """Every scheduled VM matching ``earlier`` lies in a strictly earlier unit than every scheduled VM matching
    ``later`` (region A before region B: earlier = vm.region == A, unit = phase)."""

    earlier: Predicate = ALWAYS
    later: Predicate = ALWAYS
    unit: TimeUnit = "phase"


@dataclass(frozen=True)
class OrderBy(RuleBase):
    """Scheduled VMs with a smaller ``key`` value lie in strictly earlier units; VMs without the key are free.
    Values compare as integers when both parse as integers, else as strings."""

    key: Attr = Attr(("vm", "tags", "ring"))
    unit: TimeUnit = "wave"
    descending: bool = False
    where: Predicate = ALWAYS


@dataclass(frozen=True)
class ExtensionSelector:
    """Matches an extension by publisher and/or type and/or its name on the VM; None matches anything."""

    publisher: str | None = None
    type: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class ExtensionOrder(RuleBase):
    """On each VM with due tasks for an extension matching ``first`` and one matching ``second`` (Azure's extension
    sequencing): every ``first`` task lies in the same wave as, or an earlier wave than, every ``second`` task, and
    the executor installs the ``second`` extension on that VM only after the ``first`` one succeeded (healthy) there.
    A selector matches an extension by every field it gives (``publisher``, ``type``, ``name``)."""

    first: ExtensionSelector = field(default_factory=lambda: ExtensionSelector())
    second: ExtensionSelector = field(default_factory=lambda: ExtensionSelector())


Rule = (SeparatePairs | SeparateRegions | DistinctLimit | Capacity | NotWhole | UnitLimit | Canary | Order | OrderBy
        | ExtensionOrder)


# ----------------------------------------------------------------------------------------------------------------
# Soft preferences (optimised after the wave count)


@dataclass(frozen=True)
class Spread(RuleBase):
    """Each group keyed by ``by`` (e.g. ("subscription", "region")) with two or more scheduled VMs matching
    ``where`` should not have all of them in one wave; each group that does costs ``weight``."""

    by: tuple[str, ...] = ("subscription", "region")
    where: Predicate = ALWAYS
    weight: int = 1


Preference = Spread


# ----------------------------------------------------------------------------------------------------------------
# Health gates (enforced by the executor; the planner ignores them)


@dataclass(frozen=True)
class PrecheckGate(RuleBase):
    """Before each batch of a group of scope ``of``: do not start when more than ``cap`` of its VMs are
    unhealthy (for any reason)."""

    of: str = "scale_set"
    cap: Percent = Percent(Fraction(20))


@dataclass(frozen=True)
class HealthWaitGate(RuleBase):
    """After a batch wait up to ``wait`` for each upgraded VM to be healthy; else roll back (or keep)."""

    wait: Duration = Duration(300)
    on_timeout: Literal["rollback", "keep"] = "rollback"


@dataclass(frozen=True)
class StopUpgradedGate(RuleBase):
    """Stop a group of scope ``of`` when more than ``cap`` of its upgraded instances turned unhealthy."""

    of: str = "scale_set"
    cap: Percent = Percent(Fraction(20))


@dataclass(frozen=True)
class StopUnhealthyGate(RuleBase):
    """During a batch, when more than ``cap`` of a group's VMs are unhealthy (any reason), stop the group at the
    end of the current batch."""

    of: str = "scale_set"
    cap: Percent = Percent(Fraction(20))


@dataclass(frozen=True)
class PhaseGate(RuleBase):
    """A phase starts only when every due task of the previous phase succeeded."""


@dataclass(frozen=True)
class RetryGate(RuleBase):
    """Failed upgrades are retried after ``after``, at most ``max_attempts`` retries."""

    after: Duration = Duration(3 * 86400)
    max_attempts: int = 3


@dataclass(frozen=True)
class PauseGate(RuleBase):
    """Wait ``pause`` between consecutive batches of a group of scope ``of``."""

    pause: Duration = Duration(0)
    of: str = "scale_set"


Gate = PrecheckGate | HealthWaitGate | StopUpgradedGate | StopUnhealthyGate | PhaseGate | RetryGate | PauseGate


# ----------------------------------------------------------------------------------------------------------------
# Time rules (the rollout's calendar): how long an install takes, bakes, maintenance windows and freezes.
# Instants are read in a time zone through ``zoneinfo`` (``engine.model.calendar`` turns them into UTC intervals).

WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
BakeAfter = Literal["phase", "wave", "first_wave", "first_zone"]


@dataclass(frozen=True)
class InstallTime(RuleBase):
    """One install of one extension on one VM takes ``duration``: a wave lasts as long as its longest chain of one
    VM's tasks (``duration`` times the most tasks one VM has in the wave).  Without the rule, the executor's
    nominal install time."""

    duration: Duration = Duration(120)


@dataclass(frozen=True)
class Bake(RuleBase):
    """A wait after which the rollout may go on: ``phase`` (``wave``): every wave of a phase (every wave) starts at
    least ``duration`` after the previous phase's last wave (the previous wave) ends; ``first_wave``: per region,
    every later wave holding tasks of the region starts at least ``duration`` after the region's first wave ends;
    ``first_zone``: per region, every wave holding tasks of the region outside the zones of its first wave starts
    at least ``duration`` after every earlier wave holding tasks of those zones ends."""

    duration: Duration = Duration(86400)
    after: BakeAfter = "phase"


@dataclass(frozen=True)
class DaySpec:
    """A day a window opens on: a weekday (``weekday``, 0 Monday .. 6 Sunday, every week), the ``nth`` weekday of
    each month (``nth`` 1..5, or -1 for the last), or a day of each month (``month_day`` 1..31, or -1 for the last
    day; a month without that day has no opening that month)."""

    weekday: int | None = None
    nth: int | None = None
    month_day: int | None = None

    def __str__(self) -> str:
        if self.month_day is not None:
            return "Last day" if self.month_day == -1 else _ordinal(self.month_day)
        day = WEEKDAYS[self.weekday or 0].capitalize()
        if self.nth is None:
            return day
        return f"{('First', 'Second', 'Third', 'Fourth', 'Fifth')[self.nth - 1] if self.nth > 0 else 'Last'} {day}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


@dataclass(frozen=True)
class Window(RuleBase):
    """A maintenance window: a task of a VM matching ``where`` lies in a wave that runs, start to end, inside one
    opening of the window.  An opening starts on each listed day at ``start`` (minutes after local midnight) and
    ends at ``end`` the same day, or the next day when ``end <= start`` (``22:00-06:00``); local times are read in
    ``zone`` (an IANA name), in the zone a VM's tag ``zone_tag`` names, or (``zone_region``) in the ``time_zone`` of
    the VM's region in the fleet.  Several windows on one VM all hold."""

    days: tuple[DaySpec, ...] = ()
    start: int = 0
    end: int = 1440
    zone: str = "UTC"
    zone_tag: str | None = None
    where: Predicate = ALWAYS
    zone_region: bool = False


@dataclass(frozen=True)
class Freeze(RuleBase):
    """A freeze: no wave holding a task of a VM matching ``where`` overlaps the interval from ``start`` to ``end``
    (local date-times ``YYYY-MM-DDTHH:MM`` in ``zone`` or the VM's ``zone_tag``; ``end`` excluded: a date without a
    time in the source ends at the midnight after it)."""

    start: str = ""
    end: str = ""
    zone: str = "UTC"
    zone_tag: str | None = None
    where: Predicate = ALWAYS
    zone_region: bool = False  # read in the time_zone of the VM's region in the fleet


TimeRule = InstallTime | Bake | Window | Freeze


# ----------------------------------------------------------------------------------------------------------------
# Version rules (which (VM, extension) pairs become tasks, and their target)


@dataclass(frozen=True)
class VersionPin:
    selector: ExtensionSelector
    version: str
    span: Span


@dataclass(frozen=True)
class OptOut:
    selector: ExtensionSelector
    span: Span


@dataclass(frozen=True)
class VersionPolicy:
    """Defaults mean: only extensions with enable_automatic_upgrade, newest version of the installed major."""

    span: Span | None = None
    only_enabled: bool = True
    allow_major: bool = False
    pins: tuple[VersionPin, ...] = ()
    opt_outs: tuple[OptOut, ...] = ()


# ----------------------------------------------------------------------------------------------------------------
# Theorems (proofs/*.wg): named invariants checked by ``wavegate prove``


@dataclass(frozen=True)
class Theorem(RuleBase):
    """``claim`` is a rule (same types as hard rules, or a gate-level invariant) that every schedule or execution
    permitted by the policy ``spec`` must satisfy."""

    spec_path: str = ""
    claim: Rule | Gate | TimeRule | VersionClaim | None = None


@dataclass(frozen=True)
class VersionClaim:
    """Invariants about versions: ``no_major`` (no task crosses a major), ``rollback_restores`` (a VM whose upgrade
    failed health ends on its previous version)."""

    kind: Literal["no_major", "rollback_restores"]


# ----------------------------------------------------------------------------------------------------------------
# The checked policy


@dataclass(frozen=True)
class Policy:
    name: str
    span: Span
    files: tuple[str, ...]  # the file and every file it extends, child first
    params: Mapping[str, Value] = field(default_factory=dict)
    rules: tuple[Rule, ...] = ()
    preferences: tuple[Preference, ...] = ()
    gates: tuple[Gate, ...] = ()
    versions: VersionPolicy = VersionPolicy()
    times: tuple[TimeRule, ...] = ()  # install time, bakes, windows, freezes (empty: a schedule without a calendar)

    def rule(self, name: str) -> Rule | Preference | Gate | TimeRule | None:
        for r in (*self.rules, *self.preferences, *self.gates, *self.times):
            if r.name == name:
                return r
        return None

    def gates_of(self, kind: type) -> tuple[Gate, ...]:
        return tuple(g for g in self.gates if isinstance(g, kind))


# ----------------------------------------------------------------------------------------------------------------
# Every kind of the IR, by family: each stage handles each kind or says why not (tests/test_rule_kinds.py)

RULE_KINDS: tuple[type, ...] = get_args(Rule)
PREFERENCE_KINDS: tuple[type, ...] = (Spread,)
GATE_KINDS: tuple[type, ...] = get_args(Gate)
TIME_KINDS: tuple[type, ...] = get_args(TimeRule)
CLAIM_KINDS: tuple[type, ...] = (*RULE_KINDS, *GATE_KINDS, *TIME_KINDS, VersionClaim)

"""The interface every rule kind implements in the planning stage, and the small protocols its steps use.

One module per rule kind (``capacity.py``, ``canary.py`` ...), each a subclass of :class:`PlanKind` naming the IR type
it plans; ``engine.plan.kinds.PLANNERS`` maps each IR type to its class.  A planner is made per rule of the policy
(``PlanKind(rule, index)``) and, once the classes are built, holds what it sees of each class (``views``, typed per
kind) and its groups (``members``).  The shared steps (classes, bounds, constructive waves, Z3 models, phases, spread
repair) only call these hooks; none of them branches on a rule's type.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from engine.check.semantics import sort_key
from engine.model.fleet import VM, Extension
from engine.plan.classes import GroupKey, Layout, VMClass
from engine.plan.encoding import Encoding
from engine.plan.reading import FleetFacts

R = TypeVar("R")
V = TypeVar("V")
# need(counts, used, depth): the lower bound of engine.plan.lower_bounds, passed in for recursive terms.
Need = Callable[[Mapping[int, int], frozenset[int], int], int]
# A precedence between two tasks of one VM (indices into its task list): (before, after, strictly).
TaskEdge = tuple[int, int, bool]


class Filler(ABC):
    """One rule's bookkeeping while waves are filled one at a time (engine.plan.construct)."""

    def begin_wave(self) -> None:
        """A new wave starts."""
        return None

    @abstractmethod
    def room(self, c: int, k: int) -> int:
        """How many of ``k`` more VMs of class ``c`` the wave may take under this rule (at most ``k``)."""

    def take(self, c: int, k: int) -> None:
        """``k`` VMs of class ``c`` joined the wave."""
        return None

    def end_wave(self, placed: bool) -> None:
        """The wave is complete (``placed``: it holds VMs)."""
        return None


class Load(ABC):
    """What one wave holds for one wave-local rule, kept up to date as single VMs move (spread repair)."""

    @abstractmethod
    def change(self, c: int, n: int) -> None: ...

    @abstractmethod
    def fits(self, c: int) -> bool:
        """May one more VM of class ``c`` join the wave under this rule?"""


@dataclass
class PhaseShape:
    """What the rules say about phases that the first-fit phases, their check and the phase bound read."""

    kept_apart: set[tuple[str, str]] = field(default_factory=set)  # never in one phase by the greedy (any unit)
    apart: set[tuple[str, str]] = field(default_factory=set)  # never in one phase (phase-unit separation)
    region_caps: list[tuple[int, frozenset[str]]] = field(default_factory=list)  # at most n of these per phase
    canaries: list[tuple[frozenset[str], bool]] = field(default_factory=list)  # (regions with tasks, alone)


class PlanKind(ABC, Generic[R, V]):
    """The planning of one rule (of IR type ``kind``): what it sees of a VM, its groups, bounds and encodings."""

    kind: ClassVar[type]

    def __init__(self, rule: R, index: int) -> None:
        self.rule = rule
        self.index = index
        self.views: list[V | None] = []
        self.members: dict[GroupKey, tuple[int, ...]] = {}
        self.layout = Layout((), (), ())

    # -- classes -------------------------------------------------------------------------------------------------

    @abstractmethod
    def view(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> V | None:
        """What the rule sees of a scheduled VM whose tasks (of one unit) are ``exts``; None: the rule ignores it."""

    def group(self, view: V) -> GroupKey | None:
        """The group a view belongs to, for rules over groups."""
        return None

    def attach(self, layout: Layout, views: list[V | None], facts: FleetFacts) -> None:
        """Keep the classes' views and form the groups (sorted by key)."""
        self.layout = layout
        self.views = views
        acc: dict[GroupKey, list[int]] = defaultdict(list)
        for c, v in enumerate(views):
            if v is not None and (key := self.group(v)) is not None:
                acc[key].append(c)
        self.members = {k: tuple(acc[k]) for k in sorted(acc, key=sort_key)}

    def splits_tasks(self) -> bool:
        """Can the rule force a VM's tasks into several waves (``task_edges`` strict or ``task_limit``)?"""
        return False

    def task_edges(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> list[TaskEdge]:
        """Precedences the rule sets between the VM's tasks (engine.plan.units splits a VM by them)."""
        return []

    def task_limit(self, facts: FleetFacts, vm: VM, exts: Sequence[Extension]) -> tuple[int, list[int]] | None:
        """At most ``n`` of these tasks of the VM may share a wave (engine.plan.units splits a VM by it)."""
        return None

    @property
    def classes(self) -> tuple[VMClass, ...]:
        return self.layout.classes

    # -- regions and phases --------------------------------------------------------------------------------------

    def couples_regions(self) -> bool:
        """Does the rule tie regions together inside waves (then per-region plans give only a bound)?"""
        return False

    def orders_waves(self, ids: set[int]) -> bool:
        """Does the rule make the order of waves matter among these classes (no symmetry breaking then)?"""
        return False

    def orders_phases(self) -> bool:
        """Does the rule make the order of phases matter?"""
        return False

    def shape_phases(self, shape: PhaseShape) -> None:
        """Add what the rule says about phases to ``shape``."""

    def first_fit_ready(self) -> bool:
        """Do first-fit phases honour this rule (or has it no phase part)?  By default no: the phase model decides."""
        return False

    def fleet_wave_limit(self) -> int | None:
        """A bound on the schedule's length in waves that the rule sets, if any."""
        return None

    def region_wave_cap(self) -> int | None:
        """A bound on any one region's waves that the rule sets, if any."""
        return None

    def limits_waves(self) -> bool:
        """Does the rule bound a count of waves (so region lengths explain its conflicts)?"""
        return False

    # -- waves ---------------------------------------------------------------------------------------------------

    def bound(self, live: Mapping[int, int], used: frozenset[int], depth: int, need: Need) -> int:
        """A lower bound on the waves that ``live`` (class -> VMs left) needs under this rule (0: none)."""
        return 0

    def priority_parts(self, live: Mapping[int, int]) -> list[dict[int, int]]:
        """Parts of ``live`` whose remaining need ranks the classes in them when waves are filled."""
        return []

    def filler(self, ids: Sequence[int], honour_unit_limits: bool) -> Filler | None:
        """The rule's bookkeeping for filling waves of these classes; None when waves are free of it."""
        return None

    def load(self, wave: Mapping[int, int]) -> Load | None:
        """The rule's view of one wave for moving single VMs; None when the rule does not look inside waves."""
        return None

    def pins(self, c: int) -> bool:
        """Must the VMs of class ``c`` stay in their waves when soft preferences are repaired?"""
        return False

    # -- the Z3 model --------------------------------------------------------------------------------------------

    @abstractmethod
    def encode(self, enc: Encoding) -> None:
        """Add the rule's assertions (one per group, named by ``enc.add``) to the model."""

    # -- helpers for subclasses ----------------------------------------------------------------------------------

    def total(self, cs: Iterable[VMClass]) -> int:
        return sum(c.count for c in cs)

    def spans_regions(self) -> bool:
        """Does any group of the rule hold classes of two or more regions?"""
        cls = self.classes
        return any(len({cls[c].region for c in ids}) > 1 for ids in self.members.values())


def group_totals(views: Sequence[Any], live: Mapping[int, int]) -> dict[Any, int]:
    """VMs left per view (classes the rule ignores left out)."""
    tot: dict[Any, int] = defaultdict(int)
    for c, n in live.items():
        v = views[c]
        if v is not None:
            tot[v] += n
    return tot

"""The syntax tree of a ``.wg`` file: frozen dataclasses, every node with the :class:`Span` of its text.

Spans are excluded from equality (``field(compare=False)``), so ``parse(format(x)) == parse(x)`` compares meaning
and layout-free structure only.  Words that the grammar leaves open (scopes, units, nouns such as ``VMs``) are kept
as :class:`Name` nodes and judged by the checker, which can then suggest the word that was meant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal

from dsl.diagnostics import Span


@dataclass(frozen=True, kw_only=True)
class Node:
    span: Span = field(compare=False, repr=False)


# ----------------------------------------------------------------------------------------------------------------
# Literals and names


@dataclass(frozen=True, kw_only=True)
class Name(Node):
    text: str


@dataclass(frozen=True, kw_only=True)
class NumberLit(Node):
    value: Fraction


@dataclass(frozen=True, kw_only=True)
class PercentLit(Node):
    value: Fraction


@dataclass(frozen=True, kw_only=True)
class DurationLit(Node):
    seconds: int
    text: str = field(compare=False, default="")


@dataclass(frozen=True, kw_only=True)
class StringLit(Node):
    value: str


@dataclass(frozen=True, kw_only=True)
class BoolLit(Node):
    value: bool


@dataclass(frozen=True, kw_only=True)
class Ref(Node):
    """A parameter name used as a value."""

    name: str


@dataclass(frozen=True, kw_only=True)
class ListLit(Node):
    items: tuple[ValueNode, ...]


ValueNode = NumberLit | PercentLit | DurationLit | StringLit | BoolLit | Ref | ListLit


# ----------------------------------------------------------------------------------------------------------------
# Predicates


@dataclass(frozen=True, kw_only=True)
class AttrNode(Node):
    path: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CompareNode(Node):
    op: str  # == != < <= > >= in "not in"
    attr: AttrNode
    value: ValueNode


@dataclass(frozen=True, kw_only=True)
class BareNode(Node):
    """A bare attribute used as a condition: ``where vm.single``."""

    attr: AttrNode


@dataclass(frozen=True, kw_only=True)
class HasTagNode(Node):
    key: StringLit


@dataclass(frozen=True, kw_only=True)
class NotNode(Node):
    item: PredNode


@dataclass(frozen=True, kw_only=True)
class AndNode(Node):
    items: tuple[PredNode, ...]


@dataclass(frozen=True, kw_only=True)
class OrNode(Node):
    items: tuple[PredNode, ...]


@dataclass(frozen=True, kw_only=True)
class ParenNode(Node):
    """Parentheses are kept so the formatter prints them back where the author put them."""

    item: PredNode


PredNode = CompareNode | BareNode | HasTagNode | NotNode | AndNode | OrNode | ParenNode


# ----------------------------------------------------------------------------------------------------------------
# Rule bodies


@dataclass(frozen=True, kw_only=True)
class SeparatePairsBody(Node):
    unit: Name


@dataclass(frozen=True, kw_only=True)
class SeparateRegionsBody(Node):
    unit: Name
    regions: ValueNode


@dataclass(frozen=True, kw_only=True)
class RoundOpt(Node):
    mode: str | None = None  # floor | ceil
    minimum: ValueNode | None = None


@dataclass(frozen=True, kw_only=True)
class AtMostBody(Node):
    """``at most AMOUNT [(opts)] [NOUN] [of a SCOPE] [per X]* [where P]`` — capacity, distinct or unit limits."""

    amount: ValueNode
    rounding: tuple[RoundOpt, ...] = ()
    counted: Name | None = None
    of: Name | None = None
    per: tuple[Name, ...] = ()
    where: PredNode | None = None


@dataclass(frozen=True, kw_only=True)
class NotWholeBody(Node):
    unit: Name
    of: Name
    min_size: ValueNode | None = None
    min_noun: Name | None = None
    where: PredNode | None = None


@dataclass(frozen=True, kw_only=True)
class CanaryBody(Node):
    noun: Name
    regions: ValueNode
    alone: bool


@dataclass(frozen=True, kw_only=True)
class Selector(Node):
    noun: Name
    value: ValueNode | None = None
    where: PredNode | None = None


@dataclass(frozen=True, kw_only=True)
class OrderBody(Node):
    earlier: Selector
    later: Selector
    unit: Name | None = None


@dataclass(frozen=True, kw_only=True)
class OrderByBody(Node):
    unit: Name
    tag: StringLit | None = None
    attr: AttrNode | None = None
    descending: bool = False
    where: PredNode | None = None


@dataclass(frozen=True, kw_only=True)
class SpreadBody(Node):
    single: bool
    noun: Name
    by: tuple[Name, ...]
    unit: Name
    where: PredNode | None = None
    weight: ValueNode | None = None


@dataclass(frozen=True, kw_only=True)
class PrecheckBody(Node):
    of: Name
    op: str
    cap: ValueNode


@dataclass(frozen=True, kw_only=True)
class HealthWaitBody(Node):
    wait: ValueNode
    on_timeout: Literal["rollback", "keep"] | None = None


@dataclass(frozen=True, kw_only=True)
class StopUpgradedBody(Node):
    of: Name
    op: str
    cap: ValueNode


@dataclass(frozen=True, kw_only=True)
class StopUnhealthyBody(Node):
    of: Name
    op: str
    cap: ValueNode


@dataclass(frozen=True, kw_only=True)
class PhaseGateBody(Node):
    pass


@dataclass(frozen=True, kw_only=True)
class RetryBody(Node):
    after: ValueNode
    max_attempts: ValueNode | None = None


@dataclass(frozen=True, kw_only=True)
class PauseBody(Node):
    pause: ValueNode
    of: Name | None = None


@dataclass(frozen=True, kw_only=True)
class ExecClaimBody(Node):
    """``the executor never starts a batch while unhealthy [among upgraded] in the SCOPE > CAP``."""

    upgraded: bool
    of: Name
    op: str
    cap: ValueNode


@dataclass(frozen=True, kw_only=True)
class VersionClaimBody(Node):
    kind: Literal["no_major", "rollback_restores"]
    noun: Name


@dataclass(frozen=True, kw_only=True)
class ExtSelector(Node):
    """``extension "TYPE"`` (``type`` set: selects by type) or ``extension publisher "P" type "T" name "N"``
    (``fields``: any of them, the version pins' fields)."""

    type: StringLit | None = None
    fields: tuple[ExtField, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ExtensionOrderBody(Node):
    """``extension A before extension B on each vm``."""

    first: ExtSelector
    second: ExtSelector
    noun: Name  # the word after `on each`: the checker wants `vm`


@dataclass(frozen=True, kw_only=True)
class InstallTimeBody(Node):
    """``install takes DURATION``."""

    duration: ValueNode


@dataclass(frozen=True, kw_only=True)
class RecItem(Node):
    """One day of a window's recurrence: ``Saturday``, ``Second Tuesday``, ``Last Friday``, ``Last day`` (words) or
    ``31st`` (``day``)."""

    words: tuple[Name, ...] = ()
    day: str | None = None


@dataclass(frozen=True, kw_only=True)
class TimeZoneNode(Node):
    """``in "Europe/Berlin"``, ``in tag "tz"`` (``tag``: the string names a VM tag holding the zone) or ``in the
    region zone`` (``region``: the VM's region's time_zone in the fleet; ``name`` is then empty)."""

    name: StringLit
    tag: bool = False
    region: bool = False


@dataclass(frozen=True, kw_only=True)
class WindowBody(Node):
    """``upgrade only DAYS HH:MM-HH:MM [in ZONE] [where P]``."""

    days: tuple[RecItem, ...]
    hours: Name  # the time range as written, e.g. 22:00-06:00
    zone: TimeZoneNode | None = None
    where: PredNode | None = None


@dataclass(frozen=True, kw_only=True)
class FreezeBody(Node):
    """``never from DATE to DATE [in ZONE] [where P]``."""

    start: Name  # YYYY-MM-DD or YYYY-MM-DDTHH:MM as written
    end: Name
    zone: TimeZoneNode | None = None
    where: PredNode | None = None


@dataclass(frozen=True, kw_only=True)
class BakeBody(Node):
    """``bake D after each phase|wave`` or ``bake D after the first wave|zone of each region``."""

    duration: ValueNode
    unit: Name  # the unit after `each` (phase, wave), or the scope after `of each` (region)
    first: Name | None = None  # wave or zone, in the `first` form


RuleBody = (
    SeparatePairsBody | SeparateRegionsBody | AtMostBody | NotWholeBody | CanaryBody | OrderBody | OrderByBody
    | ExtensionOrderBody | InstallTimeBody | WindowBody | FreezeBody
)
GateBody = (PrecheckBody | HealthWaitBody | StopUpgradedBody | StopUnhealthyBody | PhaseGateBody | RetryBody | PauseBody
            | BakeBody)
Body = RuleBody | GateBody | SpreadBody | ExecClaimBody | VersionClaimBody


# ----------------------------------------------------------------------------------------------------------------
# Version items


@dataclass(frozen=True, kw_only=True)
class ExtField(Node):
    key: str  # publisher | type | name
    value: StringLit


@dataclass(frozen=True, kw_only=True)
class VersionItem(Node):
    kind: Literal["only_enabled", "include_disabled", "newest_minor", "never_major", "allow_major"]


@dataclass(frozen=True, kw_only=True)
class OptOutItem(Node):
    fields: tuple[ExtField, ...]


@dataclass(frozen=True, kw_only=True)
class PinItem(Node):
    fields: tuple[ExtField, ...]
    version: StringLit


VersionEntry = VersionItem | OptOutItem | PinItem


# ----------------------------------------------------------------------------------------------------------------
# Statements and files


@dataclass(frozen=True, kw_only=True)
class PolicyDecl(Node):
    name: Name


@dataclass(frozen=True, kw_only=True)
class TheoremsDecl(Node):
    spec: StringLit


@dataclass(frozen=True, kw_only=True)
class ExtendsDecl(Node):
    path: StringLit


@dataclass(frozen=True, kw_only=True)
class ParamDecl(Node):
    name: Name
    value: ValueNode


StatementKind = Literal["rule", "prefer", "gate", "theorem"]


@dataclass(frozen=True, kw_only=True)
class NamedDecl(Node):
    """``rule|prefer|gate|theorem NAME: BODY``."""

    kind: StatementKind
    name: Name
    body: Body


@dataclass(frozen=True, kw_only=True)
class VersionsDecl(Node):
    items: tuple[VersionEntry, ...]


Statement = PolicyDecl | TheoremsDecl | ExtendsDecl | ParamDecl | NamedDecl | VersionsDecl


@dataclass(frozen=True)
class Comment:
    line: int
    column: int
    text: str


@dataclass(frozen=True, kw_only=True)
class File(Node):
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)

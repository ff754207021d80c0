"""The interface every rule kind implements in the check stage: read a schedule placed on a fleet, record findings.

One module per rule kind (``capacity.py``, ``canary.py`` ...), each a subclass of :class:`RuleCheck` naming the IR
type it reads; ``engine.check.rules.CHECKS`` maps each IR type to its check.  This is the normative semantics: plain
code a reviewer can trust at a glance; where speed needs a trick, the trick is a separate, tested fast path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Generic, TypeVar

from engine.check.placement import Placement

R = TypeVar("R")


class RuleCheck(ABC, Generic[R]):
    """The check of one rule kind: ``check(rule, placement)`` records each violation with ``placement.add``."""

    kind: ClassVar[type]
    # The scope-valued fields of the rule, each of which must name a scope the checker knows.
    scope_fields: ClassVar[tuple[str, ...]] = ()

    @abstractmethod
    def check(self, rule: R, at: Placement) -> None: ...

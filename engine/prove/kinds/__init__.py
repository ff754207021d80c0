"""How each kind of claim is proven, by IR type: ``CLAIMS[type(claim)].prove(spec, claim, deadline)``.

Adding a claim kind: a module here with a :class:`~engine.prove.kinds.base.ClaimKind` subclass (for a claim on a
generic element, a :class:`~engine.prove.kinds.base.SymbolicClaim`: its encoding, the premises each spec rule kind
contributes in one table, its witness builder, and its soundness argument in the docstring), listed below.
``tests/test_rule_kinds.py`` fails for a claim kind of the IR that is neither here nor in :data:`UNSUPPORTED`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.prove.kinds.base import ClaimKind
from engine.prove.kinds.canary import CanaryClaim
from engine.prove.kinds.distinct_limit import DistinctLimitClaim
from engine.prove.kinds.extension_order import ExtensionOrderClaim
from engine.prove.kinds.gates import HealthWaitClaim, PrecheckClaim, StopUnhealthyClaim, StopUpgradedClaim
from engine.prove.kinds.group import CapacityClaim, NotWholeClaim
from engine.prove.kinds.order import OrderClaim
from engine.prove.kinds.order_by import OrderByClaim
from engine.prove.kinds.run_gates import PauseClaim, PhaseClaim, RetryClaim
from engine.prove.kinds.separation import SeparatePairsClaim, SeparateRegionsClaim
from engine.prove.kinds.timing import BakeClaim, FreezeClaim, InstallTimeClaim, WindowClaim
from engine.prove.kinds.unit_limit import UnitLimitClaim
from engine.prove.kinds.versions import VersionClaimKind

_ALL: tuple[ClaimKind[Any], ...] = (
    SeparatePairsClaim(),
    SeparateRegionsClaim(),
    DistinctLimitClaim(),
    CapacityClaim(),
    NotWholeClaim(),
    UnitLimitClaim(),
    CanaryClaim(),
    OrderClaim(),
    OrderByClaim(),
    ExtensionOrderClaim(),
    PrecheckClaim(),
    HealthWaitClaim(),
    StopUpgradedClaim(),
    StopUnhealthyClaim(),
    PhaseClaim(),
    RetryClaim(),
    PauseClaim(),
    VersionClaimKind(),
    InstallTimeClaim(),
    BakeClaim(),
    WindowClaim(),
    FreezeClaim(),
)
CLAIMS: Mapping[type, ClaimKind[Any]] = {k.kind: k for k in _ALL}

# Claim kinds with no proof method, and what a user sees: such a claim is unknown, never proven.  (Every kind of
# the IR has one today; parameters an encoding cannot express are refused by the kind itself, with its reason.)
UNSUPPORTED: Mapping[type, str] = {}

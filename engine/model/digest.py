"""What ties a schedule to its inputs: the sha256 of the fleet and of the resolved policy (schedule format v2).

Both digests are of a canonical form, not of the file's bytes, so that reformatting a fleet or a policy (or moving a
policy, or splitting it with ``extends``) keeps its digest, while any change of meaning changes it:

* the fleet: its canonical JSON (``Fleet.to_json()``: unknown fields included, key order kept);
* the policy: its checked IR (``dsl.policy.Policy``: name, params, rules, preferences, gates, versions) as sorted
  JSON, leaving out the source spans and file paths (where a statement is written is not what it means).

:func:`check_tied` refuses, in one line, a schedule whose digests are not those of the fleet and policy it is
checked against; a version-1 schedule has no digests and is checked as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.policy import Policy
from engine.model.errors import InputError
from engine.model.fleet import Fleet
from engine.model.schedule import Schedule

_LEFT_OUT = frozenset({"span", "files"})


def fleet_sha256(fleet: Fleet) -> str:
    return fleet.sha256


def policy_sha256(policy: Policy) -> str:
    text = json.dumps(_canonical(policy), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _canonical(value: Any) -> Any:
    """The IR as plain JSON: each dataclass an object with its type name, spans and file paths left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _canonical(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name not in _LEFT_OUT}
        out["__kind__"] = type(value).__name__
        return out
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, tuple | list | frozenset | set):
        items = [_canonical(v) for v in value]
        return sorted(items, key=json.dumps) if isinstance(value, frozenset | set) else items
    if isinstance(value, Fraction):
        return f"{value.numerator}/{value.denominator}"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return repr(value)


def tie(schedule: Schedule, policy: Policy, fleet: Fleet) -> Schedule:
    """``schedule`` recording the digests of the fleet and policy it was planned for (format version 2)."""
    return schedule.model_copy(update={"version": 2, "fleet_sha256": fleet_sha256(fleet),
                                       "policy_sha256": policy_sha256(policy)})


def check_tied(schedule: Schedule, policy: Policy, fleet: Fleet, file: str, force: bool = False) -> str | None:
    """Refuse (InputError, one line) a schedule planned for another fleet or policy; with ``force``, return that
    line as a warning instead.  A schedule without digests (version 1) passes."""
    other: list[str] = []
    if schedule.fleet_sha256 is not None and fleet_sha256(fleet) != schedule.fleet_sha256:
        other.append("fleet")
    if schedule.policy_sha256 is not None and policy_sha256(policy) != schedule.policy_sha256:
        other.append("policy")
    if not other:
        return None
    msg = f"this schedule was planned for another {' and another '.join(other)} (its {other[0]}_sha256 differs)"
    if force:
        return f"{file}: {msg}"
    raise InputError([Diagnostic("E-SCHEDULE", msg, JsonLocation(file, f"$.{other[0]}_sha256"),
                                 "plan again for these inputs, or pass --force to check it anyway")])

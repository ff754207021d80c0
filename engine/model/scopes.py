"""How a group of a scope is named for people: one rendering, shared by every stage's messages."""

from __future__ import annotations

from typing import Any

GroupKey = tuple[Any, ...]


def group_label(scope: str, key: GroupKey) -> str:
    """``("zone", ("eastus", "2"))`` -> "zone 2 of region eastus"; a null part reads "unknown"."""

    def s(v: Any) -> str:
        return "unknown" if v is None else str(v)

    if scope == "fleet":
        return "the fleet"
    if scope == "zone":
        return f"zone {s(key[1])} of region {s(key[0])}"
    if scope in ("update_domain", "fault_domain"):
        return f"{scope.replace('_', ' ')} {s(key[1])} of set {s(key[0])}"
    label = {"vm": "VM", "set": "set"}.get(scope, scope.replace("_", " "))
    return f"{label} {s(key[0])}"

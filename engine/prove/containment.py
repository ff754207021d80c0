"""Which groups lie inside which, and which attributes the VMs of one group share: the tables every encoding reads.

A rule about each group of scope R constrains a claim's element of scope C when every group of C lies inside one
group of R (:data:`CONTAINS`); the element's kinds of VM share the attributes that every VM of one group of C has in
common (:data:`SHARED`).  A group of some scopes exists only for VMs whose *membership attribute* is known
(:data:`MEMBERSHIP`): a region with no known geography is in no geography group, so a geography rule constrains a
region only when its geography is known, and the encodings guard such premises with that attribute's presence.
"""

from __future__ import annotations

from collections.abc import Mapping

# Scopes whose groups lie inside one group of the key scope (sets lie in one region; a region in one geography).
CONTAINS: Mapping[str, frozenset[str]] = {
    "fleet": frozenset({"region", "zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain",
                        "subscription", "geography", "vm"}),
    "geography": frozenset({"region", "zone", "scale_set", "availability_set", "set", "update_domain",
                            "fault_domain", "vm"}),
    "region": frozenset({"zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain", "vm"}),
    "zone": frozenset({"vm"}),
    "scale_set": frozenset({"update_domain", "fault_domain", "vm"}),
    "availability_set": frozenset({"update_domain", "fault_domain", "vm"}),
    "set": frozenset({"scale_set", "availability_set", "update_domain", "fault_domain", "vm"}),
    "update_domain": frozenset({"vm"}),
    "fault_domain": frozenset({"vm"}),
    "subscription": frozenset({"vm"}),
    "vm": frozenset(),
}

# The attribute whose presence makes a VM a member of some group of the scope (absent: in no group of it).
MEMBERSHIP: Mapping[str, str] = {"geography": "region.geography"}

# Attributes that every VM of one group of the scope shares.
_SET_ATTRS = ("vm.in_scale_set", "vm.in_availability_set", "scale_set.name", "scale_set.size", "scale_set.upgrade_mode",
              "availability_set.name", "availability_set.size", "vm.single")
_REGION_ATTRS = ("region.name", "region.zones", "region.paired", "vm.region", "region.geography")
SHARED: Mapping[str, tuple[str, ...]] = {
    "fleet": (),
    "geography": ("region.geography",),
    "region": _REGION_ATTRS,
    "zone": (*_REGION_ATTRS, "vm.zone"),
    "scale_set": (*_REGION_ATTRS, *_SET_ATTRS),
    "availability_set": (*_REGION_ATTRS, *_SET_ATTRS),
    "set": (*_REGION_ATTRS, *_SET_ATTRS),
    "update_domain": (*_REGION_ATTRS, *_SET_ATTRS, "vm.update_domain"),
    "fault_domain": (*_REGION_ATTRS, *_SET_ATTRS, "vm.fault_domain"),
    "subscription": ("vm.subscription",),
    "vm": (),
}

# Scopes whose groups lie inside one region (a region's tasks all lie in one phase, so such a group spans one phase).
IN_ONE_REGION = frozenset({"region", "zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain",
                           "vm"})


def unit_covers(rule_unit: str, claim_unit: str) -> bool:
    """A rule about each ``rule_unit`` constrains the VMs of one ``claim_unit`` (a wave lies inside one phase)."""
    return rule_unit == claim_unit or (rule_unit == "phase" and claim_unit == "wave")


def same_group(rule_scope: str, claim_scope: str) -> bool:
    return rule_scope == claim_scope or {rule_scope, claim_scope} in ({"set", "scale_set"}, {"set", "availability_set"})


def contains(rule_scope: str, claim_scope: str) -> bool:
    """Every group of ``claim_scope`` lies inside one group of ``rule_scope`` (given its membership attribute)."""
    return claim_scope in CONTAINS.get(rule_scope, frozenset())


def covers(rule_scope: str, claim_scope: str) -> bool:
    """A rule on each ``rule_scope`` speaks about the claim's group: the same group or one containing it."""
    return same_group(rule_scope, claim_scope) or contains(rule_scope, claim_scope)


def membership(rule_scope: str, claim_scope: str) -> str | None:
    """The attribute a claim's element must have for a rule on ``rule_scope`` to cover it (None: always covered)."""
    return None if rule_scope == claim_scope else MEMBERSHIP.get(rule_scope)

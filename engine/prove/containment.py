"""Which groups lie inside which, which attributes the VMs of one group share, and under which condition: the one
table every encoding reads, derived from the normative grouping, never written pair by pair.

The checker (``engine.check.semantics.Semantics.group_key``) puts a VM in the group of scope S keyed by the fields
``GROUP_KEY[S]`` (``dsl.policy``), provided the VM is a *member* of S: it has the set kind S needs (a scale set for
``scale_set``; any set for ``set`` and the domains), a zone for ``zone``, a known geography for ``geography``.  From
that and the facts the fleet format guarantees (:data:`DETERMINES`: a set lies in one region and its name is unique
across scale sets and availability sets; a region has one geography; a VM's name determines everything) follow:

* :func:`relation`: a group of the claim's scope C lies inside one group of the rule's scope R when R's key fields
  are determined by C's (the closure under :data:`DETERMINES`) and C's members are R's members; where they are
  only under a condition on the group (a set is a scale set; a VM has a zone), the relation carries that condition
  as its *guard* (attributes whose presence the group must have), and an encoding binds the rule only under it.
  The groups are the *same* when, moreover, C's key fields are determined by R's and R's members are C's.
* :data:`SHARED`: the attributes every VM of one group of C has in common (those that are functions of determined
  fields).

Soundness: an encoding uses a rule on R as a premise about a group of C only where the table says the group lies in
one group of R, and only under the guard; ``tests/test_prove_containment.py`` checks every pair of the table against
the checker's grouping on generated fleets (every guarded "inside" is a real inclusion, every "same" an equality,
every shared attribute one value per group).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dsl.policy import GROUP_KEY

SCOPES: tuple[str, ...] = tuple(GROUP_KEY)

# What a field of the grouping determines on every valid fleet (engine.model.fleet.validate_fleet): a set lies in
# its region, its name is that of one scale set or one availability set (never both); a scale set or availability
# set name is the set's name; a region has one geography; a VM's name determines every field.
DETERMINES: Mapping[str, frozenset[str]] = {
    "set": frozenset({"region", "scale_set", "availability_set"}),
    "scale_set": frozenset({"set", "region", "availability_set"}),
    "availability_set": frozenset({"set", "region", "scale_set"}),
    "region": frozenset({"geography"}),
    "name": frozenset({"region", "zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain",
                       "subscription", "geography"}),
}

# The set kinds a VM of a group of the scope may have, and the attributes it must have besides (its membership).
_ALL_KINDS = frozenset({"scale_set", "availability_set", "single"})
_SET_KINDS = frozenset({"scale_set", "availability_set"})
MEMBER_KINDS: Mapping[str, frozenset[str]] = {
    **{s: _ALL_KINDS for s in SCOPES},
    "scale_set": frozenset({"scale_set"}),
    "availability_set": frozenset({"availability_set"}),
    "set": _SET_KINDS,
    "update_domain": _SET_KINDS,
    "fault_domain": _SET_KINDS,
}
MEMBER_NEEDS: Mapping[str, frozenset[str]] = {
    **{s: frozenset() for s in SCOPES},
    "zone": frozenset({"vm.zone"}),
    "geography": frozenset({"region.geography"}),
}
# The attribute whose presence makes a VM a member of some group of the scope (absent: in no group of it).
MEMBERSHIP: Mapping[str, str] = {s: next(iter(n)) for s, n in MEMBER_NEEDS.items() if n}

# A guard is a conjunction of clauses, each a disjunction of attributes whose presence flag must hold.
Guard = tuple[tuple[str, ...], ...]
_NEED_FIELD = {"vm.zone": "zone", "region.geography": "geography"}
_KIND_FLAG = {"scale_set": "vm.in_scale_set", "availability_set": "vm.in_availability_set", "single": "vm.single"}


def closure(fields: tuple[str, ...]) -> frozenset[str]:
    """Every field the given key fields determine (the fields themselves included)."""
    out = set(fields)
    while True:
        more = {f for g in out for f in DETERMINES.get(g, ())} - out
        if not more:
            return frozenset(out)
        out |= more


@dataclass(frozen=True)
class Relation:
    """How one group of a claim's scope lies in the groups of a rule's scope: ``inside`` one of them (under
    ``guard``), and whether it is that whole group (``same``)."""

    inside: bool
    same: bool
    guard: Guard = ()


NONE = Relation(False, False)


def _guard(rule_scope: str, claim_scope: str) -> Guard:
    clauses: list[tuple[str, ...]] = []
    kinds_r, kinds_c = MEMBER_KINDS[rule_scope], MEMBER_KINDS[claim_scope]
    if not kinds_c <= kinds_r:
        clauses.append(tuple(_KIND_FLAG[k] for k in sorted(kinds_r & kinds_c)))
    for need in sorted(MEMBER_NEEDS[rule_scope] - MEMBER_NEEDS[claim_scope]):
        clauses.append((need,))
    return tuple(clauses)


def _relation(rule_scope: str, claim_scope: str) -> Relation:
    if rule_scope == claim_scope:
        return Relation(True, True)
    key_r, key_c = GROUP_KEY[rule_scope], GROUP_KEY[claim_scope]
    if not set(key_r) <= closure(key_c):
        return NONE
    guard = _guard(rule_scope, claim_scope)
    if any(not clause for clause in guard):
        return NONE  # the claim's groups are never members of the rule's scope
    if not all(attr in SHARED[claim_scope] for clause in guard for attr in clause):
        return NONE  # the condition varies within a group of the claim: not a fact of the group
    fields_r = closure(key_r)
    # The rule's group of that key holds only members of the claim's scope with the claim's key: the claim's key is
    # determined by the rule's, and so are (or the rule's scope requires) the claim's set kind and needs.
    same = (set(key_c) <= fields_r
            and ("set" in fields_r or MEMBER_KINDS[rule_scope] <= MEMBER_KINDS[claim_scope])
            and all(_NEED_FIELD[n] in fields_r for n in MEMBER_NEEDS[claim_scope] - MEMBER_NEEDS[rule_scope]))
    return Relation(True, same, guard)


@dataclass(frozen=True)
class Shared:
    """The attributes every VM of one group shares: ``keys``, or (``every``) all but the per-task ``extension.*``
    ones (a group of one VM)."""

    keys: frozenset[str] = frozenset()
    every: bool = False

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        return not key.startswith("extension.") if self.every else key in self.keys


# Attributes that are functions of a field of the grouping.
_FIELD_ATTRS: Mapping[str, tuple[str, ...]] = {
    "region": ("region.name", "region.zones", "region.paired", "vm.region"),
    "geography": ("region.geography",),
    "set": ("vm.in_scale_set", "vm.in_availability_set", "vm.single", "scale_set.name", "scale_set.size",
            "scale_set.upgrade_mode", "availability_set.name", "availability_set.size"),
    "zone": ("vm.zone",),
    "update_domain": ("vm.update_domain",),
    "fault_domain": ("vm.fault_domain",),
    "subscription": ("vm.subscription",),
}


def _shared(scope: str) -> Shared:
    fields = closure(GROUP_KEY[scope])
    if "name" in fields:
        return Shared(every=True)
    return Shared(frozenset(a for f, attrs in _FIELD_ATTRS.items() if f in fields for a in attrs))


# Attributes that every VM of one group of the scope shares (a VM's group: all of them but its tasks').
SHARED: Mapping[str, Shared] = {s: _shared(s) for s in SCOPES}
RELATION: Mapping[tuple[str, str], Relation] = {(r, c): _relation(r, c) for r in SCOPES for c in SCOPES}

# Scopes whose groups lie inside one region (a region's tasks all lie in one phase, so such a group spans one phase).
IN_ONE_REGION = frozenset(c for c in SCOPES if RELATION[("region", c)].inside and not RELATION[("region", c)].guard)


def relation(rule_scope: str, claim_scope: str) -> Relation:
    return RELATION.get((rule_scope, claim_scope), NONE)


def unit_covers(rule_unit: str, claim_unit: str) -> bool:
    """A rule about each ``rule_unit`` constrains the VMs of one ``claim_unit`` (a wave lies inside one phase)."""
    return rule_unit == claim_unit or (rule_unit == "phase" and claim_unit == "wave")


def same_group(rule_scope: str, claim_scope: str) -> bool:
    """The claim's group is the rule's whole group (possibly under a guard)."""
    return relation(rule_scope, claim_scope).same


def covers(rule_scope: str, claim_scope: str) -> bool:
    """A rule on each ``rule_scope`` speaks about the claim's group: the same group or one containing it (possibly
    under a guard: see :func:`guard`)."""
    return relation(rule_scope, claim_scope).inside


def guard(rule_scope: str, claim_scope: str) -> Guard:
    """The condition on the claim's group under which a rule on ``rule_scope`` binds it (empty: always)."""
    return relation(rule_scope, claim_scope).guard


def same_groups_everywhere(gate_scope: str, claim_scope: str) -> bool:
    """Every group of ``claim_scope`` is a whole group of ``gate_scope``, unconditionally: what an executor gate on
    ``gate_scope`` must be for its decisions to be about every group of the claim."""
    r = relation(gate_scope, claim_scope)
    return r.same and not r.guard

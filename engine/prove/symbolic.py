"""Symbolic encodings of claims over generic fleet elements, for the prover (separate from the planner's compiler).

Each claim is checked on one *generic element* of its scope, the way Cedar's symbolic compiler checks a property:
the encoding is a set of assertions (premises drawn from the policy, the element's well-formedness, and the negated
claim) that is unsatisfiable exactly when no fleet element violates the claim.  Sizes and counts are symbolic
integers (linear integer arithmetic), so an UNSAT answer holds for fleets of every size.

Soundness of "proven": every premise asserted here is a consequence of a spec rule for every fleet that contains the
element; rules the encoding cannot express are dropped, which only weakens the premises.  Two facts make a small
element enough: every hard rule is downward closed (taking tasks out of a schedule never breaks a rule, as a VM
without tasks still counts in group sizes), so a violation with more scheduled VMs implies one with just the
violating ones; and a group's VMs can be described by a few *kinds* (one per combination of the atoms of the
``where`` filters), each kind with symbolic attribute values and a symbolic count.

A satisfying model is turned into a concrete fleet and schedule by :meth:`Encoding.build`; the prover replays them
through the independent checker before it calls anything a counterexample.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import z3

from dsl.policy import (
    ATTRIBUTES,
    And,
    Attr,
    Canary,
    Capacity,
    Compare,
    Count,
    DistinctLimit,
    HasTag,
    Not,
    NotWhole,
    Or,
    Order,
    OrderBy,
    Percent,
    Policy,
    Predicate,
    SeparatePairs,
    SeparateRegions,
    TrueP,
    UnitLimit,
    VersionClaim,
)

# Names used in constructed counterexample fleets (chosen so no policy selector is likely to match them).
WITNESS_EXTENSION = {"name": "agent", "publisher": "Wavegate.Witness", "type": "WitnessAgent"}
OLD_VERSION = "1.0"
NEW_VERSION = "1.1"
MAX_KIND_ATOMS = 3  # 2**3 kinds of VM per element: enough for three independent VM-level atoms

# Scopes whose groups contain every group of the key scope (sets lie in one region; a VM is in one of each).
CONTAINS: dict[str, frozenset[str]] = {
    "fleet": frozenset({"region", "zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain",
                        "subscription", "vm"}),
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

# Attributes that every VM of one group of the scope shares.
_SET_ATTRS = ("vm.in_scale_set", "vm.in_availability_set", "scale_set.name", "scale_set.size", "scale_set.upgrade_mode", "availability_set.name",
              "availability_set.size", "vm.single")
_REGION_ATTRS = ("region.name", "region.zones", "region.paired", "vm.region")
SHARED: dict[str, tuple[str, ...]] = {
    "fleet": (),
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


def unit_covers(rule_unit: str, claim_unit: str) -> bool:
    """A rule about each ``rule_unit`` constrains the VMs of one ``claim_unit`` (a wave lies inside one phase)."""
    return rule_unit == claim_unit or (rule_unit == "phase" and claim_unit == "wave")


def same_group(rule_scope: str, claim_scope: str) -> bool:
    return rule_scope == claim_scope or {rule_scope, claim_scope} in ({"set", "scale_set"}, {"set", "availability_set"})


# ----------------------------------------------------------------------------------------------------------------
# Strings as integers


class Interner:
    """Every string constant of the policy and claim gets an id; ids from ``len(consts)`` on are fresh strings."""

    def __init__(self, strings: Iterable[str]) -> None:
        self.consts: tuple[str, ...] = tuple(sorted(set(strings)))
        self.ids = {s: i for i, s in enumerate(self.consts)}

    def id(self, s: str) -> int:
        return self.ids.get(s, -2)  # -2: a constant no symbolic value can equal (never interned)

    def name(self, i: int, prefix: str) -> str:
        return self.consts[i] if 0 <= i < len(self.consts) else f"{prefix}{i}"


def predicate_strings(p: Predicate) -> Iterable[str]:
    if isinstance(p, Compare):
        vals = p.right if isinstance(p.right, tuple) else (p.right,)
        for v in vals:
            if isinstance(v, str):
                yield v
    elif isinstance(p, Not):
        yield from predicate_strings(p.item)
    elif isinstance(p, And | Or):
        for q in p.items:
            yield from predicate_strings(q)


def rule_strings(r: object) -> Iterable[str]:
    for attr in ("where", "earlier", "later"):
        p = getattr(r, attr, None)
        if p is not None:
            yield from predicate_strings(p)
    for attr in ("regions",):
        yield from getattr(r, attr, ()) or ()


def atoms(p: Predicate) -> list[Compare | HasTag]:
    if isinstance(p, Compare | HasTag):
        return [p]
    if isinstance(p, Not):
        return atoms(p.item)
    if isinstance(p, And | Or):
        return [a for q in p.items for a in atoms(q)]
    return []


def attr_key(a: Attr) -> str:
    return ".".join(a.path)


def attr_type(key: str) -> str:
    if key.startswith("vm.tags."):
        return "string"
    return ATTRIBUTES.get(key, "unknown")


# ----------------------------------------------------------------------------------------------------------------
# Amounts in linear integer arithmetic


def cap_term(amount: Count | Percent, size: z3.ArithRef, side: list[z3.BoolRef], tag: str) -> z3.ArithRef:
    """``amount.of(size)`` as a term; floor/ceil via fresh integers: f = floor(p*n/100) <=> 100f <= p*n < 100(f+1)."""
    if isinstance(amount, Count):
        return z3.IntVal(amount.n)
    v = Fraction(amount.value)
    a, b = v.numerator, v.denominator
    f = z3.Int(f"cap_{tag}")
    scaled = a * size
    if amount.rounding == "floor":
        side += [100 * b * f <= scaled, scaled < 100 * b * (f + 1)]
    else:
        side += [100 * b * (f - 1) < scaled, scaled <= 100 * b * f]
    return z3.If(f < amount.minimum, z3.IntVal(amount.minimum), f)


def exceeded_term(cap: Percent, part: z3.ArithRef, whole: z3.ArithRef) -> z3.BoolRef:
    """``cap.exceeded_by(part, whole)``: whole > 0 and part/whole > value/100."""
    v = Fraction(cap.value)
    return z3.And(whole > 0, 100 * v.denominator * part > v.numerator * whole)


# ----------------------------------------------------------------------------------------------------------------
# VM kinds: symbolic attribute values


class AttrVals:
    """Symbolic attribute values of one kind of VM (each a value and a presence flag; absent means null)."""

    def __init__(self, tag: str, shared: AttrVals | None, shared_keys: Sequence[str], strings: Interner) -> None:
        self.tag = tag
        self.shared = shared
        self.shared_keys = set(shared_keys)
        self.strings = strings
        self.vals: dict[str, tuple[z3.ExprRef, z3.BoolRef]] = {}
        self.side: list[z3.BoolRef] = []

    def get(self, key: str) -> tuple[z3.ExprRef, z3.BoolRef]:
        if self.shared is not None and key in self.shared_keys:
            return self.shared.get(key)
        if key not in self.vals:
            t = attr_type(key)
            safe = key.replace(".", "_")
            val: z3.ExprRef = z3.Bool(f"{self.tag}_{safe}") if t == "bool" else z3.Int(f"{self.tag}_{safe}")
            present = z3.Bool(f"{self.tag}_{safe}_present")
            self.vals[key] = (val, present)
            self.side += self._domain(key, val, present)
        return self.vals[key]

    def _domain(self, key: str, val: z3.ExprRef, present: z3.BoolRef) -> list[z3.BoolRef]:
        if key in ("vm.name", "vm.region", "vm.subscription", "region.name", "vm.healthy"):
            out: list[z3.BoolRef] = [present]
        elif key in ("region.zones", "region.paired"):
            out = [present]
        else:
            out = []
        if key == "vm.zone":
            zones, _ = self.get("region.zones")
            out += [z3.Implies(present, z3.And(val >= 1, val <= zones))]
        elif key == "region.zones":
            out += [val >= 0, val <= 16]
        elif key in ("vm.update_domain", "vm.fault_domain"):
            out += [val >= 0, val <= 1000]
        elif key in ("scale_set.size", "availability_set.size"):
            out += [val >= 1, val <= 100000]
        elif attr_type(key) == "string":
            out += [val >= 0, val <= len(self.strings.consts) + 8]
        if key.startswith("scale_set."):
            out += [present == self.get("vm.in_scale_set")[1]]
        if key.startswith("availability_set."):
            out += [present == self.get("vm.in_availability_set")[1]]
        if key == "vm.in_availability_set":
            out += [z3.Not(z3.And(present, self.get("vm.in_scale_set")[1]))]
        if key == "vm.single":
            out += [present, val == z3.And(z3.Not(self.get("vm.in_scale_set")[1]),
                                           z3.Not(self.get("vm.in_availability_set")[1]))]
        return out

    def all_side(self) -> list[z3.BoolRef]:
        return list(self.side)


def eval_pred(p: Predicate, vals: AttrVals) -> z3.BoolRef:
    """The truth of a ``where`` filter for a VM of this kind; a comparison with null is false except != / not in."""
    if isinstance(p, TrueP):
        return z3.BoolVal(True)
    if isinstance(p, Not):
        return z3.Not(eval_pred(p.item, vals))
    if isinstance(p, And):
        return z3.And(*[eval_pred(q, vals) for q in p.items]) if p.items else z3.BoolVal(True)
    if isinstance(p, Or):
        return z3.Or(*[eval_pred(q, vals) for q in p.items]) if p.items else z3.BoolVal(False)
    if isinstance(p, HasTag):
        return vals.get(f"vm.tags.{p.key}")[1]
    key = attr_key(p.left)
    if key.startswith("extension."):
        # Per task, and a VM has several extensions: a free atom per distinct comparison over-approximates.
        return z3.Bool(f"{vals.tag}_task_{key}_{p.op}_{p.right!r}")
    val, present = vals.get(key)
    t = attr_type(key)
    rights = p.right if isinstance(p.right, tuple) else (p.right,)

    def eq(r: object) -> z3.BoolRef:
        if t == "bool":
            return val == z3.BoolVal(bool(r)) if isinstance(r, bool) else z3.BoolVal(False)
        if t == "int" or key == "vm.zone":
            if isinstance(r, bool):
                return z3.BoolVal(False)
            if isinstance(r, int | Fraction):
                return val == z3.RealVal(r) if isinstance(r, Fraction) else val == r
            if isinstance(r, str) and r.isdigit():
                return val == int(r)
            return z3.BoolVal(False)
        if isinstance(r, str):
            return val == vals.strings.id(r)
        return val == vals.strings.id(str(r))

    op = p.op
    if op in ("==", "in"):
        return z3.And(present, z3.Or(*[eq(r) for r in rights]))
    if op in ("!=", "not in"):
        return z3.Or(z3.Not(present), z3.And(*[z3.Not(eq(r)) for r in rights]))
    r0 = rights[0]
    if (t == "int" or key == "vm.zone") and isinstance(r0, int | Fraction) and not isinstance(r0, bool):
        cmp = {"<": val < r0, "<=": val <= r0, ">": val > r0, ">=": val >= r0}[op]
        return z3.And(present, cmp)
    # Ordering of strings is not encoded: an unconstrained atom over-approximates (sound for "proven").
    return z3.Bool(f"{vals.tag}_opaque_{key}_{op}_{r0!r}")


def vm_level_atoms(preds: Iterable[Predicate], shared_keys: Sequence[str]) -> list[Compare | HasTag]:
    out: list[Compare | HasTag] = []
    for p in preds:
        for a in atoms(p):
            key = f"vm.tags.{a.key}" if isinstance(a, HasTag) else attr_key(a.left)
            if key not in shared_keys and a not in out:
                out.append(a)
    return out


# ----------------------------------------------------------------------------------------------------------------
# Encodings


@dataclass
class Encoding:
    """Assertions for one claim: ``premises`` (policy + well-formedness), ``shape`` (a non-trivial element of the
    claim's shape, for vacuity), ``violation`` (the negated claim).  ``build`` turns a model into fleet + schedule."""

    scope: str
    premises: list[z3.BoolRef]
    shape: z3.BoolRef
    violation: z3.BoolRef
    involved: list[str]  # names of the spec rules encoded as premises
    dropped: list[str]
    build: Callable[[z3.ModelRef], tuple[dict[str, Any], dict[str, Any]]]
    notes: list[str] = field(default_factory=list)
    size: z3.ArithRef | None = None  # number of VMs of the element, minimised in counterexamples


class Unsupported(Exception):
    """The claim has no symbolic encoding here (the prover reports it as unknown, with this reason)."""


def interner_for(policy: Policy, claim: object) -> Interner:
    strings: list[str] = []
    for r in (*policy.rules, claim):
        strings.extend(rule_strings(r))
    return Interner(strings)


def encode(policy: Policy, claim: object) -> Encoding:
    if isinstance(claim, Capacity | NotWhole):
        return encode_group_claim(policy, claim)
    if isinstance(claim, SeparatePairs | SeparateRegions):
        return encode_separation(policy, claim)
    if isinstance(claim, DistinctLimit):
        return encode_distinct(policy, claim)
    if isinstance(claim, VersionClaim) and claim.kind == "no_major":
        return encode_no_major(policy)
    if isinstance(claim, UnitLimit):
        return encode_unit_limit(policy, claim)
    if isinstance(claim, Canary):
        return encode_canary(policy, claim)
    if isinstance(claim, Order | OrderBy):
        return encode_order(policy, claim)
    raise Unsupported(f"no symbolic encoding for claims of kind {type(claim).__name__}")


def _val(m: z3.ModelRef, t: z3.ExprRef) -> Any:
    v = m.eval(t, model_completion=True)
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_int_value(v):
        return v.as_long()
    return v


def encode_group_claim(policy: Policy, claim: Capacity | NotWhole) -> Encoding:
    """One group of the claim's scope, one unit, K kinds of VM with symbolic counts n_i and scheduled counts k_i."""
    scope, unit = claim.of, claim.within
    if scope not in SHARED:
        raise Unsupported(f"unknown scope '{scope}'")
    strings = interner_for(policy, claim)
    shared_keys = SHARED[scope]
    group = AttrVals("g", None, (), strings)
    premises: list[z3.BoolRef] = []
    involved: list[str] = []
    dropped: list[str] = []

    candidates: list[Capacity | NotWhole] = []
    for r in policy.rules:
        inside = isinstance(r, Capacity) and (same_group(r.of, scope) or scope in CONTAINS.get(r.of, ()))
        same = isinstance(r, NotWhole) and same_group(r.of, scope)
        if isinstance(r, Capacity | NotWhole) and unit_covers(r.within, unit) and (inside or same):
            candidates.append(r)
        else:
            dropped.append(r.name)
    preds: list[Predicate] = [claim.where]
    kept: list[Capacity | NotWhole] = []
    for r in candidates:
        trial = vm_level_atoms([*preds, r.where], shared_keys)
        if len(trial) > MAX_KIND_ATOMS:
            dropped.append(r.name)
            continue
        preds.append(r.where)
        kept.append(r)
    n_atoms = len(vm_level_atoms(preds, shared_keys))
    kinds = [AttrVals(f"k{i}", group, shared_keys, strings) for i in range(2**n_atoms)]
    n = [z3.Int(f"n{i}") for i in range(len(kinds))]
    k = [z3.Int(f"s{i}") for i in range(len(kinds))]
    for i in range(len(kinds)):
        premises += [n[i] >= 0, k[i] >= 0, k[i] <= n[i]]
    total = z3.Sum(*n)
    # The group's own size attributes.
    if scope in ("scale_set", "availability_set", "set", "update_domain", "fault_domain"):
        in_ss = group.get("vm.in_scale_set")[1]
        in_as = group.get("vm.in_availability_set")[1]
        if scope == "scale_set":
            premises.append(in_ss)
        elif scope == "availability_set":
            premises.append(in_as)
        else:
            premises.append(z3.Or(in_ss, in_as))
        for kind_name, flag in (("scale_set", in_ss), ("availability_set", in_as)):
            size = group.get(f"{kind_name}.size")[0]
            if scope in ("update_domain", "fault_domain"):
                premises.append(z3.Implies(flag, size >= total))
            else:
                premises.append(z3.Implies(flag, size == total))
        if scope in ("update_domain", "fault_domain"):
            premises.append(group.get(f"vm.{scope}")[1])
    if scope == "vm":
        premises.append(total <= 1)
    if scope == "zone":
        premises.append(group.get("vm.zone")[1])

    def count(p: Predicate, xs: list[z3.ArithRef]) -> z3.ArithRef:
        return z3.Sum(*[z3.If(eval_pred(p, kinds[i]), xs[i], 0) for i in range(len(kinds))])

    side: list[z3.BoolRef] = []
    for j, r in enumerate(kept):
        involved.append(r.name)
        if isinstance(r, Capacity):
            size_p, sched_p = count(r.where, n), count(r.where, k)
            if not same_group(r.of, scope):
                n_o, k_o = z3.Int(f"outer_n{j}"), z3.Int(f"outer_k{j}")
                premises += [n_o >= 0, k_o >= 0, k_o <= n_o]
                size_p, sched_p = size_p + n_o, sched_p + k_o
            premise = sched_p <= cap_term(r.amount, size_p, side, f"p{j}")
        else:
            size_p, sched_p = count(r.where, n), count(r.where, k)
            premise = z3.Implies(size_p >= max(r.min_size, 1), sched_p < size_p)
        if r.of != scope and same_group(r.of, scope) and scope == "set":
            flag = group.get("vm.in_scale_set" if r.of == "scale_set" else "vm.in_availability_set")[1]
            premise = z3.Implies(flag, premise)
        premises.append(premise)
    size_c, sched_c = count(claim.where, n), count(claim.where, k)
    if isinstance(claim, Capacity):
        violation = sched_c > cap_term(claim.amount, size_c, side, "claim")
    else:
        violation = z3.And(size_c >= max(claim.min_size, 1), sched_c == size_c)
    shape = sched_c >= 1
    for kv in (group, *kinds):
        premises += kv.all_side()
    premises += side

    def build(m: z3.ModelRef) -> tuple[dict[str, Any], dict[str, Any]]:
        vms: list[dict[str, Any]] = []
        for i, kv in enumerate(kinds):
            for j in range(_val(m, n[i])):
                vms.append(_vm_from(m, kv, strings, f"vm{i}-{j}", scheduled=j < _val(m, k[i])))
        return _fleet_and_schedule(m, [group, *kinds], strings, vms, unit)

    return Encoding("for all fleet sizes", premises, shape, violation, involved, dropped, build, size=total)


def encode_separation(policy: Policy, claim: SeparatePairs | SeparateRegions) -> Encoding:
    """Two regions a, b with tasks, sharing a unit; premises: separation rules, canaries."""
    strings = interner_for(policy, claim)
    ra = AttrVals("ra", None, (), strings)
    rb = AttrVals("rb", None, (), strings)
    name_a, name_b = ra.get("region.name")[0], rb.get("region.name")[0]
    a_names_b, b_names_a = z3.Bool("a_pair_b"), z3.Bool("b_pair_a")
    same_phase, same_wave = z3.Bool("same_phase"), z3.Bool("same_wave")
    premises: list[z3.BoolRef] = [name_a != name_b, z3.Implies(same_wave, same_phase)]
    premises += [ra.get("region.paired")[0] == z3.Or(a_names_b), rb.get("region.paired")[0] == z3.Or(b_names_a)]
    involved: list[str] = []
    dropped: list[str] = []

    def listed(names: tuple[str, ...], x: z3.ArithRef) -> z3.BoolRef:
        return z3.Or(*[x == strings.id(s) for s in names]) if names else z3.BoolVal(False)

    def shares(within: str) -> z3.BoolRef:
        return same_wave if within == "wave" else same_phase

    for r in policy.rules:
        if isinstance(r, SeparatePairs):
            premises.append(z3.Implies(z3.Or(a_names_b, b_names_a), z3.Not(shares(r.within))))
        elif isinstance(r, SeparateRegions):
            premises.append(z3.Implies(z3.And(listed(r.regions, name_a), listed(r.regions, name_b)),
                                       z3.Not(shares(r.within))))
        elif isinstance(r, Canary) and r.alone:
            la, lb = listed(r.regions, name_a), listed(r.regions, name_b)
            premises.append(z3.Implies(z3.Xor(la, lb), z3.Not(same_phase)))
        else:
            dropped.append(r.name)
            continue
        involved.append(r.name)
    if isinstance(claim, SeparatePairs):
        violation = z3.And(z3.Or(a_names_b, b_names_a), shares(claim.within))
        shape = z3.Or(a_names_b, b_names_a)
    else:
        violation = z3.And(listed(claim.regions, name_a), listed(claim.regions, name_b), shares(claim.within))
        shape = z3.And(listed(claim.regions, name_a), listed(claim.regions, name_b))
    premises += ra.all_side() + rb.all_side()

    def build(m: z3.ModelRef) -> tuple[dict[str, Any], dict[str, Any]]:
        na = strings.name(_val(m, name_a), "region")
        nb = strings.name(_val(m, name_b), "region")
        regions = [{"name": na, "pair": nb if _val(m, a_names_b) else None, "zones": 0},
                   {"name": nb, "pair": na if _val(m, b_names_a) else None, "zones": 0}]
        vms = [_plain_vm(f"vm-{na}", na, True), _plain_vm(f"vm-{nb}", nb, True)]
        if _val(m, same_wave):
            phases = [[na, nb]]
            waves = [(0, [vms[0]["name"], vms[1]["name"]])]
        elif _val(m, same_phase):
            phases = [[na, nb]]
            waves = [(0, [vms[0]["name"]]), (0, [vms[1]["name"]])]
        else:
            phases = [[na], [nb]]
            waves = [(0, [vms[0]["name"]]), (1, [vms[1]["name"]])]
        return _assemble(regions, [], [], vms, phases, waves)

    return Encoding("for all fleet sizes", premises, shape, violation, involved, dropped, build)


def encode_distinct(policy: Policy, claim: DistinctLimit) -> Encoding:
    """One group of scope ``per`` with d scheduled VMs of pairwise distinct ``count`` values in one unit."""
    if claim.count not in ("zone", "region", "update_domain", "fault_domain", "scale_set", "availability_set",
                           "set", "subscription"):
        raise Unsupported(f"no encoding for counting distinct '{claim.count}'")
    if claim.limit > 12:
        raise Unsupported("limit too large for the distinct-values element")
    d = z3.Int("distinct")
    size = z3.Int("group_size")  # VMs of the ``per`` group matching the claim, scheduled or not
    premises: list[z3.BoolRef] = [d >= 0, d <= claim.limit + 1, size >= d]
    involved: list[str] = []
    dropped: list[str] = []
    for j, r in enumerate(policy.rules):
        same = isinstance(r, Capacity | NotWhole | DistinctLimit) and same_group(
            r.of if isinstance(r, Capacity | NotWhole) else r.per, claim.per)
        if (isinstance(r, DistinctLimit) and r.count == claim.count and unit_covers(r.within, claim.within)
                and (same_group(r.per, claim.per) or claim.per in CONTAINS.get(r.per, ()))
                and r.where in (TrueP(), claim.where)):
            involved.append(r.name)
            premises.append(d <= r.limit)
        elif isinstance(r, Capacity) and unit_covers(r.within, claim.within) and (
                same or claim.per in CONTAINS.get(r.of, ())) and r.where == TrueP():
            involved.append(r.name)
            side: list[z3.BoolRef] = []
            if same:
                premises.append(d <= cap_term(r.amount, size, side, f"d{j}"))
            else:
                outer, sched = z3.Int(f"dsize_{j}"), z3.Int(f"dsched_{j}")
                premises += [sched >= d, outer >= size, outer - size >= sched - d,
                             sched <= cap_term(r.amount, outer, side, f"d{j}")]
            premises += side
        elif isinstance(r, NotWhole) and same and unit_covers(r.within, claim.within) and r.where == TrueP():
            involved.append(r.name)
            premises.append(z3.Implies(size >= max(r.min_size, 1), d < size))
        else:
            dropped.append(r.name)

    def build(m: z3.ModelRef) -> tuple[dict[str, Any], dict[str, Any]]:
        return _distinct_witness(claim, _val(m, d), _val(m, size) - _val(m, d))

    return Encoding("for all fleet sizes", premises, d >= 1, d >= claim.limit + 1, involved, dropped, build,
                    notes=[f"element: VMs of distinct {claim.count} in one {claim.per} and one {claim.within}"],
                    size=size)


IN_ONE_REGION = frozenset({"region", "zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain",
                           "vm"})


def encode_unit_limit(policy: Policy, claim: UnitLimit) -> Encoding:
    """One group of scope ``per`` whose scheduled VMs use d distinct units; a region's tasks lie in one phase."""
    if claim.limit + 1 > 12:
        raise Unsupported("limit too large for the unit-count element")
    d = z3.Int("units_used")
    premises: list[z3.BoolRef] = [d >= 0, d <= claim.limit + 1]
    involved: list[str] = []
    dropped: list[str] = []
    if claim.unit == "phase" and claim.per in IN_ONE_REGION:
        premises.append(d <= 1)  # the schedule format: each region's tasks all lie in one phase
    for r in policy.rules:
        if (isinstance(r, UnitLimit) and (r.unit == claim.unit or (r.unit == "wave" and claim.unit == "phase"))
                and (same_group(r.per, claim.per) or claim.per in CONTAINS.get(r.per, ()))
                and r.where in (TrueP(), claim.where)):
            involved.append(r.name)
            premises.append(d <= r.limit)
        else:
            dropped.append(r.name)

    def build(m: z3.ModelRef) -> tuple[dict[str, Any], dict[str, Any]]:
        found = _unit_limit_witnesses(claim)
        if not found:
            raise Unsupported("no witness layout for this unit limit")
        return found[0]

    return Encoding("for all fleet sizes", premises, d >= 1, d >= claim.limit + 1, involved, dropped, build)


def _first_witness(policy: Policy, claim: object) -> Callable[[z3.ModelRef], tuple[dict[str, Any], dict[str, Any]]]:
    def build(m: z3.ModelRef) -> tuple[dict[str, Any], dict[str, Any]]:
        found = witness_candidates(policy, claim)
        if not found:
            raise Unsupported("no witness layout for this claim")
        return found[0]

    return build


def encode_canary(policy: Policy, claim: Canary) -> Encoding:
    """A listed region a with tasks and another region b, in phases 0 or 1 (all a canary rule tells apart)."""
    if not claim.regions:
        raise Unsupported("a canary claim without regions")
    strings = interner_for(policy, claim)
    name_a, name_b = z3.Int("canary_a"), z3.Int("canary_b")
    pa, pb = z3.Int("phase_a"), z3.Int("phase_b")
    limit = len(strings.consts) + 8
    premises: list[z3.BoolRef] = [name_a != name_b, pa >= 0, pa <= 1, pb >= 0, pb <= 1,
                                  name_a >= 0, name_a <= limit, name_b >= 0, name_b <= limit]

    def listed(names: tuple[str, ...], x: z3.ArithRef) -> z3.BoolRef:
        return z3.Or(*[x == strings.id(r) for r in names]) if names else z3.BoolVal(False)

    involved: list[str] = []
    dropped: list[str] = []
    for r in policy.rules:
        if isinstance(r, Canary):
            involved.append(r.name)
            la, lb = listed(r.regions, name_a), listed(r.regions, name_b)
            premises += [z3.Implies(la, pa == 0), z3.Implies(lb, pb == 0)]
            if r.alone:
                premises += [z3.Implies(z3.And(z3.Or(la, lb), z3.Not(la)), pa != 0),
                             z3.Implies(z3.And(z3.Or(la, lb), z3.Not(lb)), pb != 0)]
        else:
            dropped.append(r.name)
    in_claim = listed(claim.regions, name_a)
    violation = z3.And(in_claim, z3.Or(pa != 0, z3.And(z3.BoolVal(claim.alone),
                                                       z3.Not(listed(claim.regions, name_b)), pb == 0)))
    return Encoding("for all fleet sizes", premises, in_claim, violation, involved, dropped,
                    _first_witness(policy, claim))


def encode_order(policy: Policy, claim: Order | OrderBy) -> Encoding:
    """Two scheduled VMs that the claim orders (a strictly before b) with a's unit not before b's."""
    ua, ub = z3.Int("unit_a"), z3.Int("unit_b")
    premises: list[z3.BoolRef] = [ua >= 0, ub >= 0]
    involved: list[str] = []
    dropped: list[str] = []
    for r in policy.rules:
        # An order by phases orders waves too (phase indices never decrease along the waves).
        unit = getattr(r, "unit", None)
        same_unit = unit == claim.unit or (unit == "phase" and claim.unit == "wave")
        same_order = isinstance(claim, Order) and isinstance(r, Order) and (r.earlier, r.later) == (
            claim.earlier, claim.later)
        same_key = isinstance(claim, OrderBy) and isinstance(r, OrderBy) and r.key == claim.key and (
            r.descending == claim.descending and r.where in (TrueP(), claim.where))
        if same_unit and (same_order or same_key):
            involved.append(r.name)
            premises.append(ua < ub)
        else:
            dropped.append(r.name)
    return Encoding("for all fleet sizes", premises, z3.BoolVal(True), ua >= ub, involved, dropped,
                    _first_witness(policy, claim))


def encode_no_major(policy: Policy) -> Encoding:
    """Upgrade resolution on one extension: installed major a, target t newer; the target's major differs."""
    inst_major, inst_rest = z3.Int("inst_major"), z3.Int("inst_rest")
    tgt_major, tgt_rest = z3.Int("tgt_major"), z3.Int("tgt_rest")
    newer = z3.Or(tgt_major > inst_major, z3.And(tgt_major == inst_major, tgt_rest > inst_rest))
    premises: list[z3.BoolRef] = [inst_major >= 0, inst_rest >= 0, tgt_major >= 0, tgt_rest >= 0, newer]
    involved = ["versions"]
    if not policy.versions.allow_major:
        premises.append(tgt_major == inst_major)
    violation = tgt_major != inst_major
    shape = z3.BoolVal(True)

    def build(m: z3.ModelRef) -> tuple[dict[str, Any], dict[str, Any]]:
        a, b = _val(m, inst_major), _val(m, tgt_major)
        old, new = f"{a}.{_val(m, inst_rest)}", f"{b}.{_val(m, tgt_rest)}"
        vm = _plain_vm("vm-0", "region0", True)
        vm["extensions"][0]["version"] = old
        regions = [{"name": "region0", "pair": None, "zones": 0}]
        fleet, sched = _assemble(regions, [], [], [vm], [["region0"]], [(0, ["vm-0"])], catalog=[old, new])
        return fleet, sched

    return Encoding("for all fleets", premises, shape, violation, involved, [], build)


# ----------------------------------------------------------------------------------------------------------------
# Building concrete fleets from models


def _plain_vm(name: str, region: str, scheduled: bool) -> dict[str, Any]:
    return {
        "name": name,
        "region": region,
        "subscription": "sub0",
        "extensions": [{**WITNESS_EXTENSION, "version": OLD_VERSION if scheduled else NEW_VERSION,
                        "enable_automatic_upgrade": True}],
        "_scheduled": scheduled,
    }


def _vm_from(m: z3.ModelRef, kv: AttrVals, strings: Interner, name: str, scheduled: bool) -> dict[str, Any]:
    def get(key: str, prefix: str) -> Any:
        val, present = kv.get(key)
        if not _val(m, present):
            return None
        v = _val(m, val)
        return strings.name(v, prefix) if attr_type(key) == "string" and key != "vm.zone" else v

    vm = _plain_vm(name, get("vm.region", "region") or "region0", scheduled)
    region_name = get("region.name", "region")
    if region_name is not None:
        vm["region"] = region_name
    zone = get("vm.zone", "")
    if zone is not None:
        vm["zone"] = str(zone)
    sub = get("vm.subscription", "sub")
    if sub is not None:
        vm["subscription"] = sub
    if _val(m, kv.get("vm.in_scale_set")[1]):
        vm["scale_set"] = get("scale_set.name", "ss") or "ss0"
    elif _val(m, kv.get("vm.in_availability_set")[1]):
        vm["availability_set"] = get("availability_set.name", "as") or "as0"
    for key in ("update_domain", "fault_domain"):
        v = get(f"vm.{key}", "")
        if v is not None:
            vm[key] = v
    healthy = get("vm.healthy", "")
    if healthy is not None:
        vm["healthy"] = bool(healthy)
    tags = {}
    for key in list(kv.vals) + (list(kv.shared.vals) if kv.shared is not None else []):
        if key.startswith("vm.tags."):
            v = get(key, "t")
            if v is not None:
                tags[key[len("vm.tags."):]] = v
    if tags:
        vm["tags"] = tags
    return vm


def _fleet_and_schedule(m: z3.ModelRef, kvs: list[AttrVals], strings: Interner, vms: list[dict[str, Any]],
                        unit: str) -> tuple[dict[str, Any], dict[str, Any]]:
    regions: dict[str, dict[str, Any]] = {}
    sets: dict[tuple[str, str], str] = {}
    for vm in vms:
        regions.setdefault(vm["region"], {"name": vm["region"], "pair": None, "zones": 0})
        if "zone" in vm:
            regions[vm["region"]]["zones"] = max(regions[vm["region"]]["zones"], int(vm["zone"]))
        for kind in ("scale_set", "availability_set"):
            if kind in vm:
                sets[(kind, vm[kind])] = vm["region"]
    g = kvs[0]
    zones_val, zones_present = g.get("region.zones")
    if _val(m, zones_present):
        for r in regions.values():
            r["zones"] = max(r["zones"], _val(m, zones_val))
    paired_val, _ = g.get("region.paired")
    extra: list[dict[str, Any]] = []
    if _val(m, paired_val):
        for r in list(regions.values()):
            r["pair"] = f"{r['name']}-pair"
            extra.append({"name": r["pair"], "pair": None, "zones": 0})
    scale_sets = [{"name": n, "region": reg} for (kind, n), reg in sorted(sets.items()) if kind == "scale_set"]
    avsets = [{"name": n, "region": reg} for (kind, n), reg in sorted(sets.items()) if kind == "availability_set"]
    sched = [v["name"] for v in vms if v["_scheduled"]]
    sched_regions = sorted({v["region"] for v in vms if v["_scheduled"]})
    return _assemble([*regions.values(), *extra], scale_sets, avsets, vms, [sched_regions or sorted(regions)],
                     [(0, sched)])


def _distinct_witness(claim: DistinctLimit, count: int, extra: int = 0) -> tuple[dict[str, Any], dict[str, Any]]:
    """``count`` scheduled VMs of distinct values in one group, plus ``extra`` unscheduled VMs of the same group."""
    regions = [{"name": "region0", "pair": None, "zones": 0}]
    scale_sets: list[dict[str, str]] = []
    avsets: list[dict[str, str]] = []
    vms = []
    for i in range(count + extra):
        vm = _plain_vm(f"vm{i}", "region0", i < count)
        c = claim.count
        if i >= count:
            i = 0  # an unscheduled VM repeats the first VM's value: it adds size, not a value
        if c == "zone":
            vm["zone"] = str(i + 1)
            regions[0]["zones"] = count
        elif c == "region":
            vm["region"] = f"region{i}"
            if i > 0:
                regions.append({"name": f"region{i}", "pair": None, "zones": 0})
        elif c in ("update_domain", "fault_domain"):
            vm["scale_set"] = "ss0"
            vm[c] = i
        elif c in ("scale_set", "set"):
            vm["scale_set"] = f"ss{i}"
        elif c == "availability_set":
            vm["availability_set"] = f"as{i}"
        elif c == "subscription":
            vm["subscription"] = f"sub{i}"
        if claim.per in ("scale_set", "set", "update_domain", "fault_domain") and "scale_set" not in vm:
            vm["scale_set"] = "ss0"
        if claim.per == "availability_set":
            vm.pop("scale_set", None)
            vm["availability_set"] = "as0"
        if claim.per == "subscription":
            vm["subscription"] = "sub0"
        vms.append(vm)
    for vm in vms:
        if "scale_set" in vm and vm["scale_set"] not in {s["name"] for s in scale_sets}:
            scale_sets.append({"name": vm["scale_set"], "region": vm["region"]})
        if "availability_set" in vm and vm["availability_set"] not in {s["name"] for s in avsets}:
            avsets.append({"name": vm["availability_set"], "region": vm["region"]})
    sched_regions = sorted({v["region"] for v in vms})
    return _assemble(regions, scale_sets, avsets, vms, [sched_regions],
                     [(0, [v["name"] for v in vms if v["_scheduled"]])])


def _assemble(regions: list[dict[str, Any]], scale_sets: list[dict[str, Any]], avsets: list[dict[str, Any]],
              vms: list[dict[str, Any]], phases: list[list[str]], waves: list[tuple[int, list[str]]],
              catalog: list[str] | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A fleet JSON and a schedule JSON: scheduled VMs carry one upgradable extension, the others are up to date."""
    clean = []
    by_name = {}
    for vm in vms:
        v = {k: val for k, val in vm.items() if not k.startswith("_")}
        clean.append(v)
        by_name[v["name"]] = v
    fleet = {
        "regions": sorted(regions, key=lambda r: r["name"]),
        "catalog": [{"publisher": WITNESS_EXTENSION["publisher"], "type": WITNESS_EXTENSION["type"],
                     "versions": catalog or [OLD_VERSION, NEW_VERSION]}],
        "scale_sets": scale_sets,
        "availability_sets": avsets,
        "vms": clean,
    }
    wave_list = []
    for i, (phase, names) in enumerate(waves):
        tasks = []
        for nm in names:
            ext = by_name[nm]["extensions"][0]
            target = (catalog or [OLD_VERSION, NEW_VERSION])[-1]
            tasks.append({"vm": nm, "extension": ext["name"], "from_version": ext["version"], "to_version": target})
        wave_list.append({"index": i, "phase": phase, "tasks": tasks})
    schedule = {
        "phases": [{"index": i, "regions": sorted(rs)} for i, rs in enumerate(phases)],
        "waves": wave_list,
        "skipped": [],
        "lower_bound": 0,
        "optimal": False,
        "stats": {},
    }
    return fleet, schedule


# ----------------------------------------------------------------------------------------------------------------
# Witnesses for claim kinds without an encoding: candidate counterexamples, only ever shown after replay


def witness_candidates(policy: Policy, claim: object) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Small fleets + schedules that would break ``claim``; the prover replays each (it passes the spec and fails
    the claim) before calling it a counterexample, so a wrong guess costs time, never a false refutation."""
    if isinstance(claim, Canary):
        return _canary_witnesses(claim)
    if isinstance(claim, Order):
        return _pair_witnesses(policy, claim, claim.later, claim.earlier, claim.unit)
    if isinstance(claim, OrderBy):
        return _order_by_witnesses(policy, claim)
    if isinstance(claim, UnitLimit):
        return _unit_limit_witnesses(claim)
    return []


def _layout(vms: list[dict[str, Any]], unit: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """VMs scheduled one per unit, in list order (units are waves of one phase, or phases of distinct regions)."""
    regions = sorted({v["region"] for v in vms})
    region_list = [{"name": r, "pair": None, "zones": max([int(v["zone"]) for v in vms
                                                          if v["region"] == r and v.get("zone")] or [0])}
                   for r in regions]
    sets = sorted({(k, v[k], v["region"]) for v in vms for k in ("scale_set", "availability_set") if v.get(k)})
    scale_sets = [{"name": n, "region": r} for k, n, r in sets if k == "scale_set"]
    avsets = [{"name": n, "region": r} for k, n, r in sets if k == "availability_set"]
    if unit == "phase":
        phases = [[v["region"]] for v in vms]
        waves = [(i, [v["name"]]) for i, v in enumerate(vms)]
    else:
        phases = [regions]
        waves = [(0, [v["name"]]) for v in vms]
    return _assemble(region_list, scale_sets, avsets, vms, phases, waves)


def _canary_witnesses(claim: Canary) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    if not claim.regions:
        return []
    canary, other = claim.regions[0], "witness-region"
    a, b = _plain_vm("vm-canary", canary, True), _plain_vm("vm-other", other, True)
    regions = [{"name": canary, "pair": None, "zones": 0}, {"name": other, "pair": None, "zones": 0}]
    late = _assemble(regions, [], [], [a, b], [[other], [canary]], [(0, ["vm-other"]), (1, ["vm-canary"])])
    shared = _assemble(regions, [], [], [a, b], [[canary, other]], [(0, ["vm-canary", "vm-other"])])
    return [late, shared] if claim.alone else [late]


def _satisfying_vms(policy: Policy, claim: object, wants: list[list[tuple[Predicate, bool]]],
                    distinct_regions: bool) -> list[dict[str, Any]] | None:
    """One VM per entry of ``wants``, each making its (predicate, truth) pairs hold; sets never shared."""
    strings = interner_for(policy, claim)
    kinds = [AttrVals(f"w{i}", None, (), strings) for i in range(len(wants))]
    s = z3.Solver()
    s.set("timeout", 2000)
    for kv, want in zip(kinds, wants, strict=True):
        for pred, truth in want:
            s.add(eval_pred(pred, kv) == truth)
        for key in ("vm.region", "vm.in_scale_set", "vm.in_availability_set", "scale_set.name",
                    "availability_set.name"):
            kv.get(key)
        s.add(*kv.all_side())
    for a, b in itertools.combinations(kinds, 2):
        s.add(a.get("scale_set.name")[0] != b.get("scale_set.name")[0],
              a.get("availability_set.name")[0] != b.get("availability_set.name")[0])
        if distinct_regions:
            s.add(a.get("vm.region")[0] != b.get("vm.region")[0])
    if s.check() != z3.sat:
        return None
    m = s.model()
    return [_vm_from(m, kv, strings, f"vm-{chr(97 + i)}", True) for i, kv in enumerate(kinds)]


def _pair_witnesses(policy: Policy, claim: object, first: Predicate, second: Predicate,
                    unit: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    vms = _satisfying_vms(policy, claim, [[(first, True), (second, False)], [(second, True), (first, False)]],
                          unit == "phase")
    return [] if vms is None else [_layout(vms, unit)]


def _order_by_witnesses(policy: Policy, claim: OrderBy) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    if claim.key.path[:2] != ("vm", "tags") or len(claim.key.path) != 3:
        return []
    tag = claim.key.path[2]
    vms = _satisfying_vms(policy, claim, [[(claim.where, True)], [(claim.where, True)]], claim.unit == "phase")
    if vms is None:
        return []
    first, second = ("0", "1") if claim.descending else ("1", "0")  # the wrong order: larger key first
    vms[0]["tags"] = {**vms[0].get("tags", {}), tag: first}
    vms[1]["tags"] = {**vms[1].get("tags", {}), tag: second}
    return [_layout(vms, claim.unit)]


def _unit_limit_witnesses(claim: UnitLimit) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    n = claim.limit + 1
    if n > 12:
        return []
    vms = []
    for i in range(n):
        region = f"region{i}" if claim.unit == "phase" else "region0"
        vm = _plain_vm(f"vm{i}", region, True)
        if claim.per in ("scale_set", "set", "update_domain", "fault_domain"):
            vm["scale_set"] = "ss0"
        elif claim.per == "availability_set":
            vm["availability_set"] = "as0"
        vms.append(vm)
    if claim.unit == "phase" and claim.per not in ("fleet", "subscription"):
        return []  # a region's tasks lie in one phase: a group inside a region never spans two phases
    return [_layout(vms, claim.unit)]

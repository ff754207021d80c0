"""The prover's terms: strings as integers, amounts in linear integer arithmetic, symbolic attribute values of a kind
of VM, and the truth of a ``where`` filter on them (the prover's own reading of the language).

Each claim is checked on one *generic element* of its scope (see :mod:`engine.prove.kinds`); the element's VMs are
described by a few *kinds*, each with symbolic attribute values (:class:`AttrVals`: a value and a presence flag per
attribute, absent meaning null).  :func:`eval_pred` is an independent implementation of the filter semantics that
``engine.check.semantics`` defines; ``tests/test_semantics_differential.py`` pins a kind's attributes to a concrete
VM's and checks that the encoded truth is forced to the checker's value, or, where this reading over-approximates on
purpose (orderings of two strings, ``extension.*`` atoms: free booleans), that the checker's value is possible.

Soundness of the reading: every concrete VM is represented by some assignment (strings not named by the policy are
fresh ids; a fresh string may or may not read as a number, with any value), and under that assignment each filter is
true exactly when the checker says so, or is a free atom.  Encodings built on it therefore over-approximate the set
of fleets, which is what a proof needs.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from fractions import Fraction
from typing import Any

import z3

from dsl.azure import azure_regions
from dsl.policy import (
    ATTRIBUTES,
    And,
    Attr,
    Compare,
    Count,
    HasTag,
    Not,
    Or,
    Percent,
    Predicate,
    TrueP,
    Value,
)

ORDERINGS = ("<", "<=", ">", ">=")
MAX_ZONE = 16  # the fleet format's bound on a region's zones: zone names are "1" .. "16"


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

    @property
    def limit(self) -> int:
        """The largest id a symbolic string takes (a few fresh strings beyond the constants)."""
        return len(self.consts) + 8


def literal_number(v: object) -> Fraction | None:
    """How a value of the language reads as a number: ints, fractions and numeric strings (booleans never)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int | Fraction):
        return Fraction(v)
    if isinstance(v, str):
        try:
            return Fraction(v.strip())
        except (ValueError, ZeroDivisionError):
            return None
    return None


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


def vm_level_atoms(preds: Iterable[Predicate], shared_keys: Container[str]) -> list[Compare | HasTag]:
    out: list[Compare | HasTag] = []
    for p in preds:
        for a in atoms(p):
            key = f"vm.tags.{a.key}" if isinstance(a, HasTag) else attr_key(a.left)
            if key not in shared_keys and a not in out:
                out.append(a)
    return out


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
    """Symbolic attribute values of one kind of VM (each a value and a presence flag; absent means null).

    Keys in ``shared_keys`` are read from ``shared`` (the group's values, common to every kind of the element).
    String values are ids of an :class:`Interner`; ``vm.zone`` is the zone's number (zone names are "1" .. "16").
    """

    def __init__(self, tag: str, shared: AttrVals | None, shared_keys: Container[str], strings: Interner) -> None:
        self.tag = tag
        self.shared = shared
        self.shared_keys = shared_keys
        self.strings = strings
        self.vals: dict[str, tuple[z3.ExprRef, z3.BoolRef]] = {}
        self.numbers: dict[str, tuple[z3.BoolRef, z3.ArithRef]] = {}
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

    def number(self, key: str) -> tuple[z3.BoolRef, z3.ArithRef]:
        """How a string attribute reads as a number: (reads as one, its value).  Fixed for the policy's constants;
        free for a fresh string (which may be "7" or "x")."""
        if self.shared is not None and key in self.shared_keys:
            return self.shared.number(key)
        if key not in self.numbers:
            val, _ = self.get(key)
            safe = key.replace(".", "_")
            is_num, num = z3.Bool(f"{self.tag}_{safe}_isnum"), z3.Real(f"{self.tag}_{safe}_num")
            self.numbers[key] = (is_num, num)
            for i, c in enumerate(self.strings.consts):
                n = literal_number(c)
                fixed = z3.And(is_num, num == z3.RealVal(n)) if n is not None else z3.Not(is_num)
                self.side.append(z3.Implies(val == i, fixed))
        return self.numbers[key]

    def read_number(self, key: str) -> tuple[z3.BoolRef, z3.ArithRef] | None:
        """The numeric reading of ``key`` if some filter asked for it (None otherwise)."""
        if self.shared is not None and key in self.shared_keys:
            return self.shared.read_number(key)
        return self.numbers.get(key)

    def _domain(self, key: str, val: z3.ExprRef, present: z3.BoolRef) -> list[z3.BoolRef]:
        if key in ("vm.name", "vm.region", "vm.subscription", "region.name", "vm.healthy", "extension.name",
                   "extension.publisher", "extension.type"):
            out: list[z3.BoolRef] = [present]
        elif key in ("region.zones", "region.paired"):
            out = [present]
        else:
            out = []
        if key == "vm.zone":
            zones, _ = self.get("region.zones")
            out += [z3.Implies(present, z3.And(val >= 1, val <= zones))]
        elif key == "region.zones":
            out += [val >= 0, val <= MAX_ZONE]
        elif key in ("vm.update_domain", "vm.fault_domain"):
            out += [val >= 0]  # the fleet format bounds domains below only
        elif key in ("scale_set.size", "availability_set.size"):
            out += [val >= 1]  # a set of the fleet has at least its one VM, and no upper bound
        elif attr_type(key) == "string":
            out += [val >= 0, val <= self.strings.limit]
        if key == "region.geography":
            # A region of the bundled Azure table always has a geography (the fleet's entry, else the table's).
            name, _ = self.get("region.name")
            known = [name == self.strings.id(c) for c in self.strings.consts if c in azure_regions()]
            if known:
                out += [z3.Implies(z3.Or(*known), present)]
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


def presence(vals: AttrVals, attr: str) -> z3.BoolRef:
    """The attribute is known (not null) for a VM of this kind; ``vm.single`` (never null) reads its value."""
    value, present = vals.get(attr)
    return value if attr == "vm.single" else present


def guard_term(guard: Iterable[Iterable[str]], vals: AttrVals) -> z3.BoolRef | None:
    """A containment guard (clauses of attributes, one of each clause present) on a group's values; None: true."""
    clauses = [z3.Or(*[presence(vals, a) for a in clause]) for clause in guard]
    return z3.And(*clauses) if clauses else None


# ----------------------------------------------------------------------------------------------------------------
# The truth of a filter


def eval_pred(p: Predicate, vals: AttrVals, ext: AttrVals | None = None) -> z3.BoolRef:
    """The truth of a ``where`` filter for a VM of this kind; a comparison with null is false except != / not in.

    ``extension.*`` attributes are read from ``ext`` (the symbolic extension of one task or one installed
    extension); without it each such comparison is a free atom of the kind (an over-approximation, which only the
    claim kinds that do not count per task use)."""
    if isinstance(p, TrueP):
        return z3.BoolVal(True)
    if isinstance(p, Not):
        return z3.Not(eval_pred(p.item, vals, ext))
    if isinstance(p, And):
        return z3.And(*[eval_pred(q, vals, ext) for q in p.items]) if p.items else z3.BoolVal(True)
    if isinstance(p, Or):
        return z3.Or(*[eval_pred(q, vals, ext) for q in p.items]) if p.items else z3.BoolVal(False)
    if isinstance(p, HasTag):
        return vals.get(f"vm.tags.{p.key}")[1]
    key = attr_key(p.left)
    if key.startswith("extension."):
        if ext is None:
            return z3.Bool(f"{vals.tag}_task_{key}_{p.op}_{p.right!r}")
        vals = ext  # the extension's own values, read like any string attribute
    if attr_type(key) not in ("string", "int", "bool"):
        return z3.BoolVal(p.op in ("!=", "not in"))  # not an attribute of a VM (e.g. bare vm.tags): always null
    val, present = vals.get(key)
    rights = p.right if isinstance(p.right, tuple) else (p.right,)
    if p.op in ("==", "in"):
        return z3.And(present, z3.Or(*[_equals(key, val, r, vals) for r in rights]))
    if p.op in ("!=", "not in"):
        return z3.Or(z3.Not(present), z3.And(*[z3.Not(_equals(key, val, r, vals)) for r in rights]))
    return _ordered(key, p.op, val, present, rights[0], vals)


def _equals(key: str, val: z3.ExprRef, r: Value, vals: AttrVals) -> z3.BoolRef:
    """A present value of ``key`` equals the literal ``r``: booleans only booleans, two strings as strings, else
    both sides as numbers when both read as numbers."""
    t = attr_type(key)
    if isinstance(r, bool) or t == "bool":
        return val == z3.BoolVal(r) if isinstance(r, bool) and t == "bool" else z3.BoolVal(False)
    if key == "vm.zone":
        if isinstance(r, str):  # two strings: only the zone's own name ("2", not "02" nor " 2")
            return val == int(r) if r.isascii() and r.isdigit() and str(int(r)) == r else z3.BoolVal(False)
        n = literal_number(r)
        return val == n.numerator if n is not None and n.denominator == 1 else z3.BoolVal(False)
    if t == "int":
        n = literal_number(r)
        if n is None:
            return z3.BoolVal(False)
        return val == n.numerator if n.denominator == 1 else z3.BoolVal(False)
    if isinstance(r, str):
        return val == vals.strings.id(r)
    n = literal_number(r)
    if n is None:
        return z3.BoolVal(False)
    is_num, num = vals.number(key)
    return z3.And(is_num, num == z3.RealVal(n))


def _compare(op: str, a: Any, b: Any) -> Any:
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def _ordered(key: str, op: str, val: z3.ExprRef, present: z3.BoolRef, r: Value, vals: AttrVals) -> z3.BoolRef:
    """``key op r`` for an ordering: two strings compare as strings, else both as numbers, else false."""
    t = attr_type(key)
    if t == "bool" or isinstance(r, bool | tuple):
        return z3.BoolVal(False)
    if key == "vm.zone":
        if isinstance(r, str):  # string order of the zone names "1" .. "16"
            names = [z for z in range(1, MAX_ZONE + 1) if _compare(op, str(z), r)]
            return z3.And(present, z3.Or(*[val == z for z in names])) if names else z3.BoolVal(False)
        return _ordered_number(op, val, present, r)
    if t == "int":
        return _ordered_number(op, val, present, r)
    if isinstance(r, str):
        # Ordering of strings is not encoded: an unconstrained atom over-approximates (sound for "proven").
        return z3.Bool(f"{vals.tag}_opaque_{key}_{op}_{r!r}")
    n = literal_number(r)
    if n is None:
        return z3.BoolVal(False)
    is_num, num = vals.number(key)
    return z3.And(present, is_num, _compare(op, num, z3.RealVal(n)))


def _ordered_number(op: str, val: z3.ExprRef, present: z3.BoolRef, r: Value) -> z3.BoolRef:
    """An integer-valued attribute against a literal read as a number (integers compared as integers)."""
    n = literal_number(r)
    if n is None:
        return z3.BoolVal(False)
    bound: Any = n.numerator if n.denominator == 1 else z3.RealVal(n)
    term: Any = val if n.denominator == 1 else z3.ToReal(val)
    return z3.And(present, _compare(op, term, bound))

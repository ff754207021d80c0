"""Hypothesis strategies shared by the differential tests: small fleets with nulls, tags, sets, domains, geographies
and several extensions per VM; ``where`` filters over every attribute of the language (with values of every type,
numeric strings among them); rules of every kind and scope; and schedules that may split a VM's tasks over waves.

Every stage's reading of the semantics is compared with the normative one (``engine.check``) on these cases."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import strategies as st

from dsl.diagnostics import Span
from dsl.policy import (
    ALWAYS,
    And,
    Attr,
    Canary,
    Capacity,
    Compare,
    Count,
    DistinctLimit,
    ExtensionOrder,
    ExtensionSelector,
    HasTag,
    Not,
    NotWhole,
    Or,
    Order,
    OrderBy,
    Percent,
    Predicate,
    Rule,
    SeparatePairs,
    SeparateRegions,
    UnitLimit,
)
from engine.model.fleet import Fleet, parse_fleet

SPAN = Span("<generated>", 1, 1, 1, 1)
REGIONS = ("eastus", "westus", "r-x", "12")  # two Azure regions (geographies from the table), two of our own
TAG_KEYS = ("env", "ring", "tier")
TAG_VALUES = ("prod", "dev", "0", "1", "10", "2.5", "")
EXTENSIONS = (  # (name, publisher, type)
    ("ama", "Microsoft.Azure.Monitor", "AzureMonitorLinuxAgent"),
    ("da", "Microsoft.Azure.Monitoring.DependencyAgent", "DependencyAgentLinux"),
    ("health", "Microsoft.ManagedServices", "ApplicationHealthLinux"),
)
STRING_ATTRS = ("vm.name", "vm.region", "vm.zone", "vm.subscription", "scale_set.name", "scale_set.upgrade_mode",
                "availability_set.name", "region.name", "region.geography", "extension.name",
                "extension.publisher", "extension.type")
INT_ATTRS = ("vm.update_domain", "vm.fault_domain", "scale_set.size", "availability_set.size", "region.zones")
BOOL_ATTRS = ("vm.healthy", "vm.single", "region.paired")
SCOPES = ("fleet", "region", "zone", "scale_set", "availability_set", "set", "update_domain", "fault_domain",
          "subscription", "geography", "vm")
COUNTED = ("zone", "region", "scale_set", "availability_set", "set", "update_domain", "fault_domain",
           "subscription", "geography", "extension")


@st.composite
def fleets(draw: st.DrawFn, max_vms: int = 10) -> Fleet:
    """A valid fleet of up to ``max_vms`` VMs: every VM due for at least one of its extensions."""
    n_regions = draw(st.integers(1, len(REGIONS)))
    regions: list[dict[str, Any]] = []
    for i, name in enumerate(REGIONS[:n_regions]):
        pair = draw(st.sampled_from([None, *[r for r in REGIONS[:n_regions] if r != name]]))
        region: dict[str, Any] = {"name": name, "pair": pair, "zones": draw(st.integers(0, 3))}
        if i >= 2 and draw(st.booleans()):
            region["geography"] = draw(st.sampled_from(["Europe", "United States", "Nowhere"]))
        regions.append(region)
    n = draw(st.integers(1, max_vms))
    vms, scale_sets, avsets = [], {}, {}
    for i in range(n):
        region = draw(st.sampled_from(regions))
        vm: dict[str, Any] = {"name": f"vm{i}", "region": region["name"], "subscription": draw(st.sampled_from(["s0", "s1"])),
                              "healthy": draw(st.booleans())}
        if region["zones"] and draw(st.booleans()):
            vm["zone"] = str(draw(st.integers(1, region["zones"])))
        kind = draw(st.sampled_from(["scale_set", "availability_set", None]))
        if kind is not None:
            set_name = f"{kind[:2]}{draw(st.integers(0, 2))}-{region['name']}"
            vm[kind] = set_name
            (scale_sets if kind == "scale_set" else avsets)[set_name] = region["name"]
            for dom in ("update_domain", "fault_domain"):
                value = draw(st.one_of(st.none(), st.integers(0, 2)))
                if value is not None:
                    vm[dom] = value
        tags = draw(st.dictionaries(st.sampled_from(TAG_KEYS), st.sampled_from(TAG_VALUES), max_size=2))
        if tags:
            vm["tags"] = tags
        chosen = draw(st.lists(st.sampled_from(EXTENSIONS), min_size=1, max_size=3, unique=True))
        vm["extensions"] = [{"name": nm, "publisher": pub, "type": typ, "version": draw(st.sampled_from(["1.0", "1.1"])),
                             "enable_automatic_upgrade": True} for nm, pub, typ in chosen]
        vm["extensions"][0]["version"] = "1.0"  # at least one due task
        vms.append(vm)
    doc = {
        "regions": regions,
        "catalog": [{"publisher": pub, "type": typ, "versions": ["1.0", "1.1"]} for _, pub, typ in EXTENSIONS],
        "scale_sets": [{"name": s, "region": r, "upgrade_mode": draw(st.sampled_from(["automatic", "rolling"]))}
                       for s, r in sorted(scale_sets.items())],
        "availability_sets": [{"name": s, "region": r} for s, r in sorted(avsets.items())],
        "vms": vms,
    }
    return parse_fleet(doc, "<generated fleet>")


def _values_for(key: str) -> st.SearchStrategy[Any]:
    strings = st.sampled_from(["eastus", "r-x", "12", "vm1", "prod", "0", "1", "Europe", "United States",
                               "automatic", "ama", "AzureMonitorLinuxAgent", "Microsoft.Azure.Monitor", ""])
    numbers = st.one_of(st.integers(-1, 4), st.just(Fraction(5, 2)))
    if key in STRING_ATTRS or key.startswith("vm.tags."):
        return st.one_of(strings, numbers, st.booleans())
    if key in INT_ATTRS:
        return st.one_of(numbers, st.sampled_from(["1", "2", "x"]), st.booleans())
    return st.one_of(st.booleans(), numbers, strings)


@st.composite
def atoms(draw: st.DrawFn) -> Predicate:
    if draw(st.integers(0, 7)) == 0:
        return HasTag(draw(st.sampled_from(TAG_KEYS)))
    key = draw(st.sampled_from([*STRING_ATTRS, *INT_ATTRS, *BOOL_ATTRS, *(f"vm.tags.{k}" for k in TAG_KEYS)]))
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in"]))
    value = draw(_values_for(key))
    if op in ("in", "not in"):
        value = tuple(draw(st.lists(_values_for(key), min_size=1, max_size=3)))
    return Compare(op, Attr(tuple(key.split("."))), value)  # type: ignore[arg-type]


def predicates(max_leaves: int = 4) -> st.SearchStrategy[Predicate]:
    """Filters over every attribute, with not / and / or, up to ``max_leaves`` atoms."""
    return st.recursive(
        st.one_of(st.just(ALWAYS), atoms()),
        lambda inner: st.one_of(inner.map(Not), st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
                                st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs)))),
        max_leaves=max_leaves,
    )


def amounts() -> st.SearchStrategy[Count | Percent]:
    return st.one_of(st.integers(1, 4).map(Count), st.builds(
        Percent, st.sampled_from([Fraction(10), Fraction(20), Fraction(50), Fraction(100, 3)]),
        st.sampled_from(["floor", "ceil"]), st.integers(0, 1)))


def selectors() -> st.SearchStrategy[ExtensionSelector]:
    return st.one_of(*[st.just(ExtensionSelector(type=t)) for _, _, t in EXTENSIONS],
                     *[st.just(ExtensionSelector(name=n)) for n, _, _ in EXTENSIONS])


@st.composite
def rules(draw: st.DrawFn, name: str = "r") -> Rule:
    """One hard rule of any kind, with any scope and filter the language accepts."""
    unit = draw(st.sampled_from(["wave", "phase"]))
    where = draw(predicates(3))
    kind = draw(st.sampled_from(["capacity", "distinct", "not_whole", "unit_limit", "pairs", "regions", "canary",
                                 "order", "order_by", "extension_order"]))
    if kind == "capacity":
        return Capacity(name, SPAN, amount=draw(amounts()), of=draw(st.sampled_from(SCOPES)), within=unit, where=where)
    if kind == "distinct":
        return DistinctLimit(name, SPAN, limit=draw(st.integers(1, 3)), count=draw(st.sampled_from(COUNTED)),
                             per=draw(st.sampled_from(SCOPES)), within=unit, where=where)
    if kind == "not_whole":
        return NotWhole(name, SPAN, of=draw(st.sampled_from(SCOPES)), within=unit, min_size=draw(st.integers(2, 3)),
                        where=where)
    if kind == "unit_limit":
        return UnitLimit(name, SPAN, limit=draw(st.integers(1, 4)), unit=unit, per=draw(st.sampled_from(SCOPES)),
                         where=where)
    if kind == "pairs":
        return SeparatePairs(name, SPAN, within=unit)
    if kind == "regions":
        return SeparateRegions(name, SPAN, regions=tuple(draw(st.lists(st.sampled_from(REGIONS), min_size=2,
                                                                         max_size=3, unique=True))), within=unit)
    if kind == "canary":
        return Canary(name, SPAN, regions=tuple(draw(st.lists(st.sampled_from(REGIONS), min_size=1, max_size=2,
                                                                unique=True))), alone=draw(st.booleans()))
    if kind == "order":
        return Order(name, SPAN, earlier=draw(predicates(2)), later=draw(predicates(2)), unit=unit)
    if kind == "order_by":
        key = draw(st.sampled_from([("vm", "tags", "ring"), ("vm", "update_domain"), ("vm", "zone")]))
        return OrderBy(name, SPAN, key=Attr(key), unit=unit, descending=draw(st.booleans()), where=where)
    return ExtensionOrder(name, SPAN, first=draw(selectors()), second=draw(selectors()))


@st.composite
def task_waves(draw: st.DrawFn, fleet: Fleet, waves: int = 3) -> dict[tuple[str, str], int]:
    """A wave for every (VM, extension) pair of the fleet: a VM's tasks may land in different waves."""
    out: dict[tuple[str, str], int] = {}
    for vm in fleet.vms:
        together = draw(st.booleans())
        first = draw(st.integers(0, waves - 1))
        for e in vm.extensions:
            out[(vm.name, e.name)] = first if together else draw(st.integers(0, waves - 1))
    return out

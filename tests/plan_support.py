"""Builders for the planner tests: hand-made fleets as plain data and Azure-default-like policies built in Python."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from dsl.diagnostics import Span
from dsl.policy import (
    Attr,
    Capacity,
    Compare,
    DistinctLimit,
    NotWhole,
    Percent,
    Policy,
    Rule,
    SeparatePairs,
    Spread,
)
from engine.model.fleet import Fleet, parse_fleet

SPEC = "specs/x.wg"
PUB, TYPE = "Microsoft.Azure.Monitoring.DependencyAgent", "DependencyAgentLinux"


def span(line: int) -> Span:
    return Span(SPEC, line, 1, line, 30)


def default_rules() -> tuple[Rule, ...]:
    return (
        SeparatePairs("geo_pairs", span(1)),
        DistinctLimit("one_zone", span(2), limit=1, count="zone", per="region"),
        DistinctLimit("ss_domains", span(3), limit=1, count="update_domain", per="scale_set"),
        Capacity("ss_batch", span(4), amount=Percent(Fraction(20), "floor", 1), of="scale_set"),
        DistinctLimit("as_domains", span(5), limit=1, count="update_domain", per="availability_set"),
        NotWhole("as_not_whole", span(6), of="availability_set", min_size=2),
    )


def spread_single() -> Spread:
    return Spread("spread_single", span(7), by=("subscription", "region"),
                  where=Compare("==", Attr(("vm", "single")), True))


def policy(*extra: Rule, base: bool = True, prefer: bool = True) -> Policy:
    rules = (*default_rules(), *extra) if base else tuple(extra)
    return Policy(name="t", span=span(0), files=(SPEC,), rules=rules,
                  preferences=(spread_single(),) if prefer else ())


def ext(name: str = "da", version: str = "9.5", auto: bool = True, publisher: str = PUB, type_: str = TYPE) -> dict[str, Any]:
    return {"name": name, "publisher": publisher, "type": type_, "version": version,
            "enable_automatic_upgrade": auto, "auto_upgrade_minor_version": True}


class FleetBuilder:
    def __init__(self) -> None:
        self.regions: list[dict[str, Any]] = []
        self.scale_sets: list[dict[str, Any]] = []
        self.avsets: list[dict[str, Any]] = []
        self.vms: list[dict[str, Any]] = []
        self.catalog = [{"publisher": PUB, "type": TYPE, "versions": ["9.5", "9.10", "10.0"]},
                        {"publisher": "Microsoft.Azure.KeyVault", "type": "KeyVaultForLinux", "versions": ["2.0", "2.1"]}]

    def region(self, name: str, zones: int = 0, pair: str | None = None) -> FleetBuilder:
        self.regions.append({"name": name, "zones": zones, "pair": pair})
        return self

    def vm(self, name: str, region: str, *, zone: str | None = None, ss: str | None = None, avset: str | None = None,
           ud: int | None = None, sub: str = "s1", exts: list[dict[str, Any]] | None = None,
           tags: dict[str, str] | None = None) -> FleetBuilder:
        self.vms.append({"name": name, "region": region, "zone": zone, "scale_set": ss, "availability_set": avset,
                         "update_domain": ud, "fault_domain": None, "subscription": sub, "healthy": True,
                         "tags": tags or {}, "extensions": exts if exts is not None else [ext()]})
        return self

    def scale_set(self, name: str, region: str, n: int, *, zones: list[str] | None = None, uds: int = 1,
                  sub: str = "s1", exts: list[dict[str, Any]] | None = None) -> FleetBuilder:
        self.scale_sets.append({"name": name, "region": region, "upgrade_mode": "automatic"})
        for i in range(n):
            zone = zones[i % len(zones)] if zones else None
            self.vm(f"{name}-{i:02d}", region, zone=zone, ss=name, ud=i % uds, sub=sub, exts=exts)
        return self

    def avset(self, name: str, region: str, n: int, *, uds: int = 1, exts: list[dict[str, Any]] | None = None) -> FleetBuilder:
        self.avsets.append({"name": name, "region": region})
        for i in range(n):
            self.vm(f"{name}-{i:02d}", region, avset=name, ud=i % uds, exts=exts)
        return self

    def doc(self) -> dict[str, Any]:
        return {"regions": self.regions, "catalog": self.catalog, "scale_sets": self.scale_sets,
                "availability_sets": self.avsets, "vms": self.vms}

    def build(self) -> Fleet:
        return parse_fleet(self.doc(), "<test>")

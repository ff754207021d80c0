"""The one Azure region table: the 58 public regions with geography, geo-pair and zone count.

It lives in the language layer because the language names regions and geographies (the checker warns on unknown
ones); the fleet model (pair and zone defaults, ``region.geography``), the generator and the importers read the same
table through this module.  Provenance: ``dsl/data/SOURCES.md``.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class AzureRegion:
    name: str
    display_name: str
    geography: str
    pair: str | None  # as the Locations API lists it; may name a region outside the table (swedensouth)
    zones: int


@functools.cache
def azure_regions() -> dict[str, AzureRegion]:
    """The bundled public regions by programmatic name, in name order (read once; the table is immutable)."""
    raw = json.loads(resources.files("dsl").joinpath("data/azure-regions.json").read_text(encoding="utf-8"))
    rows = sorted(raw, key=lambda r: r["name"])
    return {r["name"]: AzureRegion(r["name"], r.get("display_name", r["name"]), r.get("geography", ""), r.get("pair"),
                                   int(r["zones"])) for r in rows}


def azure_region_names() -> frozenset[str]:
    return frozenset(azure_regions())


def azure_geographies() -> frozenset[str]:
    return frozenset(r.geography for r in azure_regions().values() if r.geography)

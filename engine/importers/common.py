"""What the ARM and REST importers share: region data, the catalog file, and assembling a validated fleet.

Each importer collects plain records (:class:`VMRecord`, :class:`SetRecord`) that remember where in which input
file they came from; :func:`assemble` turns them into fleet JSON, fills ``regions`` from the bundled Azure region
list, validates the result with :func:`engine.model.fleet.parse_fleet`, and maps any refusal back to the input's JSON path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from dsl.azure import AzureRegion
from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.suggest import closest
from dsl.versions import is_version
from engine.model.bounds import pydantic_diagnostics
from engine.model.errors import InputError
from engine.model.fleet import CatalogEntry, Fleet, parse_fleet, read_json

DEFAULT_SUBSCRIPTION = "default"
_SUBSCRIPTION_RE = re.compile(r"/subscriptions/([^/]+)", re.IGNORECASE)


@dataclass
class ExtensionRecord:
    name: str
    publisher: str
    type: str
    version: str
    enable_automatic_upgrade: bool
    auto_upgrade_minor_version: bool
    where: JsonLocation


@dataclass
class VMRecord:
    name: str
    region: str
    where: JsonLocation
    zone: str | None = None
    scale_set: str | None = None
    availability_set: str | None = None
    update_domain: int | None = None
    fault_domain: int | None = None
    subscription: str = DEFAULT_SUBSCRIPTION
    healthy: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    extensions: list[ExtensionRecord] = field(default_factory=list)


@dataclass
class SetRecord:
    """A scale set (``upgrade_mode`` set) or an availability set (``upgrade_mode`` None)."""

    name: str
    region: str
    where: JsonLocation
    upgrade_mode: str | None = None


@dataclass
class Collected:
    """Everything an importer read, plus the notes (assumptions) it made on the way."""

    vms: list[VMRecord] = field(default_factory=list)
    scale_sets: list[SetRecord] = field(default_factory=list)
    availability_sets: list[SetRecord] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass(frozen=True)
class ImportResult:
    fleet: Fleet
    notes: tuple[str, ...]


# ----------------------------------------------------------------------------------------------------------------
# Regions


def normalise_region(text: str, regions: dict[str, AzureRegion]) -> str | None:
    """"West US 2", "westus2" and "WestUS2" all name westus2; None when no bundled region matches."""
    key = re.sub(r"[\s_-]", "", text).lower()
    if key in regions:
        return key
    for r in regions.values():
        if re.sub(r"\s", "", r.display_name).lower() == key:
            return r.name
    return None


def region_hint(text: str, regions: dict[str, AzureRegion]) -> str:
    close = closest(re.sub(r"\s", "", text).lower(), regions)
    if close:
        return f"did you mean '{close}'?"
    return "use an Azure region name such as eastus or westeurope"


def region_of(text: Any, where: JsonLocation, regions: dict[str, AzureRegion]) -> str:
    """The programmatic region name of a location value, or InputError at ``where``."""
    if not isinstance(text, str) or not text.strip():
        raise InputError([Diagnostic("E-IMPORT", f"location must be a region name, got {json.dumps(text)}", where,
                                     "pass --location REGION")])
    name = normalise_region(text, regions)
    if name is None:
        raise InputError([Diagnostic("E-IMPORT", f"unknown Azure region '{text}'", where, region_hint(text, regions))])
    return name


def option_region(text: str | None, regions: dict[str, AzureRegion]) -> str | None:
    """The --location option as a region name; InputError naming the option when it is no Azure region."""
    if text is None:
        return None
    name = normalise_region(text, regions)
    if name is None:
        raise InputError([Diagnostic("E-USAGE", f"--location: unknown Azure region '{text}'", None,
                                     region_hint(text, regions))])
    return name


def subscription_from_id(resource_id: Any) -> str | None:
    if isinstance(resource_id, str):
        m = _SUBSCRIPTION_RE.search(resource_id)
        if m:
            return m.group(1)
    return None


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key so vmss_2 comes before vmss_10."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", name) if p != "")


# ----------------------------------------------------------------------------------------------------------------
# Catalog


def load_catalog(path: Path | None) -> list[dict[str, Any]]:
    """A catalog file: a JSON list of {publisher, type, versions}, or ``{"catalog": [...]}``; [] when no file."""
    if path is None:
        return []
    name = str(path)
    data = read_json(path, "catalog")
    base = "$"
    if isinstance(data, dict) and "catalog" in data:
        data, base = data["catalog"], "$.catalog"
    if not isinstance(data, list):
        raise InputError([Diagnostic("E-IMPORT", "a catalog must be a JSON list of {publisher, type, versions}",
                                     JsonLocation(name, base))])
    try:
        entries = TypeAdapter(list[CatalogEntry]).validate_python(data)
    except ValidationError as e:
        diags = pydantic_diagnostics(e, name, "E-IMPORT")
        raise InputError([Diagnostic(d.code, d.message, JsonLocation(name, base + _strip_root(d.location)))
                          for d in diags]) from None
    diags = []
    for i, entry in enumerate(entries):
        for j, v in enumerate(entry.versions):
            if not is_version(v):
                diags.append(Diagnostic("E-IMPORT", f"bad version string '{v}'",
                                        JsonLocation(name, f"{base}[{i}].versions[{j}]"),
                                        "a version is 1 to 4 dot-separated integers, e.g. 9.5 or 1.2.3"))
    if diags:
        raise InputError(diags)
    return [e.model_dump(mode="json") for e in entries]


def _strip_root(loc: object) -> str:
    path = loc.path if isinstance(loc, JsonLocation) else "$"
    return path[1:]


# ----------------------------------------------------------------------------------------------------------------
# Assembling


def check_version(version: Any, where: JsonLocation, what: str) -> str:
    if isinstance(version, (int, float)) and not isinstance(version, bool):
        version = str(version)
    if not isinstance(version, str) or not is_version(version):
        raise InputError([Diagnostic("E-IMPORT", f"{what}: bad version {json.dumps(version)}", where,
                                     "a version is 1 to 4 dot-separated integers, e.g. 9.5 or 1.2.3")])
    return version


def assemble(collected: Collected, catalog: list[dict[str, Any]], catalog_file: str | None,
             regions: dict[str, AzureRegion]) -> ImportResult:
    """Fleet JSON from the records, validated; a refusal names the input file and JSON path it came from."""
    used = sorted({v.region for v in collected.vms} | {s.region for s in collected.scale_sets}
                  | {s.region for s in collected.availability_sets})
    region_list = []
    for name in used:
        r = regions[name]
        # The real pair, listed or not: the fleet format accepts a pair the Azure table knows (it has no VMs here).
        region_list.append({"name": name, "pair": r.pair, "zones": r.zones})
    origins: dict[str, JsonLocation] = {}
    scale_sets = sorted(collected.scale_sets, key=lambda s: natural_key(s.name))
    avsets = sorted(collected.availability_sets, key=lambda s: natural_key(s.name))
    vms = sorted(collected.vms, key=lambda v: natural_key(v.name))
    for i, s in enumerate(scale_sets):
        origins[f"$.scale_sets[{i}]"] = s.where
    for i, s in enumerate(avsets):
        origins[f"$.availability_sets[{i}]"] = s.where
    vm_docs = []
    for i, v in enumerate(vms):
        origins[f"$.vms[{i}]"] = v.where
        for j, e in enumerate(v.extensions):
            origins[f"$.vms[{i}].extensions[{j}]"] = e.where
        vm_docs.append({
            "name": v.name, "region": v.region, "zone": v.zone, "scale_set": v.scale_set,
            "availability_set": v.availability_set, "update_domain": v.update_domain,
            "fault_domain": v.fault_domain, "subscription": v.subscription, "healthy": v.healthy,
            "tags": dict(sorted(v.tags.items())),
            "extensions": [{"name": e.name, "publisher": e.publisher, "type": e.type, "version": e.version,
                            "enable_automatic_upgrade": e.enable_automatic_upgrade,
                            "auto_upgrade_minor_version": e.auto_upgrade_minor_version} for e in v.extensions],
        })
    if catalog_file is not None:
        origins["$.catalog"] = JsonLocation(catalog_file, "$")
    doc = {
        "regions": region_list,
        "catalog": sorted(catalog, key=lambda c: (c["publisher"], c["type"])),
        "scale_sets": [{"name": s.name, "region": s.region, "upgrade_mode": s.upgrade_mode} for s in scale_sets],
        "availability_sets": [{"name": s.name, "region": s.region} for s in avsets],
        "vms": vm_docs,
    }
    try:
        fleet = parse_fleet(doc, "<imported fleet>")
    except InputError as e:
        raise InputError([_map_back(d, origins) for d in e.diagnostics]) from None
    return ImportResult(fleet, tuple(collected.notes))


def _map_back(d: Diagnostic, origins: dict[str, JsonLocation]) -> Diagnostic:
    if not isinstance(d.location, JsonLocation):
        return Diagnostic("E-IMPORT", d.message, d.location, d.hint)
    path = d.location.path
    best = ""
    for prefix in origins:
        if (path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")) and len(prefix) > len(best):
            best = prefix
    if not best:
        return Diagnostic("E-IMPORT", f"{d.message} (imported fleet {path})", None, d.hint)
    return Diagnostic("E-IMPORT", f"{d.message} (imported fleet {path})", origins[best], d.hint)


def as_bool(value: Any) -> bool | None:
    """ARM and REST booleans, including the string spellings old templates use ("true")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None

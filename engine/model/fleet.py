"""The fleet interchange format, v1: pydantic models own the field names and export the JSON Schema.

``load_fleet`` reads a file and either returns a validated :class:`Fleet` or raises :class:`InputError` whose
diagnostics name the JSON path of every problem (all of them, not the first).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from dsl.azure import AzureRegion, azure_regions
from dsl.diagnostics import Diagnostic, JsonLocation, Span
from dsl.suggest import closest
from dsl.versions import is_version
from engine.model.bounds import (
    DuplicateKey,
    loads_bounded,
    parse_object,
)
from engine.model.calendar import available_zones
from engine.model.errors import InputError

FLEET_FORMAT_VERSION = 1


class _Model(BaseModel):
    # Unknown fields are kept (and written back out) so a fleet survives a round trip through wavegate.
    model_config = ConfigDict(extra="allow", frozen=True, strict=True)


class Region(_Model):
    name: str = Field(min_length=1)
    pair: str | None = Field(default=None, description=(
        "Geo-pair (directed: this region names its pair). Left out: the bundled Azure table's pair for a known "
        "region, else none; null: no pair. The pair need not be listed when it has no VMs."))
    zones: int = Field(default=0, ge=0, le=16, description=(
        "Number of availability zones; 0 means none. Left out: the bundled Azure table's count for a known "
        "region, else 0."))
    geography: str | None = Field(default=None, min_length=1, description=(
        "Geography (e.g. \"United States\"); default: the bundled Azure region table's, for a known region."))
    time_zone: str | None = Field(default=None, min_length=1, description=(
        "IANA time zone of the region (e.g. \"Europe/Amsterdam\"), read by time rules `in the region zone`."))

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is not None and v not in available_zones():
            raise ValueError(f"unknown time zone {v!r} (an IANA name such as \"Europe/Amsterdam\")")
        return v

    @model_validator(mode="before")
    @classmethod
    def _azure_defaults(cls, data: Any) -> Any:
        # A known Azure region's pair and zone count need not be copied into every fleet; given, they win.
        if not isinstance(data, dict) or not isinstance(data.get("name"), str):
            return data
        known = azure_regions().get(data["name"])
        if known is None or ("pair" in data and "zones" in data):
            return data
        return {**data, "pair": data.get("pair", known.pair), "zones": data.get("zones", known.zones)}

    @model_serializer(mode="wrap")
    def _omit_unset_geography(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Fleets written before the fields existed read and write back byte for byte.
        out: dict[str, Any] = handler(self)
        for key in ("geography", "time_zone"):
            if out.get(key, 0) is None:
                del out[key]
        return out


class CatalogEntry(_Model):
    publisher: str = Field(min_length=1)
    type: str = Field(min_length=1)
    versions: list[str] = Field(description="Published versions, any order.")


class ScaleSet(_Model):
    name: str = Field(min_length=1)
    region: str
    upgrade_mode: Literal["automatic", "rolling", "manual"] = "automatic"


class AvailabilitySet(_Model):
    name: str = Field(min_length=1)
    region: str


class Extension(_Model):
    name: str = Field(min_length=1)
    publisher: str = Field(min_length=1)
    type: str = Field(min_length=1)
    version: str
    enable_automatic_upgrade: bool = False
    auto_upgrade_minor_version: bool = False


class VM(_Model):
    name: str = Field(min_length=1)
    region: str
    zone: str | None = None
    scale_set: str | None = None
    availability_set: str | None = None
    update_domain: int | None = Field(default=None, ge=0)
    fault_domain: int | None = Field(default=None, ge=0)
    subscription: str
    healthy: bool = True
    tags: dict[str, str] = Field(default_factory=dict)
    extensions: list[Extension] = Field(default_factory=list)

    @property
    def set_name(self) -> str | None:
        """The VM's scale set or availability set (a VM is never in both)."""
        return self.scale_set or self.availability_set

    @property
    def single(self) -> bool:
        return self.scale_set is None and self.availability_set is None


class Fleet(_Model):
    regions: list[Region]
    catalog: list[CatalogEntry] = Field(default_factory=list)
    scale_sets: list[ScaleSet] = Field(default_factory=list)
    availability_sets: list[AvailabilitySet] = Field(default_factory=list)
    vms: list[VM] = Field(default_factory=list)

    @cached_property
    def region_by_name(self) -> dict[str, Region]:
        return {r.name: r for r in self.regions}

    @cached_property
    def scale_set_by_name(self) -> dict[str, ScaleSet]:
        return {s.name: s for s in self.scale_sets}

    @cached_property
    def availability_set_by_name(self) -> dict[str, AvailabilitySet]:
        return {s.name: s for s in self.availability_sets}

    @cached_property
    def vm_by_name(self) -> dict[str, VM]:
        return {v.name: v for v in self.vms}

    @cached_property
    def set_sizes(self) -> dict[str, int]:
        """VM count of every scale set and availability set, counting all its VMs."""
        sizes: dict[str, int] = {}
        for v in self.vms:
            if v.set_name is not None:
                sizes[v.set_name] = sizes.get(v.set_name, 0) + 1
        return sizes

    @cached_property
    def geography_by_region(self) -> dict[str, str | None]:
        """Each region's geography: its own entry's, else the bundled Azure table's, else None (unknown)."""
        table = azure_regions()
        return {r.name: r.geography or (table[r.name].geography if r.name in table else None) for r in self.regions}

    def paired(self, a: str, b: str) -> bool:
        """True when either region names the other as its pair (pairing may be one-way)."""
        ra, rb = self.region_by_name.get(a), self.region_by_name.get(b)
        return (ra is not None and ra.pair == b) or (rb is not None and rb.pair == a)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"

    @cached_property
    def sha256(self) -> str:
        """The sha256 of :meth:`to_json` (what a schedule records as ``fleet_sha256``), computed once per fleet."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------------------------------------------
# Loading and validation


def read_json(path: Path, what: str) -> Any:
    """Read a JSON file or raise InputError naming the file (and line/column of a syntax error)."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError([Diagnostic("E-IO", f"{what} file not found: {name}")]) from None
    except OSError as e:
        raise InputError([Diagnostic("E-IO", f"cannot read {what} file {name}: {e.strerror}")]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        loc = JsonLocation(name, "$")
        raise InputError([Diagnostic("E-JSON", f"{what} file is not UTF-8 (byte {e.start})", loc)]) from None
    if not text.strip():
        raise InputError([Diagnostic("E-JSON", f"{what} file is empty", JsonLocation(name, "$"))])
    try:
        return loads_bounded(text, name)
    except json.JSONDecodeError as e:
        # A syntax error has a line and column: render it as file:line:col with the offending line under it.
        where = Span(name, e.lineno, e.colno, e.lineno, e.colno + 1)
        raise InputError([Diagnostic("E-JSON", f"malformed JSON: {e.msg}", where,
                                     hint=f"the {what} must be one JSON object")], {name: text}) from None
    except DuplicateKey as e:
        raise InputError([Diagnostic("E-JSON", f"duplicate key '{e.key}' in one JSON object", JsonLocation(name, "$"),
                                     hint="JSON readers keep only one of them; remove the other")]) from None
    except RecursionError:
        raise InputError([Diagnostic("E-JSON", f"{name}: JSON nested too deeply")]) from None


def validate_fleet(fleet: Fleet, file: str) -> list[Diagnostic]:
    """Cross-reference checks pydantic cannot express; every problem, each with its JSON path."""
    diags: list[Diagnostic] = []

    def err(path: str, msg: str, hint: str | None = None) -> None:
        diags.append(Diagnostic("E-FLEET", msg, JsonLocation(file, path), hint))

    def dup_check(items: list[Any], kind: str, key: str) -> None:
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            name = item.name
            if name in seen:
                err(f"$.{key}[{i}].name", f"duplicate {kind} name '{name}' (first at $.{key}[{seen[name]}])")
            else:
                seen[name] = i

    dup_check(fleet.regions, "region", "regions")
    dup_check(fleet.scale_sets, "scale set", "scale_sets")
    dup_check(fleet.availability_sets, "availability set", "availability_sets")
    dup_check(fleet.vms, "VM", "vms")
    regions = fleet.region_by_name
    azure = azure_regions()
    for i, r in enumerate(fleet.regions):
        if r.pair is not None and not _known_pair(r.name, r.pair, regions, azure):
            close = closest(r.pair, sorted({*regions, *azure}))
            err(f"$.regions[{i}].pair", f"region '{r.name}' is paired with unknown region '{r.pair}'",
                f"did you mean '{close}'?" if close else
                "name a region of the fleet or of the Azure table (wavegate's dsl/data/azure-regions.json), or null")
        if r.pair == r.name:
            err(f"$.regions[{i}].pair", f"region '{r.name}' is paired with itself")
    seen_cat: dict[tuple[str, str], int] = {}
    for i, c in enumerate(fleet.catalog):
        if (c.publisher, c.type) in seen_cat:
            err(f"$.catalog[{i}]", f"duplicate catalog entry {c.publisher}/{c.type} (first at $.catalog[{seen_cat[(c.publisher, c.type)]}])")
        seen_cat.setdefault((c.publisher, c.type), i)
        for j, v in enumerate(c.versions):
            if not is_version(v):
                err(f"$.catalog[{i}].versions[{j}]", f"bad version string '{v}'",
                    "a version is 1 to 4 dot-separated integers, e.g. 9.5 or 1.2.3")
    set_lists: list[tuple[str, int, ScaleSet | AvailabilitySet]] = [
        *(("scale_sets", i, s) for i, s in enumerate(fleet.scale_sets)),
        *(("availability_sets", i, a) for i, a in enumerate(fleet.availability_sets)),
    ]
    for key, i, s in set_lists:
        if s.region not in regions:
            err(f"$.{key}[{i}].region", f"set '{s.name}' is in unknown region '{s.region}'",
                did_you_mean_hint(s.region, regions))
    names_both = set(fleet.scale_set_by_name) & set(fleet.availability_set_by_name)
    for n in sorted(names_both):
        err("$.availability_sets", f"'{n}' is both a scale set and an availability set name")
    for i, vm in enumerate(fleet.vms):
        p = f"$.vms[{i}]"
        region = regions.get(vm.region)
        if region is None:
            err(f"{p}.region", f"VM '{vm.name}' is in unknown region '{vm.region}'", did_you_mean_hint(vm.region, regions))
        if vm.scale_set is not None and vm.availability_set is not None:
            err(p, f"VM '{vm.name}' is in both scale set '{vm.scale_set}' and availability set '{vm.availability_set}'",
                "a VM belongs to at most one of them")
        tables: tuple[tuple[str, dict[str, ScaleSet] | dict[str, AvailabilitySet]], ...] = (
            ("scale_set", fleet.scale_set_by_name), ("availability_set", fleet.availability_set_by_name))
        for field_name, table in tables:
            ref = getattr(vm, field_name)
            if ref is None:
                continue
            found = table.get(ref)
            if found is None:
                err(f"{p}.{field_name}", f"VM '{vm.name}' references unknown {field_name.replace('_', ' ')} '{ref}'",
                    did_you_mean_hint(ref, table))
            elif region is not None and found.region != vm.region:
                err(f"{p}.region", f"VM '{vm.name}' is in region '{vm.region}' but its set '{ref}' is in '{found.region}'")
        if vm.zone is not None and region is not None:
            valid = {str(z) for z in range(1, region.zones + 1)}
            if vm.zone not in valid:
                have = f"zones {', '.join(sorted(valid))}" if valid else "no zones"
                err(f"{p}.zone", f"VM '{vm.name}' is in zone '{vm.zone}' but region '{vm.region}' has {have}")
        seen_ext: set[str] = set()
        for j, ext in enumerate(vm.extensions):
            if not is_version(ext.version):
                err(f"{p}.extensions[{j}].version", f"bad version string '{ext.version}'",
                    "a version is 1 to 4 dot-separated integers, e.g. 9.5 or 1.2.3")
            if ext.name in seen_ext:
                err(f"{p}.extensions[{j}].name", f"VM '{vm.name}' has two extensions named '{ext.name}'")
            seen_ext.add(ext.name)
    _misspelt_fields(fleet, err)
    return diags


def _known_pair(name: str, pair: str, regions: dict[str, Region], table: dict[str, AzureRegion]) -> bool:
    """A pair may be a region of the fleet, or one the Azure table knows (it need not be listed without VMs),
    including the table's own pair of the region (which may lie outside the table, e.g. swedensouth)."""
    return pair in regions or pair in table or (name in table and table[name].pair == pair)


def _misspelt_fields(fleet: Fleet, err: Any) -> None:
    """Unknown fields are kept, but one that looks like a known field is refused: "scaleset" silently ignored would
    make a scale-set VM a single VM and free it from every set rule."""
    def check(model: BaseModel, path: str) -> None:
        extra = model.model_extra
        if not extra:
            return
        known = list(type(model).model_fields)
        for key in sorted(extra):
            close = closest(key.lower().replace("-", "_"), known, cutoff=0.8)
            if close and close != key:
                err(f"{path}.{key}", f"unknown field '{key}'", f"did you mean '{close}'?")

    check(fleet, "$")
    for key, items in (("regions", fleet.regions), ("catalog", fleet.catalog), ("scale_sets", fleet.scale_sets),
                       ("availability_sets", fleet.availability_sets)):
        for i, item in enumerate(items):
            check(item, f"$.{key}[{i}]")
    for i, vm in enumerate(fleet.vms):
        check(vm, f"$.vms[{i}]")
        for j, ext in enumerate(vm.extensions):
            check(ext, f"$.vms[{i}].extensions[{j}]")


def did_you_mean_hint(name: str, choices: Any) -> str | None:
    close = closest(name, choices)
    return f"did you mean '{close}'?" if close else None


def parse_fleet(data: Any, file: str = "<fleet>") -> Fleet:
    """Validate already-parsed JSON; raise InputError with every problem."""
    # A region's fields are what the other checks compare with (its zones, its name): left out, they would make
    # false errors elsewhere, so a bad region field stops the cross-reference checks.
    return parse_object(Fleet, data, file, "E-FLEET", "a fleet", lambda f: validate_fleet(f, file),
                        lambda loc: bool(loc) and loc[0] != "regions")


def load_fleet(path: str | Path) -> Fleet:
    p = Path(path)
    return parse_fleet(read_json(p, "fleet"), str(p))


def iter_set_members(fleet: Fleet) -> Iterator[tuple[str, list[VM]]]:
    groups: dict[str, list[VM]] = {}
    for v in fleet.vms:
        if v.set_name is not None:
            groups.setdefault(v.set_name, []).append(v)
    yield from sorted(groups.items())


def fleet_schema() -> dict[str, Any]:
    schema = Fleet.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"wavegate fleet v{FLEET_FORMAT_VERSION}"
    return schema

"""The fault model of ``wavegate risk``: a distribution over fault scripts, from which scenario ``i`` of seed ``s`` is
drawn deterministically (``engine.risk.scenarios``).

A fault script (``engine.model.faults``) is one scenario: this bad version, that install error, maintenance at
minute 10.  A fault model gives rates instead: per extension version a probability of being bad and a failure rate
when bad, per-task install-failure and per-VM slow-install rates, maintenance events arriving at a rate with a
duration, VMs unhealthy at the start.  ``load_fault_model(path, fleet)`` returns a validated :class:`FaultModel` or
raises :class:`InputError` naming the JSON path of every problem (unknown fields, rates outside [0, 1], versions
that do not parse, extension types the fleet does not have).  Documented in docs/formats.md; ``wavegate schema
fault-model`` prints the JSON Schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.limits import MINUTES
from dsl.versions import is_version, parse_version
from engine.model.bounds import parse_object
from engine.model.fleet import Fleet, did_you_mean_hint, read_json

FAULT_MODEL_FORMAT_VERSION = 1
SAMPLE_FAULT_MODEL = Path(__file__).resolve().parent.parent / "data" / "sample-fault-model.json"


class _Model(BaseModel):
    # A typo in a fault model would silently drop a fault from every scenario: reject unknown fields.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class BadVersionRisk(_Model):
    publisher: str = Field(min_length=1)
    type: str = Field(min_length=1)
    version: str = Field(description="The extension version (compared numerically: 9.5 = 9.5.0).")
    probability: float = Field(ge=0.0, le=1.0, description="Chance that this version is bad in a scenario.")
    fail_rate: float = Field(default=1.0, ge=0.0, le=1.0, description=(
        "When bad: chance that a VM upgraded to it fails its health watch (per VM, extension and attempt)."))


class AnyVersionRisk(_Model):
    probability: float = Field(ge=0.0, le=1.0, description=(
        "Chance that each target version of the schedule not listed in bad_versions is bad in a scenario."))
    fail_rate: float = Field(default=1.0, ge=0.0, le=1.0, description="When bad: as in bad_versions.")


class InstallFailureRisk(_Model):
    rate: float = Field(ge=0.0, le=1.0, description="Chance that a scheduled task's install errors out.")
    attempts: int | None = Field(default=1, ge=1, description=(
        "How many attempts of such a task fail (the first N); null: every attempt."))


class SlowInstallRisk(_Model):
    rate: float = Field(ge=0.0, le=1.0, description="Chance that a VM with scheduled tasks installs slowly.")
    minutes: float = Field(gt=0, le=MINUTES, description="Every install and reinstall on such a VM takes this long.")


class MaintenanceRisk(_Model):
    per_day: float = Field(ge=0.0, le=10000.0, description=(
        "Maintenance events per day (a Poisson process over the horizon)."))
    minutes: float = Field(gt=0, le=MINUTES, description="How long each event keeps its VMs unhealthy.")
    vms: int = Field(default=1, ge=1, description=(
        "VMs each event takes down, all of one set (a scale or availability set; a single VM alone)."))


class UnhealthyAtStartRisk(_Model):
    rate: float = Field(ge=0.0, le=1.0, description="Chance that a VM healthy in the fleet is unhealthy at the start.")
    minutes: float | None = Field(default=None, gt=0, le=MINUTES, description="How long it stays unhealthy; null: the whole run.")


class FaultModel(_Model):
    version: Literal[1] = Field(default=1, description="Format version.")
    bad_versions: list[BadVersionRisk] = Field(default_factory=list)
    any_new_version: AnyVersionRisk | None = None
    install_failures: InstallFailureRisk | None = None
    slow_installs: SlowInstallRisk | None = None
    maintenance: list[MaintenanceRisk] = Field(default_factory=list)
    unhealthy_at_start: UnhealthyAtStartRisk | None = None
    horizon_minutes: float | None = Field(default=None, gt=0, le=10_000_000, description=(
        "Window in which maintenance events start; null: the schedule's nominal duration "
        "(waves x (nominal install + health wait))."))

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"


def validate_fault_model(model: FaultModel, fleet: Fleet, file: str) -> list[Diagnostic]:
    """Cross-reference the model with the fleet: every extension type named exists; each version once."""
    diags: list[Diagnostic] = []
    kinds = sorted({(e.publisher, e.type) for vm in fleet.vms for e in vm.extensions})
    seen: dict[tuple[str, str, tuple[int, ...]], int] = {}
    for i, b in enumerate(model.bad_versions):
        path = f"$.bad_versions[{i}]"
        if (b.publisher, b.type) not in kinds:
            names = [f"{p}/{t}" for p, t in kinds]
            diags.append(Diagnostic(
                "E-MODEL", f"no VM of the fleet has extension {b.publisher}/{b.type}", JsonLocation(file, f"{path}.type"),
                did_you_mean_hint(f"{b.publisher}/{b.type}", names) or f"the fleet's: {', '.join(names) or 'none'}"))
        if not is_version(b.version):
            diags.append(Diagnostic("E-MODEL", f"bad version string '{b.version}'", JsonLocation(file, f"{path}.version"),
                                    "a version is 1 to 4 dot-separated integers, e.g. 9.5 or 1.2.3"))
            continue
        key = (b.publisher, b.type, parse_version(b.version))
        if key in seen:
            diags.append(Diagnostic("E-MODEL", f"{b.publisher}/{b.type} {b.version} is listed twice "
                                    f"(first at $.bad_versions[{seen[key]}])", JsonLocation(file, path),
                                    "keep one entry per version"))
        seen.setdefault(key, i)
    return diags


def parse_fault_model(data: Any, fleet: Fleet | None = None, file: str = "<fault model>") -> FaultModel:
    """Validate parsed JSON; with a fleet, also check that every extension type named exists in it."""
    check = (lambda m: validate_fault_model(m, fleet, file)) if fleet is not None else None
    return parse_object(FaultModel, data, file, "E-MODEL", "a fault model", check)


def load_fault_model(path: str | Path, fleet: Fleet | None = None) -> FaultModel:
    p = Path(path)
    return parse_fault_model(read_json(p, "fault model"), fleet, str(p))


def fault_model_schema() -> dict[str, Any]:
    schema = FaultModel.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"wavegate fault model v{FAULT_MODEL_FORMAT_VERSION}"
    return schema

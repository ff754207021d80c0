"""The fault script of the simulated driver: bad versions, failing installs, maintenance windows, slow installs.

``load_faults(path, fleet)`` returns a validated :class:`FaultScript` or raises :class:`InputError` naming the JSON
path of every problem (unknown fields, out-of-range numbers, VMs or extensions the fleet does not have).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dsl.diagnostics import Diagnostic, JsonLocation
from dsl.limits import MINUTES
from dsl.versions import is_version
from engine.model.bounds import parse_object
from engine.model.fleet import Fleet, did_you_mean_hint, read_json

FAULTS_FORMAT_VERSION = 1


class _Model(BaseModel):
    # A typo in a fault script would silently disable the fault: reject unknown fields.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class BadVersion(_Model):
    publisher: str = Field(min_length=1)
    type: str = Field(min_length=1)
    version: str = Field(description="VMs on this version fail their health watch (with probability fail_rate).")
    fail_rate: float = Field(default=1.0, ge=0.0, le=1.0)


class VMFailure(_Model):
    vm: str = Field(min_length=1)
    extension: str = Field(min_length=1, description="The extension's name on the VM; its install errors out.")
    attempts: int | None = Field(
        default=None, ge=1, description="How many attempts fail (the first N); null: every attempt fails."
    )


class Maintenance(_Model):
    at_minutes: float = Field(ge=0, le=MINUTES, description="Start, in virtual minutes from the start of the run.")
    vms: list[str] = Field(min_length=1)
    minutes: float = Field(gt=0, le=MINUTES, description="How long the VMs are unhealthy.")


class SlowInstall(_Model):
    vm: str = Field(min_length=1)
    minutes: float = Field(gt=0, le=MINUTES, description="Every install and reinstall on this VM takes this long.")


class FaultScript(_Model):
    bad_versions: list[BadVersion] = Field(default_factory=list)
    vm_failures: list[VMFailure] = Field(default_factory=list)
    maintenance: list[Maintenance] = Field(default_factory=list)
    slow_installs: list[SlowInstall] = Field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=False) + "\n"


NO_FAULTS = FaultScript()


def validate_faults(faults: FaultScript, fleet: Fleet, file: str) -> list[Diagnostic]:
    """Cross-reference the script with the fleet: every VM and extension named must exist."""
    diags: list[Diagnostic] = []
    vms = fleet.vm_by_name

    def err(path: str, msg: str, hint: str | None = None) -> None:
        diags.append(Diagnostic("E-FAULTS", msg, JsonLocation(file, path), hint))

    def known_vm(path: str, name: str) -> bool:
        if name in vms:
            return True
        err(path, f"unknown VM '{name}'", did_you_mean_hint(name, vms))
        return False

    for i, b in enumerate(faults.bad_versions):
        if not is_version(b.version):
            err(f"$.bad_versions[{i}].version", f"bad version string '{b.version}'",
                "a version is 1 to 4 dot-separated integers, e.g. 9.5 or 1.2.3")
    for i, f in enumerate(faults.vm_failures):
        if known_vm(f"$.vm_failures[{i}].vm", f.vm):
            names = [e.name for e in vms[f.vm].extensions]
            if f.extension not in names:
                err(f"$.vm_failures[{i}].extension", f"VM '{f.vm}' has no extension named '{f.extension}'",
                    did_you_mean_hint(f.extension, names) or f"its extensions: {', '.join(names) or 'none'}")
    for i, m in enumerate(faults.maintenance):
        for j, name in enumerate(m.vms):
            known_vm(f"$.maintenance[{i}].vms[{j}]", name)
    for i, s in enumerate(faults.slow_installs):
        known_vm(f"$.slow_installs[{i}].vm", s.vm)
    return diags


def parse_faults(data: Any, fleet: Fleet | None = None, file: str = "<faults>") -> FaultScript:
    """Validate parsed JSON; with a fleet, also check that every VM and extension named exists."""
    check = (lambda f: validate_faults(f, fleet, file)) if fleet is not None else None
    return parse_object(FaultScript, data, file, "E-FAULTS", "a fault script", check)


def load_faults(path: str | Path, fleet: Fleet | None = None) -> FaultScript:
    p = Path(path)
    return parse_faults(read_json(p, "fault script"), fleet, str(p))


def faults_schema() -> dict[str, Any]:
    schema = FaultScript.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"wavegate fault script v{FAULTS_FORMAT_VERSION}"
    return schema

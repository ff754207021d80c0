"""The schedule interchange format, v1: phases, waves of tasks, skipped (VM, extension) pairs, bound and optimality,
and the optional certificate of the bound (:class:`Certificate`, re-checked by ``wavegate verify``).

Waves are numbered 0..n-1; a wave belongs to one phase; phase indices never decrease along the waves; each region's
tasks all lie in one phase.  ``Schedule.to_json`` is the one canonical serialisation (byte-for-byte reproducible).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dsl.diagnostics import Diagnostic, JsonLocation
from engine.model.errors import InputError
from engine.model.fleet import pydantic_diagnostics, read_json

SCHEDULE_FORMAT_VERSION = 1

SkipReason = Literal[
    "automatic upgrade not enabled",
    "up to date",
    "only a new major available",
    "not in the catalog",
    "opted out by policy",
    "pinned by policy",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Task(_Model):
    vm: str
    extension: str = Field(description="The extension's name on the VM.")
    from_version: str
    to_version: str


class Phase(_Model):
    index: int = Field(ge=0)
    regions: list[str]


class Wave(_Model):
    index: int = Field(ge=0)
    phase: int = Field(ge=0)
    tasks: list[Task]


class Skipped(_Model):
    vm: str
    extension: str
    reason: str


GroupKeyJson = list[str | int | bool | None]


class BoundNode(_Model):
    """One step of a lower-bound witness: the due tasks this node covers (its parent's, narrowed by the selection
    fields ``region`` / ``value`` / ``side`` / ``key`` / ``part``; the root covers every due task) occupy at least
    ``waves`` waves in every schedule the policy allows.  ``kind`` says why (docs/formats.md lists each argument),
    ``rule`` and ``group`` name the rule and group it counts, ``parts`` are the sub-claims it adds up."""

    kind: Literal["tasks", "capacity", "not_whole", "distinct", "order", "order_by", "subset", "regions_apart",
                  "apart_beside", "regions_per_phase", "canary_alone", "solver"]
    waves: int = Field(ge=0)
    why: str = ""
    region: str | None = None
    value: GroupKeyJson | None = None
    side: Literal["earlier", "later"] | None = None
    key: str | None = None
    part: Literal["canary", "rest"] | None = None
    rule: str | None = None
    group: GroupKeyJson | None = None
    vms: int | None = Field(default=None, ge=0)
    cap: int | None = Field(default=None, ge=0)
    solver: str | None = Field(default=None, description="kind solver: the second solver that proved the bound.")
    parts: list[BoundNode] = Field(default_factory=list)


class Certificate(_Model):
    """Why the schedule cannot be shorter: a combinatorial witness of ``lower_bound`` (kind ``solver`` nodes rest on
    a proof by the second solver, OR-tools CP-SAT, on a model built from the checker's reading, which ``wavegate
    verify`` re-runs), and whether the wave count is certified optimal."""

    lower_bound: int = Field(ge=0)
    optimal: bool
    witness: BoundNode
    notes: list[str] = Field(default_factory=list)


def why_lines(node: BoundNode, depth: int = 3, width: int = 2, indent: str = "  ") -> list[str]:
    """A witness as indented lines ("why not faster"), each node's largest parts first (``width`` of them, to
    ``depth`` levels)."""
    lines = [f"{indent}{node.why}"]
    if depth <= 1 or not node.parts:
        return lines
    parts = sorted(node.parts, key=lambda p: -p.waves)
    for p in parts[:width]:
        lines += why_lines(p, depth - 1, width, indent + "  ")
    if len(parts) > width:
        lines.append(f"{indent}  ... and {len(parts) - width} more part(s)")
    return lines


class Schedule(_Model):
    phases: list[Phase]
    waves: list[Wave]
    skipped: list[Skipped] = Field(default_factory=list)
    lower_bound: int = Field(ge=0)
    optimal: bool
    stats: dict[str, Any] = Field(default_factory=dict)
    certificate: Certificate | None = Field(default=None, description="Optional: the certified lower bound.")

    def to_json(self) -> str:
        doc = self.model_dump(mode="json", exclude={"certificate"})
        if self.certificate is not None:
            # The witness is a tree of mostly empty optional fields: only what each node sets is written.
            doc["certificate"] = self.certificate.model_dump(mode="json", exclude_defaults=True)
        return json.dumps(doc, indent=2, sort_keys=False) + "\n"

    def wave_of_vm(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for w in self.waves:
            for t in w.tasks:
                out.setdefault(t.vm, w.index)
        return out


def parse_schedule(data: Any, file: str = "<schedule>") -> Schedule:
    if not isinstance(data, dict):
        raise InputError([Diagnostic("E-SCHEDULE", "a schedule must be a JSON object", JsonLocation(file, "$"))])
    try:
        return Schedule.model_validate(data)
    except ValidationError as e:
        raise InputError(pydantic_diagnostics(e, file, "E-SCHEDULE")) from None


def load_schedule(path: str | Path) -> Schedule:
    p = Path(path)
    return parse_schedule(read_json(p, "schedule"), str(p))


def schedule_schema() -> dict[str, Any]:
    schema = Schedule.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"wavegate schedule v{SCHEDULE_FORMAT_VERSION}"
    return schema

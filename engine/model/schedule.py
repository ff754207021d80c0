"""The schedule interchange format, v2 (v1 files still read): phases, waves of tasks, skipped (VM, extension) pairs,
bound and optimality, and the optional certificate of the bound (:class:`Certificate`, re-checked by
``wavegate verify``).

Optional times (a policy with time rules): the rollout's ``start``, each wave's ``start`` and ``end`` (UTC instants,
``2026-12-02T00:00:00Z``) and the ``finish`` bound with what sets it.  They are left out of the JSON when absent, so
a schedule without a calendar is byte for byte what it was, and a version-1 schedule without them still reads.

Waves are numbered 0..n-1; a wave belongs to one phase; phase indices never decrease along the waves; each region's
tasks all lie in one phase.  ``Schedule.to_json`` is the one canonical serialisation (byte-for-byte reproducible).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from engine.model.bounds import parse_object
from engine.model.fleet import read_json

SCHEDULE_FORMAT_VERSION = 2

SkipReason = Literal[
    "automatic upgrade not enabled",
    "up to date",
    "only a new major available",
    "not in the catalog",
    "opted out by policy",
    "pinned by policy",
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Task(_Model):
    vm: str
    extension: str = Field(description="The extension's name on the VM.")
    from_version: str
    to_version: str


class Phase(_Model):
    index: int = Field(ge=0)
    regions: list[str]


INSTANT_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})$"
_TIME_FIELDS = ("start", "finish")
_WAVE_TIME_FIELDS = ("start", "end")


def _instant(description: str) -> Any:
    return Field(default=None, pattern=INSTANT_PATTERN, description=description)


class Wave(_Model):
    index: int = Field(ge=0)
    phase: int = Field(ge=0)
    tasks: list[Task]
    start: str | None = _instant("When the wave starts (UTC), with a calendar.")
    end: str | None = _instant("When the wave's last install ends as planned (UTC), with a calendar.")


class Finish(_Model):
    """The calendar's answer: when the rollout ends as planned, the lower bound on any schedule's end, and what
    sets that bound (a window, a bake, a chain of waves)."""

    planned: str = Field(pattern=INSTANT_PATTERN)
    lower_bound: str = Field(pattern=INSTANT_PATTERN)
    set_by: str
    critical_path: list[str] = Field(default_factory=list)


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
    version: Literal[1, 2] = Field(default=1, description=(
        "Format version: 2 records the digests of its inputs; a file without the field is version 1."))
    fleet_sha256: str | None = Field(default=None, pattern="^[0-9a-f]{64}$", description=(
        "sha256 of the canonical JSON of the fleet it was planned for (engine.model.digest); null: not recorded."))
    policy_sha256: str | None = Field(default=None, pattern="^[0-9a-f]{64}$", description=(
        "sha256 of the resolved policy it was planned for, spans and paths left out (engine.model.digest)."))
    phases: list[Phase]
    waves: list[Wave]
    skipped: list[Skipped] = Field(default_factory=list)
    lower_bound: int = Field(ge=0)
    optimal: bool
    stats: dict[str, Any] = Field(default_factory=dict)
    start: str | None = _instant("The rollout's start (UTC), recorded when the policy has time rules.")
    finish: Finish | None = None
    certificate: Certificate | None = Field(default=None, description="Optional: the certified lower bound.")

    @model_serializer(mode="wrap")
    def _omit_unrecorded(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A version-1 schedule (no digests) reads and writes back byte for byte.
        out: dict[str, Any] = handler(self)
        for key in ("fleet_sha256", "policy_sha256"):
            if out.get(key, 0) is None:
                del out[key]
        if out.get("version") == 1:
            del out["version"]
        return out

    def to_json(self) -> str:
        data = self.model_dump(mode="json", exclude={"certificate"})
        for key in _TIME_FIELDS:
            if data.get(key) is None:
                data.pop(key, None)
        for w in data["waves"]:
            for key in _WAVE_TIME_FIELDS:
                if w.get(key) is None:
                    w.pop(key, None)
        if self.certificate is not None:
            # The witness is a tree of mostly empty optional fields: only what each node sets is written.
            data["certificate"] = self.certificate.model_dump(mode="json", exclude_defaults=True)
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @property
    def timed(self) -> bool:
        """Does the schedule carry a calendar (a start)?"""
        return self.start is not None

    def wave_of_vm(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for w in self.waves:
            for t in w.tasks:
                out.setdefault(t.vm, w.index)
        return out


def parse_schedule(data: Any, file: str = "<schedule>") -> Schedule:
    return parse_object(Schedule, data, file, "E-SCHEDULE", "a schedule")


def load_schedule(path: str | Path) -> Schedule:
    p = Path(path)
    return parse_schedule(read_json(p, "schedule"), str(p))


def schedule_schema() -> dict[str, Any]:
    schema = Schedule.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"wavegate schedule v{SCHEDULE_FORMAT_VERSION}"
    return schema

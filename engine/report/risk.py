"""The part of ``wavegate risk --format json`` (issue 13) that the report reads, as a pydantic model.

The risk command owns its document; the report reads only the fields below and ignores every other one, so the
document may grow.  All times are virtual minutes since the start of the run (the calendar's times when the time
issue lands).  ``RiskSummary.model_json_schema()`` is the contract; docs/report.md describes it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dsl.diagnostics import Diagnostic, JsonLocation
from engine.model.bounds import pydantic_diagnostics
from engine.model.errors import InputError
from engine.model.fleet import read_json
from engine.model.schedule import INSTANT_PATTERN


class _Read(BaseModel):
    # Unknown fields are ignored: the risk document carries more than the report shows.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)


class Interval(_Read):
    """An estimated probability with its confidence interval."""

    estimate: float = Field(ge=0, le=1)
    low: float = Field(ge=0, le=1)
    high: float = Field(ge=0, le=1)
    confidence: float = Field(default=0.95, gt=0, lt=1)

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if not self.low <= self.estimate <= self.high:
            raise ValueError("needs low <= estimate <= high")
        return self


class RuleHalts(_Read):
    """How many scenarios a rule (gate) halted."""

    rule: str = Field(min_length=1)
    scenarios: int = Field(ge=0)


class RegionHalts(_Read):
    """How many scenarios halted in a region."""

    region: str = Field(min_length=1)
    scenarios: int = Field(ge=0)


class Quantiles(_Read):
    """Finish time of the rollout over the scenarios, in minutes."""

    p50: float = Field(ge=0)
    p95: float = Field(ge=0)
    max: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Quantiles:
        if not self.p50 <= self.p95 <= self.max:
            raise ValueError("needs p50 <= p95 <= max")
        return self


class Histogram(_Read):
    """Scenarios per finish-time bin: bin i is [edges[i], edges[i+1]) minutes."""

    edges: list[float] = Field(min_length=2)
    counts: list[int]

    @model_validator(mode="after")
    def _shape(self) -> Histogram:
        if len(self.counts) != len(self.edges) - 1:
            raise ValueError("needs one count per bin: len(counts) == len(edges) - 1")
        if any(b <= a for a, b in zip(self.edges, self.edges[1:], strict=False)):
            raise ValueError("edges must increase")
        if any(c < 0 for c in self.counts):
            raise ValueError("counts must be >= 0")
        return self


class FinishUtc(_Read):
    """With a calendar: the finish percentiles as UTC instants (the risk document's ``finish_utc``)."""

    start: str = Field(pattern=INSTANT_PATTERN)
    p50: str = Field(pattern=INSTANT_PATTERN)
    p95: str = Field(pattern=INSTANT_PATTERN)
    max: str = Field(pattern=INSTANT_PATTERN)


class RiskSummary(_Read):
    """What the report shows of a risk run: P(halt), halts by rule and region, finish-time quantiles, histogram."""

    scenarios: int = Field(ge=1)
    seed: int
    p_halt: Interval
    halts_by_rule: list[RuleHalts] = Field(default_factory=list)
    halts_by_region: list[RegionHalts] = Field(default_factory=list)
    finish_minutes: Quantiles
    finish_histogram: Histogram | None = None
    finish_utc: FinishUtc | None = Field(default=None, description="With a calendar: the finish as UTC instants.")
    worst_seeds: list[int] = Field(default_factory=list, description="Seeds `wavegate simulate --seed` replays.")


def from_risk_output(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields above, read off the document ``wavegate risk --format json`` writes (``engine.risk.report``)."""
    given, listed = doc.get("inputs"), doc.get("worst")
    inputs: dict[str, Any] = given if isinstance(given, dict) else {}
    worst: list[Any] = listed if isinstance(listed, list) else []
    band = doc.get("p_halt_95")
    low, high = band if isinstance(band, list) and len(band) == 2 else (None, None)
    out = {"scenarios": inputs.get("scenarios"), "seed": inputs.get("seed"),
           "p_halt": {"estimate": doc.get("p_halt"), "low": low, "high": high},
           "halts_by_rule": doc.get("halts_by_rule", []), "halts_by_region": doc.get("regions", []),
           "finish_minutes": doc.get("finish_minutes"), "finish_histogram": doc.get("finish_histogram"),
           "finish_utc": doc.get("finish_utc"),
           "worst_seeds": [w.get("seed") for w in worst if isinstance(w, dict)]}
    return {k: v for k, v in out.items() if v is not None}


def parse_risk(data: Any, file: str = "<risk>") -> RiskSummary:
    if not isinstance(data, dict):
        raise InputError([Diagnostic("E-RISK", "a risk document must be a JSON object", JsonLocation(file, "$"))])
    if "inputs" in data:  # the risk command's document (its fields are named for people, not for this page)
        data = from_risk_output(data)
    try:
        return RiskSummary.model_validate(data)
    except ValidationError as e:
        raise InputError(pydantic_diagnostics(e, file, "E-RISK")) from None


def load_risk(path: str | Path) -> RiskSummary:
    p = Path(path)
    return parse_risk(read_json(p, "risk"), str(p))

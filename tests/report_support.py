"""The sample rollout the report tests look at: the bundled sample fleet planned under the Azure default policy and
simulated with the bundled fault script (halts of every common kind), through the command line as a user would."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from engine.cli import app
from engine.model.resources import bundled_spec, sample_fleet

runner = CliRunner()
HALT_KINDS = ("set_blocked", "set_stopped", "install_refused", "phase_held", "retries_exhausted")


def wavegate(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


def sample_rollout(folder: Path) -> dict[str, Path]:
    """schedule.json, events.jsonl (and the spec and fleet they are of) in ``folder``."""
    paths = {"spec": bundled_spec(), "fleet": sample_fleet(), "schedule": folder / "schedule.json",
             "events": folder / "events.jsonl"}
    code, _, err = wavegate("plan", "-q", "-o", str(paths["schedule"]))
    assert code == 0, err
    code, _, err = wavegate("simulate", "--schedule", str(paths["schedule"]), "--events", str(paths["events"]))
    assert code == 3, err  # the sample story halts
    return paths


def halts_in_log(events: Path) -> Counter[str]:
    """Halts per kind, read straight from the event log (not through the report's reader)."""
    kinds = (json.loads(line)["event"] for line in events.read_text().splitlines() if line.strip())
    return Counter(k for k in kinds if k in HALT_KINDS)


def lanes_of_schedule(schedule: Path) -> set[str]:
    return {r for ph in json.loads(schedule.read_text())["phases"] for r in ph["regions"]}


def risk_document() -> dict[str, object]:
    """A document shaped like ``wavegate risk --format json`` (the part the report reads, plus a field it ignores)."""
    return {"scenarios": 1000, "seed": 7, "digest": "ignored by the report",
            "p_halt": {"estimate": 0.31, "low": 0.28, "high": 0.34, "confidence": 0.95},
            "halts_by_rule": [{"rule": "precheck", "scenarios": 250}, {"rule": "stop_upgraded", "scenarios": 80}],
            "halts_by_region": [{"region": "chilecentral", "scenarios": 200}],
            "finish_minutes": {"p50": 300.0, "p95": 4500.0, "max": 13000.0},
            "finish_histogram": {"edges": [0, 2000, 4000, 6000, 8000, 10000, 12000, 14000],
                                 "counts": [690, 120, 90, 40, 30, 20, 10]},
            "worst_seeds": [17, 402, 999]}

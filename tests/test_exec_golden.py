"""Golden runs: the executor's event log and end state for fixed fleets, schedules and fault scripts, byte for byte.

The fixtures (``fixtures/exec``: a generated 200-VM fleet, a schedule per spec, a fault script per spec with bad
versions, install errors, maintenance and slow installs) exercise rollbacks, retries, deferrals, stops, a block and a
held phase.  Work on the executor (speed above all) must not change a byte of this output; after an intended change
regenerate with ``WAVEGATE_UPDATE_GOLDEN=1 pytest tests/test_exec_golden.py`` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from golden import assert_golden

from engine.api import load_fleet, load_policy, load_schedule
from engine.model.faults import load_faults
from engine.run.driver import SimDriver
from engine.run.events import AtomicJsonlWriter
from engine.run.executor import RunResult, execute
from engine.run.journal import Journal

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "exec"
SEED = 3


def _end_state(result: RunResult) -> str:
    """What the run leaves behind: outcome, each changed version and each VM's health at the end."""
    return json.dumps({
        "exit_code": result.exit_code,
        "states": result.states,
        "versions": {f"{vm}/{ext}": v for (vm, ext), v in sorted(result.versions.items())},
        "healthy": result.healthy,
    }, indent=1, sort_keys=True) + "\n"


def _check(golden: Path, got: str) -> None:
    assert_golden(golden, got)


@pytest.mark.parametrize("journal", [False, True], ids=["plain", "journal"])
@pytest.mark.parametrize("spec", ["azure-default", "team-strict"])
def test_run_matches_golden(spec: str, journal: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # rule references in events name specs/<spec>.wg relative to the repository
    policy = load_policy(f"specs/{spec}.wg")
    fleet = load_fleet(FIXTURES / "fleet.json")
    schedule = load_schedule(FIXTURES / f"schedule-{spec}.json")
    faults = load_faults(FIXTURES / f"faults-{spec}.json", fleet)
    events = tmp_path / "events.jsonl"
    writer = AtomicJsonlWriter(events)
    jr = Journal.create(tmp_path / "run.db", {"seed": str(SEED)}) if journal else None
    try:
        result = execute(policy, fleet, schedule, SimDriver(fleet, faults, seed=SEED), writer, journal=jr)
        writer.commit()
    finally:
        writer.abort()
        if jr is not None:
            jr.close()
    text = events.read_text(encoding="utf-8")
    kinds = {json.loads(line)["event"] for line in text.splitlines()}
    # The scenario must keep exercising what it was built for, or the golden guards less than it claims.
    assert {"rolled_back", "retry_scheduled", "install_deferred", "install_failed", "set_stopped",
            "phase_held", "retries_exhausted"} <= kinds
    _check(FIXTURES / f"events-{spec}.jsonl", text)
    _check(FIXTURES / f"end-{spec}.json", _end_state(result))

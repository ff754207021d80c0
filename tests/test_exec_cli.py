"""`wavegate simulate` as a user meets it: the sample story, exit codes, bad input with JSON paths, determinism."""

from __future__ import annotations

import json
from pathlib import Path

import exec_support as X
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.model.errors import MonitorBreach
from engine.run.events import parse_events

runner = CliRunner()


def sim(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, ["simulate", *args])
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture()
def small(tmp_path: Path) -> Path:
    fl = X.fleet({"a": 10, "b": 5}, singles=2, exts=("da", "ama"))
    (tmp_path / "fleet.json").write_text(fl.to_json())
    (tmp_path / "schedule.json").write_text(X.schedule(fl).to_json())
    return tmp_path


def test_no_arguments_tells_the_sample_story(tmp_path: Path) -> None:
    code, out, err = sim("--events", str(tmp_path / "ev.jsonl"), "--final-state", str(tmp_path / "after.json"))
    assert code == 3, err
    assert "rolled back" in out and "stopped by rule stop_upgraded" in out and "stopped by rule stop_unhealthy" in out
    assert "blocked by rule precheck" in out and "unblock:" in out and "phase 1 held" in out
    events = parse_events((tmp_path / "ev.jsonl").read_text())
    kinds = {e.event for e in events}
    assert {"rolled_back", "set_stopped", "set_blocked", "retry_scheduled", "phase_held", "install_failed"} <= kinds
    after = json.loads((tmp_path / "after.json").read_text())
    assert len(after["vms"]) == 3000


def test_completed_run_exits_0_and_writes_outputs(small: Path) -> None:
    code, out, err = sim("--fleet", str(small / "fleet.json"), "--schedule", str(small / "schedule.json"),
                         "--events", str(small / "ev.jsonl"), "--final-state", str(small / "after.json"))
    assert code == 0, err + out
    assert "completed" in out
    after = json.loads((small / "after.json").read_text())
    assert {e["version"] for v in after["vms"] for e in v["extensions"]} == {"9.10", "1.3"}


def test_same_seed_same_bytes_from_the_command_line(small: Path) -> None:
    faults = {"bad_versions": [{"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent",
                                "version": "1.3", "fail_rate": 0.4}]}
    (small / "faults.json").write_text(json.dumps(faults))
    outs = []
    for k in range(2):
        code, _, err = sim("--fleet", str(small / "fleet.json"), "--schedule", str(small / "schedule.json"),
                           "--faults", str(small / "faults.json"), "--seed", "9", "--events", str(small / f"ev{k}.jsonl"),
                           "--final-state", str(small / f"after{k}.json"))
        assert code in (0, 3), err
        outs.append(((small / f"ev{k}.jsonl").read_bytes(), (small / f"after{k}.json").read_bytes()))
    assert outs[0] == outs[1]


def test_bad_fault_script_names_every_json_path_and_writes_nothing(small: Path) -> None:
    bad = {"bad_versions": [{"publisher": "p", "type": "t", "version": "1.x", "fail_rate": 2}],
           "vm_failures": [{"vm": "a-11", "extension": "da"}, {"vm": "a-1", "extension": "dx"}],
           "maintenance": [{"at_minutes": 1, "vms": ["nobody"], "minutes": 5}], "slow_install": []}
    (small / "faults.json").write_text(json.dumps(bad))
    code, _, err = sim("--fleet", str(small / "fleet.json"), "--schedule", str(small / "schedule.json"),
                       "--faults", str(small / "faults.json"), "--events", str(small / "ev.jsonl"))
    assert code == 2
    assert "$.bad_versions[0].fail_rate" in err and "$.slow_install" in err and "Traceback" not in err
    assert not (small / "ev.jsonl").exists() and not list(small.glob(".ev.jsonl.*"))
    del bad["slow_install"]
    bad["bad_versions"][0]["fail_rate"] = 1
    (small / "faults.json").write_text(json.dumps(bad))
    code, _, err = sim("--fleet", str(small / "fleet.json"), "--schedule", str(small / "schedule.json"),
                       "--faults", str(small / "faults.json"))
    assert code == 2
    for path in ("$.bad_versions[0].version", "$.vm_failures[0].vm", "$.vm_failures[1].extension",
                 "$.maintenance[0].vms[0]"):
        assert path in err, err
    assert "did you mean 'a-1'" in err
    (small / "faults.json").write_text("{\n  \"bad_versions\": [,]\n}")
    code, _, err = sim("--fleet", str(small / "fleet.json"), "--faults", str(small / "faults.json"))
    assert code == 2 and "faults.json:2:" in err


def test_stale_or_rule_breaking_schedule_is_bad_input(small: Path) -> None:
    sched = json.loads((small / "schedule.json").read_text())
    sched["waves"][0]["tasks"][0]["from_version"] = "9.1"
    (small / "stale.json").write_text(json.dumps(sched))
    code, _, err = sim("--fleet", str(small / "fleet.json"), "--schedule", str(small / "stale.json"))
    assert code == 2 and "$.waves[0].tasks[0].from_version" in err and "stale" in err
    sched = json.loads((small / "schedule.json").read_text())
    every = [t for w in sched["waves"] for t in w["tasks"]]
    sched["waves"] = [{"index": 0, "phase": 0, "tasks": every}]
    (small / "crowded.json").write_text(json.dumps(sched))
    code, _, err = sim("--fleet", str(small / "fleet.json"), "--schedule", str(small / "crowded.json"))
    assert code == 2 and "ss_batch" in err


def test_journal_usage_errors(small: Path) -> None:
    base = ("--fleet", str(small / "fleet.json"), "--schedule", str(small / "schedule.json"))
    code, _, err = sim(*base, "--resume")
    assert code == 2 and "--resume needs --journal" in err
    code, _, err = sim(*base, "--journal", str(small / "run.db"), "--seed", "1")
    assert code == 0, err
    code, _, err = sim(*base, "--journal", str(small / "run.db"))
    assert code == 2 and "already exists" in err
    code, _, err = sim(*base, "--journal", str(small / "run.db"), "--resume", "--seed", "2")
    assert code == 2 and "different seed" in err
    code, out, err = sim(*base, "--journal", str(small / "run.db"), "--resume", "--seed", "1")
    assert code == 0 and "resumed" in out, err


def test_help_shows_an_example_and_breach_exit_code() -> None:
    r = runner.invoke(app, ["simulate", "--help"])
    assert r.exit_code == 0 and "Example:" in r.stdout and "wavegate simulate --journal run.db" in r.stdout
    assert MonitorBreach.exit_code == 1

"""`wavegate plan` as a user runs it: defaults, -o, --format json, exit codes, nothing written on error."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from plan_support import FleetBuilder
from typer.testing import CliRunner

from dsl.loader import load_policy
from engine.check.verify import verify_schedule
from engine.cli import app
from engine.model.fleet import load_fleet
from engine.model.resources import bundled_spec
from engine.model.schedule import load_schedule

runner = CliRunner()


def write_fleet(tmp_path: Path) -> Path:
    b = FleetBuilder().region("eastus", zones=3, pair="westus").region("westus", pair="eastus")
    b.scale_set("web", "eastus", 10, zones=["1", "2"], uds=2).avset("db", "westus", 3).vm("jump", "westus")
    path = tmp_path / "fleet.json"
    path.write_text(json.dumps(b.doc()))
    return path


def test_plan_writes_a_verified_schedule(tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path)
    out = tmp_path / "schedule.json"
    r = runner.invoke(app, ["plan", "--fleet", str(fleet), "-o", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "proven optimal" in r.output and "lower bound" in r.output
    sched = load_schedule(out)
    assert verify_schedule(load_policy(bundled_spec()), load_fleet(fleet), sched).ok
    assert len({p.index for p in sched.phases}) == 2


def test_plan_format_json_is_the_schedule(tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path)
    out = tmp_path / "s.json"
    r = runner.invoke(app, ["plan", "--fleet", str(fleet), "--format", "json", "-o", str(out)])
    assert r.exit_code == 0
    assert json.loads(r.stdout) == json.loads(out.read_text())
    again = runner.invoke(app, ["plan", "--fleet", str(fleet), "--format", "json"])
    assert again.stdout == r.stdout


def test_plan_infeasible_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    shutil.copy(bundled_spec(), tmp_path / "azure-default.wg")
    spec = tmp_path / "tight.wg"
    spec.write_text('policy tight\n\nextends "azure-default.wg"\n\nrule max_waves: at most 4 waves\n')
    b = FleetBuilder().region("eastus").scale_set("web", "eastus", 7)
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps(b.doc()))
    out = tmp_path / "never.json"
    r = runner.invoke(app, ["plan", "--spec", str(spec), "--fleet", str(fleet), "-o", str(out)])
    assert r.exit_code == 1
    assert not out.exists()
    text = r.stderr
    assert "ss_batch" in text and "max_waves" in text and "tight.wg:5" in text
    assert "scale set web: 7 VMs" in text and "Traceback" not in r.output


def test_plan_bad_fleet_exits_2_with_the_json_path(tmp_path: Path) -> None:
    b = FleetBuilder().region("eastus").vm("a", "nowhere")
    fleet = tmp_path / "fleet.json"
    fleet.write_text(json.dumps(b.doc()))
    out = tmp_path / "never.json"
    r = runner.invoke(app, ["plan", "--fleet", str(fleet), "-o", str(out)])
    assert r.exit_code == 2
    assert "$.vms[0].region" in r.stderr and not out.exists() and "Traceback" not in r.output


def test_plan_bad_format_is_input_error(tmp_path: Path) -> None:
    r = runner.invoke(app, ["plan", "--fleet", str(write_fleet(tmp_path)), "--format", "xml"])
    assert r.exit_code == 2


def test_plan_help_shows_an_example() -> None:
    r = runner.invoke(app, ["plan", "--help"])
    assert r.exit_code == 0 and "Example:" in r.output and "wavegate plan" in r.output

"""The Python API (engine.api): load, plan, verify without shelling out; and plan -> verify on generated fleets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine import api
from engine.model.errors import InputError
from engine.model.generator import generate_fleet

ROOT = Path(__file__).parent.parent
FIX = Path(__file__).parent / "fixtures" / "fleets"


def test_load_plan_verify_round_trip() -> None:
    policy = api.load_policy(ROOT / "specs" / "azure-default.wg")
    fleet = api.load_fleet(FIX / "scale-set-7.json")
    schedule = api.plan(policy, fleet, time_limit=30)
    assert len(schedule.waves) == 7 and schedule.optimal and schedule.lower_bound == 7
    report = api.verify(policy, fleet, schedule)
    assert report.ok and report.rules_checked == len(policy.rules)
    again = api.parse_schedule(__import__("json").loads(schedule.to_json()))
    assert api.verify(policy, fleet, again).ok
    assert [t.to_version for t in api.resolve(policy, fleet).tasks] == ["1.22"] * 7


def test_bad_inputs_raise_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "f.json"
    bad.write_text('{"regions": 3}')
    with pytest.raises(InputError) as e:
        api.load_fleet(bad)
    assert "$.regions" in str(e.value)
    spec = tmp_path / "p.wg"
    spec.write_text("policy p\nrule r: at most 1 zoen per region per wave\n")
    with pytest.raises(InputError):
        api.load_policy(spec)


def test_starting_the_cli_does_not_load_the_solver() -> None:
    # check, fmt, schema and --help stay quick: the commands that need z3 import it when they run.
    code = "import sys, engine.cli; print('z3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


# ring-ordered is left out: generated fleets put ring 0 and ring 1 in both regions of a pair, which it forbids.
@pytest.mark.parametrize(("spec", "seed"), [("azure-default.wg", 1), ("azure-default.wg", 2), ("team-strict.wg", 1)])
def test_planned_schedules_of_generated_fleets_pass_the_checker(spec: str, seed: int) -> None:
    policy = api.load_policy(ROOT / "specs" / spec)
    fleet = generate_fleet(200, seed)
    schedule = api.plan(policy, fleet, time_limit=30)
    report = api.verify(policy, fleet, schedule)
    assert report.ok, [v.render() for v in report.violations]

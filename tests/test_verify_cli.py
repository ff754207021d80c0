"""`wavegate verify` and `wavegate schema` end to end: exit codes, rule spans, JSON output, schemas."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.cli.commands.schema import FORMATS, available

FIX = Path(__file__).parent / "fixtures" / "fleets"
SPEC = str(FIX / "rules.wg")
FLEET = str(FIX / "rules.json")
runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, r.stdout, r.stderr


def test_valid_schedule_exit_0() -> None:
    code, out, _ = run("verify", "--spec", SPEC, "--fleet", FLEET, str(FIX / "schedules" / "rules-valid.json"))
    assert code == 0
    assert out.splitlines()[0] == "schedule satisfies all 10 rules of test_rules on rules.json"
    assert "note: spread_singles" in out


def test_violation_names_rule_span_wave_and_vms() -> None:
    code, out, _ = run("verify", "--spec", SPEC, "--fleet", FLEET, str(FIX / "schedules" / "rules-bad-ss_batch.json"))
    assert code == 1
    assert out.splitlines()[0] == "1 violation of 1 rule (ss_batch) of test_rules on rules.json"
    # paths below the working folder are shown relative to it (issue 11)
    assert f"ss_batch ({os.path.relpath(SPEC)}:9:1): wave 1: scale set web has 3 VMs in wave 1" in out
    assert "VMs: web-0, web-1, web-2" in out


def test_json_format() -> None:
    code, out, _ = run("verify", "--spec", SPEC, "--fleet", FLEET, "--format", "json",
                       str(FIX / "schedules" / "rules-bad-geo_pairs.json"))
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["policy"] == "test_rules"
    [v] = doc["violations"]
    assert v["rule"] == "geo_pairs" and v["phase"] == 1 and v["span"]["line"] == 5
    assert v["vm_count"] == 14 and len(v["vms"]) == 8


@pytest.mark.parametrize(
    ("content", "where"),
    [
        ('{"phases": [], "waves": [{"index": "x", "phase": 0, "tasks": []}], "lower_bound": 0, "optimal": true}',
         "$.waves[0].index"),
        ('{"phases": [], "waves": []}', "$.lower_bound"),
        ('[1, 2]', "$"),
        ('{"phases": [', ":1:13: error[E-JSON]: malformed JSON"),
        ("", "schedule file is empty"),
    ],
)
def test_malformed_schedule_exit_2_with_json_path(tmp_path: Path, content: str, where: str) -> None:
    bad = tmp_path / "s.json"
    bad.write_text(content)
    code, out, err = run("verify", "--spec", SPEC, "--fleet", FLEET, str(bad))
    assert code == 2
    assert where in err
    assert "Traceback" not in err + out


def test_missing_schedule_file_exit_2(tmp_path: Path) -> None:
    code, _, err = run("verify", "--spec", SPEC, "--fleet", FLEET, str(tmp_path / "nope.json"))
    assert code == 2 and "schedule file not found" in err


def test_bad_format_exit_2() -> None:
    code, _, err = run("verify", "--spec", SPEC, "--fleet", FLEET, "--format", "xml",
                       str(FIX / "schedules" / "rules-valid.json"))
    assert code == 2 and "'xml' is not one of" in err  # typer's enum check (issue 11: one word set)


def test_verify_help_shows_an_example() -> None:
    code, out, _ = run("verify", "--help")
    assert code == 0 and "Example:" in out and "wavegate verify --spec" in out


# ---------------------------------------------------------------------------------------------------------------
# schema


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_listed_format_prints_a_schema_when_its_module_exists(name: str) -> None:
    module = FORMATS[name].split(":")[0]
    if importlib.util.find_spec(module) is None:
        code, _, err = run("schema", name)
        assert code == 2 and "not available" in err
        return
    code, out, _ = run("schema", name)
    assert code == 0
    schema = json.loads(out)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert available(name)


def test_fleet_schema_accepts_the_fixture_fleets_and_schedule_schema_the_schedules() -> None:
    fleet_schema = json.loads(run("schema", "fleet")[1])
    for path in sorted(FIX.glob("*.json")):
        jsonschema.validate(json.loads(path.read_text()), fleet_schema)
    schedule_schema = json.loads(run("schema", "schedule")[1])
    for path in sorted((FIX / "schedules").glob("*.json")):
        jsonschema.validate(json.loads(path.read_text()), schedule_schema)


def test_unknown_schema_name_suggests() -> None:
    code, _, err = run("schema", "fleets")
    assert code == 2 and "did you mean 'fleet'?" in err

"""Issue 11, item 4: a schedule is tied to its fleet and policy (schedule format v2), and a mismatch is one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_support import FIX, FLEET, SPEC, fleet_data, mutated, run

from dsl.limits import DIAGNOSTICS
from dsl.loader import load_policy
from engine.model.digest import fleet_sha256, policy_sha256
from engine.model.fleet import load_fleet
from engine.model.schedule import load_schedule

OTHER_FLEET = FIX / "zonal-3-zones.json"


@pytest.fixture
def planned(tmp_path: Path) -> Path:
    out = tmp_path / "s.json"
    code, _, err = run("plan", "--spec", SPEC, "--fleet", FLEET, "-o", out, "-q")
    assert code == 0, err
    return out


def test_plan_records_the_digests_of_its_inputs(planned: Path) -> None:
    s = json.loads(planned.read_text())
    assert s["version"] == 2
    assert s["fleet_sha256"] == fleet_sha256(load_fleet(FLEET))
    assert s["policy_sha256"] == policy_sha256(load_policy(SPEC))


def test_digests_ignore_layout_but_not_meaning(tmp_path: Path) -> None:
    data = fleet_data()
    compact = tmp_path / "compact.json"
    compact.write_text(json.dumps(data, separators=(",", ":")))
    assert fleet_sha256(load_fleet(compact)) == fleet_sha256(load_fleet(FLEET))
    changed = mutated(tmp_path, "f.json", data, lambda d: d["vms"][0].__setitem__("healthy", False))
    assert fleet_sha256(load_fleet(changed)) != fleet_sha256(load_fleet(FLEET))
    moved = tmp_path / "rules.wg"
    moved.write_text("# a comment moves every line\n\n" + SPEC.read_text())
    assert policy_sha256(load_policy(moved)) == policy_sha256(load_policy(SPEC))
    moved.write_text(SPEC.read_text().replace("20%", "30%", 1))
    assert policy_sha256(load_policy(moved)) != policy_sha256(load_policy(SPEC))


@pytest.mark.parametrize("command", ["verify", "explain", "simulate"])
def test_a_schedule_for_another_fleet_is_refused_in_one_line(planned: Path, command: str) -> None:
    args = {"verify": ["verify", "--spec", SPEC, "--fleet", OTHER_FLEET, planned],
            "explain": ["explain", "--spec", SPEC, "--fleet", OTHER_FLEET, "--schedule", planned, "--vm", "x"],
            "simulate": ["simulate", "--spec", SPEC, "--fleet", OTHER_FLEET, "--schedule", planned]}[command]
    code, out, err = run(*args)
    assert code == 2
    lines = [line for line in (out + err).splitlines() if line.strip()]
    assert lines[0] == (f"{planned}: $.fleet_sha256: error[E-SCHEDULE]: this schedule was planned for another fleet "
                        "(its fleet_sha256 differs)")
    assert len(lines) == 2 and "--force" in lines[1]


def test_another_policy_is_refused(planned: Path) -> None:
    code, _, err = run("verify", "--fleet", FLEET, planned)
    assert code == 2 and "planned for another policy" in err


def test_force_checks_anyway(planned: Path) -> None:
    code, out, err = run("verify", "--spec", SPEC, "--fleet", OTHER_FLEET, "--force", planned)
    assert code == 1
    assert "checked anyway (--force)" in err and "violations" in out


def test_violations_are_capped_with_a_count_of_the_rest(planned: Path) -> None:
    s = json.loads(planned.read_text())
    s["waves"] = [{**w, "index": 7} for w in s["waves"] * (DIAGNOSTICS + 40)]
    planned.write_text(json.dumps(s))
    code, out, _ = run("verify", "--spec", SPEC, "--fleet", FLEET, planned)
    assert code == 1
    assert "more violations (the first 50 are shown; --format json lists them all)" in out
    assert len(out.splitlines()) < 4 * DIAGNOSTICS
    code, out, _ = run("verify", "--spec", SPEC, "--fleet", FLEET, "--format", "json", planned)
    assert len(json.loads(out)["violations"]) > DIAGNOSTICS


def test_version_1_schedules_still_read_and_verify(planned: Path, tmp_path: Path) -> None:
    s = json.loads(planned.read_text())
    for key in ("version", "fleet_sha256", "policy_sha256"):
        del s[key]
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps(s, indent=2) + "\n")
    assert load_schedule(v1).version == 1
    assert load_schedule(v1).to_json() == v1.read_text()  # written back unchanged
    code, out, _ = run("verify", "--spec", SPEC, "--fleet", FLEET, v1)
    assert code == 0 and "satisfies" in out
    assert run("simulate", "--spec", SPEC, "--fleet", FLEET, "--schedule", v1)[0] == 0


def test_bad_digests_are_refused_by_the_format(planned: Path) -> None:
    s = json.loads(planned.read_text())
    s["fleet_sha256"], s["version"] = "xyz", 3
    planned.write_text(json.dumps(s))
    code, _, err = run("verify", "--spec", SPEC, "--fleet", FLEET, planned)
    assert code == 2 and "$.fleet_sha256" in err and "$.version" in err

"""`explain`: the rules that keep a VM out of each earlier wave, grouped into ranges, phases explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dsl.loader import load_policy
from dsl.policy import Policy
from engine.check.explain import explain_vm
from engine.cli import app
from engine.model.errors import InputError
from engine.model.fleet import Fleet, load_fleet
from engine.model.schedule import Schedule, load_schedule, parse_schedule

FIX = Path(__file__).parent / "fixtures" / "fleets"
SPEC = str(FIX / "rules.wg")
Inputs = tuple[Policy, Fleet, Schedule]


@pytest.fixture(scope="module")
def inputs() -> Inputs:
    return load_policy(SPEC), load_fleet(FIX / "rules.json"), load_schedule(FIX / "schedules" / "rules-valid.json")


def test_tight_vm_each_earlier_wave_has_its_rule(inputs: Inputs) -> None:
    e = explain_vm(*inputs, "web-3")
    assert (e.wave, e.phase, e.tight) == (3, 1, True)
    got = [(r.first, r.last, r.phase, r.rules) for r in e.reasons]
    assert got == [(0, 0, 0, ("phase", "canary")), (1, 1, None, ("one_ud", "ss_batch")), (2, 2, None, ("one_ud",))]
    text = e.render()
    assert "wave 1: one_ud (" in text and "scale set web has 3 VMs in wave 1, cap max(1, floor(20% x 10)) = 2" in text
    assert "wave 3 is the earliest for web-3" in text


def test_same_reason_groups_into_a_range_and_phase_reason_names_the_pair(inputs: Inputs) -> None:
    e = explain_vm(*inputs, "db-0")
    assert [(r.first, r.last, r.phase, r.rules) for r in e.reasons] == [
        (0, 0, 0, ("phase", "canary")),
        (1, 8, 1, ("phase", "geo_pairs")),
    ]
    assert "waves 1-8: phase 1 — region westus is in phase 2" in e.render()
    assert "geo-paired regions eastus and westus are both in phase 1" in e.render()


def test_not_tight_when_an_earlier_wave_is_free(inputs: Inputs) -> None:
    policy, fleet, schedule = inputs
    # move web-4 (zone 1, ud 1) from wave 3 to the end of phase 1: waves 3.. are then free for it
    data = schedule.model_dump(mode="json")
    data["waves"][3]["tasks"] = [t for t in data["waves"][3]["tasks"] if t["vm"] != "web-4"]
    data["waves"][8]["tasks"].append({"vm": "web-4", "extension": "mon", "from_version": "1.20", "to_version": "1.22"})
    e = explain_vm(policy, fleet, parse_schedule(data), "web-4")
    assert e.wave == 8 and not e.tight and e.could_move_to == 3
    assert "Not tight: web-4 could move to wave 3" in e.render()


def test_first_wave_has_nothing_earlier(inputs: Inputs) -> None:
    e = explain_vm(*inputs, "can-0")
    assert e.reasons == () and "first wave" in e.render()


def test_vm_without_tasks_lists_its_skipped_extensions() -> None:
    fleet = load_fleet(FIX / "versions.json")
    schedule = parse_schedule({"phases": [{"index": 0, "regions": ["eastus"]}], "waves": [{"index": 0, "phase": 0, "tasks": [
        {"vm": "due", "extension": "mon", "from_version": "1.20", "to_version": "1.22"}]}],
        "skipped": [{"vm": "disabled", "extension": "mon", "reason": "automatic upgrade not enabled"}],
        "lower_bound": 1, "optimal": True})
    e = explain_vm(load_policy(SPEC), fleet, schedule, "disabled")
    assert e.wave is None and e.skipped == (("mon", "automatic upgrade not enabled"),)
    assert "VM disabled has no tasks" in e.render()


def test_unknown_vm_did_you_mean(inputs: Inputs) -> None:
    with pytest.raises(InputError) as e:
        explain_vm(*inputs, "web-33")
    assert e.value.diagnostics[0].hint == "did you mean 'web-3'?"


def test_cli_text_json_and_unknown_vm() -> None:
    runner = CliRunner()
    base = ["explain", "--spec", SPEC, "--fleet", str(FIX / "rules.json"), "--schedule",
            str(FIX / "schedules" / "rules-valid.json")]
    r = runner.invoke(app, [*base, "--vm", "ne-0"])
    assert r.exit_code == 0 and "waves 1-7: apart" in r.stdout
    r = runner.invoke(app, [*base, "--vm", "ne-0", "--format", "json"])
    doc = json.loads(r.stdout)
    assert doc["tight"] is True and doc["reasons"][1]["rules"] == ["apart"]
    r = runner.invoke(app, [*base, "--vm", "nope"])
    assert r.exit_code == 2 and "unknown VM 'nope'" in r.stderr


def test_schedule_naming_an_unknown_vm_still_explains(inputs: Inputs) -> None:
    policy, fleet, schedule = inputs
    data = schedule.model_dump(mode="json")
    data["waves"][9]["tasks"].append({"vm": "ghost", "extension": "mon", "from_version": "1.20", "to_version": "1.22"})
    e = explain_vm(policy, fleet, parse_schedule(data), "db-1")
    assert e.tight and [r.rules for r in e.reasons][:2] == [("phase", "canary"), ("phase", "geo_pairs")]


def test_misnumbered_waves_are_refused(inputs: Inputs) -> None:
    policy, fleet, schedule = inputs
    data = schedule.model_dump(mode="json")
    data["waves"][2]["index"] = 9
    with pytest.raises(InputError) as e:
        explain_vm(policy, fleet, parse_schedule(data), "db-1")
    assert "not numbered 0..n-1" in e.value.diagnostics[0].message

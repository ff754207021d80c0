"""Issue 11, item 2: bounded, strictly typed inputs.  Every case is a clean refusal (file + JSON path or line:col,
exit 2, never an internal error) or a correct run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hostile_support import FLEET, SPEC, fleet_data, mutated, run

from dsl.limits import DIAGNOSTICS, JSON_DEPTH, JSON_INT_DIGITS
from engine.model.errors import InputError
from engine.model.fleet import parse_fleet
from engine.model.schedule import Schedule


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(d: Any) -> None:
        for p in path[:-1]:
            d = d[p]
        d[path[-1]] = value
    return change


@pytest.mark.parametrize(("path", "value", "where", "kind"), [
    (("vms", 0, "healthy"), "no", "$.vms[0].healthy", 'the string "no"'),
    (("regions", 1, "zones"), True, "$.regions[1].zones", "true"),
    (("vms", 3, "update_domain"), "2", "$.vms[3].update_domain", 'the string "2"'),
    (("vms", 0, "extensions", 0, "enable_automatic_upgrade"), "on",
     "$.vms[0].extensions[0].enable_automatic_upgrade", 'the string "on"'),
    (("vms", 0, "tags"), {"env": 1}, "$.vms[0].tags.env", "the number 1"),
])
def test_fleet_types_are_strict(tmp_path: Path, path: tuple[Any, ...], value: Any, where: str, kind: str) -> None:
    f = mutated(tmp_path, "f.json", fleet_data(), _set(path, value))
    code, _, err = run("plan", "--spec", SPEC, "--fleet", f)
    assert code == 2
    assert f"{f}: {where}: error[E-FLEET]" in err and kind in err


def test_a_type_error_does_not_hide_the_other_problems(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["vms"][0]["healthy"] = "no"
        d["vms"][1]["region"] = "eastuss"
        d["vms"][2]["zone"] = "9"
    f = mutated(tmp_path, "f.json", fleet_data(), change)
    code, _, err = run("verify", "--spec", SPEC, "--fleet", f, f)
    assert code == 2
    assert "$.vms[0].healthy" in err and "$.vms[1].region" in err and "$.vms[2].zone" in err
    assert "did you mean 'eastus'?" in err


def test_a_bad_set_field_does_not_hide_the_vm_problems(tmp_path: Path) -> None:
    def change(d: dict[str, Any]) -> None:
        d["scale_sets"][0]["upgrade_mode"] = 7
        d["vms"][1]["region"] = "eastuss"
    f = mutated(tmp_path, "f.json", fleet_data(), change)
    code, _, err = run("plan", "--spec", SPEC, "--fleet", f)
    assert code == 2 and "$.scale_sets[0].upgrade_mode" in err and "$.vms[1].region" in err


def test_a_bad_region_field_stops_the_checks_that_read_it(tmp_path: Path) -> None:
    f = mutated(tmp_path, "f.json", fleet_data(), _set(("regions", 1, "zones"), "2"))
    code, _, err = run("plan", "--spec", SPEC, "--fleet", f)
    assert code == 2 and "$.regions[1].zones" in err and "has no zones" not in err


@pytest.mark.parametrize("digits", [JSON_INT_DIGITS + 1, 4301, 5000])
def test_huge_integers_anywhere_are_refused_with_their_path(tmp_path: Path, digits: int) -> None:
    text = FLEET.read_text().replace('"zones": 2', '"zones": ' + "9" * digits, 1)
    f = tmp_path / "f.json"
    f.write_text(text)
    code, _, err = run("plan", "--spec", SPEC, "--fleet", f)
    assert code == 2
    assert f"$.regions[1].zones: error[E-JSON]: integer of {digits:,} digits; the limit is {JSON_INT_DIGITS}" in err


def test_deep_nesting_in_an_unknown_field_is_refused(tmp_path: Path) -> None:
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(900):
        cur["x"] = {}
        cur = cur["x"]
    f = mutated(tmp_path, "f.json", fleet_data(), _set(("vms", 0, "note"), deep))
    code, _, err = run("simulate", "--spec", SPEC, "--fleet", f)
    assert code == 2
    assert f"error[E-JSON]: objects and arrays nest deeper than {JSON_DEPTH}" in err
    assert "$.vms[0].note.x.x" in err


def test_nesting_past_the_parser_recursion_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "f.json"
    f.write_text('{"regions": [], "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, _, err = run("plan", "--spec", SPEC, "--fleet", f)
    assert code == 2 and "nested too deeply" in err


def _faults(tmp: Path, text: str) -> Path:
    f = tmp / "faults.json"
    f.write_text(text)
    return f


@pytest.mark.parametrize(("text", "where", "what"), [
    ('{"maintenance": [{"at_minutes": 1e308, "vms": ["can-0"], "minutes": 5}]}', "$.maintenance[0].at_minutes",
     "less than or equal to 52560000"),
    ('{"slow_installs": [{"vm": "can-0", "minutes": Infinity}]}', "$.slow_installs[0].minutes",
     "Infinity is not a number JSON allows"),
    ('{"slow_installs": [{"vm": "can-0", "minutes": NaN}]}', "$.slow_installs[0].minutes", "NaN is not a number"),
    ('{"slow_installs": [{"vm": "can-0", "minutes": 1e999}]}', "$.slow_installs[0].minutes", "too large for a float"),
    ('{"slow_installs": [{"vm": "can-0", "minutes": "4"}]}', "$.slow_installs[0].minutes", 'the string "4"'),
    ('{"vm_failures": [{"vm": "can-0", "extension": "mon", "attempts": 1.5}]}', "$.vm_failures[0].attempts",
     "integer"),
])
def test_fault_script_numbers_are_bounded(tmp_path: Path, text: str, where: str, what: str) -> None:
    code, _, err = run("simulate", "--spec", SPEC, "--fleet", FLEET, "--faults", _faults(tmp_path, text))
    assert code == 2
    assert f"{where}: error[" in err and what in err


def test_fault_model_types_are_strict(tmp_path: Path) -> None:
    m = tmp_path / "m.json"
    m.write_text('{"install_failures": {"rate": "0.5"}, "slow_installs": {"rate": 0.1, "minutes": 1e300}}')
    code, _, err = run("simulate", "--spec", SPEC, "--fleet", FLEET, "--model", m)
    assert code == 2
    assert "$.install_failures.rate: error[E-MODEL]" in err and "$.slow_installs.minutes: error[E-MODEL]" in err


@pytest.mark.parametrize("version", ["1.22\n", "１.２", "1.22 ", "+1.22", "9999999999.1", "1.2.3.4.5"])
def test_versions_are_ascii_and_bounded(tmp_path: Path, version: str) -> None:
    f = mutated(tmp_path, "f.json", fleet_data(), _set(("vms", 0, "extensions", 0, "version"), version))
    code, _, err = run("plan", "--spec", SPEC, "--fleet", f)
    assert code == 2 and "$.vms[0].extensions[0].version: error[E-FLEET]: bad version string" in err


def _policy(tmp: Path, body: str) -> Path:
    p = tmp / "t.wg"
    p.write_text(f"policy t\n{body}\n")
    return p


@pytest.mark.parametrize(("body", "message"), [
    ("rule x: at most ５ VMs per wave", "error[E108]: unexpected character '５' (a digit other than 0-9)"),
    ("gate retry: retry failed after 3d, at most 1000000000 times",
     "error[E209]: retries must be at most 1,000, not 1,000,000,000"),
    ("gate health: after a batch wait up to 99999999999999999999999999999999d for health, else roll back",
     "error[E209]: health wait must be at most 36500d"),
    ("param w = 99999999999999999999999999999999999999999999d\ngate pause: pause w between batches of a scale_set",
     "error[E209]: pause must be at most 36500d"),
    ("rule x: at most 99999999999 VMs per wave", "error[E209]: a count of VMs must be at most 1,000,000,000"),
    ('versions {\n  pin type "AzureMonitorLinuxAgent" to "1.22\\n"\n}', "error[E220]"),
    ('versions {\n  pin type "AzureMonitorLinuxAgent" to "１.２"\n}', "error[E220]"),
])
def test_policy_numbers_are_ascii_and_bounded(tmp_path: Path, body: str, message: str) -> None:
    code, out, err = run("check", _policy(tmp_path, body))
    assert code == 1
    assert message in out + err


def test_max_retries_is_bounded_before_planning(tmp_path: Path) -> None:
    code, _, err = run("simulate", "--spec", SPEC, "--fleet", FLEET, "--max-retries", "1000000000")
    assert code == 2 and "--max-retries must be between 0 and 1,000, not 1,000,000,000" in err
    out = tmp_path / "s.json"
    assert run("plan", "--spec", SPEC, "--fleet", FLEET, "-o", out, "-q")[0] == 0
    model = tmp_path / "m.json"
    model.write_text('{"install_failures": {"rate": 0.5, "attempts": null}}')
    code, _, err = run("risk", "--spec", SPEC, "--fleet", FLEET, "--schedule", out, "--model", model,
                       "--scenarios", "2", "--max-retries", "1000000000")
    assert code == 2 and "--max-retries must be between 0 and 1,000" in err


def test_lower_bound_beyond_the_wave_count_is_refused_by_verify(tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    assert run("plan", "--spec", SPEC, "--fleet", FLEET, "-o", out)[0] == 0
    s = json.loads(out.read_text())
    s["lower_bound"], s["optimal"] = 10**9, True
    out.write_text(json.dumps(s))
    code, text, _ = run("verify", "--spec", SPEC, "--fleet", FLEET, out)
    assert code == 1 and "lower_bound 1,000,000,000 exceeds the schedule's own" in text
    s["lower_bound"] = 0
    out.write_text(json.dumps(s))
    code, text, _ = run("verify", "--spec", SPEC, "--fleet", FLEET, out)
    assert code == 1 and "optimal is true but lower_bound 0 is below" in text


def test_diagnostics_are_capped_with_a_count_of_the_rest() -> None:
    data = fleet_data()
    data["vms"] = [{**data["vms"][0], "name": f"v{i}", "healthy": "no"} for i in range(DIAGNOSTICS + 30)]
    with pytest.raises(InputError) as e:
        parse_fleet(data, "f.json")
    diags = e.value.diagnostics
    assert len(diags) == DIAGNOSTICS + 1
    assert diags[-1].severity == "note" and "and 30 more problems" in diags[-1].message


def test_schedule_types_are_strict() -> None:
    with pytest.raises(Exception) as e:
        Schedule.model_validate({"phases": [], "waves": [], "lower_bound": "0", "optimal": "yes"}, strict=True)
    assert "lower_bound" in str(e.value)

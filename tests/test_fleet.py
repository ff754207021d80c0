"""Fleet format v1: every refusal names its JSON path (or file:line:col), exits 2 without a traceback, writes nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dsl.diagnostics import JsonLocation, Span
from engine.cli import app
from engine.model.errors import InputError
from engine.model.fleet import load_fleet, parse_fleet

FIX = Path(__file__).parent / "fixtures" / "fleets"


def base() -> dict[str, Any]:
    ext = {"name": "mon", "publisher": "P", "type": "T", "version": "1.0", "enable_automatic_upgrade": True,
           "auto_upgrade_minor_version": True}
    return {
        "regions": [{"name": "eastus", "pair": "westus", "zones": 3}, {"name": "westus", "pair": "eastus", "zones": 0}],
        "catalog": [{"publisher": "P", "type": "T", "versions": ["1.0", "1.1"]}],
        "scale_sets": [{"name": "web", "region": "eastus", "upgrade_mode": "rolling"}],
        "availability_sets": [{"name": "db", "region": "westus"}],
        "vms": [
            {"name": "web-0", "region": "eastus", "zone": "1", "scale_set": "web", "availability_set": None,
             "update_domain": 0, "fault_domain": 0, "subscription": "s1", "healthy": True, "extensions": [ext]},
            {"name": "db-0", "region": "westus", "zone": None, "scale_set": None, "availability_set": "db",
             "update_domain": 0, "fault_domain": 0, "subscription": "s1", "healthy": True,
             "extensions": [copy.deepcopy(ext)]},
        ],
    }


def refusals(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(InputError) as e:
        parse_fleet(data, "f.json")
    out = []
    for d in e.value.diagnostics:
        assert isinstance(d.location, JsonLocation) and d.location.file == "f.json"
        out.append((d.location.path, d.message))
    return out


def test_base_fleet_is_valid() -> None:
    fleet = parse_fleet(base(), "f.json")
    assert fleet.set_sizes == {"web": 1, "db": 1} and fleet.paired("westus", "eastus")


CASES: list[tuple[str, Any, str, str]] = [
    ("duplicate VM", lambda d: d["vms"].append(copy.deepcopy(d["vms"][0])), "$.vms[2].name",
     "duplicate VM name 'web-0' (first at $.vms[0])"),
    ("duplicate region", lambda d: d["regions"].append({"name": "eastus", "zones": 0}), "$.regions[2].name",
     "duplicate region name 'eastus' (first at $.regions[0])"),
    ("unknown region", lambda d: d["vms"][1].update(region="westus9"), "$.vms[1].region",
     "VM 'db-0' is in unknown region 'westus9'"),
    ("unknown scale set", lambda d: d["vms"][0].update(scale_set="webb"), "$.vms[0].scale_set",
     "VM 'web-0' references unknown scale set 'webb'"),
    ("unknown availability set", lambda d: d["vms"][1].update(availability_set="dbx"), "$.vms[1].availability_set",
     "VM 'db-0' references unknown availability set 'dbx'"),
    ("set in unknown region", lambda d: d["scale_sets"][0].update(region="mars"), "$.scale_sets[0].region",
     "set 'web' is in unknown region 'mars'"),
    ("VM outside its set's region", lambda d: d["vms"][1].update(availability_set=None, scale_set="web"),
     "$.vms[1].region", "VM 'db-0' is in region 'westus' but its set 'web' is in 'eastus'"),
    ("both sets", lambda d: d["vms"][0].update(availability_set="db"), "$.vms[0]",
     "VM 'web-0' is in both scale set 'web' and availability set 'db'"),
    ("zone the region lacks", lambda d: d["vms"][0].update(zone="4"), "$.vms[0].zone",
     "VM 'web-0' is in zone '4' but region 'eastus' has zones 1, 2, 3"),
    ("zone in a region without zones", lambda d: d["vms"][1].update(zone="1"), "$.vms[1].zone",
     "VM 'db-0' is in zone '1' but region 'westus' has no zones"),
    ("bad installed version", lambda d: d["vms"][0]["extensions"][0].update(version="1.x"),
     "$.vms[0].extensions[0].version", "bad version string '1.x'"),
    ("bad catalog version", lambda d: d["catalog"][0]["versions"].append("v2"), "$.catalog[0].versions[2]",
     "bad version string 'v2'"),
    ("pair names unknown region", lambda d: d["regions"][1].update(pair="eastus9"), "$.regions[1].pair",
     "region 'westus' is paired with unknown region 'eastus9'"),
    ("pair with itself", lambda d: d["regions"][1].update(pair="westus"), "$.regions[1].pair",
     "region 'westus' is paired with itself"),
    ("missing VM field", lambda d: d["vms"][0].pop("subscription"), "$.vms[0].subscription",
     "missing field 'subscription'"),
    ("missing region name", lambda d: d["regions"][0].pop("name"), "$.regions[0].name", "missing field 'name'"),
    ("missing regions", lambda d: d.pop("regions"), "$.regions", "missing field 'regions'"),
    ("missing extension version", lambda d: d["vms"][0]["extensions"][0].pop("version"),
     "$.vms[0].extensions[0].version", "missing field 'version'"),
    ("bad upgrade mode", lambda d: d["scale_sets"][0].update(upgrade_mode="sometimes"),
     "$.scale_sets[0].upgrade_mode", "Input should be 'automatic', 'rolling' or 'manual'"),
    ("negative update domain", lambda d: d["vms"][0].update(update_domain=-1), "$.vms[0].update_domain",
     "Input should be greater than or equal to 0"),
    ("two extensions with one name", lambda d: d["vms"][0]["extensions"].append(d["vms"][0]["extensions"][0]),
     "$.vms[0].extensions[1].name", "VM 'web-0' has two extensions named 'mon'"),
    ("misspelt field", lambda d: d["vms"][0].update(scaleset="web"), "$.vms[0].scaleset", "unknown field 'scaleset'"),
    ("camelCase field", lambda d: d["vms"][0]["extensions"][0].update(enableAutomaticUpgrade=True),
     "$.vms[0].extensions[0].enableAutomaticUpgrade", "unknown field 'enableAutomaticUpgrade'"),
    ("duplicate catalog entry", lambda d: d["catalog"].append({"publisher": "P", "type": "T", "versions": []}),
     "$.catalog[1]", "duplicate catalog entry P/T (first at $.catalog[0])"),
]


@pytest.mark.parametrize(("what", "change", "path", "message"), CASES, ids=[c[0] for c in CASES])
def test_each_refusal_names_its_json_path(what: str, change: Any, path: str, message: str) -> None:
    data = base()
    change(data)
    assert (path, message) in refusals(data)


def test_every_problem_is_reported_not_just_the_first() -> None:
    data = base()
    data["vms"][0].update(zone="9")
    data["vms"][1].update(region="nowhere")
    data["regions"][0].update(pair="atlantis")
    assert [p for p, _ in refusals(data)] == ["$.regions[0].pair", "$.vms[0].zone", "$.vms[1].region"]


def test_unrelated_extra_fields_are_kept_and_written_back() -> None:
    data = base()
    data["vms"][0]["owner"] = "team-a"
    data["note"] = "exported 2024-05-01"
    fleet = parse_fleet(data, "f.json")
    again = json.loads(fleet.to_json())
    assert again["vms"][0]["owner"] == "team-a" and again["note"] == "exported 2024-05-01"


def test_misspelt_field_suggests_the_known_one() -> None:
    data = base()
    data["vms"][0]["availabilty_set"] = "db"
    with pytest.raises(InputError) as e:
        parse_fleet(data, "f.json")
    assert e.value.diagnostics[0].hint == "did you mean 'availability_set'?"


def test_did_you_mean_for_unknown_region() -> None:
    data = base()
    data["vms"][1].update(region="westu")
    with pytest.raises(InputError) as e:
        parse_fleet(data, "f.json")
    assert e.value.diagnostics[0].hint == "did you mean 'westus'?"


def test_non_object_top_level() -> None:
    assert refusals([base()]) == [("$", "a fleet must be a JSON object")]


# ---------------------------------------------------------------------------------------------------------------
# files: malformed JSON, empty, not UTF-8, duplicate keys


def load_refusal(tmp_path: Path, raw: bytes) -> InputError:
    p = tmp_path / "fleet.json"
    p.write_bytes(raw)
    with pytest.raises(InputError) as e:
        load_fleet(p)
    return e.value


def test_malformed_json_names_file_line_col(tmp_path: Path) -> None:
    err = load_refusal(tmp_path, b'{"regions": [\n  {"name": "a",, }]}')
    [d] = err.diagnostics
    assert isinstance(d.location, Span) and (d.location.line, d.location.column) == (2, 16)
    rendered = str(err)
    assert rendered.startswith(f"{tmp_path / 'fleet.json'}:2:16: error[E-JSON]: malformed JSON")
    assert '{"name": "a",, }]}' in rendered  # the offending line is shown under the message


def test_empty_file(tmp_path: Path) -> None:
    assert "fleet file is empty" in str(load_refusal(tmp_path, b"  \n"))


def test_not_utf8(tmp_path: Path) -> None:
    assert "fleet file is not UTF-8 (byte 14)" in str(load_refusal(tmp_path, b'{"regions": ["\xff\xfe"]}'))


def test_duplicate_keys_are_refused(tmp_path: Path) -> None:
    raw = json.dumps(base()).replace('"zones": 3', '"zones": 3, "zones": 2').encode()
    assert "duplicate key 'zones'" in str(load_refusal(tmp_path, raw))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        load_fleet(tmp_path / "none.json")
    assert "fleet file not found" in str(e.value)


# ---------------------------------------------------------------------------------------------------------------
# the CLI: exit 2, no traceback, nothing written


BAD_FILES: list[tuple[str, bytes, str]] = [
    ("bad-ref", json.dumps({**base(), "vms": [{**base()["vms"][0], "scale_set": "nope"}]}).encode(), "$.vms[0].scale_set"),
    ("malformed", b'{"regions": [}', ":1:14: error[E-JSON]"),
    ("empty", b"", "fleet file is empty"),
    ("not-utf8", b"\xff", "not UTF-8"),
    ("array", b"[]", "a fleet must be a JSON object"),
]


@pytest.mark.parametrize(("name", "raw", "expect"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_cli_refuses_bad_fleet_without_traceback_and_writes_nothing(tmp_path: Path, name: str, raw: bytes,
                                                                     expect: str) -> None:
    fleet = tmp_path / f"{name}.json"
    fleet.write_bytes(raw)
    before = sorted(p.name for p in tmp_path.iterdir())
    runner = CliRunner()
    r = runner.invoke(app, ["verify", "--spec", str(FIX / "rules.wg"), "--fleet", str(fleet),
                            str(FIX / "schedules" / "rules-valid.json")])
    assert r.exit_code == 2
    assert expect in r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert r.exception is None or isinstance(r.exception, SystemExit)
    out = tmp_path / "out.json"
    r = runner.invoke(app, ["plan", "--spec", str(FIX / "rules.wg"), "--fleet", str(fleet), "-o", str(out)])
    assert r.exit_code == 2 and expect in r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no output, no temporary file left behind


def test_fixture_fleets_load() -> None:
    for path in sorted(FIX.glob("*.json")):
        load_fleet(path)

"""Versions and numbers are ASCII only and matched in full (issue 11): in dsl/versions.py, which the policy
language and the fleet format share, and in the policy language's numbers, percentages and durations."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dsl.loader import check_source
from dsl.parser import parse_duration
from dsl.versions import compare, is_version, parse_version
from engine.model.errors import InputError
from engine.model.fleet import parse_fleet

GOOD = ["1", "9.5", "9.10.2", "1.0.0.3", "0.0", "123456789.1"]
BAD = ["", "1.", ".1", "1..2", "1.2.3.4.5", "v2", "1.2 ", " 1.2", "1.2\n", "1.2\r\n", "\n1.2", "-1.2", "+1",
       "１.２", "1.２", "١.٢", "1²", "1234567890.1", "1_0", "1.2a"]


@pytest.mark.parametrize("text", GOOD)
def test_versions_accepted(text: str) -> None:
    assert is_version(text)
    assert len(parse_version(text)) == 4


@pytest.mark.parametrize("text", BAD, ids=repr)
def test_versions_refused(text: str) -> None:
    assert not is_version(text)
    with pytest.raises(ValueError):
        parse_version(text)


def test_versions_compare_part_by_part() -> None:
    assert compare("9.5", "9.5.0") == 0
    assert compare("9.10.2", "9.5") == 1
    assert compare("10.0", "9.10.2") == 1


def _fleet(version: str) -> dict[str, Any]:
    ext = {"name": "mon", "publisher": "P", "type": "T", "version": version, "enable_automatic_upgrade": True,
           "auto_upgrade_minor_version": True}
    return {
        "regions": [{"name": "eastus", "pair": "westus", "zones": 3}, {"name": "westus", "pair": "eastus", "zones": 0}],
        "catalog": [{"publisher": "P", "type": "T", "versions": ["1.0", "1.1"]}],
        "vms": [{"name": "a", "region": "eastus", "zone": "1", "subscription": "s", "extensions": [copy.deepcopy(ext)]}],
    }


@pytest.mark.parametrize("version", ["1.2\n", "１.２", "1.2 "], ids=repr)
def test_the_fleet_format_refuses_the_same_versions(version: str) -> None:
    parse_fleet(_fleet("1.0"), "f.json")
    with pytest.raises(InputError) as e:
        parse_fleet(_fleet(version), "f.json")
    assert any(d.code == "E-FLEET" and "version" in d.message for d in e.value.diagnostics)


@pytest.mark.parametrize(
    "body",
    ["at most ５ VMs per wave", "at most ２0% of a scale_set per wave", "at most 1٣ waves",
     "never whole in a wave: an availability_set with at least ２ VMs"],
)
def test_policy_numbers_are_ascii_only(body: str) -> None:
    res = check_source(f"policy p\nrule a: {body}\n", "p.wg", "/nonexistent-root")
    assert not res.ok
    assert [d.code for d in res.diagnostics] == ["E108"]
    assert "0-9" in (res.diagnostics[0].hint or "")


@pytest.mark.parametrize("wait", ["５m", "PT５M", "5m５"])
def test_policy_durations_are_ascii_only(wait: str) -> None:
    res = check_source(f"policy p\ngate h: after a batch wait up to {wait} for health\n", "p.wg", "/nonexistent-root")
    assert [d.code for d in res.diagnostics] == ["E108"]


def test_ascii_numbers_still_read() -> None:
    res = check_source("policy p\nrule a: at most 12.5% (ceil, at least 2) of a scale_set per wave\n"
                       "gate h: after a batch wait up to PT1H30M for health\n", "p.wg", "/nonexistent-root")
    assert res.ok, res.diagnostics
    assert parse_duration("1h30m") == parse_duration("PT1H30M") == 5400
    assert parse_duration("５m") is None

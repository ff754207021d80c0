"""Issue 11, item 5: regions default from the bundled Azure table; a fleet lists only the regions it has VMs in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hostile_support import run

from dsl.azure import azure_regions
from engine.importers.arm import ArmOptions, import_arm
from engine.model.errors import InputError
from engine.model.fleet import parse_fleet

AMA = {"publisher": "Microsoft.Azure.Monitor", "type": "AzureMonitorLinuxAgent"}


def _fleet(regions: list[dict[str, object]], vms: list[dict[str, object]]) -> dict[str, object]:
    return {"regions": regions, "catalog": [{**AMA, "versions": ["1.20", "1.22"]}], "vms": vms}


def _vm(name: str, region: str, zone: str | None = None) -> dict[str, object]:
    return {"name": name, "region": region, "zone": zone, "subscription": "s",
            "extensions": [{"name": "mon", **AMA, "version": "1.20", "enable_automatic_upgrade": True}]}


def test_pair_and_zones_default_from_the_azure_table() -> None:
    fleet = parse_fleet(_fleet([{"name": "eastus"}], [_vm("a", "eastus", "3")]))
    r = fleet.region_by_name["eastus"]
    assert (r.pair, r.zones) == (azure_regions()["eastus"].pair, azure_regions()["eastus"].zones) == ("westus", 3)


def test_given_values_override_the_table() -> None:
    fleet = parse_fleet(_fleet([{"name": "eastus", "pair": None, "zones": 1}], [_vm("a", "eastus", "1")]))
    assert (fleet.region_by_name["eastus"].pair, fleet.region_by_name["eastus"].zones) == (None, 1)
    with pytest.raises(InputError, match="has zones 1"):
        parse_fleet(_fleet([{"name": "eastus", "zones": 1}], [_vm("a", "eastus", "3")]))


def test_a_region_outside_the_table_has_no_pair_and_no_zones() -> None:
    r = parse_fleet(_fleet([{"name": "onprem-1"}], [_vm("a", "onprem-1")])).region_by_name["onprem-1"]
    assert (r.pair, r.zones) == (None, 0)


def test_a_one_region_fleet_naming_its_real_pair_plans(tmp_path: Path) -> None:
    f = tmp_path / "one.json"
    f.write_text(json.dumps(_fleet([{"name": "eastus", "pair": "westus"}], [_vm("a", "eastus"), _vm("b", "eastus")])))
    code, _, err = run("plan", "--fleet", f, "-q")
    assert code == 0, err
    # The table's pair outside the table itself is real too (swedencentral's pair is swedensouth).
    assert azure_regions()["swedencentral"].pair == "swedensouth"
    parse_fleet(_fleet([{"name": "swedencentral", "pair": "swedensouth"}], [_vm("a", "swedencentral")]))


def test_an_unknown_pair_is_refused_with_did_you_mean(tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text(json.dumps(_fleet([{"name": "eastus", "pair": "westuss"}], [_vm("a", "eastus")])))
    code, _, err = run("plan", "--fleet", f, "-q")
    assert code == 2
    assert f"{f}: $.regions[0].pair: error[E-FLEET]: region 'eastus' is paired with unknown region 'westuss'" in err
    assert "did you mean 'westus'?" in err


def test_an_unlisted_pair_still_separates_listed_regions() -> None:
    # Both regions listed without pairs: the table pairs them, so the pair rule binds between them.
    fleet = parse_fleet(_fleet([{"name": "eastus"}, {"name": "westus"}], [_vm("a", "eastus"), _vm("b", "westus")]))
    assert fleet.paired("eastus", "westus")


def test_the_arm_importer_keeps_the_real_pair() -> None:
    arm = Path(__file__).parent / "fixtures" / "import" / "arm"
    result = import_arm([arm / "vmss-automatic-repairs-slb-health-probe.json"],
                        ArmOptions(location="centralus", params={"vmssName": "rep"}))
    assert [(r.name, r.pair) for r in result.fleet.regions] == [("centralus", "eastus2")]

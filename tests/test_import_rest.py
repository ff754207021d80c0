"""REST / az CLI import: Microsoft's REST examples and az-shaped listings become valid fleets, or refusals with paths."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dsl.diagnostics import JsonLocation
from engine.importers.common import ImportResult
from engine.importers.rest import RestOptions, import_rest
from engine.model.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "import"
REST = FIX / "rest"
VM_VIEW = "VirtualMachine_Get_InstanceView.2025-04-01.json"
VMSS_VIEW = "VirtualMachineScaleSetVM_Get_InstanceViewAutoPlacedOnDedicatedHostGroup.2025-04-01.json"
VMSS_VM = "VirtualMachineScaleSetVM_Get_WithUserData.2025-04-01.json"


def run(*names: str, **kw: Any) -> ImportResult:
    return import_rest([REST / n for n in names], RestOptions(**kw))


def by_name(r: ImportResult) -> dict[str, Any]:
    return {v.name: v for v in r.fleet.vms}


def test_microsoft_examples() -> None:
    r = run(VM_VIEW, VMSS_VIEW, VMSS_VM, location="westus")
    got = by_name(r)
    assert sorted(got) == ["myVM", "myVirtualMachineScaleSet_0", "{vmss-vm-name}"]
    vm = got["myVM"]  # bare instance view: name from the request parameters
    assert (vm.update_domain, vm.fault_domain, vm.single, vm.region) == (1, 1, True, "westus")
    (ext,) = vm.extensions  # publisher and type split from the instance view's full type
    assert (ext.name, ext.publisher, ext.type, ext.version) == (
        "IaaSAntiMalware-ext0", "Microsoft.Azure.Security", "IaaSAntimalware", "1.5.5.9")
    inst = got["myVirtualMachineScaleSet_0"]
    assert (inst.scale_set, inst.update_domain, inst.fault_domain, inst.extensions) == (
        "myVirtualMachineScaleSet", 0, 0, [])
    model = got["{vmss-vm-name}"]  # location and tags from the object, extension from its resources
    assert model.scale_set == "{vmss-vm-name}".replace("vm-name", "name") and model.tags == {"myTag1": "tagValue1"}
    assert [(e.publisher, e.type, e.version, e.auto_upgrade_minor_version) for e in model.extensions] == [
        ("Microsoft.Compute", "CustomScriptExtension", "1.9", True)]
    assert model.update_domain is None
    assert {v.subscription for v in r.fleet.vms} == {"{subscription-id}"}
    assert any("placeholder" in n for n in r.notes)
    assert any("vmHealth" in n for n in r.notes) and any("assumed automatic" in n for n in r.notes)


def test_bare_instance_views_without_location_are_all_reported() -> None:
    with pytest.raises(InputError) as e:
        run(VM_VIEW, VMSS_VIEW)
    where = [(Path(d.location.file).name, d.location.path) for d in e.value.diagnostics
             if isinstance(d.location, JsonLocation)]
    assert where == [(VM_VIEW, "$.responses.200.body"), (VMSS_VIEW, "$.responses.200.body")]
    assert all("has no location" in d.message for d in e.value.diagnostics)


def test_az_list_instances_with_health_and_installed_versions() -> None:
    r = run("az-vmss-list-instances.json", "az-vmss-show.json", catalog=FIX / "catalog.json")
    got = by_name(r)
    assert got["web_0"].healthy and not got["web_1"].healthy
    assert [e.version for e in got["web_0"].extensions] == ["9.10.2"]  # instance view beats the model's 9.10
    assert got["web_1"].extensions[0].enable_automatic_upgrade
    assert [(z.zone, z.update_domain) for z in (got["web_0"], got["web_1"])] == [("1", 0), ("2", 1)]
    assert {v.subscription for v in r.fleet.vms} == {"11111111-2222-3333-4444-555555555555"}
    assert [(s.name, s.upgrade_mode) for s in r.fleet.scale_sets] == [("web", "rolling")]
    assert got["web_0"].tags == {"env": "prod"}


def test_value_page_availability_set_and_pairs() -> None:
    r = run("rest-vms-page.json", "az-vmss-list-instances.json", subscription="ops")
    got = by_name(r)
    db = got["db1"]
    assert (db.availability_set, db.update_domain, db.fault_domain, db.region) == ("DB-AVSET", 3, 1, "northeurope")
    assert {v.subscription for v in r.fleet.vms} == {"ops"}
    assert [(x.name, x.pair) for x in r.fleet.regions] == [("northeurope", "westeurope"), ("westeurope", "northeurope")]


def test_region_pair_outside_the_fleet_is_kept() -> None:
    # The real pair, though westeurope has no VMs here (issue 11: the importer kept no pair before).
    r = run("rest-vms-page.json")
    assert [(x.name, x.pair) for x in r.fleet.regions] == [("northeurope", "westeurope")]


def write(tmp_path: Path, data: Any, name: str = "in.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return p


def listing() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((REST / "az-vmss-list-instances.json").read_text())
    return data


REFUSALS: list[tuple[str, Any, str, str]] = [
    ("zone outside region", lambda d: d[0].update(location="westus"), "$[0].zones[0]", "has no availability zones"),
    ("unknown region", lambda d: d[1].update(location="mars"), "$[1].location", "unknown Azure region 'mars'"),
    ("bad installed version", lambda d: d[0]["instanceView"]["extensions"][0].update(typeHandlerVersion="latest"),
     "$[0].instanceView.extensions[0].typeHandlerVersion", 'bad version "latest"'),
    ("bad flag", lambda d: d[1]["resources"][0].update(enableAutomaticUpgrade="yes"),
     "$[1].resources[0].enableAutomaticUpgrade", "must be a bool"),
    ("negative domain", lambda d: d[1]["instanceView"].update(platformUpdateDomain=-1),
     "$[1].instanceView.platformUpdateDomain", "non-negative int"),
    ("no publisher", lambda d: d[0]["resources"][0].pop("publisher"), "$[0].resources[0].publisher",
     "has no publisher"),
    ("not an object", lambda d: d.append(3), "$[2]", "expected a VM object"),
    ("two zones", lambda d: d[0].update(zones=["1", "2"]), "$[0].zones", "at most one zone"),
]


@pytest.mark.parametrize("label,edit,path,message", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refusals_name_the_input_path(tmp_path: Path, label: str, edit: Any, path: str, message: str) -> None:
    data = listing()
    edit(data)
    p = write(tmp_path, data)
    with pytest.raises(InputError) as e:
        import_rest([p], RestOptions())
    (d,) = e.value.diagnostics
    assert isinstance(d.location, JsonLocation) and d.location.file == str(p)
    assert d.location.path == path and message in d.message, (d.location.path, d.message)


def test_every_bad_object_of_a_listing_is_reported(tmp_path: Path) -> None:
    data = listing()
    data[0]["location"] = "nowhere"
    data[1]["zones"] = ["7"]
    with pytest.raises(InputError) as e:
        import_rest([write(tmp_path, data)], RestOptions())
    paths = [d.location.path for d in e.value.diagnostics if isinstance(d.location, JsonLocation)]
    assert paths == ["$[0].location", "$[1].zones[0]"]


def test_vm_listed_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError) as e:
        run("az-vmss-list-instances.json", "az-vmss-list-instances.json")
    assert "listed twice" in str(e.value)


def test_fleet_level_refusal_maps_back_to_the_listing(tmp_path: Path) -> None:
    data = listing()
    data[1]["location"] = "northeurope"  # the scale set was first seen in westeurope
    data[1]["zones"] = ["1"]
    p = write(tmp_path, data)
    with pytest.raises(InputError) as e:
        import_rest([p], RestOptions())
    d = e.value.diagnostics[0]
    assert isinstance(d.location, JsonLocation) and (d.location.file, d.location.path) == (str(p), "$[1]")
    assert "its set 'web' is in 'westeurope'" in d.message


def test_catalog_refusal_names_the_catalog_path(tmp_path: Path) -> None:
    cat = write(tmp_path, [{"publisher": "P", "type": "T", "versions": ["1.0", "one"]}, {"publisher": "P"}], "c.json")
    with pytest.raises(InputError) as e:
        run("rest-vms-page.json", catalog=cat)
    got = sorted((d.location.path, d.message) for d in e.value.diagnostics if isinstance(d.location, JsonLocation))
    assert got == [("$[1].type", "missing field 'type'"), ("$[1].versions", "missing field 'versions'")]
    cat.write_text(json.dumps([{"publisher": "P", "type": "T", "versions": ["1.0", "one"]}]))
    with pytest.raises(InputError) as e:
        run("rest-vms-page.json", catalog=cat)
    (d,) = e.value.diagnostics
    assert isinstance(d.location, JsonLocation) and d.location.path == "$[0].versions[1]"


def test_malformed_json_is_a_file_line_col_refusal(tmp_path: Path) -> None:
    p = tmp_path / "bad.json"
    p.write_text('[{"name": "x",}]')
    with pytest.raises(InputError) as e:
        import_rest([p], RestOptions())
    assert str(e.value).startswith(f"{p}:1:")


def test_listing_without_instance_view_gives_one_note(tmp_path: Path) -> None:
    data = listing()
    for vm in data:
        del vm["instanceView"]
    r = import_rest([write(tmp_path, data)], RestOptions())
    assert all(v.update_domain is None and v.healthy for v in r.fleet.vms)
    assert [v.extensions[0].version for v in r.fleet.vms] == ["9.10", "9.5"]  # the model's versions
    assert sum("platformUpdateDomain" in n for n in r.notes) == 1

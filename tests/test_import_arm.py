"""ARM import: real Microsoft templates become valid fleets, or are refused with the template's JSON path."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsl.diagnostics import JsonLocation
from engine.importers.arm import ArmError, ArmOptions, Context, import_arm, parse_expression, resolve
from engine.importers.common import ImportResult
from engine.model.errors import InputError
from engine.model.fleet import parse_fleet

FIX = Path(__file__).parent / "fixtures" / "import"
ARM = FIX / "arm"


def run(name: str | list[str], **kw: Any) -> ImportResult:
    names = [name] if isinstance(name, str) else name
    return import_arm([ARM / n for n in names], ArmOptions(**kw))


def refusal(name: str | list[str], **kw: Any) -> tuple[str, str, str]:
    """(file name, JSON path, message) of the single refusal."""
    with pytest.raises(InputError) as e:
        run(name, **kw)
    assert len(e.value.diagnostics) == 1, e.value.diagnostics
    d = e.value.diagnostics[0]
    assert isinstance(d.location, JsonLocation)
    return Path(d.location.file).name, d.location.path, d.message


def vms(result: ImportResult) -> dict[str, Any]:
    return {v.name: v for v in result.fleet.vms}


# ----------------------------------------------------------------------------------------------------------------
# The real samples


def test_availability_set_template_gives_domains_by_index() -> None:
    r = run("2-vms-loadbalancer-lbrules.json", location="East US")
    got = vms(r)
    assert sorted(got) == ["myVM0", "myVM1"]
    assert [(got[n].update_domain, got[n].fault_domain) for n in ("myVM0", "myVM1")] == [(0, 0), (1, 1)]
    assert {v.availability_set for v in got.values()} == {"myAvSet"}
    assert [a.name for a in r.fleet.availability_sets] == ["myAvSet"]
    assert [(x.name, x.zones) for x in r.fleet.regions] == [("eastus", 3)]
    assert all(v.extensions == [] and v.subscription == "default" for v in got.values())


def test_copy_loop_of_zonal_scale_sets() -> None:
    r = run("multi-vmss-linux-lb-zones.json", location="eastus")
    assert [(s.name, s.upgrade_mode) for s in r.fleet.scale_sets] == [
        ("myScaleset-zone1", "manual"), ("myScaleset-zone2", "manual")]
    got = vms(r)
    assert sorted(got) == ["myScaleset-zone1_0", "myScaleset-zone1_1", "myScaleset-zone2_0", "myScaleset-zone2_1"]
    assert got["myScaleset-zone2_1"].zone == "2" and got["myScaleset-zone1_1"].zone == "1"
    ext = got["myScaleset-zone1_0"].extensions[0]
    assert (ext.name, ext.publisher, ext.type, ext.version) == ("AppInstall", "Microsoft.Azure.Extensions",
                                                                "CustomScript", "2.0")
    assert ext.auto_upgrade_minor_version and not ext.enable_automatic_upgrade
    assert any("update domain = i mod 5" in n for n in r.notes)


def test_location_parameter_without_default_takes_param_over_location() -> None:
    r = run("multi-vmss-linux-lb-zones.json", location="eastus", params={"location": "westeurope"})
    assert {v.region for v in r.fleet.vms} == {"westeurope"}


def test_single_vm_with_conditional_child_extension() -> None:
    r = run("vm-simple-linux.json", location="westeurope")
    (vm,) = r.fleet.vms
    assert vm.name == "simpleLinuxVM" and vm.single and vm.update_domain is None
    assert [(e.name, e.publisher, e.type, e.version) for e in vm.extensions] == [
        ("GuestAttestation", "Microsoft.Azure.Security.LinuxAttestation", "GuestAttestation", "1.0")]
    # The extension's condition needs TrustedLaunch: with Standard security it is not deployed.
    (plain,) = run("vm-simple-linux.json", location="westeurope", params={"securityType": "Standard"}).fleet.vms
    assert plain.extensions == []


def test_deprecated_preview_templates_import_once_parameters_are_given() -> None:
    r = run("vmss-zones-rolling-upgrade-preview2017.json", location="eastus2",
            params={"vmssNamePrefix": "Web", "instanceCount": "7"})
    got = vms(r)
    assert [s.upgrade_mode for s in r.fleet.scale_sets] == ["rolling"]
    assert [got[f"Web_{i}"].zone for i in range(7)] == ["1", "2", "3", "1", "2", "3", "1"]
    assert [got[f"Web_{i}"].update_domain for i in range(7)] == [0, 1, 2, 3, 4, 0, 1]
    r2 = run("vmss-auto-os-upgrade-preview2018.json", location="eastus2",
             params={"vmssNamePrefix": "auto", "instanceCount": "3"})
    assert [s.upgrade_mode for s in r2.fleet.scale_sets] == ["automatic"]
    assert all(v.zone is None for v in r2.fleet.vms) and len(r2.fleet.vms) == 3


def test_preview_template_without_parameters_is_refused_at_the_declaration() -> None:
    # Every missing parameter in one run (issue 11: not one per run).
    with pytest.raises(InputError) as e:
        run("vmss-zones-rolling-upgrade-preview2017.json", location="eastus2")
    paths = [d.location.path for d in e.value.diagnostics if isinstance(d.location, JsonLocation)]
    assert paths == ["$.parameters.vmssNamePrefix", "$.parameters.instanceCount"]
    assert all("no defaultValue" in d.message for d in e.value.diagnostics)


def test_scale_set_with_tags_and_default_capacity() -> None:
    r = run("vmss-automatic-repairs-slb-health-probe.json", location="centralus", params={"vmssName": "rep"})
    assert sorted(vms(r)) == ["rep_0", "rep_1"]
    assert all(v.tags == {"vmsstag": "automaticrepairs"} for v in r.fleet.vms)


def test_rest_body_snippet_is_not_a_template() -> None:
    file, path, msg = refusal("aeu-doc-vmss-extension-snippet.json", location="eastus")
    assert (file, path) == ("aeu-doc-vmss-extension-snippet.json", "$") and "not an ARM template" in msg


def test_resource_group_location_needs_location_option() -> None:
    _, path, msg = refusal("2-vms-loadbalancer-lbrules.json")
    assert path == "$.parameters.location.defaultValue" and "resourceGroup().location" in msg


def test_zone_in_a_region_without_zones_is_refused_at_the_zone() -> None:
    _, path, msg = refusal("multi-vmss-linux-lb-zones.json", location="westus")
    assert path == "$.resources[4].zones[0]" and "has no availability zones" in msg


def test_unknown_location_suggests_a_region() -> None:
    with pytest.raises(InputError) as e:
        run("2-vms-loadbalancer-lbrules.json", location="eastus9")
    assert "unknown Azure region 'eastus9'" in str(e.value) and "did you mean" in str(e.value)


def test_unknown_parameter_is_refused_with_did_you_mean() -> None:
    with pytest.raises(InputError) as e:
        run("2-vms-loadbalancer-lbrules.json", location="eastus", params={"vmNamePrefx": "x"})
    assert "did you mean 'vmnameprefix'" in str(e.value)


# ----------------------------------------------------------------------------------------------------------------
# The hand-written template: every resource kind at once


def test_mixed_template() -> None:
    r = run("fleet-mixed.json", location="eastus2")
    got = vms(r)
    assert sorted(got, key=lambda n: (len(n), n))[:4] == ["db1", "db2", "db3", "jumpbox"]
    assert "skipped-by-condition" not in got
    assert [(got[f"db{i}"].update_domain, got[f"db{i}"].fault_domain) for i in (1, 2, 3)] == [(0, 0), (1, 1), (0, 2)]
    assert [e.name for e in got["db2"].extensions] == ["KeyVault"]
    assert got["jumpbox"].zone == "2" and [e.name for e in got["jumpbox"].extensions] == ["GuestConfig"]
    web = [v for v in r.fleet.vms if v.scale_set == "shop-web"]
    assert len(web) == 7 and Counter(v.zone for v in web) == {"1": 3, "2": 2, "3": 2}
    assert all([e.name for e in v.extensions] == ["DependencyAgent", "AppHealth"] for v in web)
    assert all(v.extensions[0].enable_automatic_upgrade for v in web)
    assert web[0].tags == {"env": "prod", "ring": "2"}
    assert [fleet_vm.name for fleet_vm in r.fleet.vms][-7:] == [f"shop-web_{i}" for i in range(7)]


def test_parameters_file_and_param_override() -> None:
    r = run("fleet-mixed.json", location="eastus2", parameters_file=ARM / "fleet-mixed.parameters.json",
            params={"enableAeu": "false"}, update_domains=2)
    web = [v for v in r.fleet.vms if v.scale_set == "cart-web"]
    assert len(web) == 4 and [v.update_domain for v in web] == [0, 1, 0, 1]
    assert not any(v.extensions[0].enable_automatic_upgrade for v in web)
    assert [a.name for a in r.fleet.availability_sets] == ["cart-db-avset"]


def test_catalog_is_copied_and_checked() -> None:
    r = run("fleet-mixed.json", location="eastus2", catalog=FIX / "catalog.json")
    assert len(r.fleet.catalog) == 4


def test_same_vm_in_two_templates_is_refused() -> None:
    with pytest.raises(InputError) as e:
        run(["fleet-mixed.json", "fleet-mixed.json"], location="eastus2")
    assert "also defined in" in str(e.value)


def edited(tmp_path: Path, edit: Any) -> Path:
    data = json.loads((ARM / "fleet-mixed.json").read_text())
    edit(data)
    p = tmp_path / "t.json"
    p.write_text(json.dumps(data))
    return p


REFUSALS: list[tuple[str, Any, str, str]] = [
    ("function outside the subset", lambda d: d["resources"][0].update(name="[uniqueString('x')]"),
     "$.resources[0].name", "function 'uniqueString()' is outside the supported subset in [uniqueString('x')]"),
    ("bad version", lambda d: d["variables"].update(daVersion="9.x"), "$.resources[0].properties"
     ".virtualMachineProfile.extensionProfile.extensions[0].properties.typeHandlerVersion", "bad version \"9.x\""),
    ("bad capacity", lambda d: d["parameters"]["webCount"].update(defaultValue=-1), "$.resources[0].sku.capacity",
     "sku.capacity must be an int"),
    ("bad mode", lambda d: d["resources"][0]["properties"]["upgradePolicy"].update(mode="Sometimes"),
     "$.resources[0].properties.upgradePolicy.mode", "must be Automatic, Rolling or Manual"),
    ("orphan extension", lambda d: d["resources"][6].update(name="ghost/GuestConfig"), "$.resources[6].name",
     "belongs to VM 'ghost'"),
    ("unknown availability set", lambda d: d["variables"].update(dbSet="x") or d["resources"][2].update(name="y"),
     "$.resources[3].properties.availabilitySet.id", "references availability set 'x'"),
    ("syntax", lambda d: d["resources"][4].update(name="[concat('a', ]"), "$.resources[4].name",
     "cannot parse expression"),
    ("variable cycle", lambda d: d["variables"].update(web="[variables('web')]"), "$.variables.web",
     "refers to itself"),
    ("copy count", lambda d: d["resources"][3]["copy"].update(count="[variables('zones')]"),
     "$.resources[3].copy.count", "copy count must be an int"),
    ("nested deployment", lambda d: d["resources"].append({"type": "Microsoft.Resources/deployments", "name": "n"}),
     "$.resources[7]", "nested deployments"),
    ("condition not bool", lambda d: d["resources"][5].update(condition="[parameters('prefix')]"),
     "$.resources[5].condition", "condition is not a bool"),
    ("two zones on a VM", lambda d: d["resources"][4].update(zones=["1", "2"]), "$.resources[4].zones",
     "a VM sits in one"),
]


@pytest.mark.parametrize("label,edit,path,message", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refusals_name_the_template_path(tmp_path: Path, label: str, edit: Any, path: str, message: str) -> None:
    p = edited(tmp_path, edit)
    with pytest.raises(InputError) as e:
        import_arm([p], ArmOptions(location="eastus2"))
    (d,) = e.value.diagnostics
    assert isinstance(d.location, JsonLocation) and d.location.file == str(p)
    assert d.location.path == path and message in d.message, (d.location.path, d.message)


def test_fleet_level_refusal_maps_back_to_the_template(tmp_path: Path) -> None:
    # A VM in another region than its availability set is caught by the fleet's own validation.
    p = edited(tmp_path, lambda d: d["resources"][3].update(location="westus"))
    with pytest.raises(InputError) as e:
        import_arm([p], ArmOptions(location="eastus2"))
    d = e.value.diagnostics[0]
    assert isinstance(d.location, JsonLocation) and d.location.path == "$.resources[3]"
    assert "but its set 'shop-db-avset' is in 'eastus2'" in d.message


def test_output_is_deterministic_and_valid() -> None:
    a = run("fleet-mixed.json", location="eastus2").fleet.to_json()
    b = run("fleet-mixed.json", location="eastus2").fleet.to_json()
    assert a == b
    assert parse_fleet(json.loads(a)).to_json() == a


# ----------------------------------------------------------------------------------------------------------------
# The expression subset


def ev(text: str, **params: Any) -> Any:
    decls = {k: {"type": "string"} for k in params}
    tmpl = {"parameters": decls, "variables": {"arr": ["a", "b"], "obj": {"k": "[parameters('p')]"}}}
    ctx = Context(tmpl, dict(params), "eastus", None).at_copy("loop", 4)
    return resolve(text, "$.x", ctx)


@pytest.mark.parametrize("text,want", [
    ("[concat('a', 'b', string(3))]", "ab3"),
    ("['it''s']", "it's"),
    ("[[literal]", "[literal]"),
    ("[format('{0}-{1}-{{x}}', 'a', 7)]", "a-7-{x}"),
    ("[variables('arr')[1]]", "b"),
    ("[variables('obj').k]", "P"),
    ("[variables('obj')['K']]", "P"),
    ("[copyIndex(10)]", 14),
    ("[copyIndex('loop')]", 4),
    ("[int('12')]", 12),
    ("[toUpper(resourceGroup().location)]", "EASTUS"),
    ("[if(equals(parameters('p'), 'P'), 'yes', uniqueString('never evaluated'))]", "yes"),
    ("[and(true(), not(false()))]", True),
    ("[length(concat(variables('arr'), variables('arr')))]", 4),
    ("[json('null')]", None),
    ("[mod(add(7, 3), 4)]", 2),
    ("plain", "plain"),
])
def test_expressions(text: str, want: Any) -> None:
    assert ev(text, p="P") == want


@pytest.mark.parametrize("text,message", [
    ("[uniqueString('a')]", "outside the supported subset"),
    ("[variables('arr')[5]]", "out of range"),
    ("[copyIndex('other')]", "names another loop"),
    ("[parameters('nope')]", "not declared"),
    ("[subscription().subscriptionId]", "only known at deployment time"),
    ("[format('{0:D3}', 1)]", "outside the supported subset"),
    ("[concat('a', ]", "cannot parse"),
    ("[concat('a' 'b')]", "cannot parse"),
])
def test_expression_refusals(text: str, message: str) -> None:
    with pytest.raises(ArmError) as e:
        ev(text, p="P")
    assert message in str(e.value)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_string_literals_round_trip(s: str) -> None:
    quoted = "'" + s.replace("'", "''") + "'"
    assert parse_expression(quoted).value == s  # type: ignore[union-attr]


@settings(max_examples=40, deadline=None)
@given(capacity=st.integers(0, 40), n_zones=st.integers(0, 3), uds=st.integers(1, 6))
def test_scale_set_placement_is_balanced(tmp_path_factory: pytest.TempPathFactory, capacity: int, n_zones: int,
                                         uds: int) -> None:
    tmpl = {"resources": [{"type": "Microsoft.Compute/virtualMachineScaleSets", "name": "s", "location": "eastus",
                           "zones": [str(z) for z in range(1, n_zones + 1)], "sku": {"capacity": capacity},
                           "properties": {"upgradePolicy": {"mode": "Automatic"}}}]}
    p = tmp_path_factory.mktemp("h") / "t.json"
    p.write_text(json.dumps(tmpl))
    fleet = import_arm([p], ArmOptions(update_domains=uds)).fleet
    assert len(fleet.vms) == capacity
    for key in ("zone", "update_domain"):
        counts = Counter(getattr(v, key) for v in fleet.vms)
        assert not counts or max(counts.values()) - min(counts.values()) <= 1
    assert all((v.zone is None) == (n_zones == 0) for v in fleet.vms)


def test_flexible_scale_set_members_are_the_vms_that_name_it(tmp_path: Path) -> None:
    tmpl = {"resources": [
        {"type": "Microsoft.Compute/virtualMachineScaleSets", "name": "flex", "location": "eastus",
         "properties": {"orchestrationMode": "Flexible", "platformFaultDomainCount": 1}},
        {"type": "Microsoft.Compute/virtualMachines", "name": "[concat('app', copyIndex())]", "location": "eastus",
         "zones": ["[string(add(copyIndex(), 1))]"], "copy": {"name": "vms", "count": 3},
         "properties": {"virtualMachineScaleSet": {"id": "[resourceId('Microsoft.Compute/virtualMachineScaleSets', "
                                                         "'flex')]"}, "platformFaultDomain": 0}},
        {"type": "Microsoft.Compute/virtualMachines/extensions", "name": "app1/mon", "location": "eastus",
         "properties": {"publisher": "P", "type": "T", "typeHandlerVersion": "1.0"}},
    ]}
    p = tmp_path / "flex.json"
    p.write_text(json.dumps(tmpl))
    r = import_arm([p], ArmOptions(update_domains=2))
    got = vms(r)
    assert [(got[f"app{i}"].scale_set, got[f"app{i}"].zone, got[f"app{i}"].update_domain) for i in range(3)] == [
        ("flex", "1", 0), ("flex", "2", 1), ("flex", "3", 0)]
    assert [e.name for e in got["app1"].extensions] == ["mon"] and got["app0"].fault_domain == 0


def test_other_resources_are_not_evaluated(tmp_path: Path) -> None:
    # A storage account whose copy count and condition use functions outside the subset does not stop the import.
    p = edited(tmp_path, lambda d: d["resources"].append(
        {"type": "Microsoft.Storage/storageAccounts", "name": "[uniqueString('x')]", "condition": "[reference('y')]",
         "copy": {"name": "s", "count": "[length(reference('z').items)]"}}))
    assert len(import_arm([p], ArmOptions(location="eastus2")).fleet.vms) == 11

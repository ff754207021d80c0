"""Importers on mangled inputs: a valid fleet or an InputError with a location, never another exception."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.importers.arm import ArmOptions, import_arm
from engine.importers.rest import RestOptions, import_rest
from engine.model.errors import InputError

FIX = Path(__file__).parent / "fixtures" / "import"
ARM_INPUTS = ["fleet-mixed.json", "multi-vmss-linux-lb-zones.json", "vm-simple-linux.json",
              "2-vms-loadbalancer-lbrules.json", "vmss-zones-rolling-upgrade-preview2017.json"]
REST_INPUTS = ["az-vmss-list-instances.json", "rest-vms-page.json", "VirtualMachine_Get_InstanceView.2025-04-01.json",
               "VirtualMachineScaleSetVM_Get_WithUserData.2025-04-01.json"]
JUNK: list[Any] = [None, 0, -1, 1.5, True, "", "x", "[", "[]", "[concat(]", "[variables('zones')]", [], [1], {},
                   {"a": 1}, "[copyIndex()]", "[int('x')]", "[length(1)]", "[div(1, 0)]", "[variables('zones')[9]]",
                   "2.0", "[json('{')]", "[format('{0}')]", "[toLower(1)]", "[if(1, 2, 3)]", "[add(1)]", "[[x",
                   "[parameters()]", "[string(null())]", "3", "Rolling", ["1", "2"], "westus", "HealthState/healthy"]


def setters(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in the document, in a stable order."""
    out: list[tuple[Any, Any]] = []

    def walk(x: Any) -> None:
        items = list(x.items()) if isinstance(x, dict) else list(enumerate(x)) if isinstance(x, list) else []
        for k, v in items:
            out.append((x, k))
            walk(v)

    walk(doc)
    return out


def mangle(doc: Any, picks: list[tuple[int, int]]) -> Any:
    doc = copy.deepcopy(doc)
    for where, what in picks:
        spots = setters(doc)
        if not spots:
            break
        container, key = spots[where % len(spots)]
        container[key] = copy.deepcopy(JUNK[what % len(JUNK)])
    return doc


PICKS = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 1000)), min_size=1, max_size=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(ARM_INPUTS), picks=PICKS)
def test_arm_never_crashes(tmp_path: Path, which: str, picks: list[tuple[int, int]]) -> None:
    doc = mangle(json.loads((FIX / "arm" / which).read_text()), picks)
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc))
    params = {"vmssNamePrefix": "a", "instanceCount": "3"} if "preview" in which else {}
    try:
        import_arm([p], ArmOptions(location="eastus2", params=params))
    except InputError as e:
        # Only a --param that the mangled template no longer declares has no place in a file to point at.
        assert e.diagnostics and all(d.location is not None or "parameter" in d.message for d in e.diagnostics)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(REST_INPUTS), picks=PICKS)
def test_rest_never_crashes(tmp_path: Path, which: str, picks: list[tuple[int, int]]) -> None:
    doc = mangle(json.loads((FIX / "rest" / which).read_text()), picks)
    p = tmp_path / "t.json"
    p.write_text(json.dumps(doc))
    try:
        import_rest([p], RestOptions(location="westus"))
    except InputError as e:
        assert e.diagnostics and all(d.location is not None for d in e.diagnostics)

"""Azure REST / az CLI output → fleet records.

Accepted documents (each file): one object, a JSON list of objects (what ``az ... -o json`` prints), a page
``{"value": [...]}``, or a Microsoft REST API example file (``{"parameters": ..., "responses": {"200": {"body": ...}}}``).
Each object is one of:

* a VM or scale-set VM (``az vm show -d`` / ``az vm get-instance-view`` / ``az vmss list-instances --expand
  instanceView``): fields read both at the top level (az CLI flattens ``properties``) and under ``properties``;
* a bare instance view (``GET .../instanceView``): name and location then come from the example's parameters or
  ``--location``;
* a scale set (``az vmss show``): records its upgrade mode, creates no VM.

The installed extension version is the instance view's ``typeHandlerVersion`` when present (what runs), else the
model's (``resources[].properties.typeHandlerVersion``).  Health is ``vmHealth.status.code == "HealthState/healthy"``;
a VM without ``vmHealth`` is counted healthy (noted).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dsl.azure import azure_regions
from dsl.diagnostics import Diagnostic, JsonLocation
from engine.importers.common import (
    DEFAULT_SUBSCRIPTION,
    AzureRegion,
    Collected,
    ExtensionRecord,
    ImportResult,
    SetRecord,
    VMRecord,
    as_bool,
    assemble,
    check_version,
    load_catalog,
    option_region,
    region_of,
    subscription_from_id,
)
from engine.model.errors import InputError
from engine.model.fleet import read_json

HEALTHY = "healthstate/healthy"
_VMSS_VM_RE = re.compile(r"/virtualMachineScaleSets/([^/]+)/virtualMachines/([^/]+)", re.IGNORECASE)
_VMSS_RE = re.compile(r"/virtualMachineScaleSets/([^/]+)", re.IGNORECASE)


@dataclass(frozen=True)
class RestOptions:
    location: str | None = None
    subscription: str | None = None
    catalog: Path | None = None


def _get(obj: dict[str, Any], key: str) -> Any:
    """A field at the top level (az CLI output) or under properties (REST), names compared without case."""
    for holder in (obj, obj.get("properties") if isinstance(obj.get("properties"), dict) else None):
        if holder is None:
            continue
        for k, v in holder.items():
            if k.lower() == key.lower():
                return v
    return None


def _path_of(obj: dict[str, Any], base: str, key: str) -> str:
    for k in obj:
        if k.lower() == key.lower():
            return f"{base}.{k}"
    props = obj.get("properties")
    if isinstance(props, dict):
        for k in props:
            if k.lower() == key.lower():
                return f"{base}.properties.{k}"
    return f"{base}.{key}"


def _objects(data: Any, base: str) -> tuple[list[tuple[Any, str]], dict[str, Any]]:
    """The VM-like objects of a document with their JSON paths, and the REST example's request parameters."""
    example: dict[str, Any] = {}
    if isinstance(data, dict) and isinstance(data.get("responses"), dict):
        body = data["responses"].get("200")
        if not isinstance(body, dict) or "body" not in body:
            raise InputError([Diagnostic("E-IMPORT", "REST example has no 200 response body",
                                         JsonLocation("", f"{base}.responses"))])
        if isinstance(data.get("parameters"), dict):
            example = data["parameters"]
        data, base = body["body"], f"{base}.responses.200.body"
    if isinstance(data, dict) and isinstance(data.get("value"), list):
        data, base = data["value"], f"{base}.value"
    if isinstance(data, list):
        return [(o, f"{base}[{i}]") for i, o in enumerate(data)], example
    return [(data, base)], example


def collect_document(data: Any, file: str, opts: RestOptions, regions: dict[str, AzureRegion],
                     out: Collected, set_modes: dict[str, tuple[str, JsonLocation]]) -> None:
    try:
        objects, example = _objects(data, "$")
    except InputError as e:
        d = e.diagnostics[0]
        path = d.location.path if isinstance(d.location, JsonLocation) else "$"
        raise InputError([Diagnostic(d.code, d.message, JsonLocation(file, path), d.hint)]) from None
    problems: list[Diagnostic] = []
    for obj, path in objects:
        # Every object is checked, so one run reports every bad VM of a listing.
        try:
            _collect_object(obj, path, file, example, opts, regions, out, set_modes)
        except InputError as e:
            problems.extend(e.diagnostics)
    if problems:
        raise InputError(problems)


def _fail(file: str, path: str, msg: str, hint: str | None = None) -> InputError:
    return InputError([Diagnostic("E-IMPORT", msg, JsonLocation(file, path), hint)])


def _collect_object(obj: Any, path: str, file: str, example: dict[str, Any], opts: RestOptions,
                    regions: dict[str, AzureRegion], out: Collected,
                    set_modes: dict[str, tuple[str, JsonLocation]]) -> None:
    if not isinstance(obj, dict):
        raise _fail(file, path, "expected a VM object (az vm / az vmss list-instances output)")
    rtype = str(obj.get("type") or "")
    rid = str(obj.get("id") or "")
    if rtype.lower() == "microsoft.compute/virtualmachinescalesets":
        name = obj.get("name")
        policy = _get(obj, "upgradePolicy")
        mode = _get(policy, "mode") if isinstance(policy, dict) else None
        if not isinstance(name, str) or not name:
            raise _fail(file, f"{path}.name", "scale set has no name")
        if mode is not None:
            if not isinstance(mode, str) or mode.lower() not in ("automatic", "rolling", "manual"):
                raise _fail(file, _path_of(obj, path, "upgradePolicy") + ".mode",
                            f"upgradePolicy.mode must be Automatic, Rolling or Manual, got {json.dumps(mode)}")
            set_modes[name.lower()] = (mode.lower(), JsonLocation(file, path))
        return
    if rtype.lower() == "microsoft.compute/availabilitysets":
        return  # membership comes from the VMs; the set's own counts are not needed when VMs report their domains
    view = _get(obj, "instanceView")
    bare = view is None and ("platformUpdateDomain" in obj or "vmAgent" in obj or "statuses" in obj)
    if bare:
        view, view_path = obj, path
    else:
        view_path = _path_of(obj, path, "instanceView")
    if view is not None and not isinstance(view, dict):
        raise _fail(file, view_path, "instanceView must be an object")
    view = view or {}
    # Name: the object's, else the instance view's computer name, else the REST example's request parameters.
    scale_set: str | None = None
    m = _VMSS_VM_RE.search(rid)
    if m:
        scale_set = m.group(1)
    elif isinstance(example.get("vmScaleSetName"), str):
        scale_set = example["vmScaleSetName"]
    else:
        flex = _get(obj, "virtualMachineScaleSet")
        if isinstance(flex, dict) and isinstance(flex.get("id"), str):
            fm = _VMSS_RE.search(flex["id"])
            scale_set = fm.group(1) if fm else None
    name = obj.get("name") if not bare else None
    if not isinstance(name, str) or not name:
        if scale_set is not None and example.get("instanceId") is not None:
            name = f"{scale_set}_{example['instanceId']}"
        elif isinstance(example.get("vmName"), str):
            name = example["vmName"]
        elif isinstance(view.get("computerName"), str):
            name = view["computerName"]
        else:
            raise _fail(file, path, "cannot tell this VM's name (no name, computerName or request parameters)")
    where = JsonLocation(file, path)
    loc_value = obj.get("location") if not bare else None
    if loc_value is None:
        if opts.location is None:
            raise _fail(file, path, f"VM '{name}' has no location", "pass --location REGION")
        loc_value = opts.location
    region = region_of(loc_value, JsonLocation(file, f"{path}.location"), regions)
    zone = None
    zones = obj.get("zones") if not bare else None
    if zones is not None:
        if not isinstance(zones, list) or len(zones) > 1 or not all(isinstance(z, (str, int)) for z in zones):
            raise _fail(file, f"{path}.zones", f"VM '{name}': zones must list at most one zone, got {json.dumps(zones)}")
        zone = str(zones[0]) if zones else None
        have = regions[region].zones
        if zone is not None and zone not in {str(n) for n in range(1, have + 1)}:
            what = f"zones 1-{have}" if have else "no availability zones"
            raise _fail(file, f"{path}.zones[0]", f"VM '{name}' is in zone '{zone}' but region '{region}' has {what}")
    avset = None
    av = _get(obj, "availabilitySet") if not bare else None
    if isinstance(av, dict) and isinstance(av.get("id"), str) and av["id"].strip("/"):
        avset = av["id"].rstrip("/").split("/")[-1]
    if avset is not None and scale_set is not None:
        raise _fail(file, path, f"VM '{name}' is in scale set '{scale_set}' and availability set '{avset}'")
    subscription = (opts.subscription or subscription_from_id(rid)
                    or (example.get("subscriptionId") if isinstance(example.get("subscriptionId"), str) else None)
                    or DEFAULT_SUBSCRIPTION)
    ud = _domain(view, "platformUpdateDomain", file, view_path, name)
    fd = _domain(view, "platformFaultDomain", file, view_path, name)
    model = obj.get("properties")
    if fd is None and not bare:
        # A Flexible-orchestration VM carries its fault domain in the model, not the instance view.
        holder = model if isinstance(model, dict) else obj
        fd = _domain(holder, "platformFaultDomain", file, f"{path}.properties" if holder is model else path, name)
    if subscription.startswith("{") and subscription.endswith("}"):
        out.note(f"subscription '{subscription}' looks like a documentation placeholder; set --subscription")
    if (scale_set or avset) and ud is None:
        # One note for all such VMs: a listing without --expand instanceView lacks it for every VM.
        out.note("set VMs without instanceView.platformUpdateDomain (list them with --expand instanceView) have an "
                 "unknown update domain")
    healthy = True
    health = view.get("vmHealth")
    if isinstance(health, dict) and isinstance(health.get("status"), dict):
        code = health["status"].get("code")
        healthy = isinstance(code, str) and code.lower() == HEALTHY
    else:
        out.note("VMs without vmHealth in their instance view are counted healthy")
    tags_raw = obj.get("tags") if not bare else None
    tags = {k: str(v) for k, v in sorted(tags_raw.items()) if isinstance(v, (str, int)) and not isinstance(v, bool)} \
        if isinstance(tags_raw, dict) else {}
    vm = VMRecord(name=name, region=region, where=where, zone=zone, scale_set=scale_set, availability_set=avset,
                  update_domain=ud, fault_domain=fd, subscription=subscription, healthy=healthy, tags=tags,
                  extensions=_extensions(obj, view, path, view_path, file, name, bare, out))
    out.vms.append(vm)
    if scale_set is not None and all(s.name != scale_set for s in out.scale_sets):
        out.scale_sets.append(SetRecord(scale_set, region, where, None))
    if avset is not None and all(s.name != avset for s in out.availability_sets):
        out.availability_sets.append(SetRecord(avset, region, where))


def _domain(view: dict[str, Any], key: str, file: str, base: str, name: str) -> int | None:
    value = view.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _fail(file, f"{base}.{key}", f"VM '{name}': {key} must be a non-negative int, got {json.dumps(value)}")
    return value


def _extensions(obj: dict[str, Any], view: dict[str, Any], path: str, view_path: str, file: str, vm: str,
                bare: bool, out: Collected) -> list[ExtensionRecord]:
    by_name: dict[str, ExtensionRecord] = {}
    order: list[str] = []
    resources = obj.get("resources") if not bare else None
    if resources is not None and not isinstance(resources, list):
        raise _fail(file, f"{path}.resources", "resources must be a list")
    for i, res in enumerate(resources or []):
        rpath = f"{path}.resources[{i}]"
        if not isinstance(res, dict):
            raise _fail(file, rpath, "an extension resource must be an object")
        rtype = res.get("type")
        if isinstance(rtype, str) and not rtype.lower().endswith("/extensions"):
            continue
        ename = res.get("name")
        if not isinstance(ename, str) or not ename:
            raise _fail(file, f"{rpath}.name", f"VM '{vm}': extension has no name")
        ename = ename.split("/")[-1]
        props = res.get("properties")
        if isinstance(props, dict):
            publisher, etype = props.get("publisher"), props.get("type")
        else:
            # az CLI flattens properties and renames the extension's type (it clashes with the resource type).
            publisher, etype = res.get("publisher"), res.get("typePropertiesType")
        for key, v in (("publisher", publisher), ("type", etype)):
            if not isinstance(v, str) or not v:
                raise _fail(file, _path_of(res, rpath, key), f"VM '{vm}': extension '{ename}' has no {key}")
        if not isinstance(publisher, str) or not isinstance(etype, str):
            continue  # unreachable: both were checked just above (keeps the types narrow for mypy)
        ver_path = _path_of(res, rpath, "typeHandlerVersion")
        version = check_version(_get(res, "typeHandlerVersion"), JsonLocation(file, ver_path),
                                f"VM '{vm}': extension '{ename}' typeHandlerVersion")
        flags = []
        for key in ("enableAutomaticUpgrade", "autoUpgradeMinorVersion"):
            raw = _get(res, key)
            b = False if raw is None else as_bool(raw)
            if b is None:
                raise _fail(file, _path_of(res, rpath, key), f"VM '{vm}': {key} must be a bool, got {json.dumps(raw)}")
            flags.append(b)
        if ename in by_name:
            raise _fail(file, f"{rpath}.name", f"VM '{vm}' has two extensions named '{ename}'")
        by_name[ename] = ExtensionRecord(ename, publisher, etype, version, flags[0], flags[1], JsonLocation(file, rpath))
        order.append(ename)
    views = view.get("extensions")
    if views is not None and not isinstance(views, list):
        raise _fail(file, f"{view_path}.extensions", "instanceView.extensions must be a list")
    for i, ev in enumerate(views or []):
        epath = f"{view_path}.extensions[{i}]"
        if not isinstance(ev, dict) or not isinstance(ev.get("name"), str):
            raise _fail(file, epath, f"VM '{vm}': an extension instance view needs a name")
        ename = ev["name"]
        version = check_version(ev.get("typeHandlerVersion"), JsonLocation(file, f"{epath}.typeHandlerVersion"),
                                f"VM '{vm}': extension '{ename}' typeHandlerVersion")
        known = by_name.get(ename)
        if known is not None:
            known.version = version  # the instance view reports what is installed; the model what was asked for
            continue
        full = ev.get("type")
        if not isinstance(full, str) or "." not in full:
            raise _fail(file, f"{epath}.type", f"VM '{vm}': cannot tell the publisher of extension '{ename}' from "
                        f"type {json.dumps(full)}", "list the VM with its resources (az vm show) to get the publisher")
        publisher, _, etype = full.rpartition(".")
        out.note("extensions known only from an instance view: publisher and type split at the last dot of its type, "
                 "automatic upgrade taken as not enabled")
        by_name[ename] = ExtensionRecord(ename, publisher, etype, version, False, False, JsonLocation(file, epath))
        order.append(ename)
    return [by_name[n] for n in order]


def import_rest(files: list[Path], opts: RestOptions) -> ImportResult:
    """Import REST / az CLI VM listings into one validated fleet; InputError (file, JSON path, reason) when refused."""
    regions = azure_regions()
    location = option_region(opts.location, regions)
    opts = RestOptions(location, opts.subscription, opts.catalog)
    catalog = load_catalog(opts.catalog)
    out = Collected()
    set_modes: dict[str, tuple[str, JsonLocation]] = {}
    seen: dict[str, VMRecord] = {}
    problems: list[Diagnostic] = []
    for path in files:
        before = len(out.vms)
        # Every file is read, so one run reports the problems of all inputs.
        try:
            collect_document(read_json(path, "REST output"), str(path), opts, regions, out, set_modes)
        except InputError as e:
            problems.extend(e.diagnostics)
            continue
        for vm in out.vms[before:]:
            other = seen.get(vm.name.lower())
            if other is not None:
                raise InputError([Diagnostic("E-IMPORT", f"VM '{vm.name}' is listed twice (also at {other.where.file}: "
                                             f"{other.where.path})", vm.where)])
            seen[vm.name.lower()] = vm
    if problems:
        raise InputError(problems)
    unknown_modes = []
    for s in out.scale_sets:
        mode = set_modes.get(s.name.lower())
        if mode is None:
            s.upgrade_mode = "automatic"
            unknown_modes.append(s.name)
        else:
            s.upgrade_mode = mode[0]
    if unknown_modes:
        out.note(f"upgrade mode of scale set(s) {', '.join(sorted(unknown_modes))} is not in VM listings; assumed "
                 "automatic (add the az vmss show output to the inputs to read it)")
    return assemble(out, catalog, str(opts.catalog) if opts.catalog else None, regions)

"""Concrete fleets and schedules from symbolic models: the candidate counterexamples every claim kind builds.

A witness is a fleet JSON plus a schedule JSON in the interchange formats (``engine.model``).  Nothing built here is
shown to anyone before :mod:`engine.prove.replay` has run it through the independent checker (it must pass under the
spec and fail under the claim), so a wrong guess costs time, never a false refutation.  Scheduled VMs carry one
upgradable extension of the witness catalog; unscheduled ones are up to date.  A region whose model has a geography
gets it in its fleet entry (``Region.geography``), so the checker reads the same geography as the model.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import z3

from dsl.policy import Policy, Predicate
from engine.model.solver import Sat, Solver
from engine.prove.symbolic import AttrVals, Interner, attr_type, eval_pred, rule_strings

Witness = tuple[dict[str, Any], dict[str, Any]]  # fleet JSON, schedule JSON

# Names used in constructed counterexample fleets (chosen so no policy selector is likely to match them).
WITNESS_EXTENSION = {"name": "agent", "publisher": "Wavegate.Witness", "type": "WitnessAgent"}
OLD_VERSION = "1.0"
NEW_VERSION = "1.1"
SATISFYING_SECONDS = 2.0  # time for finding VMs that satisfy given filters


def interner_for(policy: Policy, claim: object) -> Interner:
    strings: list[str] = []
    for r in (*policy.rules, claim):
        strings.extend(rule_strings(r))
    return Interner(strings)


def plain_vm(name: str, region: str, scheduled: bool) -> dict[str, Any]:
    return {
        "name": name,
        "region": region,
        "subscription": "sub0",
        "extensions": [{**WITNESS_EXTENSION, "version": OLD_VERSION if scheduled else NEW_VERSION,
                        "enable_automatic_upgrade": True}],
        "_scheduled": scheduled,
    }


def region_entry(name: str, zones: int = 0, geography: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "pair": None, "zones": zones}
    if geography is not None:
        entry["geography"] = geography
    return entry


def _string_value(m: Sat, kv: AttrVals, key: str, i: int, prefix: str) -> str:
    """The string a model's id stands for; a fresh id that the model reads as a number becomes such a number."""
    strings = kv.strings
    if 0 <= i < len(strings.consts):
        return strings.consts[i]
    reading = kv.read_number(key)
    if reading is not None and m.value(reading[0]):
        value = m.model.eval(reading[1], model_completion=True)
        assert isinstance(value, z3.RatNumRef)
        return _numeric_text(value.as_fraction(), strings.consts)
    return f"{prefix}{i}"


def _numeric_text(n: Fraction, taken: Sequence[str]) -> str:
    """A string that reads as ``n`` and is none of the policy's constants (leading spaces keep its number)."""
    base = str(n.numerator) if n.denominator == 1 else f"{n.numerator}/{n.denominator}"
    return next(" " * k + base for k in itertools.count() if " " * k + base not in taken)


def vm_from(m: Sat, kv: AttrVals, name: str, scheduled: bool) -> dict[str, Any]:
    """A VM JSON with the attribute values the model gives one kind of VM."""

    def get(key: str, prefix: str) -> Any:
        val, present = kv.get(key)
        if not m.value(present):
            return None
        v = m.value(val)
        return _string_value(m, kv, key, v, prefix) if attr_type(key) == "string" and key != "vm.zone" else v

    vm = plain_vm(name, get("vm.region", "region") or "region0", scheduled)
    region_name = get("region.name", "region")
    if region_name is not None:
        vm["region"] = region_name
    zone = get("vm.zone", "")
    if zone is not None:
        vm["zone"] = str(zone)
    sub = get("vm.subscription", "sub")
    if sub is not None:
        vm["subscription"] = sub
    if m.value(kv.get("vm.in_scale_set")[1]):
        vm["scale_set"] = get("scale_set.name", "ss") or "ss0"
    elif m.value(kv.get("vm.in_availability_set")[1]):
        vm["availability_set"] = get("availability_set.name", "as") or "as0"
    for key in ("update_domain", "fault_domain"):
        v = get(f"vm.{key}", "")
        if v is not None:
            vm[key] = v
    healthy = get("vm.healthy", "")
    if healthy is not None:
        vm["healthy"] = bool(healthy)
    tags = {}
    for key in list(kv.vals) + (list(kv.shared.vals) if kv.shared is not None else []):
        if key.startswith("vm.tags."):
            v = get(key, "t")
            if v is not None:
                tags[key[len("vm.tags."):]] = v
    if tags:
        vm["tags"] = tags
    geography = get("region.geography", "geo")
    if geography is not None:
        vm["_geography"] = geography
    return vm


def extension_from(m: Sat, ext: AttrVals, version: str) -> dict[str, Any]:
    """An extension JSON with the name, publisher and type a model gives one symbolic extension."""
    def get(key: str, prefix: str) -> str:
        val, _ = ext.get(key)
        return _string_value(m, ext, key, m.value(val), prefix)

    return {"name": get("extension.name", "ext"), "publisher": get("extension.publisher", "Wavegate.Pub"),
            "type": get("extension.type", "WitnessType"), "version": version, "enable_automatic_upgrade": True}


def with_extensions(vm: dict[str, Any], scheduled: list[dict[str, Any]], installed: list[dict[str, Any]]
                    ) -> dict[str, Any]:
    """The VM with these extensions instead of the witness agent: ``scheduled`` ones due (a task each in the VM's
    wave), ``installed`` ones up to date; two of one name are one extension (scheduled wins), or renamed when they
    differ in publisher or type."""
    if not scheduled and not installed:
        return vm
    exts: dict[str, dict[str, Any]] = {}
    tasks: list[str] = []
    for e, due in [*((e, True) for e in scheduled), *((e, False) for e in installed)]:
        e = {**e, "version": OLD_VERSION if due else NEW_VERSION}
        same = exts.get(e["name"])
        if same is not None and (same["publisher"], same["type"]) == (e["publisher"], e["type"]):
            continue
        if same is not None:
            e["name"] = next(f"{e['name']}-{i}" for i in itertools.count(2) if f"{e['name']}-{i}" not in exts)
        exts[e["name"]] = e
        if due:
            tasks.append(e["name"])
    out = {**vm, "extensions": list(exts.values())}
    if vm.get("_scheduled") and not tasks:
        out["extensions"] = [*vm["extensions"], *out["extensions"]]  # the witness agent carries the VM's task
        tasks = [vm["extensions"][0]["name"]]
    out["_tasks"] = tasks
    return out


def fleet_and_schedule(m: Sat, group: AttrVals, vms: list[dict[str, Any]]) -> Witness:
    """The VMs of one element in one wave: regions (zones, pairing and geography as the model has them) and sets."""
    regions: dict[str, dict[str, Any]] = {}
    sets: dict[tuple[str, str], str] = {}
    for vm in vms:
        regions.setdefault(vm["region"], region_entry(vm["region"]))
        if "zone" in vm:
            regions[vm["region"]]["zones"] = max(regions[vm["region"]]["zones"], int(vm["zone"]))
        if vm.get("_geography") is not None:
            regions[vm["region"]].setdefault("geography", vm["_geography"])
        for kind in ("scale_set", "availability_set"):
            if kind in vm:
                sets[(kind, vm[kind])] = vm["region"]
    zones_val, zones_present = group.get("region.zones")
    if m.value(zones_present):
        for r in regions.values():
            r["zones"] = max(r["zones"], m.value(zones_val))
    paired_val, _ = group.get("region.paired")
    extra: list[dict[str, Any]] = []
    if m.value(paired_val):
        for r in list(regions.values()):
            r["pair"] = f"{r['name']}-pair"
            extra.append(region_entry(r["pair"]))
    scale_sets = [{"name": n, "region": reg} for (kind, n), reg in sorted(sets.items()) if kind == "scale_set"]
    avsets = [{"name": n, "region": reg} for (kind, n), reg in sorted(sets.items()) if kind == "availability_set"]
    sched = [f"{v['name']}#{e}" for v in vms if v["_scheduled"]
             for e in v.get("_tasks") or [v["extensions"][0]["name"]]]
    sched_regions = sorted({v["region"] for v in vms if v["_scheduled"]})
    return assemble([*regions.values(), *extra], scale_sets, avsets, vms, [sched_regions or sorted(regions)],
                    [(0, sched)])


def assemble(regions: list[dict[str, Any]], scale_sets: list[dict[str, Any]], avsets: list[dict[str, Any]],
             vms: list[dict[str, Any]], phases: list[list[str]], waves: list[tuple[int, list[str]]],
             catalog: list[str] | None = None) -> Witness:
    """A fleet JSON and a schedule JSON: scheduled VMs carry one upgradable extension, the others are up to date."""
    clean = []
    by_name = {}
    for vm in vms:
        v = {k: val for k, val in vm.items() if not k.startswith("_")}
        clean.append(v)
        by_name[v["name"]] = v
    kinds = sorted({(e["publisher"], e["type"]) for v in clean for e in v["extensions"]}
                   | {(WITNESS_EXTENSION["publisher"], WITNESS_EXTENSION["type"])})
    fleet = {
        "regions": sorted(regions, key=lambda r: r["name"]),
        "catalog": [{"publisher": p, "type": t, "versions": catalog or [OLD_VERSION, NEW_VERSION]} for p, t in kinds],
        "scale_sets": scale_sets,
        "availability_sets": avsets,
        "vms": clean,
    }
    wave_list = []
    for i, (phase, names) in enumerate(waves):
        tasks = []
        for task_name in names:  # "vm" (its first extension) or "vm#extension"
            nm, _, ext_name = task_name.partition("#")
            ext = next((e for e in by_name[nm]["extensions"] if e["name"] == ext_name), by_name[nm]["extensions"][0])
            target = (catalog or [OLD_VERSION, NEW_VERSION])[-1]
            tasks.append({"vm": nm, "extension": ext["name"], "from_version": ext["version"], "to_version": target})
        wave_list.append({"index": i, "phase": phase, "tasks": tasks})
    return fleet, schedule_json([{"index": i, "regions": sorted(rs)} for i, rs in enumerate(phases)], wave_list)


def schedule_json(phases: list[dict[str, Any]], waves: list[dict[str, Any]]) -> dict[str, Any]:
    return {"phases": phases, "waves": waves, "skipped": [], "lower_bound": 0, "optimal": False, "stats": {}}


def layout(vms: list[dict[str, Any]], unit: str) -> Witness:
    """VMs scheduled one per unit, in list order (units are waves of one phase, or phases of distinct regions)."""
    regions = sorted({v["region"] for v in vms})
    region_list = []
    for r in regions:
        members = [v for v in vms if v["region"] == r]
        zones = max([int(v["zone"]) for v in members if v.get("zone")] or [0])
        geography = next((v["_geography"] for v in members if v.get("_geography") is not None), None)
        region_list.append(region_entry(r, zones, geography))
    sets = sorted({(k, v[k], v["region"]) for v in vms for k in ("scale_set", "availability_set") if v.get(k)})
    scale_sets = [{"name": n, "region": r} for k, n, r in sets if k == "scale_set"]
    avsets = [{"name": n, "region": r} for k, n, r in sets if k == "availability_set"]
    if unit == "phase":
        phases = [[v["region"]] for v in vms]
        waves = [(i, [v["name"]]) for i, v in enumerate(vms)]
    else:
        phases = [regions]
        waves = [(0, [v["name"]]) for v in vms]
    return assemble(region_list, scale_sets, avsets, vms, phases, waves)


def satisfying_vms(policy: Policy, claim: object, wants: list[list[tuple[Predicate, bool]]],
                   distinct_regions: bool, deadline: float) -> list[dict[str, Any]] | None:
    """One VM per entry of ``wants``, each making its (predicate, truth) pairs hold; sets never shared."""
    strings = interner_for(policy, claim)
    kinds = [AttrVals(f"w{i}", None, (), strings) for i in range(len(wants))]
    s = Solver(ctx=z3.main_ctx())
    for kv, want in zip(kinds, wants, strict=True):
        for pred, truth in want:
            s.add(eval_pred(pred, kv) == truth)
        for key in ("vm.region", "vm.in_scale_set", "vm.in_availability_set", "scale_set.name",
                    "availability_set.name"):
            kv.get(key)
        s.add(*kv.all_side())
    for a, b in itertools.combinations(kinds, 2):
        s.add(a.get("scale_set.name")[0] != b.get("scale_set.name")[0],
              a.get("availability_set.name")[0] != b.get("availability_set.name")[0])
        if distinct_regions:
            s.add(a.get("vm.region")[0] != b.get("vm.region")[0])
    result = s.check(min(deadline, time.monotonic() + SATISFYING_SECONDS))
    if not isinstance(result, Sat):
        return None
    return [vm_from(result, kv, f"vm-{chr(97 + i)}", True) for i, kv in enumerate(kinds)]


"""The seeded fleet generator: valid fleets over real Azure regions, every kind of member and upgrade case, stable."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from dsl.policy import VersionPolicy
from engine.cli.generate import main
from engine.model.fleet import load_fleet, parse_fleet
from engine.model.generator import azure_regions, generate, generate_fleet
from engine.model.resources import sample_fleet
from engine.model.upgrades import resolve_upgrades


def test_same_seed_same_fleet_and_other_seed_differs() -> None:
    assert generate(500, 3) == generate(500, 3)
    assert generate(500, 3) != generate(500, 4)


def test_generated_fleet_validates_and_has_every_kind_of_member() -> None:
    doc = generate(2000, 11)
    fleet = parse_fleet(json.loads(json.dumps(doc)))
    assert len(fleet.vms) == 2000
    zonal_sets = {v.scale_set for v in fleet.vms if v.scale_set and v.zone}
    regional_sets = {v.scale_set for v in fleet.vms if v.scale_set and v.zone is None}
    assert zonal_sets and regional_sets and fleet.availability_sets
    assert any(v.single for v in fleet.vms)
    assert any(len({v.zone for v in fleet.vms if v.scale_set == s}) > 1 for s in zonal_sets)
    assert len({e.type for v in fleet.vms for e in v.extensions}) >= 5


def test_regions_are_the_real_list_and_pairs_stay_inside_it() -> None:
    regions = azure_regions()
    names = {r["name"] for r in regions}
    assert len(regions) == 58 and "eastus" in names
    assert all(r["pair"] is None or r["pair"] in names for r in regions)
    swc = next(r for r in regions if r["name"] == "swedencentral")
    assert swc["pair"] is None  # its pair swedensouth is not in the list
    by = {r["name"]: r for r in regions}
    assert by["westus3"]["pair"] == "eastus" and by["eastus"]["pair"] == "westus"  # one-way pairing kept


def test_upgrade_cases_are_all_present() -> None:
    fleet = generate_fleet(1500, 5)
    res = resolve_upgrades(fleet, VersionPolicy())
    reasons = Counter(s.reason for s in res.skipped)
    assert res.tasks
    for reason in ("up to date", "only a new major available", "automatic upgrade not enabled"):
        assert reasons[reason] > 0
    assert any(len([t for t in res.tasks if t.vm == v.name]) >= 2 for v in fleet.vms[:400])


def test_bundled_sample_is_the_seeded_output(tmp_path: Path) -> None:
    out = tmp_path / "sample.json"
    main(["--vms", "3000", "--seed", "7", "-o", str(out)])
    assert out.read_bytes() == sample_fleet().read_bytes()
    assert len(load_fleet(sample_fleet()).vms) == 3000

"""Upgrade resolution: numeric versions, newest of the installed major, skip reasons, pins and opt-outs."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.diagnostics import Span
from dsl.policy import ExtensionSelector, OptOut, VersionPin, VersionPolicy
from dsl.versions import compare, is_version, major, parse_version
from engine.model.fleet import load_fleet
from engine.model.upgrades import resolve_upgrades

FIX = Path(__file__).parent / "fixtures" / "fleets"
AT = Span("specs/x.wg", 1, 1, 1, 2)
MON = ExtensionSelector(publisher="Microsoft.Azure.Monitor", type="AzureMonitorLinuxAgent")


DEFAULT = VersionPolicy()


def outcome(versions: VersionPolicy = DEFAULT, fleet: str = "versions.json") -> dict[tuple[str, str], str]:
    """(vm, extension) -> 'target version' or 'skipped: reason'."""
    res = resolve_upgrades(load_fleet(FIX / fleet), versions)
    out = {(t.vm, t.extension): t.to_version for t in res.tasks}
    out.update({(s.vm, s.extension): f"skipped: {s.reason}" for s in res.skipped})
    return out


def test_versions_compare_numerically_part_by_part() -> None:
    assert parse_version("9.5") == parse_version("9.5.0") == (9, 5, 0, 0)
    assert compare("9.10.2", "9.5") == 1 and compare("9.5", "9.5.0.0") == 0 and compare("1.2", "1.10") == -1
    assert major("10.0") == 10
    for bad in ("", "a", "1..2", "1.2.3.4.5", "-1", "1.2a", " 1.2", "1.2."):
        assert not is_version(bad)
        with pytest.raises(ValueError):
            parse_version(bad)


def test_default_resolution_every_reason() -> None:
    assert outcome() == {
        ("due", "mon"): "1.22",  # newest of major 1; 2.0 is a new major
        ("disabled", "mon"): "skipped: automatic upgrade not enabled",
        ("uptodate", "mon"): "skipped: only a new major available",  # 1.22.0 == 1.22; only 2.0 is newer
        ("latest", "dep"): "skipped: up to date",  # 10.0.0 == 10.0, the newest published
        ("major-only", "dep"): "skipped: only a new major available",
        ("newest-minor", "dep"): "9.10.2",  # numerically newer than 9.5 (as text it would not be)
        ("uncatalogued", "x"): "skipped: not in the catalog",
        ("same-as", "p"): "9.6",  # 9.5.0 is the installed 9.5 spelled longer, not newer
    }


def test_task_keeps_installed_version_and_identity() -> None:
    res = resolve_upgrades(load_fleet(FIX / "versions.json"), VersionPolicy())
    t = next(t for t in res.tasks if t.vm == "newest-minor")
    assert (t.from_version, t.publisher, t.type) == ("9.5", "Microsoft.Azure.Monitoring.DependencyAgent",
                                                     "DependencyAgentLinux")


def test_allow_major_and_include_disabled() -> None:
    got = outcome(VersionPolicy(only_enabled=False, allow_major=True))
    assert got[("major-only", "dep")] == "10.0"
    assert got[("due", "mon")] == "2.0"
    assert got[("disabled", "mon")] == "2.0"


def test_pins_cap_the_target() -> None:
    pin = VersionPin(MON, "1.21", AT)
    got = outcome(VersionPolicy(pins=(pin,)))
    assert got[("due", "mon")] == "1.21.0"
    assert got[("uptodate", "mon")] == "skipped: only a new major available"
    held = VersionPin(ExtensionSelector(publisher="Contoso"), "9.5", AT)
    assert outcome(VersionPolicy(pins=(held,)))[("same-as", "p")] == "skipped: pinned by policy"


def test_opt_out_by_selector() -> None:
    got = outcome(VersionPolicy(opt_outs=(OptOut(MON, AT), OptOut(ExtensionSelector(name="p"), AT))))
    assert got[("due", "mon")] == "skipped: opted out by policy"
    assert got[("same-as", "p")] == "skipped: opted out by policy"
    assert got[("newest-minor", "dep")] == "9.10.2"


def test_two_extensions_on_one_vm_are_two_tasks() -> None:
    res = resolve_upgrades(load_fleet(FIX / "two-extensions.json"), VersionPolicy())
    assert sorted((t.vm, t.extension, t.to_version) for t in res.tasks) == [
        ("solo", "mon", "1.22"), ("twin", "dep", "9.10.2"), ("twin", "mon", "1.22")]
    assert res.tasks_by_vm()["twin"][0].extension == "mon"

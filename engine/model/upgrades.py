"""Upgrade resolution: which (VM, extension) pairs upgrade, to which version, and why the others do not.

For each extension whose own ``enable_automatic_upgrade`` is true (when the policy asks for it), the target is the
newest catalog version of the installed major greater than the installed one (any major when the policy allows
majors), capped by a matching version pin.  Each (VM, extension) upgrade is its own task.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsl.policy import ExtensionSelector, VersionPolicy
from dsl.versions import parse_version
from engine.model.fleet import Extension, Fleet
from engine.model.schedule import Skipped


@dataclass(frozen=True)
class UpgradeTask:
    vm: str
    extension: str
    publisher: str
    type: str
    from_version: str
    to_version: str


@dataclass(frozen=True)
class Resolution:
    tasks: tuple[UpgradeTask, ...]
    skipped: tuple[Skipped, ...]

    def tasks_by_vm(self) -> dict[str, list[UpgradeTask]]:
        out: dict[str, list[UpgradeTask]] = {}
        for t in self.tasks:
            out.setdefault(t.vm, []).append(t)
        return out


def selector_matches(sel: ExtensionSelector, ext: Extension) -> bool:
    return (
        (sel.publisher is None or sel.publisher == ext.publisher)
        and (sel.type is None or sel.type == ext.type)
        and (sel.name is None or sel.name == ext.name)
    )


def resolve_upgrades(fleet: Fleet, versions: VersionPolicy) -> Resolution:
    # Catalog versions are parsed once per entry, not once per VM: resolution runs on fleets of a million VMs.
    catalog: dict[tuple[str, str], list[tuple[tuple[int, ...], str]]] = {}
    for entry in fleet.catalog:
        catalog.setdefault((entry.publisher, entry.type), []).extend((parse_version(v), v) for v in entry.versions)
    parsed: dict[str, tuple[int, ...]] = {}
    tasks: list[UpgradeTask] = []
    skipped: list[Skipped] = []
    for vm in fleet.vms:
        for ext in vm.extensions:
            installed = parsed.get(ext.version)
            if installed is None:
                installed = parsed[ext.version] = parse_version(ext.version)
            target, reason = _target(ext, installed, catalog.get((ext.publisher, ext.type)), versions)
            if target is None:
                # Built without re-validation: the three strings come straight from a validated fleet.
                skipped.append(Skipped.model_construct(vm=vm.name, extension=ext.name, reason=reason))
            else:
                tasks.append(UpgradeTask(vm.name, ext.name, ext.publisher, ext.type, ext.version, target))
    return Resolution(tuple(tasks), tuple(skipped))


def _target(
    ext: Extension,
    installed: tuple[int, ...],
    published: list[tuple[tuple[int, ...], str]] | None,
    versions: VersionPolicy,
) -> tuple[str | None, str]:
    if versions.only_enabled and not ext.enable_automatic_upgrade:
        return None, "automatic upgrade not enabled"
    if versions.opt_outs and any(selector_matches(o.selector, ext) for o in versions.opt_outs):
        return None, "opted out by policy"
    if not published:
        return None, "not in the catalog"
    newer = [(p, v) for p, v in published if p > installed]
    same_major = [(p, v) for p, v in newer if p[0] == installed[0]]
    candidates = newer if versions.allow_major else same_major
    if not candidates:
        return None, ("only a new major available" if newer else "up to date")
    pins = [p for p in versions.pins if selector_matches(p.selector, ext)] if versions.pins else []
    if pins:
        cap = min(parse_version(p.version) for p in pins)
        candidates = [(p, v) for p, v in candidates if p <= cap]
        if not candidates:
            return None, "pinned by policy"
    # Newest wins; among equal versions spelled differently ("9.5" and "9.5.0") the first listed wins.
    best = candidates[0]
    for c in candidates[1:]:
        if c[0] > best[0]:
            best = c
    return best[1], ""

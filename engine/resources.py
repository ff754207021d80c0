"""Paths of what ships inside the package: the bundled specs, proofs, sample fleet and fault script."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

DEFAULT_SPEC = "azure-default.wg"
SAMPLE_FLEET = "sample-fleet.json"
SAMPLE_FAULTS = "sample-faults.json"


def _path(package: str, name: str) -> Path:
    # Installed from a wheel or a checkout, packages are plain folders, so the traversable is a real path.
    return Path(str(resources.files(package).joinpath(name)))


def bundled_spec(name: str = DEFAULT_SPEC) -> Path:
    return _path("engine.bundled_specs", name)


def bundled_specs_dir() -> Path:
    return Path(str(resources.files("engine.bundled_specs")))


def bundled_proofs_dir() -> Path:
    return Path(str(resources.files("engine.bundled_proofs")))


def sample_fleet() -> Path:
    return _path("engine", f"data/{SAMPLE_FLEET}")


def sample_faults() -> Path:
    return _path("engine", f"data/{SAMPLE_FAULTS}")

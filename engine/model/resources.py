"""Paths of what ships inside the package: the bundled specs, proofs, sample fleet and fault script.

Installed from a wheel, specs/ and proofs/ are ``engine/bundled/specs`` and ``engine/bundled/proofs``; in a source
checkout (editable install, or tests run from the repository) they are the repository's top-level folders.  Both
layouts keep the two folders side by side, so a theorem file's ``theorems about "../specs/x.wg"`` resolves.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_SPEC = "azure-default.wg"
SAMPLE_FLEET = "sample-fleet.json"
SAMPLE_FAULTS = "sample-faults.json"

_ENGINE = Path(__file__).resolve().parent.parent  # engine/, where data/ and bundled/ are


def _bundled(kind: str) -> Path:
    installed = _ENGINE / "bundled" / kind
    if installed.is_dir():
        return installed
    return _ENGINE.parent / kind


def bundled_specs_dir() -> Path:
    return _bundled("specs")


def bundled_proofs_dir() -> Path:
    return _bundled("proofs")


def bundled_spec(name: str = DEFAULT_SPEC) -> Path:
    return bundled_specs_dir() / name


def sample_fleet() -> Path:
    return _ENGINE / "data" / SAMPLE_FLEET


def sample_faults() -> Path:
    return _ENGINE / "data" / SAMPLE_FAULTS

"""Golden files: compared byte for byte; a missing golden fails (it is never silently re-created).

After an intended change, regenerate with ``WAVEGATE_UPDATE_GOLDEN=1 python -m pytest <the test file>`` and review
the diff before committing (docs/CONTRIBUTING.md)."""

from __future__ import annotations

import os
from pathlib import Path

UPDATE = bool(os.environ.get("WAVEGATE_UPDATE_GOLDEN"))


def assert_golden(golden: Path, got: str) -> None:
    if UPDATE:
        golden.write_text(got, encoding="utf-8")
    assert golden.exists(), (f"golden file {golden} is missing: regenerate it with WAVEGATE_UPDATE_GOLDEN=1 "
                             "and review it before committing")
    assert got == golden.read_text(encoding="utf-8"), f"{golden.name} changed (WAVEGATE_UPDATE_GOLDEN=1 to accept)"

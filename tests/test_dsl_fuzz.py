"""CI runs the fuzz script with a small count: zero crashes, zero round-trip failures."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent.parent / "bench" / "fuzz_dsl.py"


def test_fuzz_small_count(capsys: object) -> None:
    spec = importlib.util.spec_from_file_location("fuzz_dsl", SCRIPT)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    stats = mod.run(600, seed=3)
    assert stats.inputs == 600
    assert stats.crashes == 0, stats.examples
    assert stats.roundtrip_failures == 0, stats.examples
    assert stats.parsed > 0 and stats.policies > 0

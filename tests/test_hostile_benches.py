"""The fuzzer and the crash test of issue 11 (bench/) run small, so that they keep working: 0 internal errors, 0
hangs, every killed run resumed to byte-identical outputs.  Their full-size figures are in the issue's note."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_format_fuzzer_finds_no_internal_error(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    fuzz = _bench("fuzz_formats")
    monkeypatch.setattr(sys, "argv", ["fuzz_formats", "--count", "100", "--seed", "7"])
    assert fuzz.main() == 0
    out = capsys.readouterr().out
    total = next(line for line in out.splitlines() if line.startswith("total"))
    assert total.split()[1] == "100" and total.split()[-2:] == ["0", "0"], out


def test_killed_runs_resume_to_the_same_bytes(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    crash = _bench("crash_resume")
    monkeypatch.setattr(sys, "argv", ["crash_resume", "--kills", "4", "--seed", "2", "--vms", "200"])
    assert crash.main() == 0
    out = capsys.readouterr().out
    assert "different                                     0" in out, out

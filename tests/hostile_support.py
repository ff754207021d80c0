"""Shared by the hostile-input tests (tests/test_hostile_*.py): the CLI run in-process, and valid inputs to mutate."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from engine.cli import app

FIX = Path(__file__).parent / "fixtures" / "fleets"
SPEC = FIX / "rules.wg"
FLEET = FIX / "rules.json"
runner = CliRunner()


def run(*args: str | Path) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of ``wavegate ARGS``; an exception other than SystemExit fails the test (an
    internal error is never a clean refusal)."""
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "internal error" not in r.stderr, r.stderr
    return r.exit_code, r.stdout, r.stderr


def fleet_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FLEET.read_text())
    return data


def mutated(tmp: Path, name: str, base: dict[str, Any], change: Callable[[dict[str, Any]], object]) -> Path:
    """Write ``base`` changed by ``change`` (which edits a deep copy in place) to ``tmp/name``."""
    data = copy.deepcopy(base)
    change(data)
    out = tmp / name
    out.write_text(json.dumps(data))
    return out

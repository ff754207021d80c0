"""`wavegate diff`: pairs of policies with known relations, distinguishing examples, exit codes."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dsl.loader import load_policy
from dsl.policy import Capacity, DistinctLimit, Duration, Percent, Policy
from engine.check.verify import verify_schedule
from engine.cli import app
from engine.model.fleet import parse_fleet
from engine.model.schedule import parse_schedule
from engine.prove.kinds.run_gates import elapsed_text
from engine.prove.policydiff import diff_policies

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


@pytest.fixture(scope="module")
def default() -> Policy:
    return load_policy(ROOT / "specs" / "azure-default.wg", ROOT)


def _batch(spec: Policy, pct: int) -> Policy:
    rules = tuple(replace(r, amount=replace(r.amount, value=Fraction(pct)))
                  if isinstance(r, Capacity) and isinstance(r.amount, Percent) else r for r in spec.rules)
    return replace(spec, rules=rules)


def _zones(spec: Policy, limit: int) -> Policy:
    rules = tuple(replace(r, limit=limit) if isinstance(r, DistinctLimit) and r.count == "zone" else r
                  for r in spec.rules)
    return replace(spec, rules=rules)


def test_equal(default: Policy) -> None:
    res = diff_policies(default, default)
    assert res.verdict == "equivalent" and res.exit_code == 0


def test_renamed_rules_are_still_equivalent(default: Policy) -> None:
    renamed = replace(default, rules=tuple(replace(r, name=r.name + "_v2") for r in default.rules))
    assert diff_policies(default, renamed).verdict == "equivalent"


def test_tightened(default: Policy) -> None:
    res = diff_policies(default, _batch(default, 10))
    assert res.verdict == "stricter" and res.exit_code == 0
    assert res.new_in_old.holds is True and res.old_in_new.holds is False


def test_loosened_with_a_replayed_distinguishing_example(default: Policy) -> None:
    new = _batch(default, 50)
    res = diff_policies(default, new)
    assert res.verdict == "looser" and res.exit_code == 1
    [d] = [d for d in res.new_in_old.differences if d.counterexample is not None]
    fleet, schedule = parse_fleet(d.counterexample.fleet), parse_schedule(d.counterexample.schedule)
    assert verify_schedule(new, fleet, schedule).ok
    assert not verify_schedule(default, fleet, schedule).ok


def test_incomparable(default: Policy) -> None:
    new = _zones(_batch(default, 10), 2)  # smaller batches, but two zones per wave
    res = diff_policies(default, new)
    assert res.verdict == "incomparable" and res.exit_code == 1
    assert any(d.item == "rule one_zone" for d in res.new_in_old.differences)
    assert any(d.item == "rule ss_batch" for d in res.old_in_new.differences)


def test_versions_allowing_majors_is_looser(default: Policy) -> None:
    new = replace(default, versions=replace(default.versions, allow_major=True))
    res = diff_policies(default, new)
    assert res.verdict == "looser"
    assert any(d.item == "versions" for d in res.new_in_old.differences)


def test_cli_stricter_team_policy_exits_0() -> None:
    res = runner.invoke(app, ["diff", str(ROOT / "specs" / "azure-default.wg"), str(ROOT / "specs" / "team-strict.wg")])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[0] == "stricter"


def test_cli_json_and_bad_input(tmp_path: Path) -> None:
    spec = str(ROOT / "specs" / "azure-default.wg")
    out = tmp_path / "d.json"
    res = runner.invoke(app, ["diff", spec, spec, "--format", "json", "-o", str(out)])
    assert res.exit_code == 0
    assert json.loads(out.read_text())["verdict"] == "equivalent"
    bad = tmp_path / "bad.wg"
    bad.write_text("policy x\nrule r: at most\n")
    res = runner.invoke(app, ["diff", spec, str(bad)])
    assert res.exit_code == 2
    assert "bad.wg:2" in res.output


def _durations_in(text: str) -> list[str]:
    return re.findall(r"\b\d+[smhd]\b", text)


def test_diff_renders_every_duration_one_way() -> None:
    """Issue 11: `diff` printed "10m" next to "300s".  Every duration in diff output reads as dsl.policy.Duration
    renders it (the largest whole unit), whichever policy it comes from."""
    default, strict = str(ROOT / "specs" / "azure-default.wg"), str(ROOT / "specs" / "team-strict.wg")
    for old, new in ((default, strict), (strict, default)):
        out = runner.invoke(app, ["diff", old, new]).output
        assert "health wait 10m is not matched (the other policy waits 5m)" in out, out
        assert "started 0s after the last one, less than 2m" in out
        # Extension selectors read as everywhere else (engine.model.text.selector_text).
        assert 'no longer opts out extension publisher "Microsoft.Azure.Monitor" type "AzureMonitorLinuxAgent"' in out
        for text in _durations_in(out):
            assert str(Duration(_seconds(text))) == text, text


def _seconds(text: str) -> int:
    return int(text[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[text[-1]]


def test_elapsed_time_in_run_claims_uses_the_duration_rendering() -> None:
    assert elapsed_text(0.0) == "0s"
    assert elapsed_text(2.0) == "2m"
    assert elapsed_text(1.5) == "90s"
    assert elapsed_text(0.1) == "6s"  # 0.1 min is 6.000000000000001 s in floating point
    assert elapsed_text(1999 / 1000) == "119s"  # rounded down: never shown as long as the pause it falls short of

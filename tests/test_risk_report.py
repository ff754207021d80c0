"""The report's statistics: the Wilson interval, nearest-rank percentiles, causes counted once per scenario."""

from __future__ import annotations

import exec_support as X
import pytest

from engine.risk.outcomes import HaltRecord, ScenarioOutcome
from engine.risk.report import RiskContext, build_report, duration_text, nearest_rank, render_text, wilson


@pytest.mark.parametrize(("k", "n", "lo", "hi"), [
    (0, 1000, 0.0, 0.003827), (1000, 1000, 0.996173, 1.0), (50, 100, 0.403832, 0.596168), (1, 10, 0.017876, 0.404150),
])
def test_wilson_interval(k: int, n: int, lo: float, hi: float) -> None:
    a, b = wilson(k, n)
    assert a == pytest.approx(lo, abs=1e-6) and b == pytest.approx(hi, abs=1e-6)


def test_nearest_rank_is_an_observed_value() -> None:
    values = list(range(1, 21))
    assert nearest_rank(values, 50) == 10 and nearest_rank(values, 95) == 19 and nearest_rank(values, 100) == 20
    assert nearest_rank([7], 95) == 7
    assert duration_text(0) == "0m" and duration_text(3600 * 26 + 90) == "1d 2h 2m"


def _outcome(index: int, halts: tuple[HaltRecord, ...], seconds: int, failed: int = 0) -> ScenarioOutcome:
    return ScenarioOutcome(index=index, seed=100 + index, outcome="halted" if halts or failed else "completed",
                           seconds=seconds, tasks=10, succeeded=10 - len(halts) - failed,
                           not_succeeded={"failed": failed} if failed else {}, rolled_back=len(halts), retried=failed,
                           vms_left_old=len(halts), halts=halts, held=None, faults={"slow_installs": index},
                           events=1, log="0" * 16)


def test_causes_regions_and_worst_scenarios() -> None:
    stop = HaltRecord("stopped", "stop_upgraded", "scale set a", "eastus", 60)
    stop_b = HaltRecord("stopped", "stop_upgraded", "scale set b", None, 90)
    outcomes = [_outcome(0, (stop, stop_b), 600), _outcome(1, (), 300), _outcome(2, (stop,), 900), _outcome(3, (), 300, 2)]
    ctx = RiskContext(X.policy(), "f.json", "m.json", 3, 10, 0, 1260, "wavegate simulate --model m.json")
    report = build_report(outcomes, ctx)
    assert report["halted"] == 3 and report["p_halt"] == 0.75
    causes = {(c["rule"], c["what"]): c["scenarios"] for c in report["causes"]}
    assert causes == {("stop_upgraded", "stopped"): 2, ("retry", "failed after retries"): 1}  # once per scenario
    assert [(r["region"], r["scenarios"]) for r in report["regions"]] == [("eastus", 2), ("(several regions)", 1)]
    assert [w["seed"] for w in report["worst"]] == [100, 103, 102, 101]  # 2, 2, 1, 0 tasks not upgraded
    assert report["finish_minutes"] == {"p50": 5.0, "p95": 15.0, "max": 15.0, "nominal": 21.0}
    assert "finish_utc" not in report and all("finish_utc" not in w for w in report["worst"])  # no calendar
    text = render_text(report)
    assert "P(halt) 75.0%" in text and "replay one: wavegate simulate --model m.json --seed 100" in text
    assert "stop_upgraded" in text and "spec.wg:12:3" in text


def test_with_a_calendar_the_finish_is_also_given_as_utc_instants() -> None:
    outcomes = [_outcome(0, (), 600), _outcome(1, (), 300), _outcome(2, (), 86400 + 75)]
    plain = build_report(outcomes, RiskContext(X.policy(), "f.json", "m.json", 3, 10, 0, 1260, "wavegate simulate"))
    ctx = RiskContext(X.policy(), "f.json", "m.json", 3, 10, 0, 1260, "wavegate simulate", "2026-12-31T23:00:00Z")
    report = build_report(outcomes, ctx)
    assert report["finish_minutes"] == plain["finish_minutes"]  # the virtual durations as without a calendar
    assert report["finish_utc"] == {"start": "2026-12-31T23:00:00Z", "p50": "2026-12-31T23:10:00Z",
                                    "p95": "2027-01-01T23:01:15Z", "max": "2027-01-01T23:01:15Z"}
    assert [w["finish_utc"] for w in report["worst"]][:1] == ["2027-01-01T23:01:15Z"]
    text = render_text(report)
    assert "finish (UTC)  P50 2026-12-31 23:10   P95 2027-01-01 23:01   max 2027-01-01 23:01" in text
    assert "(start 2026-12-31 23:00)" in text
    assert render_text(plain) == text.replace(text.splitlines()[5] + "\n", "")  # one line more, nothing else
    assert all(len(line) <= 110 for line in text.splitlines())

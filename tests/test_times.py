"""Time rules end to end: the calendar (time zones, daylight saving, windows across midnight, month-end recurrences),
the normative check of each time kind, the planner's calendar, and the unchanged schedules of policies without
time rules."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dsl.diagnostics import Span
from dsl.formatter import format_text
from dsl.loader import check_source, load_policy, load_theorems
from dsl.policy import Bake, DaySpec, Freeze, InstallTime, Policy, Window
from engine.check.verify import verify_schedule
from engine.cli import app
from engine.model.calendar import (
    format_instant,
    freeze_interval,
    inside,
    next_fit,
    openings,
    parse_instant,
    zone,
)
from engine.model.errors import CalendarUnplaced, Infeasible, InputError, MonitorBreach
from engine.model.fleet import Fleet, load_fleet, parse_fleet
from engine.model.resources import bundled_spec, sample_fleet
from engine.model.schedule import Schedule
from engine.plan.synthesis import plan
from engine.prove.policydiff import diff_policies
from engine.prove.prover import prove_claim, prove_theorem
from engine.run.calendar import RunCalendar
from engine.run.driver import SimDriver
from engine.run.events import MemorySink
from engine.run.executor import RunResult, execute

ROOT = Path(__file__).resolve().parent.parent
SPAN = Span("t.wg", 1, 1, 1, 10)
BERLIN = zone("Europe/Berlin")


def at(text: str) -> int:
    return parse_instant(text)


def win(days: tuple[DaySpec, ...], start: str, end: str, tz: str = "Europe/Berlin") -> Window:
    h = lambda s: int(s[:2]) * 60 + int(s[3:])  # noqa: E731
    return Window("w", SPAN, days=days, start=h(start), end=h(end), zone=tz)


SAT, SUN = DaySpec(weekday=5), DaySpec(weekday=6)

# -- the calendar ----------------------------------------------------------------------------------------------


def test_weekend_night_window_crosses_midnight_in_local_time() -> None:
    w = win((SAT, SUN), "22:00", "06:00")
    # Saturday 2026-12-05 22:00 CET is 21:00 UTC; the opening ends Sunday 06:00 CET (05:00 UTC).
    got = [(format_instant(s), format_instant(e)) for s, e in openings(w, BERLIN, at("2026-12-02T00:00Z"),
                                                                     at("2026-12-08T00:00Z"))]
    assert got == [("2026-12-05T21:00:00Z", "2026-12-06T05:00:00Z"), ("2026-12-06T21:00:00Z", "2026-12-07T05:00:00Z")]
    assert inside(w, BERLIN, at("2026-12-06T04:00Z"), at("2026-12-06T05:00Z"))
    assert not inside(w, BERLIN, at("2026-12-06T04:30Z"), at("2026-12-06T05:01Z"))
    assert next_fit(w, BERLIN, at("2026-12-06T04:59Z"), 120) == at("2026-12-06T21:00Z")


def test_dst_spring_forward_shortens_the_night_in_utc() -> None:
    # Berlin moves to CEST on the last Sunday of March (2027-03-28, 02:00 -> 03:00): the Saturday night opening
    # 22:00 CET -> 06:00 CEST lasts 7 hours.
    w = win((SAT,), "22:00", "06:00")
    (s, e), = openings(w, BERLIN, at("2027-03-27T12:00Z"), at("2027-03-28T12:00Z"))
    assert (format_instant(s), format_instant(e)) == ("2027-03-27T21:00:00Z", "2027-03-28T04:00:00Z")
    assert e - s == 7 * 3600


def test_dst_fall_back_lengthens_the_night_and_a_skipped_wall_time_is_read_before_the_change() -> None:
    # Back to CET on the last Sunday of October (2026-10-25, 03:00 CEST -> 02:00 CET): 9 hours.
    w = win((SAT,), "22:00", "06:00")
    (s, e), = openings(w, BERLIN, at("2026-10-24T12:00Z"), at("2026-10-25T12:00Z"))
    assert e - s == 9 * 3600
    # 02:30 does not exist on 2027-03-28 in Berlin: fold=0 reads it with the CET offset (= 03:30 CEST = 01:30 UTC).
    spring = win((SUN,), "02:30", "04:00")
    (s, _), = openings(spring, BERLIN, at("2027-03-28T00:00Z"), at("2027-03-28T06:00Z"))
    assert format_instant(s) == "2027-03-28T01:30:00Z"


@pytest.mark.parametrize(("day", "month", "want"), [
    (DaySpec(weekday=4, nth=-1), "2027-04", "2027-04-30"),  # Last Friday of April 2027
    (DaySpec(weekday=1, nth=2), "2026-12", "2026-12-08"),  # Second Tuesday of December 2026
    (DaySpec(month_day=-1), "2027-02", "2027-02-28"),  # Last day of February
    (DaySpec(month_day=31), "2027-01", "2027-01-31"),
])
def test_monthly_recurrences(day: DaySpec, month: str, want: str) -> None:
    w = win((day,), "01:00", "05:00", "UTC")
    lo = at(f"{month}-01T00:00Z")
    (s, _), = openings(w, zone("UTC"), lo, lo + 27 * 86400 + 86400 * 4 - 1 if month != "2027-02" else lo + 28 * 86400)
    assert format_instant(s) == f"{want}T01:00:00Z"


def test_the_31st_skips_months_without_one() -> None:
    w = win((DaySpec(month_day=31),), "01:00", "05:00", "UTC")
    got = [format_instant(s)[:10] for s, _ in openings(w, zone("UTC"), at("2027-02-01T00:00Z"), at("2027-06-01T00:00Z"))]
    assert got == ["2027-03-31", "2027-05-31"]


def test_touching_openings_merge_so_a_wave_may_cross_midnight_of_two_open_days() -> None:
    w = win((SAT, SUN), "00:00", "24:00", "UTC")
    assert inside(w, zone("UTC"), at("2026-12-05T23:00Z"), at("2026-12-06T01:00Z"))
    assert not inside(w, zone("UTC"), at("2026-12-06T23:00Z"), at("2026-12-07T01:00Z"))


def test_freeze_dates_cover_whole_days_in_their_zone() -> None:
    f = Freeze("f", SPAN, start="2026-12-20T00:00", end="2027-01-05T00:00", zone="Europe/Berlin")
    s, e = freeze_interval(f, BERLIN)
    assert (format_instant(s), format_instant(e)) == ("2026-12-19T23:00:00Z", "2027-01-04T23:00:00Z")


# -- language --------------------------------------------------------------------------------------------------


def test_language_reads_windows_freezes_bakes() -> None:
    text = ('policy p\nrule w: upgrade only Saturday,Sunday 22:00-06:00 in "Europe/Berlin" where vm.tags.env == "prod"\n'
            'rule f: never from 2026-12-20 to 2027-01-04\ngate b: bake 24h after each phase\n'
            'gate r: bake 4h after the first wave of each region\nrule i: install takes 3m\n')
    res = check_source(text, "p.wg")
    assert res.ok and res.policy is not None
    kinds = {type(t) for t in res.policy.times}
    assert kinds == {Window, Freeze, Bake, InstallTime}
    assert res.policy.rules == () and res.policy.gates == ()
    f = next(t for t in res.policy.times if isinstance(t, Freeze))
    assert (f.start, f.end) == ("2026-12-20T00:00", "2027-01-05T00:00")
    assert f.span.line == 3


def test_a_second_install_time_is_an_error() -> None:
    res = check_source("policy p\nrule a: install takes 2m\nrule b: install takes 3m\n", "p.wg")
    assert [d.code for d in res.diagnostics] == ["E214"]


# -- checker and planner ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def team() -> tuple[Policy, Fleet, Schedule]:
    policy = load_policy(ROOT / "specs" / "team-windows.wg")
    fleet = load_fleet(sample_fleet())
    result = plan(policy, fleet, start=at("2026-12-02T00:00Z"))
    return policy, fleet, result.schedule


def test_team_policy_plans_the_sample_with_a_calendar(team: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, s = team
    assert s.start == "2026-12-02T00:00:00Z" and s.finish is not None
    assert all(w.start is not None and w.end is not None for w in s.waves)
    assert verify_schedule(policy, fleet, s).ok
    assert s.finish.lower_bound <= s.finish.planned
    assert s.finish.set_by and s.finish.critical_path
    # Prod VMs run only on weekend nights in Berlin.
    prod = {v.name for v in fleet.vms if v.tags.get("env") == "prod"}
    for w in s.waves:
        if any(t.vm in prod for t in w.tasks):
            local = dt.datetime.fromtimestamp(at(w.start or ""), BERLIN)
            assert local.weekday() in (5, 6, 0) and (local.hour >= 22 or local.hour < 6)


def test_a_task_moved_outside_its_window_is_refused_with_the_rules_span(team: tuple[Policy, Fleet,
                                                                                      Schedule]) -> None:
    policy, fleet, s = team
    prod = {v.name for v in fleet.vms if v.tags.get("env") == "prod"}
    data = json.loads(s.to_json())
    # Move the schedule's first wave to a Wednesday noon (Berlin): outside the weekend nights.
    w0 = data["waves"][0]
    assert any(t["vm"] in prod for t in w0["tasks"])
    w0["start"], w0["end"] = "2026-12-02T11:00:00Z", "2026-12-02T11:06:00Z"
    report = verify_schedule(policy, fleet, Schedule.model_validate(data))
    broken = [v for v in report.violations if v.rule == "prod_nights"]
    assert broken and broken[0].wave == 0
    window = policy.rule("prod_nights")
    assert window is not None and broken[0].span == window.span
    assert "outside the window Saturday,Sunday 22:00-06:00 Europe/Berlin" in broken[0].message


def test_a_wave_in_the_freeze_and_a_short_bake_are_refused(team: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, s = team
    data = json.loads(s.to_json())
    last = data["waves"][-1]
    last["start"], last["end"] = "2026-12-26T22:00:00Z", "2026-12-26T22:10:00Z"  # a Saturday night, frozen
    rules = {v.rule for v in verify_schedule(policy, fleet, Schedule.model_validate(data)).violations}
    assert "year_end" in rules
    data = json.loads(s.to_json())
    first_of_phase_1 = next(w for w in data["waves"] if w["phase"] == 1)
    prev = data["waves"][first_of_phase_1["index"] - 1]
    first_of_phase_1["start"] = prev["end"]
    rules = {v.rule for v in verify_schedule(policy, fleet, Schedule.model_validate(data)).violations}
    assert "bake" in rules


def test_a_timed_policy_refuses_a_schedule_without_times(team: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, _ = team
    plain = plan(load_policy(bundled_spec()), fleet).schedule
    report = verify_schedule(policy, fleet, plain)
    assert any(v.rule == "calendar" and "no start" in v.message for v in report.violations)


def test_policies_without_time_rules_keep_their_schedule_bytes() -> None:
    fleet = load_fleet(sample_fleet())
    s = plan(load_policy(bundled_spec()), fleet).schedule
    text = s.to_json()
    assert '"start"' not in text and '"finish"' not in text and '"end"' not in text
    assert Schedule.model_validate(json.loads(text)).to_json() == text


def test_the_wave_lengths_follow_the_install_time(team: tuple[Policy, Fleet, Schedule]) -> None:
    _, fleet, _ = team
    text = (ROOT / "specs" / "team-windows.wg").read_text() + "\nrule install: install takes 10m\n"
    res = check_source(text, str(ROOT / "specs" / "team-windows-10m.wg"), ROOT)
    assert res.policy is not None, res.diagnostics
    s = plan(res.policy, fleet, start=at("2026-12-02T00:00Z")).schedule
    for w in s.waves:
        chain = max(sum(1 for t in w.tasks if t.vm == vm) for vm in {t.vm for t in w.tasks})
        assert at(w.end or "") - at(w.start or "") == 600 * chain


# -- executor ----------------------------------------------------------------------------------------------------


def _healthy(fleet: Fleet) -> Fleet:
    data = json.loads(fleet.to_json())
    for vm in data["vms"]:
        vm["healthy"] = True
    return parse_fleet(data, "<healthy sample>")


@pytest.fixture(scope="module")
def healthy_run(team: tuple[Policy, Fleet, Schedule]) -> tuple[Policy, Fleet, Schedule, list[dict[str, object]],
                                                                 RunResult]:
    policy, fleet, _ = team
    healthy = _healthy(fleet)
    s = plan(policy, healthy, start=at("2026-12-02T00:00Z")).schedule
    sink = MemorySink()
    result = execute(policy, healthy, s, SimDriver(healthy), sink)
    return policy, healthy, s, [json.loads(line) for line in sink.lines], result


def test_the_executor_waits_for_windows_and_bakes_and_completes(healthy_run: tuple[Any, ...]) -> None:
    policy, fleet, s, events, result = healthy_run
    assert result.outcome == "completed"
    kinds = {e["event"] for e in events}
    assert {"window_wait", "bake_started", "bake_finished"} <= kinds
    base = at(s.start or "")
    prod = {v.name for v in fleet.vms if v.tags.get("env") == "prod"}
    window = policy.rule("prod_nights")
    for e in events:
        if e["event"] == "install_started" and e["vm"] in prod:
            assert inside(window, BERLIN, base + round(e["time"] * 60), base + round(e["time"] * 60))
    # The simulated finish is not before the planned one (installs take at least the planned time).
    assert s.finish is not None and base + result.duration >= at(s.finish.planned)


def test_phase_bake_is_waited_out_between_phases(healthy_run: tuple[Any, ...]) -> None:
    _, _, _, events, _ = healthy_run
    finished = next(e for e in events if e["event"] == "phase_finished")
    started = [e for e in events if e["event"] == "phase_started"][1]
    assert started["time"] - finished["time"] >= 24 * 60
    bake = next(e for e in events if e["event"] == "bake_started" and e["detail"].get("after") == "phase")
    assert bake["rule"] == "bake"


def test_a_freeze_mid_rollout_lets_running_batches_finish_and_resumes_after_it() -> None:
    fleet = _healthy(load_fleet(sample_fleet()))
    text = ('policy p\nextends "azure-default.wg"\nrule freeze: never from 2026-12-02T00:10 to 2026-12-03T00:00\n')
    res = check_source(text, str(ROOT / "specs" / "freeze-test.wg"), ROOT)
    assert res.policy is not None, res.diagnostics
    plain = plan(load_policy(bundled_spec()), fleet).schedule
    data = json.loads(plain.to_json())
    data["start"] = "2026-12-02T00:00:00Z"  # no wave times: the executor follows the policy, not the plan
    sink = MemorySink()
    result = execute(res.policy, fleet, Schedule.model_validate(data), SimDriver(fleet), sink)
    events = [json.loads(line) for line in sink.lines]
    waits = [e for e in events if e["event"] == "window_wait"]
    assert waits and all(e["rule"] == "freeze" and e["detail"]["until"] == "2026-12-03T00:00:00Z" for e in waits)
    starts = [e["time"] for e in events if e["event"] == "batch_started"]
    assert all(t < 10 or t >= 24 * 60 for t in starts)  # none starts inside the freeze (minutes from the start)
    ends = [e["time"] for e in events if e["event"] == "batch_finished"]
    assert any(10 < t < 24 * 60 for t in ends)  # a batch running at 00:10 finished inside the freeze
    assert result.outcome == "completed"


def test_a_policy_with_windows_refuses_a_schedule_without_a_start(team: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, _ = team
    plain = plan(load_policy(bundled_spec()), fleet).schedule
    with pytest.raises(InputError, match="no start"):
        execute(policy, fleet, plain, SimDriver(fleet), MemorySink())


def test_the_window_monitor_catches_a_batch_started_outside_its_window(team: tuple[Policy, Fleet, Schedule]) -> None:
    policy, fleet, s = team
    healthy = _healthy(fleet)
    no_wait = RunCalendar.wait
    try:
        RunCalendar.wait = lambda self, vms, t: None  # type: ignore[method-assign]  # an executor that ignores windows
        with pytest.raises(MonitorBreach, match="outside window prod_nights"):
            execute(policy, healthy, s, SimDriver(healthy), MemorySink())
    finally:
        RunCalendar.wait = no_wait  # type: ignore[method-assign]


# -- prover ------------------------------------------------------------------------------------------------------


def test_the_team_theorems_are_proven() -> None:
    tf = load_theorems(ROOT / "proofs" / "team-windows.wg")
    results = [prove_theorem(tf.spec, th) for th in tf.theorems]
    assert [r.status for r in results] == ["proven"] * len(results), [r.message for r in results]


@pytest.mark.parametrize(("claim", "status"), [
    ('upgrade only Saturday 22:00-06:00 in "Europe/Berlin" where vm.tags.env == "prod"', "refuted"),
    ('upgrade only Saturday,Sunday 22:00-06:00 in "Europe/Berlin"', "refuted"),
    ('upgrade only Friday,Saturday,Sunday 20:00-07:00 in "Europe/Berlin" where vm.tags.env == "prod"', "proven"),
    ("bake 48h after each phase", "refuted"),
    ("bake 12h after each phase", "proven"),
    ("never from 2027-02-01 to 2027-02-10", "refuted"),
    ("never from 2026-12-24 to 2026-12-26", "proven"),
    ("install takes 5m", "refuted"),
])
def test_time_claims_are_proven_or_refuted_with_a_replayed_counterexample(claim: str, status: str) -> None:
    spec = load_policy(ROOT / "specs" / "team-windows.wg")
    word = "gate" if claim.startswith("bake") else "rule"
    res = check_source(f"policy c\n{word} c: {claim}\n", "c.wg")
    assert res.policy is not None, res.diagnostics
    out = prove_claim(spec, res.policy.times[0])
    assert out.status == status, out.message
    if status == "refuted":
        assert out.counterexample is not None and out.counterexample.schedule is not None
        assert out.counterexample.schedule.get("start")


# -- the command line --------------------------------------------------------------------------------------------


def _cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout + r.stderr


def test_plan_verify_simulate_agree_on_the_team_calendar(tmp_path: Path) -> None:
    spec = str(ROOT / "specs" / "team-windows.wg")
    healthy = tmp_path / "fleet.json"
    healthy.write_text(_healthy(load_fleet(sample_fleet())).to_json())
    out = tmp_path / "s.json"
    code, text = _cli("plan", "-s", spec, "-f", str(healthy), "--start", "2026-12-02T00:00Z", "-o", str(out), "-q")
    assert code == 0, text
    assert "start: 2026-12-02T00:00:00Z" in text and "finish: " in text and "finish set by:" in text
    assert "critical path:" in text
    code, text = _cli("verify", "-s", spec, "-f", str(healthy), str(out))
    assert code == 0, text
    faults = tmp_path / "none.json"
    faults.write_text('{"bad_versions": [], "vm_failures": [], "slow_installs": [], "maintenance": []}')
    code, text = _cli("simulate", "-s", spec, "-f", str(healthy), "--schedule", str(out), "--faults", str(faults))
    assert code == 0, text
    planned = json.loads(out.read_text())["finish"]["planned"]
    assert f"calendar: planned finish {planned}, simulated finish " in text


def test_verify_refuses_a_task_moved_outside_its_window_with_the_rules_span(tmp_path: Path) -> None:
    spec = ROOT / "specs" / "team-windows.wg"
    out = tmp_path / "s.json"
    assert _cli("plan", "-s", str(spec), "--start", "2026-12-02T00:00Z", "-o", str(out), "-q")[0] == 0
    data = json.loads(out.read_text())
    data["waves"][0]["start"], data["waves"][0]["end"] = "2026-12-02T11:00:00Z", "2026-12-02T11:06:00Z"
    out.write_text(json.dumps(data))
    code, text = _cli("verify", "-s", str(spec), str(out))
    assert code == 1
    line = next(n for n, t in enumerate(spec.read_text().splitlines(), 1) if t.startswith("rule prod_nights"))
    assert "prod_nights (" in text and f"team-windows.wg:{line}:1" in text and "outside the window" in text


def test_plan_refuses_a_bad_start() -> None:
    code, text = _cli("plan", "-s", str(ROOT / "specs" / "team-windows.wg"), "--start", "tomorrow")
    assert code == 2 and "--start" in text


def test_an_always_open_window_does_not_prove_a_narrower_claim() -> None:
    every = ",".join(("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"))
    spec = check_source(f"policy s\nrule open: upgrade only {every} 00:00-24:00\n", "s.wg").policy
    claim = check_source("policy c\nrule c: upgrade only Saturday 22:00-06:00\n", "c.wg").policy
    assert spec is not None and claim is not None
    assert prove_claim(spec, claim.times[0]).status == "refuted"
    wider = check_source(f"policy c\nrule c: upgrade only {every} 00:00-24:00 in \"UTC\"\n", "c.wg").policy
    assert wider is not None and prove_claim(spec, wider.times[0]).status == "proven"


@pytest.mark.parametrize(("spec_where", "claim_where"), [
    ('scale_set.upgrade_mode != "rolling"', None),
    ('not vm.tags.tier in ["web", "db"]', 'scale_set.name != "ss1"'),
])
def test_a_window_on_fewer_vms_does_not_prove_a_claim_on_more(spec_where: str, claim_where: str | None) -> None:
    """Regression (bench/prove_fuzz.py's calendar cases, seed 4): the spec's window strings were not interned, so
    its `!= "x"` read as always true and the window was taken to cover every VM the claim names: proven, while a
    VM in a rolling scale set (a prod tier VM) upgrades outside the claimed window."""
    window = 'upgrade only Monday,Tuesday 22:00-18:00 in "Asia/Kolkata"'
    spec = check_source(f"policy s\nrule w: {window} where {spec_where}\n", "s.wg").policy
    tail = f" where {claim_where}" if claim_where else ""
    claim = check_source(f"policy c\nrule c: {window}{tail}\n", "c.wg").policy
    assert spec is not None and claim is not None
    assert prove_claim(spec, claim.times[0]).status != "proven"
    same = check_source(f"policy c\nrule c: {window} where {spec_where}\n", "c.wg").policy
    assert same is not None and prove_claim(spec, same.times[0]).status == "proven"


@pytest.mark.parametrize("where", ["", ' where vm.tags.env == "prod"'])
def test_a_false_rule_claim_under_a_timed_spec_is_refuted_on_its_calendar(where: str) -> None:
    """A rule claim's witness knows nothing of windows: it was 'unknown' under any spec with time rules (the replay
    found no start).  It is now placed on the spec's calendar (engine.prove.timed), and the refutation is a timed
    schedule the spec accepts: for a prod VM, inside the weekend-night window in Berlin."""
    spec = load_policy(ROOT / "specs" / "team-windows.wg")
    claim = check_source(f"policy c\nrule c: at most 5% of a scale_set per wave{where}\n", "c.wg").policy
    assert claim is not None
    out = prove_claim(spec, claim.rules[0])
    assert out.status == "refuted", out.message
    cex = out.counterexample
    assert cex is not None and cex.schedule is not None and cex.schedule.get("start")
    fleet = parse_fleet(cex.fleet, "<cex>")
    schedule = Schedule.model_validate(cex.schedule)
    assert verify_schedule(spec, fleet, schedule).ok
    if where:
        start = dt.datetime.fromisoformat(schedule.waves[0].start.replace("Z", "+00:00"))  # type: ignore[union-attr]
        local = start.astimezone(zone("Europe/Berlin"))
        assert local.weekday() in (5, 6, 0) and (local.hour >= 22 or local.hour < 6)


def test_time_claims_on_a_spec_without_time_rules_are_refuted_by_an_untimed_schedule() -> None:
    claim = check_source("policy c\nrule c: install takes 1m\n", "c.wg").policy
    assert claim is not None
    out = prove_claim(load_policy(bundled_spec()), claim.times[0])
    assert out.status == "refuted" and "no time rules" in out.message
    assert out.counterexample is not None and out.counterexample.schedule is not None
    assert "start" not in out.counterexample.schedule


def test_diff_sees_the_time_rules() -> None:
    old, new = load_policy(bundled_spec()), load_policy(ROOT / "specs" / "team-windows.wg")
    assert diff_policies(old, new).verdict == "stricter"
    assert diff_policies(new, new).verdict == "equivalent"


@pytest.mark.parametrize(("install", "verdict"), [("1m", "looser"), ("2m", "equivalent"), ("5m", "stricter")])
def test_diff_reads_the_nominal_install_time_that_time_rules_imply(install: str, verdict: str) -> None:
    """Regression: with time rules and no `install takes`, the checker holds each wave to the nominal 2m per install;
    adding `install takes 1m` came out "equivalent" though the old policy refuses the new one's 1-minute waves."""
    window = "rule w: upgrade only Saturday 00:00-24:00\n"
    old = check_source(f"policy old\n{window}", "old.wg").policy
    new = check_source(f"policy new\n{window}rule fast: install takes {install}\n", "new.wg").policy
    assert old is not None and new is not None
    res = diff_policies(old, new)
    assert res.verdict == verdict
    for d in (res.new_in_old, res.old_in_new):
        for x in d.differences:
            assert x.status == "refuted" and x.counterexample is not None  # replayed, shown with its fleet


# -- zones from a VM tag -----------------------------------------------------------------------------------------


def _tagged_fleet(tags: list[dict[str, str]]) -> Fleet:
    return parse_fleet({
        "regions": [{"name": "r", "pair": None, "zones": 0}],
        "catalog": [{"publisher": "P", "type": "MON", "versions": ["1.0", "1.1"]}],
        "scale_sets": [], "availability_sets": [],
        "vms": [{"name": f"vm-{i}", "region": "r", "subscription": "s", "tags": t,
                 "extensions": [{"name": "mon", "publisher": "P", "type": "MON", "version": "1.0",
                                 "enable_automatic_upgrade": True}]} for i, t in enumerate(tags)],
    }, "<tagged>")


TAGGED = 'policy p\nrule nights: upgrade only Saturday 01:00-03:00 in tag "tz" where has tag "tz"\n'


def test_a_window_in_each_vms_tag_zone() -> None:
    policy = check_source(TAGGED, "p.wg").policy
    assert policy is not None
    fleet = _tagged_fleet([{"tz": "Asia/Tokyo"}, {"tz": "America/New_York"}, {}])
    s = plan(policy, fleet, start=at("2026-12-02T00:00Z")).schedule
    assert verify_schedule(policy, fleet, s).ok
    wave_of = {t.vm: w for w in s.waves for t in w.tasks}
    tokyo, ny = wave_of["vm-0"], wave_of["vm-1"]
    assert tokyo.index != ny.index or tokyo.start == ny.start  # one wave cannot fit both 2h windows 14h apart
    # Saturday 01:00 Tokyo is Friday 16:00 UTC; Saturday 01:00 New York (EST) is 06:00 UTC.
    assert tokyo.start == "2026-12-04T16:00:00Z"
    assert at(ny.start or "") >= at("2026-12-05T06:00Z")
    # vm-2 has no tag: the window does not select it.
    assert not any(v.rule == "nights" for v in verify_schedule(policy, fleet, s).violations)


def test_a_selected_vm_without_a_valid_zone_tag_is_bad_input_and_a_violation() -> None:
    policy = check_source('policy p\nrule nights: upgrade only Saturday 01:00-03:00 in tag "tz"\n', "p.wg").policy
    assert policy is not None
    fleet = _tagged_fleet([{"tz": "Mars/Olympus"}])
    with pytest.raises(InputError, match="is not a time zone"):
        plan(policy, fleet, start=at("2026-12-02T00:00Z"))
    s = plan(load_policy(bundled_spec()), fleet).schedule
    data = json.loads(s.to_json())
    data["start"] = "2026-12-02T00:00:00Z"
    data["waves"][0]["start"], data["waves"][0]["end"] = "2026-12-05T01:00:00Z", "2026-12-05T01:02:00Z"
    report = verify_schedule(policy, fleet, Schedule.model_validate(data))
    assert any(v.rule == "nights" and "is not a time zone" in v.message for v in report.violations)


def test_a_window_in_each_regions_zone_from_the_fleet() -> None:
    text = "policy p\nrule nights: upgrade only Saturday 01:00-03:00 in the region zone\n"
    policy = check_source(text, "p.wg").policy
    assert policy is not None and policy.times[0].zone_region  # type: ignore[union-attr]
    assert format_text(text, "p.wg")[0] == text
    data = json.loads(_tagged_fleet([{}, {}]).to_json())
    data["regions"] = [{"name": "r", "pair": None, "zones": 0, "time_zone": "Asia/Tokyo"}]
    fleet = parse_fleet(data, "<tokyo>")
    assert '"time_zone": "Asia/Tokyo"' in fleet.to_json()
    s = plan(policy, fleet, start=at("2026-12-02T00:00Z")).schedule
    assert s.waves[0].start == "2026-12-04T16:00:00Z" and verify_schedule(policy, fleet, s).ok
    data["regions"][0]["time_zone"] = "Asia/Tokio"
    with pytest.raises(InputError, match="unknown time zone"):
        parse_fleet(data, "<typo>")


# -- bakes after a region's first zone, and after each wave ------------------------------------------------------


def _zoned_fleet() -> Fleet:
    return parse_fleet({
        "regions": [{"name": "r", "pair": None, "zones": 2}],
        "catalog": [{"publisher": "P", "type": "MON", "versions": ["1.0", "1.1"]}],
        "scale_sets": [], "availability_sets": [],
        "vms": [{"name": f"vm-{z}-{i}", "region": "r", "zone": str(z), "subscription": "s",
                 "extensions": [{"name": "mon", "publisher": "P", "type": "MON", "version": "1.0",
                                 "enable_automatic_upgrade": True}]} for z in (1, 2) for i in range(2)],
    }, "<zoned>")


@pytest.mark.parametrize("bake", ["bake 1h after the first zone of each region", "bake 30m after each wave"])
def test_zone_and_wave_bakes_are_planned_verified_and_run(bake: str) -> None:
    text = f"policy p\nrule one_zone: at most 1 zone per region per wave\ngate b: {bake}\n"
    policy = check_source(text, "p.wg").policy
    assert policy is not None
    fleet = _zoned_fleet()
    s = plan(policy, fleet, start=at("2026-12-02T00:00Z")).schedule
    assert len(s.waves) == 2 and verify_schedule(policy, fleet, s).ok
    gap = at(s.waves[1].start or "") - at(s.waves[0].end or "")
    assert gap == (3600 if "zone" in bake else 1800)
    data = json.loads(s.to_json())
    data["waves"][1]["start"] = data["waves"][0]["end"]
    data["waves"][1]["end"] = data["waves"][1]["start"][:-3] + "59Z"  # any end: the bake is broken first
    assert any(v.rule == "b" for v in verify_schedule(policy, fleet, Schedule.model_validate(data)).violations)
    sink = MemorySink()
    result = execute(policy, fleet, s, SimDriver(fleet), sink)
    events = [json.loads(line) for line in sink.lines]
    assert result.outcome == "completed"
    starts = [e["time"] for e in events if e["event"] == "batch_started"]
    ends = [e["time"] for e in events if e["event"] == "wave_finished"]
    assert min(t for t in starts if t > ends[0]) - ends[0] >= (60 if "zone" in bake else 30)
    assert any(e["event"] == "bake_started" for e in events)


# -- properties of the calendar ----------------------------------------------------------------------------------

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata")


@settings(max_examples=60, deadline=None)
@given(days=st.sets(st.integers(0, 6), min_size=1), start=st.integers(0, 47), end=st.integers(1, 48),
       zone_name=st.sampled_from(ZONES), t=st.integers(at("2026-01-01T00:00Z") // 1800, at("2027-12-31T00:00Z") // 1800),
       length=st.integers(0, 8))
def test_next_fit_is_the_earliest_start_inside_an_opening(days: set[int], start: int, end: int, zone_name: str,
                                                           t: int, length: int) -> None:
    if start == end:
        end = (end % 48) + 1
    assume(length + 2 <= (end - start) % 48 or (end - start) % 48 == 0)  # fits even on a day shortened by DST
    w = Window("w", SPAN, days=tuple(DaySpec(weekday=d) for d in sorted(days)), start=start * 30, end=end * 30,
               zone=zone_name)
    tz = zone(zone_name)
    t0, seconds = t * 1800, length * 1800
    s = next_fit(w, tz, t0, seconds, 30)
    assert s is not None and s >= t0  # every window opens within a month
    assert inside(w, tz, s, s + seconds)
    # No earlier half-hour (nor the start itself) fits: openings start and end on half hours in these zones.
    for earlier in range(t0, s, 1800):
        assert not inside(w, tz, earlier, earlier + seconds)


WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@st.composite
def time_policies(draw: st.DrawFn) -> str:
    lines = ["policy p", "rule one_zone: at most 1 zone per region per wave"]
    for i in range(draw(st.integers(0, 2))):
        days = ",".join(WEEKDAY_NAMES[d] for d in sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=3))))
        a, b = draw(st.integers(0, 23)), draw(st.integers(1, 24))
        if a == b:
            b = a + 1
        tz = draw(st.sampled_from(ZONES))
        where = draw(st.sampled_from(["", ' where vm.zone == "1"', ' where vm.zone == "2"']))
        lines.append(f'rule w{i}: upgrade only {days} {a:02d}:00-{b:02d}:00 in "{tz}"{where}')
    if draw(st.booleans()):
        lines.append(f"rule f: never from 2026-12-0{draw(st.integers(2, 6))} to 2026-12-0{draw(st.integers(6, 9))}")
    for unit in draw(st.sets(st.sampled_from(["each wave", "the first wave of each region",
                                              "the first zone of each region"]), max_size=2)):
        lines.append(f"gate b{len(lines)}: bake {draw(st.integers(1, 30))}h after {unit}")
    return "\n".join(lines) + "\n"


@settings(max_examples=25, deadline=None)
@given(text=time_policies())
def test_planned_calendars_verify_and_run_without_a_monitor_breach(text: str) -> None:
    res = check_source(text, "p.wg")
    assert res.policy is not None, res.diagnostics
    fleet = _zoned_fleet()
    try:
        s = plan(res.policy, fleet, start=at("2026-12-02T00:00Z")).schedule
    except (Infeasible, CalendarUnplaced):
        return  # windows that never meet a wave within the horizon: said so (unknown), never a wrong schedule
    assert verify_schedule(res.policy, fleet, s).ok
    result = execute(res.policy, fleet, s, SimDriver(fleet), MemorySink())  # the monitors raise on a breach
    assert result.outcome == "completed"


def test_windows_that_never_meet_are_unknown_never_no_schedule_exists() -> None:
    # Monday 00:00-01:00 UTC and Monday 00:00-01:00 Berlin never overlap: the calendar's search finds no time, and a
    # bounded search is not a proof, so the answer is unknown (CalendarUnplaced), not Infeasible.
    res = check_source('policy p\nrule w0: upgrade only Monday 00:00-01:00 in "UTC"\n'
                       'rule w1: upgrade only Monday 00:00-01:00 in "Europe/Berlin"\n', "p.wg")
    assert res.policy is not None, res.diagnostics
    with pytest.raises(CalendarUnplaced, match="unknown whether"):
        plan(res.policy, _zoned_fleet(), start=at("2026-12-02T00:00Z"))

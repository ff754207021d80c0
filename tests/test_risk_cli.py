"""`wavegate risk` as a user meets it: one screen on the sample, JSON for pipelines, a digest that --results backs,
worst scenarios that `simulate --model M --seed X` replays to the same halt, and bad input as exit 2."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine import api
from engine.cli import app
from engine.model.calendar import parse_instant
from engine.model.fault_model import SAMPLE_FAULT_MODEL
from engine.model.resources import bundled_spec, sample_fleet
from engine.risk.outcomes import outcome_from_json
from engine.run.events import parse_events

runner = CliRunner()
N = "24"


def cli(*args: str) -> tuple[int, str, str]:
    r = runner.invoke(app, list(args))
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def sample_schedule(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("risk") / "schedule.json"
    path.write_text(api.plan(api.load_policy(bundled_spec()), api.load_fleet(sample_fleet())).to_json())
    return path


def test_the_sample_report_fits_one_screen(tmp_path: Path) -> None:
    code, out, err = cli("risk", "-n", N, "--workers", "0", "--results", str(tmp_path / "r.jsonl"))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) <= 40 and max(map(len, lines)) <= 110, out
    assert lines[0].startswith("wavegate risk: azure_default on sample-fleet.json (36 waves")
    assert "P(halt) 100.0%" in out and "(Wilson)" in out and "finish time   P50" in out
    assert "precheck" in out and "wavegate:azure-default.wg:38:1" in out  # a rule with its span (bundled: by name)
    assert "replay one: wavegate simulate --model " in out
    digest = hashlib.sha256((tmp_path / "r.jsonl").read_bytes()).hexdigest()
    assert f"results digest {digest[:16]}" in out


def test_json_and_text_agree_and_the_run_is_reproducible(tmp_path: Path) -> None:
    code, out, err = cli("risk", "-n", N, "--workers", "0", "--seed", "3", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert report["inputs"]["scenarios"] == 24 and report["inputs"]["seed"] == 3
    assert 0 <= report["p_halt_95"][0] <= report["p_halt"] <= report["p_halt_95"][1] <= 1
    assert {c["rule"] for c in report["causes"]} >= {"precheck", "phases"}
    assert all(c["span"] is None or c["span"].startswith("wavegate:azure-default.wg:") for c in report["causes"])
    code, text, _ = cli("risk", "-n", N, "--workers", "0", "--seed", "3", "-o", str(tmp_path / "r.txt"))
    assert code == 0 and text == ""
    assert f"results digest {report['digest'][:16]}" in (tmp_path / "r.txt").read_text()
    _, again, _ = cli("risk", "-n", N, "--workers", "0", "--seed", "3", "--format", "json")
    assert again == out
    _, other, _ = cli("risk", "-n", N, "--workers", "0", "--seed", "4", "--format", "json")
    assert json.loads(other)["digest"] != report["digest"]


def test_a_worst_scenario_replays_with_simulate_to_the_same_halt(tmp_path: Path, sample_schedule: Path) -> None:
    results = tmp_path / "r.jsonl"
    code, out, err = cli("risk", "-n", N, "--workers", "0", "--schedule", str(sample_schedule), "--format", "json",
                         "--results", str(results))
    assert code == 0, err
    report = json.loads(out)
    assert f"simulate --schedule {sample_schedule} --model " in report["replay"]
    assert report["replay"].endswith("sample-fault-model.json")
    outcomes = {o.seed: o for o in (outcome_from_json(json.loads(line)) for line in results.read_text().splitlines())}
    for worst in report["worst"][:2]:
        seed = worst["seed"]
        events = tmp_path / f"ev-{seed}.jsonl"
        code, out, err = cli("simulate", "--schedule", str(sample_schedule), "--model", str(SAMPLE_FAULT_MODEL),
                             "--seed", str(seed), "--events", str(events))
        assert code == 3, err
        o = outcomes[seed]
        assert hashlib.sha256(events.read_bytes()).hexdigest()[:16] == o.log  # the very same run, event for event
        halts = [(e.event, e.rule, e.detail["group"]) for e in parse_events(events.read_text())
                 if e.event in ("set_blocked", "set_stopped") and e.detail]
        assert halts and sorted(halts) == sorted((f"set_{h.kind}", h.rule, h.group) for h in o.halts)


def test_local_workers_from_the_command_line_give_the_same_digest() -> None:
    _, sync, _ = cli("risk", "-n", "12", "--workers", "0", "--format", "json")
    code, local, err = cli("risk", "-n", "12", "--workers", "2", "--format", "json")
    assert code == 0, err
    assert json.loads(local)["digest"] == json.loads(sync)["digest"]


@pytest.mark.parametrize(("args", "message"), [
    (["-n", "0"], "--scenarios must be between 1 and 10,000,000, not 0"),
    (["-n", "-5"], "--scenarios must be between 1 and 10,000,000, not -5"),
    (["--workers", "-1"], "--workers must be 0 or more, not -1"),
    (["--batch-size", "0"], "--batch-size must be at least 1, not 0"),
    (["--format", "yaml"], "'yaml' is not one of"),
    (["--fleet", str(sample_fleet())], "--model is needed with --fleet"),
    (["--scheduler", "tcp://127.0.0.1:1", "--connect-timeout", "1"], "cannot reach the Dask scheduler at tcp://127.0.0.1:1"),
])
def test_bad_options_exit_2_with_a_diagnostic(args: list[str], message: str) -> None:
    code, out, err = cli("risk", "-n", "2", *args) if "-n" not in args else cli("risk", *args)
    assert code == 2, out + err
    assert message in err and "Traceback" not in err, err


def test_a_bad_model_file_exits_2_naming_the_json_path(tmp_path: Path) -> None:
    bad = tmp_path / "m.json"
    bad.write_text(json.dumps({"install_failures": {"rate": 2}}))
    code, out, err = cli("risk", "-n", "2", "--model", str(bad))
    assert code == 2 and f"{bad}: $.install_failures.rate: error[E-MODEL]" in err and out == ""
    bad.write_text("{")
    code, _, err = cli("risk", "-n", "2", "--model", str(bad))
    assert code == 2 and "error[E-JSON]: malformed JSON" in err
    code, _, err = cli("risk", "-n", "2", "--model", str(tmp_path / "none.json"))
    assert code == 2 and "fault model file not found" in err


def test_the_dask_scheduler_address_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:1")
    code, _, err = cli("risk", "-n", "2", "--connect-timeout", "1")
    assert code == 2 and "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in err


def test_simulate_refuses_model_and_faults_together(tmp_path: Path) -> None:
    faults = tmp_path / "f.json"
    faults.write_text("{}")
    code, _, err = cli("simulate", "--model", str(SAMPLE_FAULT_MODEL), "--faults", str(faults))
    assert code == 2 and "--model and --faults exclude each other" in err


def test_on_a_calendar_the_finish_is_reported_as_utc_instants_too(tmp_path: Path) -> None:
    """The bundled team-windows policy planned from a start: the JSON carries the virtual minutes and the instants
    (start + minutes); the text prints both, on one screen."""
    sched = tmp_path / "s.json"
    code, _, err = cli("plan", "--spec", "specs/team-windows.wg", "--start", "2026-12-02T00:00Z", "-o", str(sched))
    assert code == 0, err
    common = ("risk", "--spec", "specs/team-windows.wg", "--schedule", str(sched), "-n", "3", "--workers", "0")
    code, out, err = cli(*common, "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    utc, minutes = report["finish_utc"], report["finish_minutes"]
    assert utc["start"] == "2026-12-02T00:00:00Z" and set(utc) == {"start", "p50", "p95", "max"}
    for key in ("p50", "p95", "max"):  # minutes are rounded to 3 decimals: within a second
        assert abs(parse_instant(utc[key]) - parse_instant(utc["start"]) - minutes[key] * 60) < 1
    code, text, err = cli(*common)
    assert code == 0, err
    assert "finish time   P50" in text and f"finish (UTC)  P50 {utc['p50'][:10]} {utc['p50'][11:16]}" in text
    assert all(len(line) <= 110 for line in text.splitlines() if line.startswith("finish")), text
    # the page reads the instants too: in the summary and under the finish-time chart
    doc, page = tmp_path / "risk.json", tmp_path / "page.html"
    doc.write_text(out)
    code, _, err = cli("report", "--spec", "specs/team-windows.wg", "--schedule", str(sched), "--risk", str(doc),
                       "-o", str(page))
    assert code == 0, err
    shown = f"P50 {utc['p50'][:10]} {utc['p50'][11:16]}"
    assert page.read_text().count(f"on the calendar from 2026-12-02 00:00 UTC: {shown}") == 2


def test_report_reads_what_risk_writes_and_risk_report_writes_the_same_page(tmp_path: Path,
                                                                           sample_schedule: Path) -> None:
    doc, page, shortcut = tmp_path / "risk.json", tmp_path / "page.html", tmp_path / "shortcut.html"
    code, _, err = cli("risk", "-n", N, "--workers", "0", "--seed", "3", "--schedule", str(sample_schedule),
                       "--format", "json", "-o", str(doc), "--report", str(shortcut))
    assert code == 0, err
    report = json.loads(doc.read_text())
    hist = report["finish_histogram"]
    assert sum(hist["counts"]) == 24 and len(hist["edges"]) == len(hist["counts"]) + 1
    assert all(a < b for a, b in zip(hist["edges"], hist["edges"][1:], strict=False))
    rules = {r["rule"]: r["scenarios"] for r in report["halts_by_rule"]}
    assert rules["precheck"] == report["halted"] == 24  # a rule counts a scenario once, whatever its halts
    code, _, err = cli("report", "--schedule", str(sample_schedule), "--risk", str(doc), "-o", str(page))
    assert code == 0, err
    html = page.read_text()
    assert "P(halt)" in html and "over 24 scenarios" in html and "precheck" in html
    assert "P(halt)" in shortcut.read_text() and "over 24 scenarios" in shortcut.read_text()

"""`wavegate report`: one self-contained page, the same bytes for the same inputs, every lane and halt on it, the
rules with their source lines, risk and changes when given, bad input refused with file:line or a JSON path, and
the page's size bounded by regions x waves however many VMs and halts there are."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path

import pytest
from report_support import halts_in_log, lanes_of_schedule, risk_document, sample_rollout, wavegate

from dsl.loader import load_policy
from engine.model.resources import bundled_spec
from engine.model.schedule import parse_schedule
from engine.report.changes import changes
from engine.report.page import Report, render
from engine.report.plan_view import plan_view
from engine.report.run_view import run_view
from engine.report.svg import CalendarAxis, WaveAxis

MAX_PAGE = 500_000


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sample")
    paths = sample_rollout(folder)
    (folder / "risk.json").write_text(json.dumps(risk_document()))
    paths["risk"] = folder / "risk.json"
    paths["page"] = folder / "report.html"
    code, out, err = wavegate("report", "--schedule", str(paths["schedule"]), "--events", str(paths["events"]),
                              "--risk", str(paths["risk"]), "-o", str(paths["page"]))
    assert code == 0, err
    assert "report written to" in out
    return paths


def page_of(sample: dict[str, Path]) -> str:
    return sample["page"].read_text(encoding="utf-8")


def test_same_inputs_same_bytes(sample: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "again.html"
    code, _, err = wavegate("report", "--schedule", str(sample["schedule"]), "--events", str(sample["events"]),
                            "--risk", str(sample["risk"]), "-o", str(again))
    assert code == 0, err
    assert again.read_bytes() == sample["page"].read_bytes()


def test_the_page_names_no_url_and_loads_nothing(sample: dict[str, Path]) -> None:
    page = page_of(sample)
    assert not re.search(r"(?i)(https?:|ftp:|//[a-z0-9.-]+\.[a-z]{2,}|<link|<img|<iframe|<object|@import|src=)", page)
    assert set(re.findall(r"url\(([^)]*)\)", page)) == {"#hatch"}
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', page))
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page)
    assert csp and "default-src &#x27;none&#x27;" in csp.group(1)
    # The policy allows exactly the page's own style and script, by hash.
    for tag in ("style", "script"):
        body = re.search(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        assert body is not None and page.count(f"<{tag}>") == 1
        digest = base64.b64encode(hashlib.sha256(body.group(1).encode()).digest()).decode()
        assert f"sha256-{digest}" in csp.group(1)


def test_every_region_has_a_lane_and_the_table_view_lists_it(sample: dict[str, Path]) -> None:
    page = page_of(sample)
    lanes = set(re.findall(r'<g class="lane" data-region="([^"]+)"', page))
    assert lanes == lanes_of_schedule(sample["schedule"]) and len(lanes) == 20
    for region in lanes:
        assert f'<tr data-region="{region}"><td>{region}</td>' in page


def test_every_halt_of_the_log_is_marked_and_listed(sample: dict[str, Path]) -> None:
    page, halts = page_of(sample), halts_in_log(sample["events"])
    assert halts["set_blocked"] == 2 and halts["set_stopped"] == 2 and halts["phase_held"] == 2
    marked: dict[str, int] = {}
    for counts in re.findall(r'<g class="halt tip" tabindex="0" data-n="([a-z_:\d ]+)"', page):
        for kind, n in (c.split(":") for c in counts.split()):
            marked[kind] = marked.get(kind, 0) + int(n)
    assert marked == {k: n for k, n in halts.items() if k != "phase_held"}
    assert page.count(">phase 1 held (#5, #6)</text>") == 1  # the held phase: one line, both halts
    set_rows = re.findall(r'<tr data-region="[^"]*" id="halt-(\d+)">|<tr id="halt-(\d+)">', page)
    grouped = [int(n) for ns in re.findall(r'<tr[^>]*data-halts="([\d ]+)"', page) for n in ns.split()]
    numbers = sorted([int(a or b) for a, b in set_rows] + grouped)
    assert numbers == list(range(1, sum(halts.values()) + 1))


def test_halts_say_rule_span_why_and_unblock(sample: dict[str, Path]) -> None:
    page = page_of(sample)
    row = re.search(r'<tr data-region="chilecentral" id="halt-1">(.*?)</tr>', page, re.S)
    assert row is not None
    text = row.group(1)
    assert "precheck" in text and "wavegate:azure-default.wg:38" in text
    assert "1 of 4 VMs of scale set chilecentral-vmss-00270 are unhealthy (25%)" in text
    assert "repair chilecentral-vmss-00270-0003" in text
    assert "/work" not in page and str(Path.cwd()) not in page  # paths as they ship, never where they lie


def test_the_rules_are_listed_with_file_line_and_text(sample: dict[str, Path]) -> None:
    page = page_of(sample)
    policy = load_policy(bundled_spec())
    lines = bundled_spec().read_text().splitlines()
    for rule in (*policy.rules, *policy.preferences, *policy.gates):
        assert f"wavegate:azure-default.wg:{rule.span.line}" in page
        assert html.escape(lines[rule.span.line - 1].strip()) in page
    assert "VMs in different availability zones aren&#x27;t upgraded concurrently" in page  # the quoted sentence


def test_progress_and_bound_and_risk(sample: dict[str, Path]) -> None:
    page = page_of(sample)
    assert "60.5% at the end of the run" in page  # 1,456 of 2,407 upgrades, as the run summary says
    assert "Tasks at the end of the run: blocked 8, failed 2, not started 895, stopped 16, succeeded 1,456" in page
    assert "lower bound 36" in page and "it is optimal" in page
    assert "wavegate explain --schedule SCHEDULE --vm koreacentral-" in page
    assert "P(halt) 31.0%" in page and "P50 5h 0m" in page and "worst seeds" in page
    assert "precheck (wavegate:azure-default.wg:38)" in page


def test_the_page_works_with_the_schedule_alone(sample: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "plan-only.html"
    code, _, err = wavegate("report", "--schedule", str(sample["schedule"]), "-o", str(out))
    assert code == 0, err
    page = out.read_text()
    assert "No event log was given" in page and "No risk analysis was given" in page
    assert "No previous schedule was given" in page and 'class="planned"' in page


def test_changes_against_a_previous_schedule(sample: dict[str, Path], tmp_path: Path) -> None:
    stricter = tmp_path / "strict.json"
    code, _, err = wavegate("plan", "-q", "--spec", "specs/team-strict.wg", "-o", str(stricter))
    assert code == 0, err
    out = tmp_path / "changes.html"
    code, _, err = wavegate("report", "--schedule", str(stricter), "--previous", str(sample["schedule"]),
                            "-o", str(out))
    assert code == 0, err
    page = out.read_text()
    old, new = (json.loads(p.read_text()) for p in (sample["schedule"], stricter))
    assert f"Against the previous schedule: {len(old['waves'])} → {len(new['waves'])} waves" in page
    assert "(re-phased)" in page


def test_changes_count_vms_moved_per_region() -> None:
    def sched(waves: list[list[str]]) -> dict[str, object]:
        return {"phases": [{"index": 0, "regions": ["a", "b"]}], "lower_bound": 1, "optimal": False,
                "waves": [{"index": i, "phase": 0, "tasks": [{"vm": v, "extension": "x", "from_version": "1",
                                                              "to_version": "2"} for v in vms]}
                          for i, vms in enumerate(waves)]}
    old = parse_schedule(sched([["a1", "a2"], ["b1"]]))
    new = parse_schedule(sched([["a1", "b1"], ["a2", "b2"]]))
    ch = changes(old, new, {"a1": "a", "a2": "a", "b1": "b", "b2": "b"})
    by = {r.region: r for r in ch.regions}
    assert (by["a"].later, by["a"].earlier) == (1, 0)
    assert (by["b"].earlier, by["b"].added) == (1, 1)
    assert ch.total("removed") == 0 and not any(r.rephased for r in ch.regions)


@pytest.mark.parametrize(("mutate", "where", "message"), [
    (lambda lines: [*lines[:3], "{not json", *lines[3:]], ":4:", "malformed JSON"),
    (lambda lines: [lines[0].replace('"waves": 36', '"waves": 35'), *lines[1:]], ":1:", "the run had 35 waves"),
    (lambda lines: lines[:-1], "", "ends before run_finished"),
    (lambda lines: [*lines[:5], '{"time": 1, "event": "no_such_event"}', *lines[5:]], ":6:", "not an event line"),
])
def test_a_bad_event_log_is_refused_with_its_line(sample: dict[str, Path], tmp_path: Path, mutate: object,
                                                  where: str, message: str) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = sample["events"].read_text().splitlines()
    bad.write_text("\n".join(mutate(lines)) + "\n")  # type: ignore[operator]
    out = tmp_path / "never.html"
    code, _, err = wavegate("report", "--schedule", str(sample["schedule"]), "--events", str(bad), "-o", str(out))
    assert code == 2, err
    assert f"bad.jsonl{where}" in err and message in err and "Traceback" not in err
    assert not out.exists()


def test_a_schedule_of_another_fleet_is_refused_with_its_json_path(tmp_path: Path) -> None:
    doc = {"phases": [{"index": 0, "regions": ["eastus"]}], "lower_bound": 1, "optimal": True,
           "waves": [{"index": 0, "phase": 0, "tasks": [{"vm": "ghost", "extension": "x", "from_version": "1",
                                                         "to_version": "2"}]}]}
    (tmp_path / "s.json").write_text(json.dumps(doc))
    code, _, err = wavegate("report", "--schedule", str(tmp_path / "s.json"), "-o", str(tmp_path / "r.html"))
    assert code == 2
    assert "$.waves[0].tasks[0].vm" in err and "ghost" in err
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize(("change", "path"), [
    ({"p_halt": {"estimate": 0.5, "low": 0.6, "high": 0.7}}, "$.p_halt"),
    ({"finish_histogram": {"edges": [0, 10], "counts": [1, 2]}}, "$.finish_histogram"),
    ({"scenarios": 0}, "$.scenarios"),
])
def test_a_bad_risk_document_is_refused_with_its_json_path(sample: dict[str, Path], tmp_path: Path,
                                                          change: dict[str, object], path: str) -> None:
    (tmp_path / "risk.json").write_text(json.dumps({**risk_document(), **change}))
    code, _, err = wavegate("report", "--schedule", str(sample["schedule"]), "--risk", str(tmp_path / "risk.json"),
                            "-o", str(tmp_path / "r.html"))
    assert code == 2
    assert f"risk.json: {path}" in err


def test_plan_and_simulate_write_the_page_too(tmp_path: Path) -> None:
    code, _, err = wavegate("plan", "-q", "--report", str(tmp_path / "plan.html"))
    assert code == 0, err
    assert "Rollout report: azure_default on sample-fleet.json" in (tmp_path / "plan.html").read_text()
    code, _, err = wavegate("simulate", "--report", str(tmp_path / "run.html"))
    assert code == 3, err  # the command's own exit code is kept
    page = (tmp_path / "run.html").read_text()
    assert "phase 1 held" in page and "60.5% at the end of the run" in page
    assert not list(tmp_path.glob("*.jsonl"))  # the event log it needed was a scratch file


def test_the_wave_axis_places_waves_and_moments() -> None:
    axis = WaveAxis(10, 100.0, 500.0)
    assert axis.span(0) == (100.0, 150.0) and axis.span(9) == (550.0, 600.0)
    assert axis.at(2, 0.5) == 225.0
    assert [label for _, label in axis.ticks()] == [str(w) for w in range(10)]
    assert [label for _, label in WaveAxis(300, 0.0, 1000.0).ticks()][:3] == ["0", "10", "20"]


def synthetic(regions: int, phase_waves: int, halts_per_cell: int) -> tuple[str, int]:
    """A page of a rollout with a halt of each kind in every cell, built without a fleet: its size and halts."""
    names = [f"region-{i:03d}" for i in range(regions)]
    waves, vm_region = [], {}
    for w in range(2 * phase_waves):
        phase = w // phase_waves
        tasks = []
        for r in names[phase::2]:
            vm = f"{r}-vm-{w:04d}"
            vm_region[vm] = r
            tasks.append({"vm": vm, "extension": "ext", "from_version": "1.0", "to_version": "1.1"})
        waves.append({"index": w, "phase": phase, "tasks": tasks})
    schedule = parse_schedule({"phases": [{"index": p, "regions": names[p::2]} for p in (0, 1)], "waves": waves,
                               "lower_bound": 2 * phase_waves, "optimal": True})
    plan = plan_view(schedule, vm_region, names, "<synthetic>")
    lines = [json.dumps({"time": 0, "event": "run_started", "detail": {"waves": plan.waves, "tasks": plan.tasks}})]
    count = 0
    for w in schedule.waves:
        lines.append(json.dumps({"time": w.index, "event": "wave_started", "detail": {"wave": w.index}}))
        for t in w.tasks:
            for k in range(halts_per_cell):
                count += 2
                group = f"scale set {t.vm}-set-{k}"
                lines.append(json.dumps({"time": w.index, "event": "set_blocked", "rule": "precheck", "detail": {
                    "group": group, "unhealthy_vms": [t.vm], "why": f"1 of 4 VMs of {group} are unhealthy " * 3,
                    "unblock": f"repair {t.vm}, or raise the cap " * 3}}))
                lines.append(json.dumps({"time": w.index, "event": "retries_exhausted", "vm": t.vm, "extension": f"e{k}",
                                         "from_version": "1.0", "to_version": "1.1", "detail": {"attempts": 4,
                                                                                               "rule": "retry"}}))
        lines.append(json.dumps({"time": w.index + 1, "event": "wave_finished", "detail": {"wave": w.index}}))
    lines.append(json.dumps({"time": 9, "event": "run_finished", "detail": {"outcome": "halted", "tasks": {}}}))
    run = run_view(lines, "<synthetic>", vm_region, plan.tasks, plan.waves, lambda r: "x.wg:1", lambda s: s)
    report = Report(policy="p", fleet="f.json", version="0", inputs=(), plan=plan, run=run, risk=None,
                    changes=None, rules=(), params=(), rule_where={}, wave_rules=())
    return render(report), count


def test_the_page_stays_small_with_a_halt_in_every_cell_of_58_regions() -> None:
    page, halts = synthetic(58, 27, 3)  # 58 regions x 27 waves of their phase, 9,396 halts
    assert halts == 9396
    assert len(page.encode("utf-8")) <= MAX_PAGE, len(page.encode("utf-8"))
    assert page.count('<g class="lane"') == 58


def test_a_schedule_with_nothing_to_do_still_gives_a_page(tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_text('{"phases": [], "waves": [], "lower_bound": 0, "optimal": true}')
    code, _, err = wavegate("report", "--schedule", str(tmp_path / "empty.json"), "-o", str(tmp_path / "r.html"))
    assert code == 0, err
    page = (tmp_path / "r.html").read_text()
    assert '<g class="lane"' not in page and "Regions of the fleet with nothing to upgrade: australiacentral" in page
    assert ". ." not in page


# ---- on the calendar: the bundled team-windows policy planned from a start ---------------------------------------

TEAM = "specs/team-windows.wg"


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("timed")
    paths = {"schedule": folder / "schedule.json", "events": folder / "events.jsonl", "page": folder / "report.html"}
    code, _, err = wavegate("plan", "-q", "--spec", TEAM, "--start", "2026-12-02T00:00Z", "-o", str(paths["schedule"]))
    assert code == 0, err
    code, _, err = wavegate("simulate", "--spec", TEAM, "--schedule", str(paths["schedule"]),
                            "--events", str(paths["events"]))
    assert code in (0, 3), err
    code, _, err = wavegate("report", "--spec", TEAM, "--schedule", str(paths["schedule"]), "--events",
                            str(paths["events"]), "-o", str(paths["page"]))
    assert code == 0, err
    return paths


def test_a_calendar_axis_places_waves_at_their_times() -> None:
    day = 86400
    axis = CalendarAxis((0, 2 * day), (3600, 2 * day + 60), 0, 10 * day, 100.0, 1000.0, origin=0)
    assert axis.span(0) == (100.0, 100.0 + 1000 * 3600 / (10 * day))
    assert axis.span(1)[0] == 300.0 and axis.span(1)[1] - axis.span(1)[0] >= 2.0  # a minute is still drawn
    assert axis.at(0, 0.5) == pytest.approx(100 + 500 * 3600 / (10 * day))
    assert axis.minutes(24 * 60) == 200.0 and axis.instant(-5) == 100.0 and axis.instant(99 * day) == 1100.0
    ticks = axis.ticks()
    assert [label for _, label in ticks] == ["1970-01-02", "1970-01-03", "1970-01-04", "1970-01-05", "1970-01-06",
                                             "1970-01-07", "1970-01-08", "1970-01-09", "1970-01-10"]
    assert ticks[0][0] == 200.0


def test_the_timed_page_shows_dates_bands_lanes_and_the_finish(timed: dict[str, Path], tmp_path: Path) -> None:
    page = timed["page"].read_text(encoding="utf-8")
    schedule = json.loads(timed["schedule"].read_text())
    assert len(page.encode()) <= MAX_PAGE
    ticks = re.findall(r'class="tick">(\d{4}-\d\d-\d\d)</text>', page)
    half = ticks[:len(ticks) // 2]  # the swimlanes' and the progress chart's axes: the same dates
    assert half and ticks == half + half and half == sorted(half) and half[0].startswith("2026-12")
    assert "date (UTC)" in page and "Swimlanes on the calendar" in page
    lanes = set(re.findall(r'<g class="lane" data-region="([^"]+)"', page))
    assert lanes == lanes_of_schedule(timed["schedule"])
    # bands: a freeze, the windows' openings, the bakes; each with its hover text and a row in the table view
    bands = re.findall(r'<g class="tband tband-(\w+) tip" tabindex="0" data-kind="\w+" data-rule="(\w+)"><title>'
                       r'([^<]+)</title>', page)
    kinds = {(k, rule) for k, rule, _ in bands}
    assert {("freeze", "year_end"), ("window", "prod_nights"), ("bake", "bake"), ("bake", "first_bake")} <= kinds
    assert all(" UTC" in tip and rule in tip for _, rule, tip in bands)
    assert "freeze: no upgrades: year_end, read in UTC, 2026-12-20 00:00 UTC to 2027-01-05 00:00 UTC" in page  # to 2027-01-04: its end included
    table = re.search(r"<caption>Calendar bands: (\d+) ", page)
    assert table is not None and int(table.group(1)) >= len(bands)
    # window waits from the event log, at their moment: every waiting batch accounted for
    waits = sum(1 for line in timed["events"].read_text().splitlines() if '"event": "window_wait"' in line)
    drawn = sum(int(n) for n in re.findall(r'<g class="wait tip" tabindex="0" data-sets="(\d+)"', page))
    assert waits > 0 and drawn == waits
    # the bakes the run waited out, from the event log, each in the lanes' K row and the table
    baked = [json.loads(line) for line in timed["events"].read_text().splitlines() if '"event": "bake_started"' in line]
    marks = re.findall(r'<g class="run-bake tip" tabindex="0" data-rule="(\w+)"><title>([^<]+)</title>', page)
    assert baked and {rule for rule, _ in marks} == {e["rule"] for e in baked}
    assert all("bake of the run:" in tip and " UTC" in tip for _, tip in marks)
    counted = re.search(r"<caption>Bakes of the run: ([\d,]+)</caption>", page)
    assert counted is not None and int(counted.group(1).replace(",", "")) == len(baked)
    # halts are still all marked
    halts = halts_in_log(timed["events"])
    marked = sum(int(c.split(":")[1]) for counts in re.findall(r'<g class="halt tip" tabindex="0" data-n="([a-z_:\d ]+)"',
                                                               page) for c in counts.split())
    assert marked == sum(n for k, n in halts.items() if k != "phase_held")
    # the finish beside the lower bound
    fin = schedule["finish"]
    bound = page[page.index('id="bound-h"'):]
    assert f"Planned finish: {fin['planned'][:10]} {fin['planned'][11:16]} UTC." in bound
    assert f"Lower bound on any schedule&#x27;s finish: {fin['lower_bound'][:10]} {fin['lower_bound'][11:16]} UTC." in bound
    assert f"Finish set by {html.escape(fin['set_by'])}." in bound
    # same inputs, same bytes; nothing outside the page
    again = tmp_path / "again.html"
    code, _, err = wavegate("report", "--spec", TEAM, "--schedule", str(timed["schedule"]), "--events",
                            str(timed["events"]), "-o", str(again))
    assert code == 0, err
    assert again.read_bytes() == timed["page"].read_bytes()
    assert set(re.findall(r"url\(([^)]*)\)", page)) == {"#hatch", "#freeze-hatch"}
    assert not re.search(r"(?i)(https?:|<link|<img|<iframe|@import|src=)", page)

"""The report in a real browser: headless Chromium (Debian's package; .ci/run installs it) opens the sample
rollout's page and the test checks what a person would see: no console error, no network request, every region
lane and every halt on screen, the region filter working, no sideways scrolling at 1280x800, and a screenshot
that is not blank.  Skipped, with the reason printed, only where no Chromium can be found."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import Browser, Page, chromium, colours, open_page, png_pixels
from report_support import halts_in_log, lanes_of_schedule, risk_document, sample_rollout, wavegate

BINARY = chromium()
pytestmark = pytest.mark.skipif(BINARY is None, reason="no chromium on this machine (apt-get install chromium)")


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("browser")
    paths = sample_rollout(folder)
    (folder / "risk.json").write_text(json.dumps(risk_document()))
    paths["page"] = folder / "report.html"
    code, _, err = wavegate("report", "--schedule", str(paths["schedule"]), "--events", str(paths["events"]),
                            "--risk", str(folder / "risk.json"), "-o", str(paths["page"]))
    assert code == 0, err
    return paths


@pytest.fixture(scope="module")
def page(sample: dict[str, Path]) -> Iterator[Page]:
    assert BINARY is not None
    with Browser(BINARY) as browser:
        yield open_page(browser, sample["page"], 1280, 800)


def test_it_renders_without_errors_and_requests_nothing(page: Page) -> None:
    assert page.evaluate("document.readyState") == "complete"
    assert page.evaluate("document.querySelector('h1').textContent").startswith("Rollout report: azure_default")
    run = page.settle()
    assert run.errors() == []
    assert run.requests == [run.url]  # the page itself, nothing else


def test_every_region_lane_is_on_screen(page: Page, sample: dict[str, Path]) -> None:
    lanes = page.evaluate("""[...document.querySelectorAll('g.lane')].map(g => {
        const r = g.getBoundingClientRect(); return [g.dataset.region, r.width, r.height]; })""")
    assert {name for name, _, _ in lanes} == lanes_of_schedule(sample["schedule"])
    assert all(w > 600 and h > 10 for _, w, h in lanes)


def test_every_halt_is_drawn_and_listed(page: Page, sample: dict[str, Path]) -> None:
    halts = halts_in_log(sample["events"])
    drawn = page.evaluate("""(() => { const n = {};
        document.querySelectorAll('g.halt').forEach(g => {
          if (g.getBoundingClientRect().width < 5) { return; }
          g.dataset.n.split(' ').forEach(c => { const [k, v] = c.split(':'); n[k] = (n[k] || 0) + Number(v); });
        });
        return n; })()""")
    assert drawn == {k: n for k, n in halts.items() if k != "phase_held"}
    holds = page.evaluate("[...document.querySelectorAll('g.hold')].map(g => g.getBoundingClientRect().height)")
    assert len(holds) == 1 and holds[0] > 300  # phase 1 held: a line across the lanes
    listed = page.evaluate("""[...document.querySelectorAll('table.halts tbody tr')].flatMap(tr =>
        tr.dataset.halts ? tr.dataset.halts.split(' ').map(Number) : [Number(tr.id.replace('halt-', ''))])""")
    assert sorted(listed) == list(range(1, sum(halts.values()) + 1))


def test_the_region_filter_dims_the_other_lanes_and_hides_their_rows(page: Page) -> None:
    assert page.evaluate("document.getElementById('filter').hidden") is False
    shown = page.evaluate("""(() => { const s = document.getElementById('region-filter');
        s.value = 'japanwest'; s.dispatchEvent(new Event('change'));
        const dim = [...document.querySelectorAll('g.lane')].filter(g => g.classList.contains('dim')).length;
        const rows = [...document.querySelectorAll('table.halts tbody tr')]
            .filter(tr => getComputedStyle(tr).display !== 'none').map(tr => tr.dataset.region || 'all');
        s.value = ''; s.dispatchEvent(new Event('change'));
        return [dim, rows]; })()""")
    assert shown[0] == 19
    assert set(shown[1]) <= {"japanwest", "all"} and "japanwest" in shown[1]
    assert page.evaluate("document.querySelectorAll('.dim').length") == 0


def test_readable_at_1280x800_and_not_blank(page: Page, tmp_path: Path) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280  # no sideways scrolling
    smallest = page.evaluate("""Math.min(...[...document.querySelectorAll('svg.chart text')]
        .filter(t => t.getBoundingClientRect().height > 0).map(t => parseFloat(getComputedStyle(t).fontSize) *
        t.ownerSVGElement.getBoundingClientRect().width / t.ownerSVGElement.viewBox.baseVal.width))""")
    assert smallest >= 8.5  # chart text, as drawn at this width, in CSS pixels
    shot = page.screenshot()
    (tmp_path / "shot.png").write_bytes(shot)
    width, height, rows = png_pixels(shot)
    assert (width, height) == (1280, 800)
    distinct, ink = colours(rows, len(rows[0]) // width)
    assert distinct >= 40 and ink >= 0.15, (distinct, ink)


def test_hovering_a_halt_or_a_bar_shows_its_details(page: Page) -> None:
    text = page.evaluate("""(() => { const g = document.querySelector('g.halt');
        g.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
        return document.getElementById('tip').textContent; })()""")
    assert "wave" in text and "#" in text
    bar = page.evaluate("""(() => { const lane = document.querySelector('g.lane');
        const c = lane.dataset.cells.split(';')[0].split(' '); const svg = lane.ownerSVGElement;
        const p = svg.createSVGPoint(); p.x = (+c[1] + +c[2]) / 2; p.y = 0;
        const at = p.matrixTransform(svg.getScreenCTM());
        lane.dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: at.x, clientY: at.y}));
        return document.getElementById('tip').textContent; })()""")
    assert " · wave " in bar and "upgrades on" in bar and "done" in bar


def test_the_calendar_page_renders_with_its_dates_bands_and_lanes(tmp_path: Path) -> None:
    """The team-windows sample planned from 2026-12-02 and run: dates on the axis, the time rules' bands on screen
    with their hover texts, every lane, no console error, no request, no sideways scrolling."""
    spec, sched, events, out = "specs/team-windows.wg", tmp_path / "s.json", tmp_path / "e.jsonl", tmp_path / "r.html"
    assert wavegate("plan", "-q", "--spec", spec, "--start", "2026-12-02T00:00Z", "-o", str(sched))[0] == 0
    assert wavegate("simulate", "--spec", spec, "--schedule", str(sched), "--events", str(events))[0] in (0, 3)
    assert wavegate("report", "--spec", spec, "--schedule", str(sched), "--events", str(events), "-o", str(out))[0] == 0
    assert BINARY is not None
    with Browser(BINARY) as browser:
        page = open_page(browser, out, 1280, 800)
        run = page.settle()
        assert run.errors() == [] and run.requests == [run.url]
        ticks = page.evaluate("[...document.querySelectorAll('#lanes-fig text.tick')].map(t => t.textContent)")
        assert any(t.startswith("2026-12-") for t in ticks)
        bands = page.evaluate("""[...document.querySelectorAll('g.tband')].map(g => {
            const r = g.getBoundingClientRect(); return [g.dataset.kind, r.width, g.querySelector('title').textContent];
            })""")
        assert {k for k, _, _ in bands} == {"bake", "window", "freeze"}
        assert all(w > 0 and tip for _, w, tip in bands)
        lanes = page.evaluate("[...document.querySelectorAll('g.lane')].map(g => g.dataset.region)")
        assert set(lanes) == lanes_of_schedule(sched)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

"""The page: one self-contained HTML file (inline CSS, inline SVG, a few lines of inline JavaScript).

It names no URL and loads nothing: a Content-Security-Policy of ``default-src 'none'`` with the hashes of its own
style and script makes the browser refuse any request the page might make.  Without JavaScript every chart, table
and halt is there; the script only adds the region filter and a details panel for hover and keyboard focus.
Every chart has a caption saying in words what it shows and a table view with its numbers.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from engine.model.calendar import format_instant, parse_instant
from engine.model.schedule import Finish
from engine.report.calendar_view import Band
from engine.report.changes import Changes
from engine.report.plan_view import PlanView
from engine.report.progress import progress_chart
from engine.report.risk import RiskSummary
from engine.report.riskcharts import finish_chart, halts_by_rule_chart, p_halt_chart
from engine.report.run_view import TASK_HALTS, RunView
from engine.report.sources import SourceLine
from engine.report.svg import PLANNED, Axis, CalendarAxis, duration, el, esc, percent
from engine.report.swimlane import glyph_defs, legend_items, swimlane
from engine.report.tables import (
    changes_table,
    halts_table,
    lanes_table,
    params_table,
    progress_table,
    recorded_table,
    risk_tables,
    row,
    rules_table,
    table,
    task_halts_table,
)


@dataclass(frozen=True)
class Report:
    """Everything the page shows, already aggregated."""

    policy: str
    fleet: str  # the fleet's file name
    version: str
    inputs: tuple[tuple[str, str], ...]  # (what, file name)
    plan: PlanView
    run: RunView | None
    risk: RiskSummary | None
    changes: Changes | None
    rules: tuple[SourceLine, ...]
    params: tuple[SourceLine, ...]
    rule_where: Mapping[str, str]  # rule name -> file:line
    wave_rules: tuple[str, ...]  # the rules that limit a wave (the terms of the lower bound)
    axis: Axis | None = None  # the calendar axis when the schedule has times (None: the wave axis)
    bands: tuple[Band, ...] = ()  # the time rules' bands on the calendar
    undrawn: tuple[str, ...] = ()  # time rules without a band, and why

    def where(self, rule: str | None) -> str:
        return self.rule_where.get(rule or "", "not a rule of this policy")


def render(r: Report) -> str:
    body = "".join([
        _defs(), _header(r), _lanes(r), _progress(r), _halts(r), _bound(r), _risk(r), _changes(r),
        _rules(r), _footer(r), el("div", (("id", "tip"), ("class", "tip-panel"), ("aria-live", "polite"),
                                          ("hidden", "hidden")), ""),
    ])
    csp = (f"default-src 'none'; style-src '{_sha256(CSS)}'; script-src '{_sha256(SCRIPT)}'; "
           "img-src 'none'; base-uri 'none'; form-action 'none'")
    head = (f'<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(f'wavegate rollout report: {r.policy} on {r.fleet}')}</title>\n<style>{CSS}</style>")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n{head}\n</head>\n<body>\n{body}\n'
            f"<script>{SCRIPT}</script>\n</body>\n</html>\n")


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def _defs() -> str:
    """Patterns the charts share (one id space per page)."""
    hatch = (f'<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
             f'<rect width="6" height="6" fill="#e3f2fb"/><line x1="0" y1="0" x2="0" y2="6" stroke="{PLANNED}" '
             'stroke-width="2.5"/></pattern>')
    return (f'<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false"><defs>{hatch}'
            f"{glyph_defs()}</defs></svg>")


def _section(sid: str, heading: str, *content: str) -> str:
    return el("section", (("id", sid), ("aria-labelledby", f"{sid}-h")), el("h2", (("id", f"{sid}-h"),), esc(heading)),
              *content)


def _figure(fid: str, chart: str, caption: str, table_html: str, legend: str = "") -> str:
    cap = el("figcaption", (("id", f"{fid}-cap"),), esc(caption))
    # Without a table of its own (the risk charts), the numbers follow in one table block.
    view = el("details", (("class", "table-view"),), el("summary", (), "Table view"), table_html) if table_html else ""
    return el("figure", (("id", fid),), chart, legend, cap, view)  # the caption under the chart, as in print


def _p(text: str, cls: str | None = None) -> str:
    return el("p", (("class", cls),), esc(text))


def _header(r: Report) -> str:
    plan = r.plan
    cards = [("waves", f"{plan.waves}", f"lower bound {plan.lower_bound}"
              + (", proven optimal" if plan.optimal else ", not proven optimal")),
             ("upgrades", f"{plan.tasks:,}", f"on {plan.scheduled_vms:,} of {plan.fleet_vms:,} VMs"),
             ("regions", f"{len(plan.lanes)}", f"in {len(plan.phases)} phases")]
    if r.run is not None:
        set_halts = sum(1 for h in r.run.halts if h.kind not in TASK_HALTS)
        cards.append(("done", percent(r.run.final_share), f"{r.run.outcome} after {duration(r.run.minutes)}"))
        cards.append(("halts", f"{len(r.run.halts):,}", f"{set_halts:,} of sets or phases"))
    if r.risk is not None:
        cards.append(("P(halt)", percent(r.risk.p_halt.estimate), f"over {r.risk.scenarios:,} scenarios"))
    card_html = "".join(el("div", (("class", "card"),), el("div", (("class", "card-what"),), esc(what)),
                           el("div", (("class", "card-num"),), esc(n)), el("div", (("class", "card-note"),), esc(note)))
                        for what, n, note in cards)
    return el("header", (), el("h1", (), esc(f"Rollout report: {r.policy} on {r.fleet}")),
              el("p", (("class", "lede"),), esc(" ".join(summary_sentences(r)))),
              el("div", (("class", "cards"),), card_html), _nav(r))


def summary_sentences(r: Report) -> list[str]:
    """The page in a few sentences (also what a screen reader hears first)."""
    plan = r.plan
    verdict = "proven optimal" if plan.optimal else f"not proven optimal (gap {plan.waves - plan.lower_bound})"
    out = [f"The plan: {plan.tasks:,} upgrades on {plan.scheduled_vms:,} of the fleet's {plan.fleet_vms:,} VMs in "
           f"{len(plan.lanes)} regions, {plan.waves} waves in {len(plan.phases)} phases; lower bound "
           f"{plan.lower_bound} waves, {verdict}."]
    if r.run is not None:
        out.append(_run_sentence(r.run, plan))
    if r.risk is not None:
        q = r.risk.finish_minutes
        out.append(f"Risk over {r.risk.scenarios:,} scenarios: P(halt) {percent(r.risk.p_halt.estimate)} "
                   f"[{percent(r.risk.p_halt.low)}, {percent(r.risk.p_halt.high)}]; finish P50 {duration(q.p50)}, "
                   f"P95 {duration(q.p95)}{_finish_utc_text(r.risk)}.")
    if r.changes is not None:
        out.append(_changes_sentence(r.changes))
    return out


def _run_sentence(run: RunView, plan: PlanView) -> str:
    kinds = Counter(h.kind for h in run.halts)
    held = sorted({h.phase for h in run.halts if h.kind == "phase_held" and isinstance(h.phase, int)})
    what = [f"{kinds[k]:,} {text}" for k, text in HALT_PHRASES if kinds[k]]
    what += [f"phase {p} held" for p in held]
    done = round(run.final_share * plan.tasks)
    return (f"The run {run.outcome} after {duration(run.minutes)} (ideal {duration(run.ideal_minutes)}): "
            f"{done:,} upgrades done ({percent(run.final_share)})"
            + (f"; halts: {', '.join(what)}." if what else "; no halt."))


HALT_PHRASES = (("set_blocked", "sets blocked"), ("set_stopped", "sets stopped"), ("install_refused", "installs refused"),
                ("retries_exhausted", "tasks given up after their retries"))


def _changes_sentence(ch: Changes) -> str:
    if ch.unchanged:
        return "Against the previous schedule: nothing changed."
    rephased = sum(1 for r in ch.regions if r.rephased)
    return (f"Against the previous schedule: {ch.old_waves} → {ch.new_waves} waves; VMs {ch.total('earlier'):,} "
            f"earlier, {ch.total('later'):,} later, {ch.total('added'):,} added, {ch.total('removed'):,} removed; "
            f"{rephased} regions re-phased.")


def _nav(r: Report) -> str:
    links = [("lanes", "Swimlanes"), ("progress", "Progress"), ("halts", "Halts"), ("bound", "Why not faster"),
             ("risk", "Risk"), ("changes", "Changes"), ("rules", "Rules")]
    return el("nav", (("aria-label", "sections"),),
              el("ul", (), *(el("li", (), el("a", (("href", f"#{sid}"),), esc(name))) for sid, name in links)))


def _filter(r: Report) -> str:
    options = [el("option", (("value", ""),), "all regions")]
    options += [el("option", (("value", region),), esc(region)) for region in r.plan.lanes]
    select = el("select", (("id", "region-filter"),), *options)
    return el("form", (("id", "filter"), ("class", "filter"), ("hidden", "hidden")),
              el("label", (("for", "region-filter"),), "Show region "), select,
              el("span", (("class", "note"),), " (others are dimmed in the charts and hidden in the tables)"))


def _lanes(r: Report) -> str:
    plan, run = r.plan, r.run
    phases = "; ".join(
        f"phase {ph.index}: waves {ph.first_wave}–{ph.last_wave}, {len(ph.regions)} regions, the longest "
        f"{', '.join(ph.longest)} ({ph.longest_waves} waves)" for ph in plan.phases)
    caption = (f"Swimlanes: one lane per region ({len(plan.lanes)}), its waves as bars on a wave axis "
               f"({plan.waves} waves; no calendar yet), phases as bands." + (f" {phases}." if phases else ""))
    if isinstance(r.axis, CalendarAxis):
        caption = _calendar_caption(r, phases)
    if run is not None:
        caption += (" Solid: upgrades done; hatched: planned but not done. Markers: halts at their moment, "
                    f"{len(run.halts):,} in all, listed under Halts.")
    else:
        caption += " No event log was given (--events): the plan only."
    legend = el("ul", (("class", "legend"),), *(el("li", (), swatch, esc(meaning))
                                                for swatch, meaning in legend_items(run is not None)))
    idle = (_p(f"Regions of the fleet with nothing to upgrade: {', '.join(plan.idle_regions)}.", "note")
            if plan.idle_regions else "")
    return _section("lanes", "Swimlanes: regions and waves", _filter(r),
                    _figure("lanes-fig", swimlane(plan, run, "lanes-fig-cap", r.axis, r.bands), caption,
                            lanes_table(plan, run) + _calendar_tables(r), legend), idle)


def _calendar_caption(r: Report, phases: str) -> str:
    plan = r.plan
    kinds = Counter(b.kind for b in r.bands)
    drawn = ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in sorted(kinds.items())) or "none"
    text_ = (f"Swimlanes on the calendar: one lane per region ({len(plan.lanes)}), its waves as bars at their "
             f"planned times ({plan.waves} waves, dates in UTC), phases as bands." + (f" {phases}." if phases else "")
             + f" Time rules as bands ({drawn}): W a maintenance window open (green), F a freeze (hatched), K a "
             "bake (orange); each is listed in the table view.")
    if r.run is not None and r.run.waits:
        text_ += (f" Under the lanes, W squares: {sum(w.sets for w in r.run.waits):,} batches that waited for a "
                  "window or a freeze to end, from when they waited (square) to when the calendar opened (dotted).")
    if r.run is not None and r.run.bakes:
        text_ += (f" Under those, K squares: the {sum(b.count for b in r.run.bakes):,} bakes the run waited out, "
                  "from when each started (square) to when it ended (orange line).")
    return text_


def _calendar_tables(r: Report) -> str:
    if not isinstance(r.axis, CalendarAxis):
        return ""
    rows = [row([b.kind, b.rule, b.region or "every region", b.note, _when(b.start), _when(b.end)], b.region)
            for b in r.bands]
    out = table(["kind", "rule", "where", "what", "from (UTC)", "to (UTC)"], rows,
                f"Calendar bands: {len(r.bands)} (bakes, maintenance windows' openings, freezes)")
    if r.undrawn:
        out += _p("Not drawn: " + "; ".join(r.undrawn) + ".", "note")
    if r.run is not None and r.run.waits:
        origin = r.axis.origin
        wrows = [row([w.rule, w.reason, str(w.wave), f"{w.sets:,}", _when(origin + round(w.minutes * 60)),
                      _when(origin + round(w.until * 60)) if w.until is not None else "never"])
                 for w in r.run.waits]
        out += table(["rule", "reason", "wave", "batches", "waited from (UTC)", "until (UTC)"], wrows,
                     f"Window waits of the run: {sum(w.sets for w in r.run.waits):,} batches")
    if r.run is not None and r.run.bakes:
        origin = r.axis.origin
        brows = [row([b.rule, b.after.replace("_", " "), b.where, f"{b.count:,}", _when(origin + round(b.minutes * 60)),
                      _when(origin + round(b.until * 60))]) for b in r.run.bakes]
        out += table(["rule", "after", "where", "bakes", "from (UTC)", "until (UTC)"], brows,
                     f"Bakes of the run: {sum(b.count for b in r.run.bakes):,}")
    return out


def _finish_utc_text(risk: RiskSummary) -> str:
    """On a calendar, the finish percentiles as dates too ('' without one, so an untimed page is as it was)."""
    u = risk.finish_utc
    if u is None:
        return ""
    at = [_when(parse_instant(t)) + " UTC" for t in (u.start, u.p50, u.p95, u.max)]
    return f"; on the calendar from {at[0]}: P50 {at[1]}, P95 {at[2]}, max {at[3]}"


def _when(t: int) -> str:
    return format_instant(t).replace("T", " ").removesuffix(":00Z").removesuffix("Z")


def _progress(r: Report) -> str:
    plan, run = r.plan, r.run
    caption = "Share of the scheduled upgrades done after each wave: planned (dashed)"
    if run is not None:
        last = max((w for w, s in enumerate(run.actual_share) if s is not None), default=None)
        caption += (f" and as it happened (solid): {percent(run.final_share)} at the end of the run"
                    + (f", the last wave run was {last}." if last is not None else ", no wave ran."))
    else:
        caption += "; no event log was given."
    states = ""
    if run is not None and run.states:
        states = _p("Tasks at the end of the run: " + ", ".join(f"{k.replace('_', ' ')} {n:,}" for k, n in run.states)
                    + f" ({run.executed_waves} executed waves, retry waves included; {run.events:,} events).")
    return _section("progress", "Progress: the cumulative share upgraded",
                    _figure("progress-fig", progress_chart(plan, run, "progress-fig-cap", r.axis), caption,
                            progress_table(plan, run)), states)


def _halts(r: Report) -> str:
    if r.run is None:
        return _section("halts", "Halts", _p("No event log was given (--events): no run to show.", "note"))
    sets = [h for h in r.run.halts if h.kind not in TASK_HALTS]
    tasks = [h for h in r.run.halts if h.kind in TASK_HALTS]
    parts = [halts_table(sets, r.where, f"{len(sets):,} sets blocked or stopped, installs refused, phases held")
             if sets else _p("No set was blocked or stopped and no phase was held.", "note")]
    if tasks:
        parts.append(task_halts_table(tasks, r.where))
    return _section("halts", "Halts: where the run stopped, why, and what would unblock it", *parts)


def _bound(r: Report) -> str:
    plan = r.plan
    if plan.optimal:
        verdict = (f"The schedule has {plan.waves} waves and the planner proved that none has fewer "
                   f"(lower bound {plan.lower_bound}): it is optimal.")
    else:
        verdict = (f"The schedule has {plan.waves} waves; the proven lower bound is {plan.lower_bound}: a schedule "
                   f"{plan.waves - plan.lower_bound} waves shorter may exist, and the planner could not rule it out.")
    phases = [f"Phase {ph.index} takes {ph.waves} waves: {', '.join(ph.longest)} has tasks in "
              f"{ph.longest_waves} of them." for ph in plan.phases]
    asks = [f"wavegate explain --schedule SCHEDULE --vm {ph.last_vm}" for ph in plan.phases if ph.last_vm]
    parts = [_p(verdict), _p(" ".join(phases) + " Phases run one after another (geo-paired regions never share "
                             "one), so the schedule's length is the sum of its phases'.")]
    if plan.finish is not None:
        parts.append(_finish(plan.finish))
    if asks:
        parts.append(el("p", (), esc("Which rules keep the last VMs of a phase out of every earlier wave: "),
                        *(el("code", (), esc(a)) + " " for a in asks)))
    if r.wave_rules:
        parts.append(_p("The bound comes from the rules that limit what one wave may hold: "
                        + ", ".join(f"{n} ({r.where(n)})" for n in r.wave_rules) + "."))
    if plan.why:
        parts.append(_p("The certificate of the lower bound (wavegate verify re-derives it from the fleet and the "
                        "policy alone):"))
        parts.append(el("pre", (), esc("\n".join(line[2:] for line in plan.why))))
    elif not any("certificate" in key for key, _ in plan.recorded):
        parts.append(_p("The schedule carries no lower-bound certificate (this planner does not record one yet).",
                        "note"))
    parts.append(el("h3", (), "What the planner recorded"))
    parts.append(recorded_table(plan))
    return _section("bound", "Why not faster: the lower bound", *parts)


def _finish(f: Finish) -> str:
    """The calendar's answer beside the wave bound: when the rollout ends as planned, the earliest any schedule
    could end, and what sets that bound."""
    items = [el("li", (), esc(f"Planned finish: {_when(parse_instant(f.planned))} UTC.")),
             el("li", (), esc(f"Lower bound on any schedule's finish: {_when(parse_instant(f.lower_bound))} UTC.")),
             el("li", (), esc(f"Finish set by {f.set_by}."))]
    items += [el("li", (), esc(f"Critical path: {step}.")) for step in f.critical_path]
    return el("div", (("class", "finish"), ("id", "finish")), el("h3", (), "On the calendar"),
              el("ul", (), *items))


def _risk(r: Report) -> str:
    risk = r.risk
    if risk is None:
        return _section("risk", "Risk", _p("No risk analysis was given (--risk, from wavegate risk --format json).",
                                           "note"))
    figs = [_figure("risk-p", p_halt_chart(risk, "risk-p-cap"),
                    f"P(halt) over {risk.scenarios:,} scenarios: {percent(risk.p_halt.estimate)}, "
                    f"{percent(risk.p_halt.confidence)} interval {percent(risk.p_halt.low)}–{percent(risk.p_halt.high)}"
                    " (hatched).", ""),
            _figure("risk-rules", halts_by_rule_chart(risk, r.where, "risk-rules-cap"),
                    "Scenarios halted, by rule (bars: share of the scenarios).", "")]
    finish = finish_chart(risk, "risk-finish-cap")
    if finish is not None:
        q = risk.finish_minutes
        figs.append(_figure("risk-finish", finish, f"Finish times over the scenarios: P50 {duration(q.p50)} (dashed), "
                            f"P95 {duration(q.p95)} (dotted), max {duration(q.max)} (solid)"
                            f"{_finish_utc_text(risk)}.", ""))
    return _section("risk", "Risk: how likely the rollout halts, and how long it takes", *figs,
                    el("h3", (), "The numbers (the charts' table view)"), risk_tables(risk, r.where))


def _changes(r: Report) -> str:
    ch = r.changes
    if ch is None:
        return _section("changes", "Changes", _p("No previous schedule was given (--previous).", "note"))
    facts = (f"Waves {ch.old_waves} → {ch.new_waves}; lower bound {ch.old_lower_bound} → {ch.new_lower_bound}; "
             f"upgrades {ch.old_tasks:,} → {ch.new_tasks:,}.")
    body = changes_table(ch) if ch.regions else _p("No region changed.", "note")
    return _section("changes", "Changes against the previous schedule", _p(_changes_sentence(ch)), _p(facts), body)


def _rules(r: Report) -> str:
    run_halts = Counter(h.rule for h in r.run.halts if h.rule) if r.run else Counter()
    risk_halts = {x.rule: x.scenarios for x in r.risk.halts_by_rule} if r.risk else None
    parts = [rules_table(r.rules, run_halts, risk_halts)]
    if r.params:
        parts += [el("h3", (), "Parameters"), params_table(r.params)]
    return _section("rules", f"The policy's rules ({len(r.rules)})", *parts)


def _footer(r: Report) -> str:
    given = ", ".join(f"{what} {name}" for what, name in r.inputs)
    return el("footer", (), _p(f"wavegate {r.version} · from {given}. This page is one file: it loads nothing and "
                               "sends nothing (its Content-Security-Policy forbids every request)."))


CSS = """
:root{--ink:#1b1b1b;--muted:#5f6368;--line:#d0d4d9;--bg:#ffffff;--soft:#f3f6f9}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1260px;padding:16px 20px 60px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
h1{font-size:24px;margin:4px 0 6px}
h2{font-size:19px;margin:22px 0 6px;border-bottom:1px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:16px 0 6px}
.lede{font-size:15px;max-width:1100px;margin:4px 0 12px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:4px 12px;min-width:140px;background:var(--soft)}
.card-what{font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.card-num{font-size:22px;font-weight:600;line-height:1.2}
.card-note{font-size:12px;color:var(--muted)}
nav ul{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:6px 16px}
nav a{color:#0b57a4}
.filter{margin:0 0 6px;font-size:13px}
figure{margin:8px 0 12px}
figcaption{margin:4px 0 6px;color:var(--ink)}
svg.chart{width:100%;height:auto;display:block;font-size:12px}
svg.defs{position:absolute}
.band-label{font-size:12px;font-weight:600;fill:#3c4043}
.tick{font-size:11px;fill:#3c4043}
.axis-label{font-size:12px;fill:#5f6368}
.lane-label{font-size:12px;fill:#1b1b1b}
.series-label{font-size:12px;font-weight:600;fill:#1b1b1b;paint-order:stroke;stroke:#fff;stroke-width:3px}
.hold-label{font-size:12px;font-weight:700;fill:#1b1b1b}
.glyph{font-size:9px;font-weight:700;pointer-events:none}
.count{font-size:10px;font-weight:700;fill:#1b1b1b;paint-order:stroke;stroke:#fff;stroke-width:2.5px}
.halt:focus,.hold:focus{outline:2px solid #0b57a4}
.done{fill:#0072b2}
.planned{fill:#56b4e9}
.todo{fill:url(#hatch);stroke:#56b4e9;stroke-width:.5}
.lane-rule{stroke:#d0d4d9;stroke-width:.5}
.dim{opacity:.18}
tr.dim{display:none}
.legend{list-style:none;padding:0;margin:4px 0;display:flex;flex-wrap:wrap;gap:4px 18px;font-size:13px}
.legend li{display:flex;align-items:center;gap:6px}
svg.swatch{width:24px;height:18px;vertical-align:middle;flex:none}
table.data{border-collapse:collapse;margin:6px 0 10px;font-size:13px;width:100%}
table.data caption{text-align:left;font-weight:600;padding:4px 0}
table.data th,table.data td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
table.data th{background:var(--soft)}
table.halts td:nth-child(7),table.halts td:nth-child(8){min-width:240px}
table.tasks td:nth-child(6),table.tasks td:nth-child(8){min-width:220px}
table.tasks td:nth-child(7){min-width:0}
table.facts{width:auto}
table.recorded code{white-space:pre-wrap;word-break:break-all}
pre{margin:0;white-space:pre-wrap;font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
.where{font:12px ui-monospace,"DejaVu Sans Mono",monospace;color:#3c4043;white-space:nowrap}
.note{color:var(--muted)}
details.table-view summary{cursor:pointer;color:#0b57a4;margin:4px 0}
.tip-panel{position:fixed;left:12px;right:12px;bottom:10px;max-width:900px;margin:auto;background:#fff;border:1px solid #5f6368;border-radius:6px;padding:6px 10px;box-shadow:0 2px 8px rgba(0,0,0,.18);font-size:13px}
footer{margin-top:30px;color:var(--muted);font-size:12px}
""".strip()

SCRIPT = """
(function () {
  var form = document.getElementById('filter'), select = document.getElementById('region-filter');
  var tip = document.getElementById('tip');
  form.hidden = false;
  select.addEventListener('change', function () {
    var v = select.value;
    document.querySelectorAll('[data-region]').forEach(function (e) {
      e.classList.toggle('dim', v !== '' && e.getAttribute('data-region') !== v);
    });
  });
  function say(text) { tip.textContent = text; tip.hidden = false; }
  document.querySelectorAll('g.lane[data-cells]').forEach(function (lane) {
    var cells = lane.getAttribute('data-cells').split(';').map(function (c) { return c.split(' '); });
    var svg = lane.ownerSVGElement, region = lane.getAttribute('data-region');
    lane.addEventListener('mousemove', function (ev) {
      if (ev.target.closest('.tip') || !cells[0][0]) { return; }
      var p = svg.createSVGPoint(); p.x = ev.clientX; p.y = ev.clientY;
      var x = p.matrixTransform(svg.getScreenCTM().inverse()).x;
      cells.forEach(function (c) {
        if (x >= +c[1] && x <= +c[2]) {
          say(region + ' · wave ' + c[0] + ': ' + (+c[3]).toLocaleString('en-US') + ' upgrades on ' +
              (+c[4]).toLocaleString('en-US') + ' VMs' + (c.length > 5 ? ', ' + (+c[5]).toLocaleString('en-US') +
              ' done' : ''));
        }
      });
    });
  });
  function show(ev) {
    var t = ev.target.closest ? ev.target.closest('.tip') : null;
    var title = t ? t.querySelector('title') : null;
    if (title) { say(title.textContent); }
  }
  document.addEventListener('mouseover', show);
  document.addEventListener('focusin', show);
  document.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') { tip.hidden = true; } });
})();
""".strip()

"""The page's tables: the table view of each chart (its text alternative) and the halts, rules and changes.

Rows that belong to one region carry ``data-region`` so the region filter applies to them too.  Long lists are cut
at a fixed number of rows with a line saying how many were left out and where to find them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence

from engine.report.changes import Changes
from engine.report.plan_view import PlanView
from engine.report.risk import RiskSummary
from engine.report.run_view import Halt, RunView
from engine.report.sources import SourceLine
from engine.report.svg import duration, el, esc, percent
from engine.report.swimlane import halt_swatch

HALT_ROWS = 60  # per halts table; the rest are counted by rule and region
SHOWN_NUMBERS = 12  # halt numbers listed in one row of grouped halts
CHANGE_ROWS = 200
KIND_TEXT = {"set_blocked": "blocked", "set_stopped": "stopped", "install_refused": "refused",
             "retries_exhausted": "gave up", "phase_held": "phase held"}


def table(head: Sequence[str], rows: Iterable[str], caption: str | None = None, cls: str = "data") -> str:
    cap = el("caption", (), esc(caption)) if caption else ""
    header = el("thead", (), el("tr", (), *(el("th", (("scope", "col"),), esc(h)) for h in head)))
    return el("table", (("class", cls),), cap, header, el("tbody", (), *rows))


def row(cells: Sequence[str], region: str | None = None, raw: bool = False) -> str:
    """A table row; cells are text unless ``raw`` (then already HTML)."""
    tds = [el("td", (), c if raw else esc(c)) for c in cells]
    return el("tr", (("data-region", region),), *tds)


def lanes_table(plan: PlanView, run: RunView | None) -> str:
    rows = []
    for region in plan.lanes:
        first, last = plan.region_span[region]
        cells = [plan.cells[(region, w)] for w in range(first, last + 1) if (region, w) in plan.cells]
        tasks = sum(c.tasks for c in cells)
        per_wave = ", ".join(f"{c.wave}: {c.tasks:,}" + (f"/{run.done.get((region, c.wave), 0):,}" if run else "")
                             for c in cells)
        done = sum(run.done.get((region, c.wave), 0) for c in cells) if run else None
        rows.append(row([region, str(plan.region_phase[region]), f"{first}–{last}", f"{tasks:,}",
                         f"{done:,} ({percent(done / tasks if tasks else 1)})" if done is not None else "-",
                         per_wave], region))
    head = ["region", "phase", "waves", "upgrades", "done", "per wave: planned" + ("/done" if run else "")]
    return table(head, rows)


def progress_table(plan: PlanView, run: RunView | None) -> str:
    rows = []
    for w, share in enumerate(plan.planned_share()):
        actual = run.actual_share[w] if run else None
        shown = percent(actual) if actual is not None else ("not run" if run else "-")
        rows.append(row([str(w), str(plan.wave_phase[w]), f"{plan.tasks_per_wave[w]:,}", percent(share), shown]))
    if run is not None:
        rows.append(row(["end", "", "", "", f"{percent(run.final_share)} (after retries, {duration(run.minutes)})"]))
    return table(["wave", "phase", "upgrades planned", "planned, cumulative", "done, cumulative"], rows)


def moment(h: Halt) -> str:
    at = duration(h.minutes)
    if h.wave is None:
        return f"between waves, {at}"
    return f"retry of wave {h.wave}, {at}" if h.retry else f"wave {h.wave}, {at}"


def halts_table(halts: Sequence[Halt], where: Callable[[str | None], str], caption: str) -> str:
    rows = []
    for h in halts[:HALT_ROWS]:
        kind = f"{halt_swatch(h.kind, h.retry)} {esc(KIND_TEXT.get(h.kind, h.kind))}"
        rule = f"{esc(h.rule)} <span class=\"where\">{esc(where(h.rule))}</span>" if h.rule else "-"
        cells = [esc(f"#{h.number}"), kind, esc(moment(h)), esc(h.region or "all"), esc(h.subject), rule,
                 esc(h.why), esc(h.unblock)]
        rows.append(el("tr", (("data-region", h.region), ("id", f"halt-{h.number}")),
                       *(el("td", (), c) for c in cells)))
    out = table(["#", "what", "moment", "region", "subject", "rule", "why", "what would unblock it"], rows,
                caption, "data halts")
    if len(halts) > HALT_ROWS:
        out += el("p", (("class", "note"),), esc(f"{len(halts) - HALT_ROWS:,} more not listed here; by rule and "
                                                  "region below, every one in the event log."))
        out += halt_counts(halts)
    return out


def task_halts_table(halts: Sequence[Halt], where: Callable[[str | None], str]) -> str:
    """Tasks given up after their retries, grouped by region, rule and last failure (they come by the dozen)."""
    groups: dict[tuple[str, str, str, str], list[Halt]] = {}
    for h in halts:
        groups.setdefault((h.region or "all", h.rule or "-", h.why, h.unblock), []).append(h)
    rows = []
    for (region, rule, why, unblock), hs in sorted(groups.items(), key=lambda kv: kv[1][0].number)[:HALT_ROWS]:
        numbers = " ".join(f"#{h.number}" for h in hs[:SHOWN_NUMBERS])
        numbers += f" and {len(hs) - SHOWN_NUMBERS:,} more" if len(hs) > SHOWN_NUMBERS else ""
        waves = ", ".join(str(w) for w in sorted({h.wave for h in hs if h.wave is not None}))
        examples = "; ".join(h.subject for h in hs[:3]) + (" …" if len(hs) > 3 else "")
        rule_html = f"{esc(rule)} <span class=\"where\">{esc(where(rule))}</span>"
        cells = [esc(numbers), esc(region), esc(f"{len(hs):,}"), esc(waves), rule_html, esc(why), esc(examples),
                 esc(unblock)]
        rows.append(el("tr", (("data-region", None if region == "all" else region),
                              ("data-halts", " ".join(str(h.number) for h in hs))), *(el("td", (), c) for c in cells)))
    out = table(["#", "region", "tasks", "of waves", "rule", "why", "examples", "what would unblock it"],
                rows, f"{len(halts):,} tasks given up after their retries, by region and cause", "data halts tasks")
    if len(groups) > HALT_ROWS:
        out += el("p", (("class", "note"),), esc(f"{len(groups) - HALT_ROWS:,} more groups; every task in the event "
                                                  "log (retries_exhausted)."))
    return out


def halt_counts(halts: Sequence[Halt]) -> str:
    counts = Counter((KIND_TEXT.get(h.kind, h.kind), h.rule or "-", h.region or "all") for h in halts)
    rows = [row([kind, rule, region, f"{n:,}"], region if region != "all" else None)
            for (kind, rule, region), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:HALT_ROWS]]
    return table(["what", "rule", "region", "halts"], rows)


def rules_table(lines: Sequence[SourceLine], run_halts: Mapping[str, int], risk_halts: Mapping[str, int] | None
                ) -> str:
    head = ["rule", "kind", "source", "text", "halts in this run"] + (["scenarios halted"] if risk_halts else [])
    rows = []
    for s in lines:
        text = el("pre", (), esc(s.text)) + (el("p", (("class", "note"),), esc(s.note)) if s.note else "")
        cells = [esc(s.name), esc(f"{s.family}: {s.kind}"), el("span", (("class", "where"),), esc(s.where)), text,
                 esc(f"{run_halts.get(s.name, 0):,}")]
        if risk_halts is not None:
            cells.append(esc(f"{risk_halts.get(s.name, 0):,}"))
        rows.append(row(cells, raw=True))
    return table(head, rows, cls="data rules")


def params_table(lines: Sequence[SourceLine]) -> str:
    rows = [row([esc(s.name), el("span", (("class", "where"),), esc(s.where)), el("pre", (), esc(s.text))], raw=True)
            for s in lines]
    return table(["parameter", "source", "text"], rows, cls="data rules")


def changes_table(ch: Changes) -> str:
    def span(s: tuple[int, int] | None) -> str:
        return f"{s[0]}–{s[1]}" if s else "none"

    def opt(v: int | None) -> str:
        return "none" if v is None else str(v)

    rows = [row([r.region, f"{opt(r.old_phase)} → {opt(r.new_phase)}" + (" (re-phased)" if r.rephased else ""),
                 f"{span(r.old_waves)} → {span(r.new_waves)}", f"{r.earlier:,}", f"{r.later:,}", f"{r.added:,}",
                 f"{r.removed:,}"], r.region)
            for r in ch.regions[:CHANGE_ROWS]]
    out = table(["region", "phase", "waves", "VMs earlier", "VMs later", "VMs added", "VMs removed"], rows)
    if len(ch.regions) > CHANGE_ROWS:
        out += el("p", (("class", "note"),), esc(f"and {len(ch.regions) - CHANGE_ROWS:,} more regions"))
    return out


def recorded_table(plan: PlanView) -> str:
    rows = [el("tr", (), el("td", (), esc(key)), el("td", (), el("code", (), esc(value)))) for key, value in plan.recorded]
    return table(["field", "value"], rows, cls="data recorded")


def risk_tables(risk: RiskSummary, where: Callable[[str], str]) -> str:
    q = risk.finish_minutes
    facts = [("scenarios", f"{risk.scenarios:,} (seed {risk.seed})"),
             ("P(halt)", f"{percent(risk.p_halt.estimate)}, {percent(risk.p_halt.confidence)} interval "
                         f"{percent(risk.p_halt.low)}–{percent(risk.p_halt.high)}"),
             ("finish time", f"P50 {duration(q.p50)}, P95 {duration(q.p95)}, max {duration(q.max)}")]
    if risk.worst_seeds:
        facts.append(("worst seeds", ", ".join(str(s) for s in risk.worst_seeds[:20])
                      + " (wavegate simulate --seed N replays one)"))
    out = table(["what", "value"], (row(list(f)) for f in facts), cls="data facts")
    rules = sorted(risk.halts_by_rule, key=lambda r: (-r.scenarios, r.rule))
    out += table(["rule", "source", "scenarios halted"],
                 (row([r.rule, where(r.rule), f"{r.scenarios:,} ({percent(r.scenarios / risk.scenarios)})"])
                  for r in rules), "Halts by rule")
    if risk.halts_by_region:
        regions = sorted(risk.halts_by_region, key=lambda r: (-r.scenarios, r.region))
        out += table(["region", "scenarios halted"],
                     (row([r.region, f"{r.scenarios:,} ({percent(r.scenarios / risk.scenarios)})"], r.region)
                      for r in regions), "Halts by region")
    if risk.finish_histogram is not None:
        h = risk.finish_histogram
        out += table(["finish time from", "to", "scenarios"],
                     (row([duration(a), duration(b), f"{n:,}"])
                      for a, b, n in zip(h.edges, h.edges[1:], h.counts, strict=False)), "Finish times")
    return out

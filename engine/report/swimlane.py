"""The swimlanes: a lane per region, its waves as bars on the axis, phase bands behind, halts marked at their moment.

A bar's height is the region's upgrades in that wave against its largest wave; with an event log the bar's solid
part is what was done and its hatched part what was not.  Halts are grouped per region, wave and kind (one marker
with a count), so the drawing grows with regions x waves, never with VMs or halts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from engine.model.calendar import format_instant
from engine.report.calendar_view import Band
from engine.report.plan_view import PlanView
from engine.report.run_view import Halt, RunBake, RunView, Wait
from engine.report.svg import (
    BANDS,
    BLOCKED,
    DONE,
    GAVE_UP,
    GRID,
    INK,
    LABEL_W,
    MUTED,
    PLANNED,
    REFUSED,
    STOPPED,
    WIDTH,
    Axis,
    CalendarAxis,
    el,
    num,
    percent,
    svg,
    text,
    title,
    wave_axis,
)

LANE_H = 22
BAR_H = 15
HEAD = 60  # band labels, then the held-phase labels, then the wave ticks
FOOT = 30
FOOT_CAL = 50  # on a calendar: the window waits' row under the lanes, then the axis caption
BAKE_ROW = 14  # on a calendar with a run that baked: the run's bakes' row, under the waits' row
OTHER = "(several regions)"
# kind -> (glyph letter, fill, letter colour, what it means)
GLYPHS = {
    "set_blocked": ("B", BLOCKED, INK, "set blocked by a precheck"),
    "set_stopped": ("S", STOPPED, "#ffffff", "set stopped"),
    "install_refused": ("X", REFUSED, "#ffffff", "install refused"),
    "retries_exhausted": ("R", GAVE_UP, INK, "task given up after its retries"),
}
MARK_LIMIT = 400  # marks at most (each about 250 bytes): past it they are merged, so the page stays small
WHY_MARKS = 100  # up to this many marks, a mark of one halt says why in its hover text (else the table does)


@dataclass(frozen=True)
class Mark:
    region: str
    wave: int
    last_wave: int
    kind: str  # of its glyph: the most frequent kind among its halts
    retry: bool
    halts: tuple[Halt, ...]


def marks(halts: Sequence[Halt], lanes: Sequence[str]) -> list[Mark]:
    """One mark per region, wave and kind (phase holds are lines, not marks).  Past MARK_LIMIT marks, one per
    region and wave; still past it, one per region and block of waves: the drawing stays bounded whatever the halts."""
    known = set(lanes)
    placed = [(h.region if h.region in known else OTHER, h.wave, h) for h in halts
              if h.kind != "phase_held" and h.wave is not None]
    groups = _group((((r, w, h.kind), h) for r, w, h in placed))
    block = 1
    while len(groups) > MARK_LIMIT:
        groups = _group((((r, w // block, ""), h) for r, w, h in placed))
        block += 1
    out = []
    for (region, _, _), hs in sorted(groups.items()):
        waves = [h.wave for h in hs if h.wave is not None]
        kind = Counter(h.kind for h in hs).most_common(1)[0][0]
        out.append(Mark(region, min(waves), max(waves), kind, all(h.retry for h in hs), tuple(hs)))
    return out


def _group(keyed: Iterable[tuple[tuple[str, int, str], Halt]]) -> dict[tuple[str, int, str], list[Halt]]:
    out: dict[tuple[str, int, str], list[Halt]] = {}
    for key, h in keyed:
        out.setdefault(key, []).append(h)
    return out


def lanes_of(plan: PlanView, run: RunView | None) -> list[str]:
    lanes = list(plan.lanes)
    if run is not None and any(m.region == OTHER for m in marks(run.halts, lanes)):
        lanes.append(OTHER)
    return lanes


def swimlane(plan: PlanView, run: RunView | None, label_id: str, axis: Axis | None = None,
             time_bands: Sequence[Band] = ()) -> str:
    axis = axis or wave_axis(plan.waves)
    lanes = lanes_of(plan, run)
    timed = isinstance(axis, CalendarAxis)
    baked = timed and run is not None and bool(run.bakes)
    height = HEAD + len(lanes) * LANE_H + (FOOT_CAL + (BAKE_ROW if baked else 0) if timed else FOOT)
    parts = [_bands(plan, axis, height)]
    if isinstance(axis, CalendarAxis):
        parts.insert(0, el("defs", (), FREEZE_HATCH))
        parts.append(_time_bands(time_bands, axis, lanes, height))
        if run is not None and run.waits:
            parts.append(_waits(run.waits, axis, HEAD + len(lanes) * LANE_H + 16))
        if run is not None and run.bakes:
            parts.append(_run_bakes(run.bakes, axis, HEAD + len(lanes) * LANE_H + 16 + BAKE_ROW))
    parts.append(_ticks(axis, height))
    lane_marks: dict[str, list[Mark]] = {}
    all_marks = marks(run.halts if run else (), lanes)
    for m in all_marks:
        lane_marks.setdefault(m.region, []).append(m)
    why = len(all_marks) <= WHY_MARKS
    for i, region in enumerate(lanes):
        parts.append(_lane(plan, run, axis, region, HEAD + i * LANE_H, lane_marks.get(region, []), why))
    if run is not None:
        parts += _holds(plan, run, axis, height)
    return svg(WIDTH, height, label_id, *parts)


def _bands(plan: PlanView, axis: Axis, height: float) -> str:
    foot = FOOT_CAL if isinstance(axis, CalendarAxis) else FOOT
    out = []
    for i, ph in enumerate(plan.phases):
        x0, x1 = axis.span(ph.first_wave)[0], axis.span(ph.last_wave)[1]
        label = f"phase {ph.index} · {len(ph.regions)} regions · waves {ph.first_wave}–{ph.last_wave}"
        if foot == FOOT_CAL:  # on a calendar a phase may be hours among weeks: a label only where it fits
            room = (axis.span(plan.phases[i + 1].first_wave)[0] if i + 1 < len(plan.phases) else WIDTH) - x0
            label = label if room > 6.5 * len(label) else f"phase {ph.index}" if room > 50 else ""
        out.append(el("rect", (("x", x0), ("y", 0.0), ("width", x1 - x0), ("height", float(height - foot)),
                               ("fill", BANDS[i % 2]))))
        out.append(el("line", (("x1", x0), ("y1", 0.0), ("x2", x0), ("y2", float(height - foot)),
                               ("stroke", GRID))))
        if label:
            out.append(text(x0 + 4, 14, label, ("class", "band-label")))
    return el("g", (("class", "bands"),), *out)


# Band kinds: fill, opacity, letter, what it means (the letter and the pattern carry the meaning, not the colour).
BAND_STYLE = {
    "window": ("#009e73", 0.16, "W", "maintenance window open"),
    "freeze": ("url(#freeze-hatch)", 1.0, "F", "freeze: no upgrades"),
    "bake": ("#e69f00", 0.22, "K", "bake: waiting before going on"),
}
FREEZE_HATCH = ('<pattern id="freeze-hatch" width="8" height="8" patternUnits="userSpaceOnUse" '
                'patternTransform="rotate(-45)"><rect width="8" height="8" fill="#fbe3d6"/>'
                f'<line x1="0" y1="0" x2="0" y2="8" stroke="{STOPPED}" stroke-width="2"/></pattern>')


def _time_bands(time_bands: Sequence[Band], axis: CalendarAxis, lanes: Sequence[str], height: float) -> str:
    """The time rules' bands: across every lane (a first-wave bake: in its region's lane), each named by its
    hover text and a letter at its foot."""
    row = {region: HEAD + i * LANE_H for i, region in enumerate(lanes)}
    bottom = height - FOOT_CAL
    out = []
    for b in time_bands:
        if b.region is not None and b.region not in row:
            continue
        x0, x1 = axis.instant(b.start), axis.instant(b.end)
        if x1 <= x0:
            continue
        fill, opacity, letter, meaning = BAND_STYLE[b.kind]
        y0, y1 = (row[b.region], row[b.region] + LANE_H) if b.region is not None else (float(HEAD), bottom)
        tip = f"{meaning}: {b.rule}, {b.note}, {_utc(b.start)} to {_utc(b.end)}"
        parts = [title(tip), el("rect", (("x", x0), ("y", float(y0)), ("width", max(1.0, x1 - x0)),
                                         ("height", float(y1 - y0)), ("fill", fill),
                                         ("fill-opacity", opacity if opacity < 1 else None)))]
        if b.region is None:
            parts.append(text(x0 + 1, bottom - 3, letter, ("class", "glyph")))
        out.append(el("g", (("class", f"tband tband-{b.kind} tip"), ("tabindex", 0), ("data-kind", b.kind),
                             ("data-rule", b.rule)), *parts))
    return el("g", (("class", "time-bands"),), *out)


def _waits(waits: Sequence[Wait], axis: CalendarAxis, y: float) -> str:
    """Window waits at their moment, under the lanes: a line from when the batches waited to when the calendar
    opened, one per rule and moment (its waves and sets counted in the hover text)."""
    groups: dict[tuple[str, str, float, float | None], list[Wait]] = {}
    for w in waits:
        groups.setdefault((w.rule, w.reason, w.minutes, w.until), []).append(w)
    out = []
    for (rule, reason, minutes, until), ws in sorted(groups.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])):
        x0 = axis.minutes(minutes)
        x1 = axis.minutes(until) if until is not None else axis.x0 + axis.width
        sets = sum(w.sets for w in ws)
        waves = sorted({w.wave for w in ws if w.wave is not None})
        opened = _utc(axis.origin + round(until * 60)) if until is not None else "never (no opening ahead)"
        tip = (f"window wait: {sets:,} batches of wave{'s' if len(waves) > 1 else ''} "
               f"{', '.join(map(str, waves))} waited for {reason} {rule} from "
               f"{_utc(axis.origin + round(minutes * 60))} until {opened}")
        out.append(el("g", (("class", "wait tip"), ("tabindex", 0), ("data-sets", sets)), title(tip),
                      el("line", (("x1", x0), ("y1", y), ("x2", max(x1, x0 + 2)), ("y2", y), ("stroke", INK),
                                  ("stroke-width", 1.5), ("stroke-dasharray", "2 2"))),
                      el("rect", (("x", x0 - 3), ("y", y - 3), ("width", 6.0), ("height", 6.0), ("fill", "#ffffff"),
                                  ("stroke", INK))),
                      text(x0 + 5, y - 4, "W", ("class", "glyph"))))
    return el("g", (("class", "waits"),), *out)


def _run_bakes(bakes: Sequence[RunBake], axis: CalendarAxis, y: float) -> str:
    """The bakes the run waited out, at their moment, under the waits: a K square where the bake started and an
    orange line to where it ended, one per rule and moment (its regions counted in the hover text)."""
    out = []
    for b in bakes:
        x0, x1 = axis.minutes(b.minutes), axis.minutes(b.until)
        tip = (f"bake of the run: {b.rule} (after {b.after.replace('_', ' ')}, {b.where}) from "
               f"{_utc(axis.origin + round(b.minutes * 60))} until {_utc(axis.origin + round(b.until * 60))}")
        out.append(el("g", (("class", "run-bake tip"), ("tabindex", 0), ("data-rule", b.rule)), title(tip),
                      el("line", (("x1", x0), ("y1", y), ("x2", max(x1, x0 + 2)), ("y2", y), ("stroke", "#e69f00"),
                                  ("stroke-width", 2.0))),
                      el("rect", (("x", x0 - 3), ("y", y - 3), ("width", 6.0), ("height", 6.0), ("fill", "#ffffff"),
                                  ("stroke", INK))),
                      text(x0 + 5, y - 4, "K", ("class", "glyph"))))
    return el("g", (("class", "run-bakes"),), *out)


def _utc(t: int) -> str:
    """``2026-12-05 21:08 UTC`` (seconds shown only when the instant has some: a run's virtual times may)."""
    return format_instant(t).replace("T", " ").removesuffix("Z").removesuffix(":00") + " UTC"


def _ticks(axis: Axis, height: float) -> str:
    out = [text(x, HEAD - 8, label, ("text-anchor", "middle"), ("class", "tick")) for x, label in axis.ticks()]
    out.append(text(LABEL_W - 8, HEAD - 8, axis.label, ("text-anchor", "end"), ("class", "tick")))
    out.append(text(LABEL_W + (WIDTH - LABEL_W) / 2, height - 8, axis.caption,
                    ("text-anchor", "middle"), ("class", "axis-label")))
    return el("g", (("class", "ticks"),), *out)


def _lane(plan: PlanView, run: RunView | None, axis: Axis, region: str, y: float, lane_marks: list[Mark],
          why: bool) -> str:
    """A lane: its bars as two paths (done, not done), the cells' numbers for the hover panel, its marks."""
    cells = [c for w in range(*_range(plan, region)) if (c := plan.cells.get((region, w))) is not None]
    top = max((c.tasks for c in cells), default=1)
    base = y + LANE_H - 3
    done_d, todo_d, data = [], [], []
    for c in cells:
        x0, x1 = axis.span(c.wave)
        x0, width = x0 + 1, max(1.0, x1 - x0 - 2)
        h = max(4.0, BAR_H * c.tasks / top)
        done = run.done.get((region, c.wave), 0) if run is not None else c.tasks
        solid = h * done / c.tasks if c.tasks else h
        if solid > 0:
            done_d.append(f"M{num(x0)} {num(base)}h{num(width)}v{num(-solid)}h{num(-width)}z")
        if solid < h:
            todo_d.append(f"M{num(x0)} {num(base - solid)}h{num(width)}v{num(solid - h)}h{num(-width)}z")
        data.append(f"{c.wave} {num(x0)} {num(x0 + width)} {c.tasks} {c.vms}" + (f" {done}" if run else ""))
    tasks = sum(c.tasks for c in cells)
    summary = f"{region}: phase {plan.region_phase.get(region)}, {tasks:,} upgrades"
    if run is not None:
        done_all = sum(run.done.get((region, c.wave), 0) for c in cells)
        summary += f", {done_all:,} done ({percent(done_all / tasks if tasks else 1)})"
    parts = [title(summary),
             el("line", (("x1", float(LABEL_W)), ("y1", y + LANE_H), ("x2", float(WIDTH)), ("y2", y + LANE_H),
                         ("class", "lane-rule"))),
             text(LABEL_W - 8, y + LANE_H / 2 + 4, region, ("text-anchor", "end"), ("class", "lane-label"))]
    if done_d:
        parts.append(el("path", (("class", "done" if run is not None else "planned"), ("d", "".join(done_d)))))
    if todo_d:
        parts.append(el("path", (("class", "todo"), ("d", "".join(todo_d)))))
    parts += [_mark(m, axis, y + LANE_H / 2, why) for m in lane_marks]
    return el("g", (("class", "lane"), ("data-region", region), ("data-cells", ";".join(data))), *parts)


def _range(plan: PlanView, region: str) -> tuple[int, int]:
    first, last = plan.region_span.get(region, (0, -1))
    return first, last + 1


def glyph(kind: str, x: float, y: float, retry: bool, size: float = 7.0) -> str:
    """A halt's marker: a shape and a letter per kind (colour is never the only difference); hollow in a retry."""
    letter, fill, ink, _ = GLYPHS.get(kind, ("?", MUTED, "#ffffff", ""))
    s = size
    paint = (("fill", "#ffffff"), ("stroke", fill), ("stroke-width", 2.0)) if retry else \
        (("fill", fill), ("stroke", INK), ("stroke-width", 0.8))
    if kind == "set_blocked":
        shape = el("rect", (("x", x - s), ("y", y - s), ("width", 2 * s), ("height", 2 * s), *paint))
    elif kind in ("set_stopped", "install_refused"):
        corners = OCTAGON if kind == "set_stopped" else DIAMOND
        pts = " ".join(f"{x + dx * s:.1f},{y + dy * s:.1f}" for dx, dy in corners)
        shape = el("polygon", (("points", pts), *paint))
    else:
        shape = el("circle", (("cx", x), ("cy", y), ("r", s), *paint))
    return shape + text(x, y + 3.5, letter, ("text-anchor", "middle"), ("class", "glyph"),
                        ("fill", INK if retry else ink))


OCTAGON = ((-0.41, -1), (0.41, -1), (1, -0.41), (1, 0.41), (0.41, 1), (-0.41, 1), (-1, 0.41), (-1, -0.41))
DIAMOND = ((0, -1.2), (1.2, 0), (0, 1.2), (-1.2, 0))


def _mark(m: Mark, axis: Axis, y: float, why: bool) -> str:
    lo, hi = axis.span(m.wave)
    if isinstance(axis, CalendarAxis):  # at its moment on the calendar (a retry days later, too)
        x = axis.minutes(m.halts[0].minutes)
    else:
        x = min(max(axis.at(m.wave, m.halts[0].fraction), lo + 7), max(lo + 7, hi - 7))
    n = len(m.halts)
    kinds = Counter(h.kind for h in m.halts)
    what = ", ".join(f"{c:,} × {GLYPHS.get(k, ('', '', '', k))[3]}" for k, c in sorted(kinds.items()))
    waves = f"wave {m.wave}" if m.wave == m.last_wave else f"waves {m.wave}–{m.last_wave}"
    numbers = f"#{m.halts[0].number}" + (f" … #{m.halts[-1].number}" if n > 1 else "")
    first = m.halts[0]
    tip = (f"{what} · {m.region} · {'retry of ' if m.retry else ''}{waves} · {numbers}"
           + (f" · {first.subject}, rule {first.rule}" if n == 1 else "") + (f": {first.why}" if n == 1 and why else ""))
    parts = [title(tip), el("use", (("href", f"#{glyph_id(m.kind, m.retry)}"), ("x", x), ("y", y)))]
    if n > 1:
        parts.append(text(x + 9, y - 4, f"×{n:,}", ("class", "count")))
    # data-n per kind, so a reader (and the test) can account for every halt of the log
    counts = " ".join(f"{k}:{c}" for k, c in sorted(kinds.items()))
    return el("g", (("class", "halt tip"), ("tabindex", 0), ("data-n", counts)), *parts)


def glyph_id(kind: str, retry: bool) -> str:
    return f"m-{GLYPHS.get(kind, ('x',))[0]}{'-r' if retry else ''}"


def glyph_defs() -> str:
    """Each marker once, at the origin (marks place it with <use>): solid, and hollow for retry waves."""
    return "".join(el("g", (("id", glyph_id(kind, retry)),), glyph(kind, 0.0, 0.0, retry))
                   for kind in GLYPHS for retry in (False, True))


def _holds(plan: PlanView, run: RunView, axis: Axis, height: float) -> list[str]:
    """Each held phase: a dashed line where it would have started, across every lane."""
    by_phase: dict[int, list[Halt]] = {}
    for h in run.halts:
        if h.kind == "phase_held" and isinstance(h.phase, int):
            by_phase.setdefault(h.phase, []).append(h)
    out = []
    first_wave = {ph.index: ph.first_wave for ph in plan.phases}
    for phase, hs in sorted(by_phase.items()):
        if phase not in first_wave:
            continue
        x = axis.span(first_wave[phase])[0]
        numbers = ", ".join(f"#{h.number}" for h in hs)
        tip = f"phase {phase} held ({numbers}), rule {hs[-1].rule}: {hs[-1].why}"
        label = f"phase {phase} held ({numbers})"
        out.append(el("g", (("class", "hold tip"), ("tabindex", 0), ("data-halts", " ".join(str(h.number) for h in hs))),
                      title(tip),
                      el("line", (("x1", x), ("y1", 20.0), ("x2", x), ("y2", float(height - (FOOT_CAL if isinstance(axis, CalendarAxis) else FOOT))), ("stroke", INK),
                                  ("stroke-width", 2.5), ("stroke-dasharray", "7 4"))),
                      el("rect", (("x", x + 3), ("y", 20.0), ("width", 14.0 + 7.2 * len(label)), ("height", 17.0),
                                  ("fill", "#ffffff"), ("stroke", INK), ("stroke-width", 0.8))),
                      pause(x + 11, 28.5), text(x + 18, 33, label, ("class", "hold-label"))))
    return out


def pause(x: float, y: float) -> str:
    """The pause sign of a held phase: two bars (drawn, so no font needs the glyph)."""
    return "".join(el("rect", (("x", x + dx), ("y", y - 5), ("width", 2.5), ("height", 10.0), ("fill", INK)))
                   for dx in (-4.0, 0.5))


def halt_swatch(kind: str, retry: bool) -> str:
    """A halt's marker as a small picture beside its row in a table."""
    inner = glyph(kind, 10, 10, retry, 7) if kind in GLYPHS else pause(10, 10)
    return el("svg", (("viewBox", "0 0 20 20"), ("class", "swatch"), ("aria-hidden", "true")), inner)


def legend_items(with_run: bool) -> list[tuple[str, str]]:
    """(swatch SVG, meaning) for the legend under the chart."""
    def swatch(*parts: str) -> str:
        return el("svg", (("viewBox", "0 0 24 18"), ("class", "swatch"), ("aria-hidden", "true")), *parts)

    if not with_run:
        return [(swatch(el("rect", (("x", 2.0), ("y", 3.0), ("width", 20.0), ("height", 12.0), ("fill", PLANNED)))),
                 "upgrades planned in the wave (height: against the region's largest wave)")]
    items = [
        (swatch(el("rect", (("x", 2.0), ("y", 3.0), ("width", 20.0), ("height", 12.0), ("fill", DONE)))),
         "upgrades done (solid)"),
        (swatch(el("rect", (("x", 2.0), ("y", 3.0), ("width", 20.0), ("height", 12.0), ("fill", "url(#hatch)"),
                            ("stroke", PLANNED)))), "planned, not done (hatched)"),
    ]
    items += [(swatch(glyph(kind, 12, 9, False, 6)), meaning) for kind, (_, _, _, meaning) in GLYPHS.items()]
    items.append((swatch(glyph("set_blocked", 12, 9, True, 6)), "hollow: in a retry wave (days later)"))
    items.append((swatch(el("line", (("x1", 12.0), ("y1", 0.0), ("x2", 12.0), ("y2", 18.0), ("stroke", INK),
                                     ("stroke-width", 2.5), ("stroke-dasharray", "5 3")))),
                  "phase held: the phase never started"))
    return items

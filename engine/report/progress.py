"""The cumulative share of the scheduled upgrades done, wave by wave: as planned (dashed) and, from the event log,
as it happened (solid, dots where a wave finished its first execution; a diamond at the end of the run, which
includes the retries).  Drawn on the same axis as the swimlanes, so the two line up."""

from __future__ import annotations

from engine.report.plan_view import PlanView
from engine.report.run_view import RunView
from engine.report.svg import (
    BANDS,
    DONE,
    GRID,
    INK,
    LABEL_W,
    MUTED,
    PLANNED,
    WIDTH,
    Axis,
    CalendarAxis,
    duration,
    el,
    percent,
    svg,
    text,
    title,
    wave_axis,
)

TOP = 16
PLOT_H = 170
HEIGHT = TOP + PLOT_H + 40


def y_of(share: float) -> float:
    return TOP + PLOT_H * (1 - share)


def progress_chart(plan: PlanView, run: RunView | None, label_id: str, axis: Axis | None = None) -> str:
    axis = axis or wave_axis(plan.waves)
    parts = [_frame(plan, axis)]
    planned = [(axis.span(0)[0], y_of(0))] + [(axis.span(w)[1], y_of(s)) for w, s in enumerate(plan.planned_share())]
    parts.append(el("polyline", (("points", _points(planned)), ("fill", "none"), ("stroke", PLANNED),
                                 ("stroke-width", 2.5), ("stroke-dasharray", "8 4"))))
    x_end, y_end = planned[-1]
    parts.append(text(x_end - 4, y_end - 8, "planned", ("text-anchor", "end"), ("class", "series-label")))
    if run is not None:
        parts += _actual(run, axis)
    return svg(WIDTH, HEIGHT, label_id, *parts)


def _frame(plan: PlanView, axis: Axis) -> str:
    out = []
    for i, ph in enumerate(plan.phases):
        x0, x1 = axis.span(ph.first_wave)[0], axis.span(ph.last_wave)[1]
        out.append(el("rect", (("x", x0), ("y", float(TOP)), ("width", x1 - x0), ("height", float(PLOT_H)),
                               ("fill", BANDS[i % 2]))))
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = y_of(share)
        out.append(el("line", (("x1", float(LABEL_W)), ("y1", y), ("x2", float(WIDTH - 20)), ("y2", y),
                               ("stroke", GRID), ("stroke-width", 0.8))))
        out.append(text(LABEL_W - 8, y + 4, percent(share).replace(".0", ""), ("text-anchor", "end"),
                        ("class", "tick")))
    out += [text(x, TOP + PLOT_H + 16, label, ("text-anchor", "middle"), ("class", "tick"))
            for x, label in axis.ticks()]
    out.append(text(LABEL_W + (WIDTH - LABEL_W) / 2, HEIGHT - 6, axis.caption,
                    ("text-anchor", "middle"), ("class", "axis-label")))
    out.append(text(12, TOP + PLOT_H / 2, "upgrades done", ("class", "axis-label")))
    return el("g", (("class", "frame"),), *out)


def _actual(run: RunView, axis: Axis) -> list[str]:
    points = [(axis.span(0)[0], y_of(0))]
    dots = []
    for w, share in enumerate(run.actual_share):
        if share is None:
            continue
        x, y = axis.span(w)[1], y_of(share)
        points.append((x, y))
        dots.append(el("circle", (("class", "tip"), ("cx", x), ("cy", y), ("r", 3.0), ("fill", DONE)),
                       title(f"after wave {w}: {percent(share)} of the scheduled upgrades done")))
    out = [el("polyline", (("points", _points(points)), ("fill", "none"), ("stroke", DONE), ("stroke-width", 2.5))),
           *dots]
    x, y = points[-1][0], y_of(run.final_share)
    if isinstance(axis, CalendarAxis):  # on a calendar the run's end is a moment of its own (retries days later)
        x = max(x, axis.minutes(run.minutes))
    if abs(y - points[-1][1]) > 0.05:  # retries after the last wave moved the share: show the step
        out.append(el("line", (("x1", x), ("y1", points[-1][1]), ("x2", x), ("y2", y), ("stroke", DONE),
                               ("stroke-width", 1.5), ("stroke-dasharray", "2 2"))))
    label = f"end of run ({duration(run.minutes)}, after retries): {percent(run.final_share)}"
    out.append(el("polygon", (("class", "tip"), ("points", _points([(x, y - 6), (x + 6, y), (x, y + 6), (x - 6, y)])),
                              ("fill", DONE), ("stroke", INK)), title(label)))
    right = x > LABEL_W + (WIDTH - LABEL_W) * 0.6
    out.append(text(x + (-10 if right else 10), y + (18 if run.final_share > 0.9 else -10), label,
                    ("text-anchor", "end" if right else "start"), ("class", "series-label"), ("fill", MUTED)))
    return out


def _points(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)

"""Charts of a risk run (``wavegate risk --format json``): P(halt) with its interval, halts by rule, and the
histogram of finish times with its P50 / P95 / max marked (each line in its own dash style and labelled)."""

from __future__ import annotations

from collections.abc import Callable

from engine.report.risk import RiskSummary
from engine.report.svg import (
    BLOCKED,
    DONE,
    GRID,
    INK,
    PLANNED,
    WIDTH,
    duration,
    el,
    percent,
    svg,
    text,
    title,
)

BAR_LEFT = 300
BAR_RIGHT = WIDTH - 220  # room for the P(halt) label on the right
ROW_H = 22
RULES_SHOWN = 30  # rows of the halts-by-rule chart (the table lists every rule)


def p_halt_chart(risk: RiskSummary, label_id: str) -> str:
    p = risk.p_halt
    span = BAR_RIGHT - BAR_LEFT

    def x(share: float) -> float:
        return BAR_LEFT + span * share

    parts = [text(BAR_LEFT - 12, 34, "P(halt)", ("text-anchor", "end"), ("class", "lane-label"))]
    for share in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(el("line", (("x1", x(share)), ("y1", 14.0), ("x2", x(share)), ("y2", 48.0), ("stroke", GRID))))
        parts.append(text(x(share), 64, percent(share).replace(".0", ""), ("text-anchor", "middle"), ("class", "tick")))
    tip = (f"P(halt) {percent(p.estimate)}, {percent(p.confidence)} interval {percent(p.low)}–{percent(p.high)}, "
           f"over {risk.scenarios:,} scenarios (seed {risk.seed})")
    parts.append(el("g", (("class", "tip"),), title(tip),
                    el("rect", (("x", x(p.low)), ("y", 22.0), ("width", max(2.0, x(p.high) - x(p.low))),
                                ("height", 20.0), ("fill", "url(#hatch)"), ("stroke", PLANNED))),
                    el("line", (("x1", x(p.estimate)), ("y1", 16.0), ("x2", x(p.estimate)), ("y2", 48.0),
                                ("stroke", INK), ("stroke-width", 3.0)))))
    parts.append(text(x(1.0) + 12, 37, f"{percent(p.estimate)} [{percent(p.low)}, {percent(p.high)}]",
                      ("class", "series-label")))
    return svg(WIDTH, 74, label_id, *parts)


def halts_by_rule_chart(risk: RiskSummary, where: Callable[[str], str], label_id: str) -> str:
    rows = sorted(risk.halts_by_rule, key=lambda r: (-r.scenarios, r.rule))[:RULES_SHOWN]
    height = 12 + ROW_H * max(1, len(rows)) + 10
    parts = []
    for i, r in enumerate(rows):
        y = 12 + i * ROW_H
        share = r.scenarios / risk.scenarios
        label = f"{r.rule} ({where(r.rule)})"
        tip = f"rule {label} halted {r.scenarios:,} of {risk.scenarios:,} scenarios ({percent(share)})"
        parts.append(text(BAR_LEFT - 12, y + 14, label, ("text-anchor", "end"), ("class", "lane-label")))
        parts.append(el("rect", (("class", "tip"), ("x", float(BAR_LEFT)), ("y", float(y + 3)),
                                 ("width", max(1.0, (BAR_RIGHT - BAR_LEFT) * min(1.0, share))),
                                 ("height", float(ROW_H - 6)), ("fill", BLOCKED), ("stroke", INK),
                                 ("stroke-width", 0.5)), title(tip)))
        parts.append(text(BAR_LEFT + (BAR_RIGHT - BAR_LEFT) * min(1.0, share) + 8, y + 14,
                          f"{r.scenarios:,} ({percent(share)})", ("class", "tick")))
    if not rows:
        parts.append(text(BAR_LEFT, 26, "no halts in any scenario", ("class", "tick")))
    return svg(WIDTH, height, label_id, *parts)


def finish_chart(risk: RiskSummary, label_id: str) -> str | None:
    hist = risk.finish_histogram
    if hist is None:
        return None
    top, plot_h, left, right = 20, 160, 110.0, float(WIDTH - 40)
    lo, hi = hist.edges[0], hist.edges[-1]

    def x(minutes: float) -> float:
        return left + (right - left) * (minutes - lo) / (hi - lo)

    most = max(hist.counts, default=0) or 1
    parts = [el("line", (("x1", left), ("y1", float(top + plot_h)), ("x2", right), ("y2", float(top + plot_h)),
                         ("stroke", INK)))]
    for (a, b), n in zip(zip(hist.edges, hist.edges[1:], strict=False), hist.counts, strict=True):
        h = plot_h * n / most
        parts.append(el("rect", (("class", "tip"), ("x", x(a) + 0.5), ("y", top + plot_h - h),
                                 ("width", max(1.0, x(b) - x(a) - 1)), ("height", h), ("fill", DONE)),
                        title(f"{n:,} scenarios finished in [{duration(a)}, {duration(b)})")))
    every = max(1, len(hist.edges) // 8)
    parts += [text(x(e), top + plot_h + 16, duration(e), ("text-anchor", "middle"), ("class", "tick"))
              for e in hist.edges[::every]]
    parts.append(text(left - 10, top + 10, f"{most:,}", ("text-anchor", "end"), ("class", "tick")))
    parts.append(text(left - 10, top + plot_h, "0", ("text-anchor", "end"), ("class", "tick")))
    q = risk.finish_minutes
    for i, (name, value, dash) in enumerate((("P50", q.p50, "6 3"), ("P95", q.p95, "2 3"), ("max", q.max, None))):
        if lo <= value <= hi:
            xv = x(value)
            parts.append(el("line", (("x1", xv), ("y1", float(top - 6)), ("x2", xv), ("y2", float(top + plot_h)),
                                     ("stroke", INK), ("stroke-width", 2.0), ("stroke-dasharray", dash))))
            parts.append(text(xv + 4, top + 4 + 14 * i, f"{name} {duration(value)}", ("class", "series-label")))
    parts.append(text((left + right) / 2, top + plot_h + 36, "finish time (virtual)", ("text-anchor", "middle"),
                      ("class", "axis-label")))
    return svg(WIDTH, top + plot_h + 44, label_id, *parts)

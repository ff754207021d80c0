"""Plain SVG and HTML written by the project: escaping, elements with attributes in a fixed order, numbers with a
fixed precision (so the page is byte-identical for identical inputs), the horizontal axes, and the palette.

Charts place things in time only through an ``Axis``: ``span(wave)`` (the x-extent of a wave), ``at(wave, f)`` (a
moment a fraction ``f`` into it) and ``ticks()``.  ``WaveAxis`` gives every wave the same width; ``CalendarAxis``
(a schedule with start and end times) implements the same methods from the waves' times, and every chart draws on
it unchanged.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

# The Okabe-Ito palette (distinguishable with the common colour-vision deficiencies); meaning is also carried by
# a pattern, a glyph or a text label wherever a colour is used.
INK = "#1b1b1b"
MUTED = "#5f6368"
GRID = "#d0d4d9"
DONE = "#0072b2"
PLANNED = "#56b4e9"
BLOCKED = "#e69f00"
STOPPED = "#d55e00"
GAVE_UP = "#cc79a7"
REFUSED = "#009e73"
BANDS = ("#f3f6f9", "#fbfaf3")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def num(x: float) -> str:
    """A coordinate with one decimal at most, "-0" never."""
    text = f"{x:.1f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def el(tag: str, attrs: Iterable[tuple[str, object]] = (), *children: str) -> str:
    """An element; attributes in the given order, None left out, numbers through ``num``."""
    parts = [tag]
    for key, value in attrs:
        if value is None:
            continue
        shown = num(value) if isinstance(value, float) else str(value)
        parts.append(f'{key}="{esc(shown)}"')
    head = " ".join(parts)
    if not children:
        return f"<{head}/>" if tag in SVG_TAGS else f"<{head}></{tag}>"
    return f"<{head}>{''.join(children)}</{tag}>"


SVG_TAGS = frozenset({"rect", "line", "path", "circle", "polyline", "polygon", "text", "use", "g", "pattern"})


def title(text: str) -> str:
    """A native hover text (and what the page's details panel shows)."""
    return f"<title>{esc(text)}</title>"


def text(x: float, y: float, content: str, *attrs: tuple[str, object]) -> str:
    return el("text", (("x", float(x)), ("y", float(y)), *attrs), esc(content))


def percent(share: float) -> str:
    return f"{share * 100:.1f}%"


def duration(minutes: float) -> str:
    """Virtual minutes as 9d 2h 4m (rounded to the minute)."""
    m = round(minutes)
    d, rest = divmod(m, 24 * 60)
    h, mm = divmod(rest, 60)
    parts = [f"{d}d"] if d else []
    if h or d:
        parts.append(f"{h}h")
    parts.append(f"{mm}m")
    return " ".join(parts)


class Axis(Protocol):
    """Where waves and moments lie horizontally."""

    @property
    def label(self) -> str: ...

    def span(self, wave: int) -> tuple[float, float]: ...

    def at(self, wave: int, fraction: float) -> float: ...

    def ticks(self) -> list[tuple[float, str]]: ...

    @property
    def caption(self) -> str: ...


@dataclass(frozen=True)
class WaveAxis:
    """Waves side by side, each the same width: the plan's order without a calendar."""

    waves: int
    x0: float
    width: float
    label: str = "wave"

    @property
    def step(self) -> float:
        return self.width / max(1, self.waves)

    def span(self, wave: int) -> tuple[float, float]:
        return self.x0 + wave * self.step, self.x0 + (wave + 1) * self.step

    def at(self, wave: int, fraction: float) -> float:
        a, b = self.span(wave)
        return a + (b - a) * fraction

    def ticks(self) -> list[tuple[float, str]]:
        """A label every k waves, k chosen so labels are at least 24 px apart."""
        every = next(k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9) if k * self.step >= 24)
        return [(self.at(w, 0.5), str(w)) for w in range(0, self.waves, every)]

    @property
    def caption(self) -> str:
        return f"{self.label}s of the schedule, in order"


DAY = 86400
MIN_BAR = 2.0  # a wave of minutes on a calendar of weeks is still drawn this wide


@dataclass(frozen=True)
class CalendarAxis:
    """Waves at their start and end times (epoch seconds, UTC) on a calendar from ``lo`` to ``hi``: the same three
    methods as ``WaveAxis``, and ``instant(t)`` for a moment of the event log."""

    starts: tuple[int, ...]
    ends: tuple[int, ...]
    lo: int
    hi: int
    x0: float
    width: float
    origin: int = 0  # the schedule's start: minute 0 of the event log
    label: str = "date (UTC)"

    def minutes(self, m: float) -> float:
        """Where a moment of the event log (virtual minutes since the start) lies."""
        return self.instant(self.origin + m * 60)

    def instant(self, t: float) -> float:
        share = (min(max(t, self.lo), self.hi) - self.lo) / max(1, self.hi - self.lo)
        return self.x0 + self.width * share

    def span(self, wave: int) -> tuple[float, float]:
        a, b = self.instant(self.starts[wave]), self.instant(self.ends[wave])
        return a, max(b, min(a + MIN_BAR, self.x0 + self.width))

    def at(self, wave: int, fraction: float) -> float:
        a, b = self.span(wave)
        return a + (b - a) * fraction

    def ticks(self) -> list[tuple[float, str]]:
        """A date (UTC midnight) every k days, k chosen so labels are at least 80 px apart."""
        per_day = self.width * DAY / max(1, self.hi - self.lo)
        every = next(k for k in (1, 2, 7, 14, 28, 56, 112, 364, 10**6) if k * per_day >= 80)
        first = -(-self.lo // DAY) * DAY
        ticks = [(self.instant(t), dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d"))
                 for t in range(first, self.hi + 1, every * DAY)]
        # not over the axis label at the left nor past the right edge (a label is about 70 px wide)
        return [(x, label) for x, label in ticks if self.x0 + 36 <= x <= self.x0 + self.width - 30]

    @property
    def caption(self) -> str:
        return "the calendar: dates in UTC (each tick is midnight UTC)"


# Every chart is this wide (in SVG units, scaled to the page width) with the same label column on the left, so
# the swimlanes and the progress chart line up wave for wave.
WIDTH = 1200
LABEL_W = 190
PAD_R = 20


def wave_axis(waves: int) -> WaveAxis:
    return WaveAxis(waves, LABEL_W, WIDTH - LABEL_W - PAD_R)


def svg(width: float, height: float, label_id: str, *children: str) -> str:
    """A chart: scales to the page's width, named for assistive technology by the element ``label_id``."""
    # Inline SVG in HTML needs no namespace attribute: the page names no URL at all.
    attrs = (("viewBox", f"0 0 {num(width)} {num(height)}"),
             ("role", "img"), ("aria-labelledby", label_id), ("class", "chart"))
    return el("svg", attrs, *children)

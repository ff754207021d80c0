"""Time rules: how long an install takes, bakes, maintenance windows (weekly or monthly, in a time zone given
literally or by a VM tag) and freezes.  Time zones are IANA names checked through ``zoneinfo`` (``tzdata``)."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from dsl import ast
from dsl import policy as ir
from dsl.checker.names import word
from dsl.checker.predicates import pred as where
from dsl.checker.values import Context, did_you_mean
from dsl.diagnostics import Span

ORDINALS: dict[str, int] = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "last": -1}
BAKE_UNITS: tuple[str, ...] = ("phase", "wave")
FIRST_UNITS: tuple[str, ...] = ("wave", "zone")


@functools.lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def install_time(ctx: Context, name: str, span: Span, b: ast.InstallTimeBody) -> ir.InstallTime | None:
    d = ctx.duration(b.duration, "install time")
    if d is not None and d.seconds == 0:
        ctx.err("E209", "an install takes longer than 0", b.duration.span, hint="e.g. install takes 2m")
        return None
    return None if d is None else ir.InstallTime(name, span, duration=d)


def bake(ctx: Context, name: str, span: Span, b: ast.BakeBody) -> ir.Bake | None:
    d = ctx.duration(b.duration, "bake time")
    if b.first is None:
        unit = word(ctx, b.unit, BAKE_UNITS, "unit to bake after")
        after: ir.BakeAfter | None = "phase" if unit == "phase" else ("wave" if unit == "wave" else None)
    else:
        first = word(ctx, b.first, FIRST_UNITS, "first unit")
        per = word(ctx, b.unit, ("region",), "scope")
        after = None if first is None or per is None else ("first_wave" if first == "wave" else "first_zone")
    if d is None or after is None:
        return None
    return ir.Bake(name, span, duration=d, after=after)


def zone(ctx: Context, z: ast.TimeZoneNode | None) -> tuple[str, str | None, bool] | None:
    """(zone, zone tag, by region): a literal zone must be an IANA name zoneinfo knows (E223); a tag or the
    region's zone is read per VM."""
    if z is None:
        return "UTC", None, False
    if z.region:
        return "UTC", None, True
    if z.tag:
        return "UTC", z.name.value, False
    if z.name.value not in known_zones():
        hint = did_you_mean(z.name.value, sorted(known_zones())) or "an IANA name, e.g. \"Europe/Berlin\""
        ctx.err("E223", f"unknown time zone \"{z.name.value}\"", z.name.span, hint=hint)
        return None
    return z.name.value, None, False


def _day(ctx: Context, item: ast.RecItem) -> ir.DaySpec | None:
    if item.day is not None:
        n = int(item.day[:-2])
        if not 1 <= n <= 31:
            ctx.err("E224", f"`{item.day}` is not a day of a month", item.span, hint="1st .. 31st, or `Last day`")
            return None
        return ir.DaySpec(month_day=n)
    words = [w.text.lower() for w in item.words]
    if len(words) == 1:
        if words[0] in ir.WEEKDAYS:
            return ir.DaySpec(weekday=ir.WEEKDAYS.index(words[0]))
        ctx.err("E205", f"unknown day `{item.words[0].text}`", item.span,
                hint=did_you_mean(words[0], ir.WEEKDAYS) or "a weekday (Saturday), or Second Tuesday, Last day, 31st")
        return None
    nth = ORDINALS.get(words[0])
    if nth is None:
        ctx.err("E205", f"unknown ordinal `{item.words[0].text}`", item.words[0].span,
                hint=did_you_mean(words[0], list(ORDINALS)) or "First, Second, Third, Fourth, Fifth or Last")
        return None
    if words[1] == "day" and nth == -1:
        return ir.DaySpec(month_day=-1)
    if words[1] not in ir.WEEKDAYS:
        ctx.err("E205", f"unknown day `{item.words[1].text}`", item.words[1].span,
                hint=did_you_mean(words[1], ir.WEEKDAYS) or "a weekday, e.g. Tuesday")
        return None
    return ir.DaySpec(weekday=ir.WEEKDAYS.index(words[1]), nth=nth)


def _clock(text: str) -> int | None:
    """Minutes after midnight of ``HH:MM`` (24:00 allowed, as the end of a day); None when not a time of day."""
    h, m = int(text[:2]), int(text[3:])
    if m >= 60 or h > 24 or (h == 24 and m):
        return None
    return h * 60 + m


def window(ctx: Context, name: str, span: Span, b: ast.WindowBody) -> ir.Window | None:
    days = [_day(ctx, d) for d in b.days]
    start, end = _clock(b.hours.text[:5]), _clock(b.hours.text[6:])
    bad = start is None or end is None or start == 1440 or start == end
    if bad:
        ctx.err("E224", f"`{b.hours.text}` is not a time range", b.hours.span,
                hint="HH:MM-HH:MM between 00:00 and 24:00, start and end different (22:00-06:00 ends the next day)")
    z = zone(ctx, b.zone)
    pred = where(ctx, b.where)
    if bad or z is None or pred is None or any(d is None for d in days):
        return None
    seen: list[ir.DaySpec] = []
    for d, item in zip(days, b.days, strict=True):
        if d in seen:
            ctx.warn("W305", f"`{d}` is listed twice", item.span)
        seen.append(d)  # type: ignore[arg-type]
    assert start is not None and end is not None
    return ir.Window(name, span, days=tuple(dict.fromkeys(seen)), start=start, end=end, zone=z[0], zone_tag=z[1],
                     where=pred, zone_region=z[2])


def _moment(ctx: Context, node: ast.Name, is_end: bool) -> dt.datetime | None:
    """A freeze's bound as a naive local date-time; a bare date ends at the midnight after it."""
    text = node.text
    try:
        moment = dt.datetime.fromisoformat(text) if "T" in text else dt.datetime.fromisoformat(text + "T00:00")
    except ValueError:
        ctx.err("E225", f"`{text}` is not a date", node.span, hint="YYYY-MM-DD or YYYY-MM-DDTHH:MM")
        return None
    return moment + dt.timedelta(days=1) if is_end and "T" not in text else moment


def freeze(ctx: Context, name: str, span: Span, b: ast.FreezeBody) -> ir.Freeze | None:
    start, end = _moment(ctx, b.start, False), _moment(ctx, b.end, True)
    if start is not None and end is not None and end <= start:
        ctx.err("E225", f"the freeze ends ({b.end.text}) before it starts ({b.start.text})", b.end.span,
                hint="write the earlier date first")
        return None
    z = zone(ctx, b.zone)
    pred = where(ctx, b.where)
    if start is None or end is None or z is None or pred is None:
        return None
    return ir.Freeze(name, span, start=start.isoformat(timespec="minutes"), end=end.isoformat(timespec="minutes"),
                     zone=z[0], zone_tag=z[1], where=pred, zone_region=z[2])

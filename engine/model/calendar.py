"""The rollout's calendar: instants as whole seconds since the Unix epoch (UTC), and what a time rule's local
times mean in UTC — a window's openings, a freeze's interval — read in an IANA zone through ``zoneinfo``
(``tzdata`` bundles the zone data, so every machine reads them alike).

Shared by the stages as data, like the fleet: each stage decides on its own what to do with the intervals.  Local
wall times follow the zone's daylight-saving rules; a wall time skipped in spring is read with the offset before the
change (``fold=0``: 02:30 on the day Berlin moves to CEST is 03:30 CEST), a repeated one in autumn as its first
occurrence.  A window's openings that touch or overlap are merged: a wave may run across midnight between two
whole open days.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import functools
import re
import zoneinfo
from collections.abc import Iterator

from dsl.policy import DaySpec, Freeze, Window

UTC = dt.UTC
DEFAULT_INSTALL_SECONDS = 120  # the executor's nominal install time (engine.run.driver), a wave's unit without a rule
HORIZON_DAYS = 3 * 366  # how far ahead a search for an opening looks before it gives up
_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2})?(Z|[+-][0-9]{2}:[0-9]{2})")
Interval = tuple[int, int]  # [start, end) in epoch seconds


class CalendarError(ValueError):
    """A time zone or instant that cannot be read."""


@functools.lru_cache(maxsize=1)
def available_zones() -> frozenset[str]:
    """Every IANA zone name zoneinfo knows (from tzdata), and UTC."""
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


@functools.lru_cache(maxsize=256)
def zone(name: str) -> dt.tzinfo:
    """The zone of an IANA name (``UTC`` included); CalendarError for a name zoneinfo does not know."""
    if name == "UTC":
        return UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
        raise CalendarError(f"unknown time zone {name!r}") from e


def parse_instant(text: str) -> int:
    """Epoch seconds of ``2026-12-02T00:00Z`` (or with seconds, or an offset such as ``+01:00``)."""
    if not _INSTANT.fullmatch(text):
        raise CalendarError(f"{text!r} is not an instant (write 2026-12-02T00:00Z)")
    try:
        return int(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError as e:
        raise CalendarError(f"{text!r} is not an instant: {e}") from e


def format_instant(t: int) -> str:
    """The canonical text of an instant: ``2026-12-02T00:00:00Z``."""
    return dt.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_to_epoch(moment: dt.datetime, tz: dt.tzinfo) -> int:
    """Epoch seconds of a naive local date-time in ``tz`` (``fold=0`` for skipped and repeated wall times)."""
    return int(moment.replace(tzinfo=tz, fold=0).timestamp())


def _local_date(t: int, tz: dt.tzinfo) -> dt.date:
    return dt.datetime.fromtimestamp(t, tz).date()


def day_matches(day: DaySpec, d: dt.date) -> bool:
    """Does a window open on date ``d`` by this day of its recurrence?"""
    last = _calendar.monthrange(d.year, d.month)[1]
    if day.month_day is not None:
        return d.day == (last if day.month_day == -1 else day.month_day)
    if d.weekday() != day.weekday:
        return False
    if day.nth is None:
        return True
    return d.day + 7 > last if day.nth == -1 else (d.day - 1) // 7 + 1 == day.nth


def _opening(w: Window, d: dt.date, tz: dt.tzinfo) -> Interval:
    midnight = dt.datetime(d.year, d.month, d.day)
    start = midnight + dt.timedelta(minutes=w.start)
    end = midnight + dt.timedelta(minutes=w.end if w.end > w.start else w.end + 1440)
    return local_to_epoch(start, tz), local_to_epoch(end, tz)


def raw_openings(w: Window, tz: dt.tzinfo, lo: int, hi: int) -> Iterator[Interval]:
    """The window's openings (one per matching day, not merged) that end after ``lo`` and start before ``hi``."""
    d = _local_date(lo, tz) - dt.timedelta(days=2)
    last = _local_date(hi, tz) + dt.timedelta(days=1)
    while d <= last:
        if any(day_matches(day, d) for day in w.days):
            s, e = _opening(w, d, tz)
            if e > lo and s < hi:
                yield s, e
        d += dt.timedelta(days=1)


def openings(w: Window, tz: dt.tzinfo, lo: int, hi: int) -> list[Interval]:
    """The window's open intervals meeting [lo, hi), touching openings merged (sorted)."""
    merged: list[list[int]] = []
    for s, e in sorted(raw_openings(w, tz, lo, hi)):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def inside(w: Window, tz: dt.tzinfo, start: int, end: int) -> bool:
    """Does [start, end) lie inside one open interval of the window?  (An empty interval: is ``start`` open?)"""
    # Merged intervals can chain across many days (a window open every day); look far enough to see their ends.
    span = max(end - start, 0) + 8 * 86400
    return any(s <= start < e and end <= e for s, e in openings(w, tz, start - span, end + 1))


def next_fit(w: Window, tz: dt.tzinfo, t: int, length: int, horizon_days: int = HORIZON_DAYS) -> int | None:
    """The earliest ``s >= t`` such that [s, s + length) lies inside one open interval; None within the horizon."""
    chunk = 35 * 86400
    lo = t
    stop = t + horizon_days * 86400
    while lo < stop:
        for s, e in openings(w, tz, lo - 8 * 86400, lo + chunk):
            begin = max(s, t)
            if begin + length <= e and begin < e:
                return begin
        lo += chunk
    return None


def freeze_interval(f: Freeze, tz: dt.tzinfo) -> Interval:
    """The freeze in epoch seconds, end excluded."""
    return (local_to_epoch(dt.datetime.fromisoformat(f.start), tz),
            local_to_epoch(dt.datetime.fromisoformat(f.end), tz))


def zone_of(zone_name: str, zone_tag: str | None, tags: dict[str, str] | None, by_region: bool = False,
            region_zone: str | None = None) -> dt.tzinfo:
    """The zone a rule reads a VM's times in: its literal zone, the zone its tag names, or its region's
    ``time_zone`` in the fleet (CalendarError if the VM lacks the tag, the tag names no zone, or the region has
    none)."""
    if by_region:
        if region_zone is None:
            raise CalendarError("is in a region without a time_zone in the fleet")
        return zone(region_zone)
    if zone_tag is None:
        return zone(zone_name)
    value = (tags or {}).get(zone_tag)
    if value is None:
        raise CalendarError(f"has no tag {zone_tag!r} naming its time zone")
    try:
        return zone(value)
    except CalendarError:
        raise CalendarError(f"tag {zone_tag!r} = {value!r} is not a time zone") from None

"""Open seconds between two moments: time that counts "in business hours" (pure).

A team's hours and holidays are read as hub/routing/hours.py reads them (the clinic's time zone,
spans a day, a holiday closes the day); the seconds between `start` and `end` that fall inside an
open span are counted, the rest (nights, weekends, holidays) are not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hub.routing.hours import DAYS, Hours


def _at(text: str) -> time | None:
    hh, _, mm = text.partition(":")
    return None if (hh, mm) == ("24", "00") else time(int(hh), int(mm))


def open_seconds(hours: Hours, holidays: Iterable[date], start: datetime, end: datetime, tz: str) -> int:
    """Whole seconds of open time in [start, end); 0 when end is not after start."""
    if end <= start:
        return 0
    zone = ZoneInfo(tz)
    closed = set(holidays)
    a, b = start.astimezone(UTC), end.astimezone(UTC)  # compared and subtracted in UTC (DST safe)
    total = timedelta(0)
    day, last = a.astimezone(zone).date(), b.astimezone(zone).date()
    while day <= last:
        if day not in closed:
            for opens, closes in hours.get(DAYS[day.weekday()], []):
                span_start = datetime.combine(day, _at(opens) or time(0), tzinfo=zone)
                close_at = _at(closes)
                span_end = (
                    datetime.combine(day, close_at, tzinfo=zone)
                    if close_at is not None
                    else datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
                )
                lo, hi = max(span_start.astimezone(UTC), a), min(span_end.astimezone(UTC), b)
                if hi > lo:
                    total += hi - lo
        day += timedelta(days=1)
    return int(total.total_seconds())

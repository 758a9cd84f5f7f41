"""Business hours and holidays, per team, in the clinic's time zone (pure).

A team's hours are {"mon": [["08:00", "17:00"]], ..., "sun": []}: any number of open spans a day,
none on a closed day; a span ending at "24:00" runs to midnight. A holiday closes a team (or, with
no team, the whole clinic) for the day. A team with no hours at all is never open.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from channels.base import PuenteError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Hours = dict[str, list[list[str]]]

# A sensible week for a clinic's front desk, used when a team has none set.
DEFAULT_HOURS: Hours = {
    **{day: [["08:00", "17:00"]] for day in DAYS[:5]},
    "sat": [["09:00", "13:00"]],
    "sun": [],
}


class BadHours(PuenteError, ValueError):
    pass


def _clock(text: str) -> time | None:
    """ "08:30" -> 08:30; "24:00" -> None (midnight at the end of the day)."""
    hh, _, mm = text.partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        raise BadHours(f"not a time of day: {text!r}")
    h, m = int(hh), int(mm)
    if (h, m) == (24, 0):
        return None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise BadHours(f"not a time of day: {text!r}")
    return time(h, m)


def check_hours(hours: Hours) -> Hours:
    """The hours as given, or BadHours saying what is wrong (unknown day, bad time, a span that ends
    before it starts, spans that overlap)."""
    for day, spans in hours.items():
        if day not in DAYS:
            raise BadHours(f"unknown day {day!r}; use {', '.join(DAYS)}")
        if any(len(span) != 2 for span in spans):
            raise BadHours(f"{day}: a span is [opens, closes]")
        previous_end: time | None = time(0, 0)
        for span in sorted(spans, key=lambda sp: _clock(sp[0]) or time(0, 0)):  # "9:00" before "10:00"
            opens, closes = _clock(span[0]), _clock(span[1])
            if opens is None or (closes is not None and closes <= opens):
                raise BadHours(f"{day}: {span[0]}-{span[1]} closes before it opens")
            if previous_end is None or opens < previous_end:
                raise BadHours(f"{day}: spans overlap")
            previous_end = closes
    return hours


def _spans(hours: Hours, day: date) -> list[tuple[time, time | None]]:
    return sorted((_clock(a) or time(0), _clock(b)) for a, b in hours.get(DAYS[day.weekday()], []))  # type: ignore[misc]


def is_open(hours: Hours, holidays: Iterable[date], at: datetime, tz: str) -> bool:
    local = at.astimezone(ZoneInfo(tz))
    if local.date() in set(holidays):
        return False
    now = local.time()
    return any(opens <= now and (closes is None or now < closes) for opens, closes in _spans(hours, local.date()))


def next_opening(
    hours: Hours, holidays: Iterable[date], at: datetime, tz: str, horizon_days: int = 21
) -> datetime | None:
    """When the team next opens after `at` (aware, in the clinic's zone), or None within the horizon."""
    zone = ZoneInfo(tz)
    closed = set(holidays)
    local = at.astimezone(zone)
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        if day in closed:
            continue
        for opens, _ in _spans(hours, day):
            start = datetime.combine(day, opens, tzinfo=zone)
            if start > local:
                return start
    return None


def open_time_after(
    hours: Hours, holidays: Iterable[date], at: datetime, tz: str, minutes: int, horizon_days: int = 21
) -> datetime | None:
    """The moment `minutes` of the team's open time have passed after `at` (a promise kept in
    business hours: 2 hours from 4 PM on a day closing at 5 is 9 AM the next open day plus one
    hour), in the clinic's zone; None when the team is not open that long within the horizon."""
    zone = ZoneInfo(tz)
    closed = set(holidays)
    local = at.astimezone(zone)
    left = timedelta(minutes=minutes)
    for offset in range(horizon_days + 1):
        day = local.date() + timedelta(days=offset)
        if day in closed:
            continue
        for opens, closes in _spans(hours, day):
            start = max(datetime.combine(day, opens, tzinfo=zone), local)
            end = (
                datetime.combine(day, closes, tzinfo=zone)
                if closes is not None
                else datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
            )
            if end <= start:
                continue
            if end - start >= left:
                return start + left
            left -= end - start
    return None

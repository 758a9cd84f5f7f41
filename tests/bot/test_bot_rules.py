"""The bot's pure rules: business hours and holidays in the clinic's time zone, reading a date of
birth however it is written, one-time codes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.bot.identity import birth_dates, code_digest, code_in
from hub.routing.hours import DEFAULT_HOURS, BadHours, check_hours, is_open, next_opening

LA = "America/Los_Angeles"


def _at(y: int, m: int, d: int, h: int, mi: int = 0) -> datetime:
    """A moment given in Los Angeles time, as the aware UTC datetime the hub holds."""
    from zoneinfo import ZoneInfo

    return datetime(y, m, d, h, mi, tzinfo=ZoneInfo(LA)).astimezone(UTC)


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        (_at(2026, 11, 23, 7, 59), False),  # a Monday, before 8
        (_at(2026, 11, 23, 8, 0), True),
        (_at(2026, 11, 23, 16, 59), True),
        (_at(2026, 11, 23, 17, 0), False),
        (_at(2026, 11, 28, 10, 0), True),  # Saturday morning
        (_at(2026, 11, 28, 13, 30), False),
        (_at(2026, 11, 29, 10, 0), False),  # Sunday
        (_at(2026, 11, 26, 10, 0), False),  # Thanksgiving, a holiday
        (_at(2026, 7, 6, 8, 30), True),  # summer: daylight saving time, still 8:30 local
    ],
)
def test_is_open_in_the_clinics_zone(when, open_):
    assert is_open(DEFAULT_HOURS, [date(2026, 11, 26)], when, LA) is open_


def test_next_opening_skips_nights_weekends_and_holidays():
    holidays = [date(2026, 11, 26), date(2026, 11, 27)]  # Thanksgiving and the day after
    friday_night = _at(2026, 11, 25, 18, 0)  # a Wednesday evening before the long weekend
    assert next_opening(DEFAULT_HOURS, holidays, friday_night, LA) == _at(2026, 11, 28, 9, 0)
    assert next_opening(DEFAULT_HOURS, [], _at(2026, 11, 23, 7, 0), LA) == _at(2026, 11, 23, 8, 0)
    assert next_opening({"mon": []}, [], _at(2026, 11, 23, 7, 0), LA) is None  # never opens


def test_split_days_and_midnight():
    hours = {"fri": [["08:00", "12:00"], ["13:00", "24:00"]]}
    assert is_open(hours, [], _at(2026, 11, 27, 12, 30), LA) is False  # lunch
    assert is_open(hours, [], _at(2026, 11, 27, 23, 59), LA) is True
    assert next_opening(hours, [], _at(2026, 11, 27, 12, 30), LA) == _at(2026, 11, 27, 13, 0)


def test_hours_with_one_digit_hours_are_ordered_by_time_not_text():
    hours = {"mon": [["13:00", "17:00"], ["9:00", "12:00"]]}
    assert check_hours(hours) == hours
    assert is_open(hours, [], _at(2026, 11, 23, 9, 30), LA) is True
    with pytest.raises(BadHours, match="overlap"):
        check_hours({"mon": [["9:00", "12:00"], ["10:00", "13:00"]]})


@pytest.mark.parametrize(
    ("hours", "words"),
    [
        ({"someday": []}, "unknown day"),
        ({"mon": [["8", "17:00"]]}, "not a time"),
        ({"mon": [["17:00", "08:00"]]}, "closes before it opens"),
        ({"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}, "overlap"),
        ({"mon": [["25:00", "26:00"]]}, "not a time"),
    ],
)
def test_bad_hours_say_what_is_wrong(hours, words):
    with pytest.raises(BadHours, match=words):
        check_hours(hours)


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("03/09/1984", [date(1984, 3, 9), date(1984, 9, 3)]),  # month first (US) or day first
        ("3-9-84", [date(1984, 3, 9), date(1984, 9, 3)]),
        ("1984-03-09", [date(1984, 3, 9)]),
        ("March 9, 1984", [date(1984, 3, 9)]),
        ("9 de marzo de 1984", [date(1984, 3, 9)]),
        ("nací el 9 de mar. de 1984", [date(1984, 3, 9)]),
        ("Nací el 9 de Marzo 1984", [date(1984, 3, 9)]),
        ("septiembre 3 1990", [date(1990, 9, 3)]),
        ("31/12/1970", [date(1970, 12, 31)]),  # only one reading is a date
        ("02/30/1984", []),
        ("hola, necesito una cita", []),
        ("12/31/2999", []),  # not born yet
        ("03/09/1984, I mean March 9 1984", [date(1984, 3, 9)]),  # one date, twice: the second settles it
        ("1/1/84 or 2/1/84", []),  # two dates: no answer
        ("13/03/1984 or 14/03/1984", []),
        ("1984-03-09 1985-03-09", []),
        (" ".join(f"{m}/{d}/1984" for m in range(1, 13) for d in range(1, 29)), []),  # a whole year
    ],
)
def test_birth_dates_however_they_are_written(text, dates):
    assert birth_dates(text) == dates


def test_codes_are_bound_to_their_conversation():
    key = b"k" * 32
    assert code_digest(key, 7, "123456") != code_digest(key, 8, "123456")
    assert code_in("mi código es 123 456") == "123456"
    assert code_in("12345") is None and code_in("1234567") is None

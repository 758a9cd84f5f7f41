"""One conversation's facts from its events alone (hub/reports/facts.py), and open seconds
(hub/reports/business.py): the mistakes other hubs ship, each ruled out on a small timeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hub.reports.business import open_seconds
from hub.reports.facts import Conv, Ev, Rules, conversation_facts
from hub.routing.hours import DEFAULT_HOURS

LA = "America/Los_Angeles"


def la(d: int, hh: int, mm: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, d, hh, mm, tzinfo=ZoneInfo(LA)).astimezone(UTC)


RULES = Rules(LA, timedelta(hours=24), timedelta(minutes=30), lambda _team: (DEFAULT_HOURS, [date(2026, 11, 26)]))


def conv(opened: datetime, status: str = "open", handler: str = "agent", channel: str = "sms") -> Conv:
    return Conv(1, 1, channel, "en", None, 3, None, status, handler, opened, 99)


def ev(seq: int, kind: str, at: datetime, author: str = "system", **data) -> Ev:
    return Ev(seq, kind, author, 7 if author == "agent" else None, data, at)


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        (la(18, 9), la(18, 10), 3600),  # a Wednesday, open
        (la(18, 16, 30), la(19, 8, 30), 3600),  # overnight: 30 min each side
        (la(20, 16), la(23, 9), 3600 + 4 * 3600 + 3600),  # Friday 16-17, Saturday 9-13, Monday 8-9
        (la(25, 16), la(27, 9), 3600 + 3600),  # Thanksgiving (a holiday) skipped
        (la(18, 18), la(18, 20), 0),  # after hours
        (la(18, 10), la(18, 9), 0),
    ],
)
def test_open_seconds(start, end, seconds):
    assert open_seconds(DEFAULT_HOURS, [date(2026, 11, 26)], start, end, LA) == seconds


def test_open_seconds_across_the_clock_change():
    # 1 November 2026: clocks go back at 2 AM. Open all day: the day has 25 hours.
    all_day = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert open_seconds(all_day, [], la(1, 0), la(2, 0), LA) == 25 * 3600


def test_the_assistants_messages_and_time_never_count_as_a_response():
    events = [
        ev(1, "message_in", la(18, 9), "patient"),
        ev(2, "message_out", la(18, 9), "bot"),  # the assistant answers at once: not a response
        ev(3, "message_out", la(18, 9, 1), "system"),  # "a person will reply": not one either
        ev(4, "handoff", la(18, 9, 30), reason="asked_for_person", team_id=3),
        ev(5, "message_out", la(18, 9, 40), "agent"),
    ]
    f = conversation_facts(conv(la(18, 9), handler="agent"), events, RULES)
    assert (f["first_response_s"], f["first_response_business_s"], f["bot_s"]) == (600, 600, 1800)
    assert (f["messages_out"], f["bot_messages"], f["assistant"], f["handed_off"]) == (1, 1, True, True)


def test_a_reopened_conversation_keeps_its_first_response_and_resolution_is_the_last():
    events = [
        ev(1, "message_in", la(18, 9), "patient"),
        ev(2, "message_out", la(18, 9, 5), "agent"),
        ev(3, "status_change", la(18, 9, 10), "agent", to="resolved"),
        ev(4, "status_change", la(19, 9), "agent", to="open", **{"from": "resolved"}),
        ev(5, "message_out", la(19, 9, 1), "agent"),
        ev(6, "status_change", la(19, 9, 30), "agent", to="resolved"),
    ]
    f = conversation_facts(conv(la(18, 9), status="resolved"), events, RULES)
    assert f["first_response_s"] == 300 and f["reopened"] is True  # no assistant: from the opening
    assert f["resolution_s"] == 24 * 3600 + 30 * 60 and f["assistant"] is False and f["bot_s"] is None


def test_abandonment_deadlines():
    handed = [ev(1, "message_in", la(18, 9), "patient"), ev(2, "handoff", la(18, 9), reason="x")]
    web = conversation_facts(
        conv(la(18, 9), channel="webchat"), [*handed, ev(3, "message_in", la(18, 9, 10), "patient")], RULES
    )
    assert web["abandon_at"] == la(18, 9, 40)  # silent 30 minutes after their last message
    sms = conversation_facts(conv(la(18, 9)), handed, RULES)
    assert sms["abandon_at"] == la(19, 9) and sms["first_response_at"] is None


def test_handle_time_leaves_out_snoozed_time_and_red_flags_time_to_a_person():
    events = [
        ev(1, "handoff", la(18, 9), reason="red_flag", urgent=True),
        ev(2, "assignment", la(18, 9, 2), "agent", assignee_id=7, took_urgent=True),
        ev(3, "message_out", la(18, 9, 3), "agent"),
        ev(4, "snoozed", la(18, 10), "agent", until="x"),
        ev(5, "snooze_ended", la(18, 11), "system", reason="time"),
        ev(6, "status_change", la(18, 12), "agent", to="resolved"),
    ]
    f = conversation_facts(conv(la(18, 9), status="resolved"), events, RULES)
    assert f["handle_s"] == 3 * 3600 - 120 - 3600 and f["red_flag_s"] == 120 and f["wait_s"] == 120
    assert f["agent_id"] == 7 and f["red_flag"] is True


def test_satisfaction_is_the_latest_answer_to_the_question_asked():
    events = [
        ev(1, "status_change", la(18, 9), "agent", to="resolved"),
        ev(2, "csat_asked", la(18, 9), template="csat_ask_sms", channel="sms"),
        ev(3, "csat_answered", la(18, 10), "patient", score=2, channel="sms", asked_seq=2),
        ev(4, "csat_answered", la(18, 10, 5), "patient", score=5, channel="sms", asked_seq=2),
    ]
    f = conversation_facts(conv(la(18, 9), status="resolved"), events, RULES)
    assert (f["csat_asked"], f["csat_score"]) == (True, 5)
    assert conversation_facts(conv(la(18, 9)), events[:2], RULES)["csat_score"] is None


def test_a_range_is_checked_before_anything_is_read():
    from hub.refusals import Refused
    from hub.reports.controllers import filters

    now = la(18, 9)
    f = filters(LA, now, None, None, None, None, None, None, None)
    assert (f.since, f.until) == (date(2026, 10, 20), date(2026, 11, 18))  # the last 30 days, the clinic's
    assert filters(LA, now, None, "0001-01-01", None, None, None, None, None).since == date(1, 1, 1)
    for since, until in (("2026-11-19", "2026-11-18"), ("2024-01-01", "2026-01-01"), ("2026-02-30", None), ("x", None)):
        with pytest.raises(Refused) as refused:
            filters(LA, now, since, until, None, None, None, None, None)
        assert refused.value.status_code == 400

"""What a waiting patient is told (hub/routing/estimate.py, hub/routing/hours.py): a wait only from the team's
real history, never a constant; with nobody free, the reply-by time the clinic promises within its
opening hours; when the team is closed, when it opens. The formula and the business-hours arithmetic
on their own, then on a real hub with history written into its database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from hub.db.models import Agent, Conversation, Patient, Team
from hub.routing.estimate import estimate_minutes
from hub.routing.hours import DEFAULT_HOURS, open_time_after
from tests.bot.test_bot import Patient as SmsPatient
from tests.bot.test_bot import _available, staff  # noqa: F401 (a fixture)

LA = "America/Los_Angeles"

# --- the formula --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ahead", "capacity", "handles", "waits", "minutes"),
    [
        (0, 1, [600] * 5, [], 10),  # one place, frees every 10 minutes
        (1, 1, [600] * 5, [], 20),
        (3, 4, [600] * 5, [], 10),  # four places free one every 2.5 minutes: fourth in line, 10
        (0, 2, [720] * 5, [], 6),
        (0, 1, [720] * 5, [], 15),  # 12 minutes: above 10, rounded up to 5
        (0, 5, [60] * 5, [], 1),  # never "0 minutes"
        (0, 5, [60] * 5, [900, 1000, 1100], 17 + 3),  # today's waits were longer: those, not the theory
        (0, 1, [600] * 4, [], None),  # too little history: no figure at all
        (0, 1, [], [300, 300], None),
        (0, 1, [], [300, 300, 400], 5),
        (0, 0, [600] * 5, [300] * 3, None),  # nobody to take it
        (2, 1, [100, 200, 300, 400, 100000], [], 15),  # a median: one forgotten conversation does not count
    ],
)
def test_the_estimate_comes_from_history(ahead, capacity, handles, waits, minutes):
    assert estimate_minutes(ahead, capacity, handles, waits) == minutes


# --- business hours ----------------------------------------------------------------------------


def _la(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(LA))


@pytest.mark.parametrize(
    ("at", "minutes", "holidays", "expected"),
    [
        (_la(2026, 12, 2, 10), 120, [], _la(2026, 12, 2, 12)),  # a Wednesday morning
        (_la(2026, 12, 2, 16), 120, [], _la(2026, 12, 3, 9)),  # one hour today, one tomorrow from 8
        (_la(2026, 12, 2, 20), 120, [], _la(2026, 12, 3, 10)),  # after hours: from the next opening
        (_la(2026, 12, 5, 12), 120, [], _la(2026, 12, 7, 9)),  # Saturday 12-1, closed Sunday, Monday 8-9
        (_la(2026, 12, 24, 16), 120, [date(2026, 12, 25)], _la(2026, 12, 26, 10)),  # a holiday skipped
        (_la(2026, 12, 2, 7), 30, [], _la(2026, 12, 2, 8, 30)),
    ],
)
def test_a_reply_by_time_counts_only_open_hours(at, minutes, holidays, expected):
    assert open_time_after(DEFAULT_HOURS, holidays, at, LA, minutes) == expected


def test_a_team_never_open_promises_no_time():
    assert open_time_after({}, [], _la(2026, 12, 2, 10), LA, 60) is None
    all_day = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert open_time_after(all_day, [], _la(2026, 12, 2, 23), LA, 120) == _la(2026, 12, 3, 1)


# --- on a real hub -------------------------------------------------------------------------------


def _database(bot_hub) -> Session:
    url = bot_hub.settings.database.url.replace("sqlite+aiosqlite", "sqlite")
    return Session(create_engine(url, connect_args={"timeout": 30}))


def _history(bot_hub, handle: timedelta, waits_s: list[int], resolved: int = 6) -> None:
    """The scheduling team's recent past, as if it had happened: conversations handled in `handle`,
    and conversations that waited `waits_s` before an agent took them, this morning."""
    now = datetime.now(UTC)
    with _database(bot_hub) as s, s.begin():
        team = s.execute(select(Team.id).where(Team.key == "scheduling")).scalar_one()
        patient = s.execute(select(Patient.id).limit(1)).scalar_one()
        rows = []
        for i in range(resolved):
            done = now - timedelta(hours=2, minutes=i)
            rows.append(dict(status="resolved", assigned_at=done - handle, resolved_at=done))
        for w in waits_s:
            rows.append(dict(status="resolved", assigned_at=now - timedelta(hours=1), resolved_at=now, waited_s=w))
        s.add_all(Conversation(patient_id=patient, channel="sms", team_id=team, handler="agent", **r) for r in rows)


def _ana_at_capacity(bot_hub, staff) -> None:  # noqa: F811
    """Ana (scheduling, English and Spanish) is available but full: a hand-off to her team waits."""
    _available(staff["ana"])
    with _database(bot_hub) as s, s.begin():
        ana = s.execute(select(Agent).where(Agent.login == "ana")).scalar_one()
        held = (
            s.execute(
                select(Conversation.id).where(Conversation.assignee_id == ana.id, Conversation.status != "resolved")
            )
            .scalars()
            .all()
        )
        assert held, "the demo gives Ana a conversation"
        # She holds one, and has room for one: C = 1.
        s.execute(update(Conversation).where(Conversation.id.in_(held[1:])).values(assignee_id=None))
        s.execute(update(Agent).where(Agent.id == ana.id).values(capacity=1))


def test_a_waiting_patient_hears_the_wait_the_team_really_had(bot_hub, twilio, staff):  # noqa: F811
    _ana_at_capacity(bot_hub, staff)
    _history(bot_hub, handle=timedelta(minutes=12), waits_s=[240, 240, 300])
    first = SmsPatient(bot_hub, twilio, "+14155550201")
    first.says("talk to a person please")
    # H = 12 min, C = 1, first in line: 12 minutes, rounded up to 15 (recent waits were shorter).
    assert first.waits_for(1)[0] == (
        "You are next. From how our line has moved today, a person should answer in about 15 minutes."
    )
    second = SmsPatient(bot_hub, twilio, "+14155550202")
    second.says("quiero hablar con una persona")
    assert second.waits_for(1)[0] == (
        "Hay una persona antes que usted. Según cómo ha avanzado la fila hoy, una persona le responderá en unos 25"
        " minutos."
    )


def test_without_history_only_the_place_in_the_queue_is_said(bot_hub, twilio, staff):  # noqa: F811
    _ana_at_capacity(bot_hub, staff)
    _history(bot_hub, handle=timedelta(minutes=12), waits_s=[], resolved=4)  # too little to go on
    p = SmsPatient(bot_hub, twilio, "+14155550203")
    p.says("I want to speak to someone")
    text = p.waits_for(1)[0]
    assert text == "A person from our team will answer you. You are next."


def test_with_nobody_available_the_patient_gets_the_clinics_reply_by_time(bot_hub, twilio, staff):  # noqa: F811
    _history(bot_hub, handle=timedelta(minutes=12), waits_s=[240, 240, 300])  # history, but nobody is there
    before = datetime.now(ZoneInfo(bot_hub.settings.clinic.timezone))
    p = SmsPatient(bot_hub, twilio, "+14155550204")
    p.says("talk to a person please")
    text = p.waits_for(1)[0]
    assert text.startswith("No one from our team is free to answer right now.") and "minutes" not in text
    # The test hub's teams are open around the clock: two hours from now (the default promise).
    promised = re.search(r"reply by (.+?)\. In an emergency", text)
    assert promised, text
    due = before + timedelta(minutes=120)
    assert due.strftime("%-I:%M") in promised.group(1) or (due + timedelta(minutes=1)).strftime(
        "%-I:%M"
    ) in promised.group(1)

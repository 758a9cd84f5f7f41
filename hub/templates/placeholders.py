"""The placeholders a template may use: each has a kind, which decides how its value is
formatted in each locale, a label for the editor, and a sample value for previews.

Templates never say how to format a value ({appointment_time} is always a date and time in
the clinic's time zone, in the reader's locale): formatting belongs to the placeholder, so a
translator cannot get it wrong and every template formats the same thing the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hub.i18n import _


class Kind(StrEnum):
    TEXT = "text"
    PHONE = "phone"  # E.164 in, national format out
    DATETIME = "datetime"  # aware datetime, shown in the clinic's time zone
    DATE = "date"
    MONEY = "money"  # Decimal, US dollars
    NUMBER = "number"  # may drive plural forms
    URL = "url"


@dataclass(frozen=True)
class Placeholder:
    name: str
    kind: Kind
    label: str  # a catalog message: what the editor calls it, and the marker for a missing value
    sample: Any


# The assistant fills {menu} in with its bot_menu template (hub/bot/say.py); previews show this,
# the text message's menu (the longest a text message carries).
MENU_SAMPLE = "1 new appointment, 2 change, 3 cancel, 4 bills, 5 refills, 6 results, 7 new patient, 8 talk to a person"

_ALL = [
    Placeholder("patient_first_name", Kind.TEXT, _("patient's first name"), "María"),
    Placeholder("patient_name", Kind.TEXT, _("patient's full name"), "María González"),
    Placeholder("clinic_name", Kind.TEXT, _("clinic name"), "Sunrise Family Clinic"),
    Placeholder("clinic_phone", Kind.PHONE, _("clinic phone"), "+16502530000"),
    Placeholder("agent_first_name", Kind.TEXT, _("your first name"), "Ana"),
    Placeholder("provider_name", Kind.TEXT, _("provider's name"), "Dr. Lee"),
    Placeholder(
        "appointment_time", Kind.DATETIME, _("appointment date and time"), datetime(2026, 12, 10, 17, 30, tzinfo=UTC)
    ),
    Placeholder("appointment_date", Kind.DATE, _("appointment date"), date(2026, 12, 10)),
    Placeholder(
        "opening_time", Kind.DATETIME, _("when the clinic opens next"), datetime(2026, 12, 11, 16, 0, tzinfo=UTC)
    ),
    Placeholder("due_date", Kind.DATE, _("due date"), date(2027, 1, 15)),
    Placeholder("amount_due", Kind.MONEY, _("amount due"), Decimal("1234.50")),
    Placeholder("days", Kind.NUMBER, _("number of days"), 3),
    Placeholder("count", Kind.NUMBER, _("count"), 2),
    Placeholder("queue_position", Kind.NUMBER, _("place in the queue"), 2),
    Placeholder("wait_minutes", Kind.NUMBER, _("minutes to wait"), 15),
    Placeholder(
        "reply_by", Kind.DATETIME, _("when a person replies at the latest"), datetime(2026, 12, 10, 19, 40, tzinfo=UTC)
    ),
    Placeholder("portal_url", Kind.URL, _("patient portal link"), "https://portal.example.org"),
    # The satisfaction survey's page (csat_ask by email, hub/csat/): filled in by the hub, one per conversation.
    Placeholder(
        "survey_link", Kind.URL, _("satisfaction survey link"), "https://clinic.example.org/survey.html?t=42.x"
    ),
    Placeholder("code_destination", Kind.TEXT, _("where the code was sent"), "•••0134"),
    Placeholder("menu", Kind.TEXT, _("the assistant's menu"), MENU_SAMPLE),
]
PLACEHOLDERS: dict[str, Placeholder] = {p.name: p for p in _ALL}
NUMERIC = {Kind.NUMBER}

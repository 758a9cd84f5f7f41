"""A message that is only a consent keyword, in English or Spanish; anything else is a message."""

from __future__ import annotations

import pytest

from channels.sms.keywords import Keyword, classify

CASES = [
    ("STOP", Keyword.OPT_OUT, "en"),
    ("stop", Keyword.OPT_OUT, "en"),
    (" Stop. ", Keyword.OPT_OUT, "en"),
    ("STOPALL", Keyword.OPT_OUT, "en"),
    ("unsubscribe", Keyword.OPT_OUT, "en"),
    ("Cancel", Keyword.OPT_OUT, "en"),
    ("END", Keyword.OPT_OUT, "en"),
    ("quit!", Keyword.OPT_OUT, "en"),
    ("REVOKE", Keyword.OPT_OUT, "en"),
    ("OPTOUT", Keyword.OPT_OUT, "en"),
    ("Alto", Keyword.OPT_OUT, "es"),
    ("PARAR", Keyword.OPT_OUT, "es"),
    ("cancelar", Keyword.OPT_OUT, "es"),
    ("Baja", Keyword.OPT_OUT, "es"),
    ("START", Keyword.OPT_IN, "en"),
    ("Yes", Keyword.OPT_IN, "en"),
    ("UNSTOP", Keyword.OPT_IN, "en"),
    ("help", Keyword.HELP, "en"),
    ("INFO", Keyword.HELP, None),
    ("Ayuda", Keyword.HELP, "es"),
    ("¡AYUDA!", Keyword.HELP, "es"),
]


@pytest.mark.parametrize("text,keyword,language", CASES)
def test_keywords(text, keyword, language):
    match = classify(text)
    assert match is not None and match.keyword == keyword and match.language == language


@pytest.mark.parametrize(
    "text",
    [
        "Please stop sending me reminders about the flu shot",  # a sentence is a message for a person
        "STOP it",
        "yes please",
        "I need help with my bill",
        "",
        None,
        "STOPP",
        "necesito ayuda",
        "🛑",
    ],
)
def test_other_messages_are_not_keywords(text):
    assert classify(text) is None

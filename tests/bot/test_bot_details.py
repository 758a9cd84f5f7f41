"""The assistant's details (issue 18): the patient's own words decide the language when they are
clear (over the widget's or the browser's locale), the menu is shown with every message that
offers its numbers, and "menu", "menú", "opciones", "help", "ayuda" bring it.

The phrasings are tables in tests/data/bot_details/: dev.toml (tuned on) and heldout.toml (written
with it, before the changes, and not tuned on; its score is reported by
test_held_out_phrasings_score)."""

from __future__ import annotations

import json
import re
import sqlite3
import tomllib
from pathlib import Path

import pytest

from hub.bot.understand import clear_language, match_intent
from tests.bot.test_bot import Patient, _bot_said, _conversation
from tests.support.clients import Staff
from tests.support.server import HubServer, hub_settings
from tests.support.webchat import VisitorClient

TABLES = Path(__file__).resolve().parent.parent / "data" / "bot_details"
DEV = tomllib.loads((TABLES / "dev.toml").read_text(encoding="utf-8"))["row"]
HELD_OUT = tomllib.loads((TABLES / "heldout.toml").read_text(encoding="utf-8"))["row"]
MENU_LINES = re.compile(r"^1 .+\n2 .+\n3 .+\n4 .+\n5 .+\n6 .+\n7 .+\n8 .+$", re.MULTILINE)
OFFERS_NUMBERS = re.compile(r"1 (to|al) 8|1-8|number|número", re.IGNORECASE)


def _understood(row: dict) -> tuple[str, bool]:
    match = match_intent(row["text"], row["language"] or None)
    return clear_language(row["text"]) or "", match is not None and match.intent == "menu"


@pytest.mark.parametrize("row", DEV, ids=[r["text"] for r in DEV])
def test_dev_phrasings(row: dict) -> None:
    assert _understood(row) == (row["language"], row["menu"])


def test_the_tables_cover_both_languages_and_both_answers() -> None:
    for table in (DEV, HELD_OUT):
        kinds = {(r["language"], r["menu"]) for r in table}
        assert {("en", True), ("es", True), ("en", False), ("es", False), ("", False), ("", True)} <= kinds


def test_held_out_phrasings_score() -> None:
    """Checked once, at the end of the work: 24 of 24 (2026-12-03). It must stay that good: a miss
    here is fixed by a general rule, not by adding its wording (then write a fresh held-out table)."""
    misses = [(r["text"], _understood(r)) for r in HELD_OUT if _understood(r) != (r["language"], r["menu"])]
    print(f"held out: {len(HELD_OUT) - len(misses)}/{len(HELD_OUT)}", misses)
    assert not misses, misses


# --- on a real hub -----------------------------------------------------------------------------


def _visitor(hub, language: str | None) -> VisitorClient:
    visitor = VisitorClient(hub.base_url, hub.ws_url)
    visitor.start("Rosa Méndez", language=language)
    visitor.open()
    visitor.until(lambda f: f["type"] == "ready")
    return visitor


def _bot_answer(visitor: VisitorClient) -> str:
    return visitor.until(lambda f: f["type"] == "message" and f["author"] == "bot")["text"]


def test_spanish_words_from_an_english_browser_are_answered_in_spanish_and_menu_shows_it(bot_hub):
    visitor = _visitor(bot_hub, "en")  # the widget says English: the browser's locale
    assert visitor.send("hola, necesito ayuda").status_code == 201
    first = _bot_answer(visitor)
    assert "Le puedo ayudar con" in first and MENU_LINES.search(first), first
    assert "Hacer una cita" in first and "Make an appointment" not in first
    assert visitor.send("7").status_code == 201  # no words: the conversation's language holds
    answer = _bot_answer(visitor)
    assert clear_language(answer) == "es", answer
    visitor.close()
    # The patient switches language with clear words: the assistant follows.
    other = _visitor(bot_hub, "es")
    assert other.send("MENU please").status_code == 201
    text = _bot_answer(other)
    assert "I can help with" in text and "1 Make an appointment" in text
    assert other.send("opciones").status_code == 201
    assert "Le puedo ayudar con" in _bot_answer(other)
    other.close()


@pytest.mark.parametrize("asks", ["menú", "Menu", "OPCIONES", "help", "ayuda"])
def test_asking_for_the_menu_brings_it(bot_hub, asks):
    visitor = _visitor(bot_hub, None)
    assert visitor.send(asks).status_code == 201
    text = _bot_answer(visitor)
    assert MENU_LINES.search(text), text
    visitor.close()


def test_every_message_that_offers_numbers_shows_the_menu(bot_hub, twilio):
    """On web chat and by SMS, in English and Spanish: the welcome, "not understood" and "anything
    else?" all carry the menu; none says "1 to 8" without it."""
    visitor = _visitor(bot_hub, "en")
    for text in ("where are you located?", "qwerty asdf"):
        assert visitor.send(text).status_code == 201
    chat = [_bot_answer(visitor) for _ in range(3)]  # the address, anything else, not understood
    assert chat[1].startswith("Can I help with anything else?") and MENU_LINES.search(chat[1])
    assert chat[2].startswith("Sorry, I did not understand") and MENU_LINES.search(chat[2])
    visitor.close()
    sms = Patient(bot_hub, twilio, "+14155550191")
    sms.says("donde estan?")
    sms.says("blorp zzz")
    texts = sms.waits_for(3)
    assert texts[1].startswith("¿Algo más?") and "1 cita nueva" in texts[1] and "8 hablar con una persona" in texts[1]
    assert texts[2].startswith("Perdón, no entendí") and "1 cita nueva" in texts[2]
    for text in chat + texts:
        if OFFERS_NUMBERS.search(text):
            assert MENU_LINES.search(text) or "1 cita nueva" in text or "1 new appointment" in text, text
    sofia = Staff(bot_hub.base_url, "sofia")
    conv = _conversation(sofia, "+14155550191")
    assert _bot_said(sofia, conv["patient_id"]) == [
        ("faq_address", "es"),
        ("bot_anything_else", "es"),
        ("bot_not_understood", "es"),
    ]
    sofia.close()


OLD_NOT_UNDERSTOOD = {  # an older release's text: numbers offered, no menu
    "chat": {
        "en": {"body": 'Sorry, I did not understand. Reply with a number from 1 to 8, or write "person".'},
        "es": {"body": 'Perdón, no entendí. Responda con un número del 1 al 8, o escriba "persona".'},
    },
    "sms": {
        "en": {"body": "Sorry, I did not understand. Reply 1-8."},
        "es": {"body": "Perdón, no entendí. Responda 1-8."},
    },
}


def _versions(db: Path, key: str) -> list[tuple[int, str, str]]:
    with sqlite3.connect(db) as c:
        return c.execute(
            "SELECT v.number, v.state, v.content FROM template_versions v JOIN templates t ON t.id = v.template_id"
            " WHERE t.key = ? ORDER BY v.number",
            (key,),
        ).fetchall()


def test_an_older_untouched_text_gets_the_menu_at_start_and_an_edited_one_is_left(tmp_path):
    settings = hub_settings(tmp_path)
    db = Path(settings.database.url.split("///", 1)[1])
    HubServer(settings).start().stop()
    with sqlite3.connect(db) as c:  # as an older release left them: one untouched, one an admin wrote
        for key, by in (("bot_not_understood", None), ("bot_anything_else", 1)):
            c.execute(
                "UPDATE template_versions SET content = ?, created_by = ? WHERE template_id ="
                " (SELECT id FROM templates WHERE key = ?)",
                (json.dumps(OLD_NOT_UNDERSTOOD), by, key),
            )
    HubServer(settings).start().stop()
    upgraded = _versions(db, "bot_not_understood")
    assert [(n, state) for n, state, _ in upgraded] == [(1, "retired"), (2, "published")]
    assert "{menu}" in upgraded[1][2] and "{menu}" not in upgraded[0][2]
    left = _versions(db, "bot_anything_else")
    assert [(n, state) for n, state, _ in left] == [(1, "published")] and "{menu}" not in left[0][2]
    with sqlite3.connect(db) as c:
        audit = c.execute("SELECT detail FROM audit_log WHERE action = 'template.publish'").fetchall()
    assert [json.loads(d)["key"] for (d,) in audit] == ["bot_not_understood"]
    HubServer(settings).start().stop()  # a third start changes nothing
    assert len(_versions(db, "bot_not_understood")) == 2

"""The red-flag list (locales/red-flags.toml) against the development table tests/data/red_flags/dev.toml:
emergencies as patients write them (both languages, every group) must raise a flag, with the right number
first; ordinary clinic messages, near misses included, must not, but for the short list of accepted false
alarms below."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from hub.bot.understand import RED_FLAG_CATEGORIES, SEED_RED_FLAGS, as_red_flag_list, red_flags

TABLE = Path(__file__).resolve().parent / "data" / "red_flags" / "dev.toml"
GROUPS = {
    "cardiac",
    "breathing",
    "stroke",
    "self_harm",
    "bleeding",
    "overdose",
    "allergy",
    "unconscious",
    "seizure",
    "pregnancy",
    "newborn",
}
SEED = as_red_flag_list(SEED_RED_FLAGS)

_rows = tomllib.loads(TABLE.read_text(encoding="utf-8"))
EMERGENCIES: list[dict[str, str]] = _rows["emergency"]
ORDINARY: list[dict[str, str]] = _rows["ordinary"]

# Ordinary messages that do raise a flag, accepted: each is a word that, in a patient's message, is far more
# often the emergency than not, and that no narrower phrase could keep while letting this message go. A
# person looks at these; a miss of the emergency they stand for could cost a life.
ACCEPTED_FALSE_ALARMS = {
    # "passed out" is how people say they fainted; handing out flyers is rare in a clinic's inbox
    "i passed out flyers at the health fair",
    # "suffocating" said of the weather; said of a child it is an emergency
    "the heat is suffocating today lol",
    # "stroke" alone (a stroke now, or "I think it's a stroke"); a stroke clinic or a past stroke also has it
    "the stroke clinic called me about a follow up for my mom",
    # "derrame" alone is how Spanish speakers name a stroke; a past one also has the word
    "mi mama tuvo un derrame hace 2 años y necesita su cita de seguimiento",
    # Spanish "convulsiones" and "está convulsionando" share their stem, so the matcher cannot keep the
    # second (the only word of "mi hijo está convulsionando") without the first; English could: "having a
    # seizure", not "seizure"
    "necesito receta para la medicina de las convulsiones",
    # "me va a matar" / "se va a matar": the same words, a joke or a threat to oneself
    "esta cuenta me va a matar jaja",
    # "me desmayo" (present, a figure of speech) is "se desmayó" without its accent
    "me desmayo de cansancio jaja",
}


def _name(row: dict[str, str]) -> str:
    return f"{row['lang']}:{row.get('group', 'ordinary')}:{row['text'][:60]}"


def test_the_table_is_big_enough_and_well_formed() -> None:
    for language in ("en", "es"):
        rows = [r for r in EMERGENCIES if r["lang"] == language]
        assert len(rows) >= 80, language
        assert {r["group"] for r in rows} == GROUPS, language
    assert len(ORDINARY) >= 150
    assert {r["lang"] for r in ORDINARY} == {"en", "es"}
    assert all(set(r) == {"lang", "group", "text"} and r["group"] in GROUPS for r in EMERGENCIES)
    assert all(set(r) == {"lang", "text"} for r in ORDINARY)
    texts = [r["text"] for r in EMERGENCIES + ORDINARY]
    assert len(texts) == len(set(texts)), "a message is in the table twice"
    assert ACCEPTED_FALSE_ALARMS <= {r["text"] for r in ORDINARY}
    assert len(ACCEPTED_FALSE_ALARMS) <= 0.05 * len(ORDINARY)


@pytest.mark.parametrize("row", EMERGENCIES, ids=_name)
def test_every_emergency_raises_a_flag(row: dict[str, str]) -> None:
    hits = red_flags(row["text"], SEED)
    assert hits, f"missed: {row['text']!r} ({row['group']})"
    for hit in hits:
        assert row["text"][hit.start : hit.end] == hit.matched
        assert hit.category in RED_FLAG_CATEGORIES


@pytest.mark.parametrize("row", EMERGENCIES, ids=_name)
def test_the_first_flag_gives_the_right_number(row: dict[str, str]) -> None:
    """The bot's answer follows the first flag: 988 for self_harm, 911 for anything else. Thoughts of suicide
    or self-harm must get 988. Any other emergency, an overdose taken on purpose included, must get 911: a 988
    answer to a poisoned child, a stroke or a swallowed bottle of pills would send the caller to a crisis line
    first when an ambulance or poison control is what saves them (the 988 answer does say 911 if in danger,
    but second). There is no exception today; one would be a row whose words say both, listed here with why."""
    first = red_flags(row["text"], SEED)[0]
    if row["group"] == "self_harm":
        assert first.category == "self_harm", (row["text"], first)
    else:
        assert first.category != "self_harm", (row["text"], first)


@pytest.mark.parametrize("row", ORDINARY, ids=_name)
def test_ordinary_messages_raise_no_flag(row: dict[str, str]) -> None:
    hits = red_flags(row["text"], SEED)
    if row["text"] in ACCEPTED_FALSE_ALARMS:
        assert hits, f"accepted as a false alarm but no longer one: take it off the list: {row['text']!r}"
    else:
        assert hits == [], f"false alarm: {row['text']!r} -> {[(h.category, h.phrase) for h in hits]}"

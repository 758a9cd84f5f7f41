"""The assistant's data files, read once at import: locales/bot-intents.toml (intents, their
phrasings, teams, menu, shorthand) and locales/red-flags.toml (the starting red-flag list, its
categories and word classes), as typed structs."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

from hub.bot.phrases import phrase_variants
from hub.bot.words import fold

LOCALES = Path(__file__).resolve().parent.parent.parent / "locales"
INTENTS_FILE = LOCALES / "bot-intents.toml"
RED_FLAGS_FILE = LOCALES / "red-flags.toml"
MAX_INTENT_CHARS = 4000  # what a patient wants is said early; red flags are looked for everywhere
MAX_PHRASE_WORDS = 8  # an admin's red-flag phrase: longer ones rarely match anything


class IntentInfo(msgspec.Struct, frozen=True):
    """One intent, as bot-intents.toml defines it."""

    name: str
    team: str  # the team key it is handed to
    verify: bool  # identity verified before anything is disclosed or acted on
    menu: int | None  # its number in the bot's menu
    label: dict[str, str]  # how the menu names it, per language
    weak: bool  # gives way to any other intent (greeting, thanks)
    beats: tuple[str, ...]  # intents it wins over when both match
    phrases: dict[str, tuple[str, ...]]  # language -> phrasings


class IntentMatch(msgspec.Struct, frozen=True):
    intent: str
    score: float  # 0..1: 1 is every word as written, less for typos and words in between
    matched: str  # the words of the message that matched, as written
    menu: int | None = None  # the menu number, when the message was a menu choice
    others: tuple[str, ...] = ()  # intents that also matched and gave way (e.g. billing for "human")


class RedFlagCategory(msgspec.Struct, frozen=True):
    key: str
    call: tuple[str, ...]  # what the safety answer tells the patient to call, first first
    label: dict[str, str]  # per language, for staff


class RedFlagPhrase(msgspec.Struct, frozen=True):
    """A phrase of the red-flag list (from the database, or the starting list)."""

    language: str
    phrase: str
    category: str
    id: int | None = None


class RedFlagMatch(msgspec.Struct, frozen=True):
    category: str
    phrase: str  # the list's phrase that matched
    language: str  # the phrase's language (not necessarily the conversation's)
    matched: str  # the words of the message, as written
    start: int  # where they are in the text (Python string indices)
    end: int
    id: int | None = None  # the phrase's row, when it came from the database


class DataError(ValueError):
    """A data file is not well-formed; the message says which entry and why."""


# --- data ---------------------------------------------------------------------------------------

_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_INTENT_FIELDS = {"team", "verify", "menu", "label", "weak", "beats"}


def _phrases_of(where: str, entry: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    out = {}
    for language, phrases in entry.items():
        if language in _INTENT_FIELDS or language in ("call",):
            continue
        if not _LANGUAGE.match(language) or not isinstance(phrases, list):
            raise DataError(f"{where}: {language!r} is neither a field nor a language's list of phrases")
        if not all(isinstance(p, str) and p.strip() for p in phrases):
            raise DataError(f"{where}.{language}: every phrase is a non-empty string")
        out[language] = tuple(p.strip() for p in phrases)
    return out


class _Data(NamedTuple):
    shorthand: dict[str, tuple[str, ...]]
    intents: dict[str, IntentInfo]
    menu_numbers: dict[str, int]  # folded number word or digits -> number
    menu_fillers: frozenset[str]
    menu_asks: dict[str, tuple[str, ...]]  # language -> phrases asking for the menu itself
    categories: dict[str, RedFlagCategory]
    seed: tuple[RedFlagPhrase, ...]
    classes: dict[str, tuple[str, ...]]  # red flags' word classes ({med}): name -> words


def _load() -> _Data:
    raw = tomllib.loads(INTENTS_FILE.read_text(encoding="utf-8"))
    shorthand = {fold(k): tuple(fold(v).split()) for k, v in raw.get("shorthand", {}).items()}
    menu = raw.get("menu", {})
    numbers: dict[str, int] = {}
    for words in menu.get("numbers", {}).values():
        for number, word in enumerate(words):
            numbers[fold(word)] = number
    fillers = frozenset(fold(w) for words in menu.get("fillers", {}).values() for w in words)
    asks = _phrases_of("menu.asks", menu.get("asks", {}))
    intents = {}
    for name, entry in raw.get("intent", {}).items():
        where = f"intent.{name}"
        try:
            info = IntentInfo(
                name=name,
                team=str(entry["team"]),
                verify=bool(entry["verify"]),
                menu=entry.get("menu"),
                label=dict(entry.get("label", {})),
                weak=bool(entry.get("weak", False)),
                beats=tuple(entry.get("beats", ())),
                phrases=_phrases_of(where, entry),
            )
        except KeyError as exc:
            raise DataError(f"{where}: {exc.args[0]} is missing") from None
        intents[name] = info
    for info in intents.values():
        unknown = [b for b in info.beats if b not in intents]
        if unknown:
            raise DataError(f"intent.{info.name}.beats: no intent {unknown[0]}")
    flags = tomllib.loads(RED_FLAGS_FILE.read_text(encoding="utf-8"))
    classes: dict[str, tuple[str, ...]] = {}
    for name, words in flags.pop("words", {}).items():
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise DataError(f"red-flags words.{name}: a class is a list of words")
        classes[fold(name)] = tuple(w.strip() for w in words)
    categories, seed = {}, []
    for key, entry in flags.items():
        if not isinstance(entry, dict) or "call" not in entry:
            raise DataError(f"red-flags {key}: a category needs `call`")
        categories[key] = RedFlagCategory(key, tuple(entry["call"]), dict(entry.get("label", {})))
        for language, phrases in _phrases_of(key, {k: v for k, v in entry.items() if k != "label"}).items():
            seed.extend(RedFlagPhrase(language, p, key) for p in phrases)
    return _Data(shorthand, intents, numbers, fillers, asks, categories, tuple(seed), classes)


_DATA = _load()
SHORTHAND = _DATA.shorthand
INTENTS: dict[str, IntentInfo] = _DATA.intents
MENU: dict[int, str] = {i.menu: i.name for i in INTENTS.values() if i.menu is not None}
RED_FLAG_CATEGORIES: dict[str, RedFlagCategory] = _DATA.categories
SEED_RED_FLAGS: tuple[RedFlagPhrase, ...] = _DATA.seed
WORD_CLASSES: dict[str, tuple[str, ...]] = _DATA.classes
MENU_ASKS: dict[str, tuple[str, ...]] = _DATA.menu_asks


def intent_info(intent: str) -> tuple[str, bool]:
    """The team an intent goes to, and whether the patient's identity is verified first."""
    info = INTENTS[intent]
    return info.team, info.verify


def phrase_words(phrase: str) -> tuple[str, ...]:
    """The words a phrase is matched by (keys, sorted; a slot of alternatives as "(a|b)"): two
    phrases with the same words are the same phrase to the matcher; none means it has nothing to
    match (only little words). A phrase with several-word alternatives has one bracketed entry per
    variant (phrase_variants)."""

    def words(slots: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
        return tuple(sorted(slot[0] if len(slot) == 1 else "(" + "|".join(sorted(slot)) + ")" for slot in slots))

    variants = phrase_variants(phrase, SHORTHAND, WORD_CLASSES)
    if len(variants) == 1:
        return words(variants[0])
    return tuple(sorted("[" + " ".join(words(v)) + "]" for v in variants))


def phrase_size(phrase: str) -> int:
    """A phrase's number of words, for MAX_PHRASE_WORDS: its longest variant's slots (a bracketed
    set of alternatives or a {class} is one word)."""
    return max((len(v) for v in phrase_variants(phrase, SHORTHAND, WORD_CLASSES)), default=0)

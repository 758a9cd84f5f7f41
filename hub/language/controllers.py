"""POST /api/language/check: the jargon in a draft, the plain words for it, and how readable the
draft is, for the composer and the template editor to show as staff type."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.params import JSONBody

from hub.agents.roles import Role, requires
from hub.bounds import text
from hub.i18n import _, language_of, translate
from hub.language.glossary import glossary
from hub.language.readability import FORMULAS, LABELS, MIN_WORDS, Reading, read
from hub.refusals import Refused

MAX_TEXT = 5000  # the longest reply an agent can send (hub/conversations/actions.py)
LocaleTag = Annotated[
    str, msgspec.Meta(min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")
]


class CheckBody(msgspec.Struct, forbid_unknown_fields=True):
    text: text(MAX_TEXT)  # type: ignore[valid-type]
    locale: LocaleTag  # the draft's language: en, es, es-MX...


class SuggestionOut(msgspec.Struct):
    term: str  # as written in the draft
    plain: str
    start: int  # in UTF-16 code units, as JavaScript indexes strings: text.slice(start, end) is term
    end: int


class ReadabilityOut(msgspec.Struct):
    score: float  # 0-100, higher is easier
    grade: float | None  # US school grade, English only
    label: str  # the level in words, in the staff member's language
    level: str  # very_easy, easy, fairly_easy, standard, fairly_difficult, difficult, very_difficult
    formula: str


class CheckOut(msgspec.Struct):
    locale_used: str  # the glossary and formula used: es for es-MX
    suggestions: list[SuggestionOut]
    readability: ReadabilityOut | None  # null below min_words words: too short to score
    words: int
    min_words: int


def _utf16(text: str) -> list[int] | None:
    """For each index of `text` (and its end), where it is in UTF-16; None when they are the same."""
    if all(ord(c) < 0x10000 for c in text):
        return None
    units = [0]
    for c in text:
        units.append(units[-1] + (2 if ord(c) >= 0x10000 else 1))
    return units


@post(
    "/api/language/check",
    status_code=200,
    guards=[requires(Role.AGENT)],
    sync_to_thread=True,  # matching and syllable counting are CPU work: off the event loop
    summary="Jargon in a draft with the plain words for it, and a readability score",
)
def check_language(request: Request[Any, Any, Any], data: JSONBody[CheckBody]) -> CheckOut:
    """Suggestions come from the reviewed glossary (locales/plain-language.toml), longest match
    first, never overlapping; readability is Flesch Reading Ease for English, Szigriszt-Pazos on the
    INFLESZ scale for Spanish."""
    known = glossary()
    language = known.language_for(data.locale)
    if language is None:
        raise Refused(
            400,
            _("There is no plain-language check for {tag}: use one of {languages}."),
            tag=data.locale,
            languages=", ".join(known.languages),
        )
    at = _utf16(data.text)
    suggestions = [
        SuggestionOut(s.term, s.plain, at[s.start] if at else s.start, at[s.end] if at else s.end)
        for s in known.suggest(data.text, language)
    ]
    reading = read(data.text, language) if language in FORMULAS else Reading(0, None)
    score = reading.score
    readability = None
    if score is not None:
        label = translate(language_of(request), LABELS[score.level])
        readability = ReadabilityOut(score.score, score.grade, label, score.level.value, score.formula)
    return CheckOut(language, suggestions, readability, reading.words, MIN_WORDS)

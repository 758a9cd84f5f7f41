"""Jargon that the reviewed glossary (locales/plain-language.toml) knows, found in a text, with the
plain words to say instead.

Table-driven: each entry's term, and its plural where the glossary gives one, becomes one pattern,
compiled when the glossary is first loaded. A term is found as a whole word or phrase, never inside
another word (no "tension" in "hypertension"); case and accents do not matter (hipotension finds
hipotensión); the words of a phrase may be split by any whitespace, and a hyphen may be a space or
nothing (post-op, post op, postop). Abbreviations (a term with dots, b.i.d., or in capitals, NPO)
are found with a dot after each letter in any case (b.i.d, B.I.D.) or in capitals without dots
(BID), never as a lower-case word (bid, an offer); `dotted_only` keeps the capitals out too (HS is
high school). Where finds overlap, the longest wins, then the first.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from functools import cache
from pathlib import Path
from typing import Annotated, NamedTuple

import msgspec

from channels.base import PuenteError
from hub.i18n import LOCALES

GLOSSARY_FILE = LOCALES / "plain-language.toml"

Words = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}$")]


class Entry(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    term: Words
    plain: Words
    plural: Words | None = None  # the plural as written: only a plural the glossary gives is found
    plain_plural: Words | None = None  # the plain words for the plural
    dotted_only: bool = False  # an abbreviation never found in capitals without its dots
    note: str | None = None  # for reviewers


class Suggestion(msgspec.Struct, frozen=True):
    term: str  # as written in the text
    plain: str
    start: int  # where it is in the text, in Python string indices (code points)
    end: int


class GlossaryError(PuenteError, ValueError):
    """The glossary file is not well-formed; the message says which entry and why."""


class UnknownLanguage(PuenteError, ValueError):
    """The glossary has no list for this locale's language."""


def fold(text: str) -> str:
    """`text` without accents, tildes or other combining marks (hipotensión -> hipotension); case kept."""
    return _fold(text)[0]


def _fold(text: str, lower: bool = False) -> tuple[str, list[int] | None]:
    """The folded (and lowered) text and, for each of its characters and its end, the index in
    `text` it came from; None when each character stayed one character (ASCII)."""
    if text.isascii():
        return (text.lower() if lower else text), None
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFD", ch):
            for k in c.lower() if lower else c:
                if not unicodedata.combining(k):
                    out.append(k)
                    where.append(i)
    where.append(len(text))
    return "".join(out), where


def is_abbreviation(term: str) -> bool:
    """One word written with dots (b.i.d.) or in capitals (NPO, NSAID)."""
    return " " not in term and ("." in term or (len(term) > 1 and term.isupper()))


def _key(form: str) -> str:
    """What two forms have in common when the matcher cannot tell them apart."""
    return re.sub(r"[\s.\-]+", "", fold(form).casefold())


_HYPHEN = r"(?:[-\u2010\u2011]|\s+)?"
_WORD = re.compile(r"\w")


def _phrase(form: str) -> str:
    """For the lowered text. It starts with a literal, which `re` finds fast; a word character just
    before the match is checked apart (see Glossary.suggest)."""
    words = [_HYPHEN.join(re.escape(part) for part in word.split("-")) for word in fold(form).lower().split()]
    return r"\s+".join(words) + r"(?!\w)"


def _abbreviation(form: str, dotted_only: bool, plural: bool) -> str:
    """For the text as written, capitals and all."""
    letters = fold(form).replace(".", "")
    if plural:  # as written (NSAIDs), or all in capitals
        forms = sorted({re.escape(letters), re.escape(letters.upper())})
    else:
        forms = [r"(?i:" + r"\.".join(map(re.escape, letters)) + r"\.?)"]
        if not dotted_only:
            forms.append(re.escape(letters.upper()))
    # not part of a longer dotted abbreviation either (q.d. is not in q.d.s.)
    return r"(?<!\w)(?<!\w\.)(?:" + "|".join(forms) + r")(?!\.?\w)"


class _Rule(NamedTuple):
    pattern: re.Pattern[str]
    plain: str
    cased: bool  # matched against the text as written; else against it lowered


def _rules(language: str, entries: list[Entry]) -> list[_Rule]:
    rules: list[_Rule] = []
    seen: dict[str, str] = {}
    for entry in entries:
        abbreviation = is_abbreviation(entry.term)
        if (entry.plural is None) != (entry.plain_plural is None):
            raise GlossaryError(f"{language}: {entry.term!r} needs both plural and plain_plural, or neither")
        if entry.dotted_only and not abbreviation:
            raise GlossaryError(f"{language}: {entry.term!r} is not an abbreviation, so dotted_only means nothing")
        forms = [(entry.term, entry.plain, False)]
        if entry.plural and entry.plain_plural:
            forms.append((entry.plural, entry.plain_plural, True))
        for form, plain, plural in forms:
            key = _key(form)
            if not key:
                raise GlossaryError(f"{language}: {form!r} has no letters")
            if key in seen:
                raise GlossaryError(f"{language}: {form!r} is there twice (also as {seen[key]!r})")
            if key == _key(plain):
                raise GlossaryError(f"{language}: {form!r} is its own plain word")
            seen[key] = form
            if abbreviation:
                rules.append(_Rule(re.compile(_abbreviation(form, entry.dotted_only, plural)), plain, True))
            else:
                rules.append(_Rule(re.compile(_phrase(form)), plain, False))
    return rules


class Glossary:
    """One list of entries per language, compiled to patterns once."""

    def __init__(self, lists: dict[str, list[Entry]]) -> None:
        self.entries = lists
        self._rules = {language: _rules(language, entries) for language, entries in lists.items()}

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self._rules))

    def language_for(self, locale: str) -> str | None:
        """The list a locale uses (es-MX, es_419, ES -> es), else None."""
        primary = re.split(r"[-_]", locale.strip(), maxsplit=1)[0].lower()
        return primary if primary in self._rules else None

    def suggest(self, text: str, locale: str) -> list[Suggestion]:
        """The jargon in `text`, in order, none overlapping another; UnknownLanguage without a list."""
        language = self.language_for(locale)
        if language is None:
            raise UnknownLanguage(locale)
        texts = {True: _fold(text), False: _fold(text, lower=True)}
        found: list[tuple[int, int, str]] = []
        for rule in self._rules[language]:
            target, where = texts[rule.cased]
            pos = 0
            while m := rule.pattern.search(target, pos):
                if not rule.cased and m.start() and _WORD.match(target, m.start() - 1):
                    pos = m.start() + 1  # inside a word ("tension" in "hypertension"): look on
                    continue
                start, end = (where[m.start()], where[m.end()]) if where else m.span()
                found.append((start, end, rule.plain))
                pos = m.end()
        found.sort(key=lambda f: (f[0] - f[1], f[0]))  # longest first, then leftmost
        kept: list[tuple[int, int, str]] = []
        for start, end, plain in found:
            if all(end <= s or start >= e for s, e, _ in kept):
                kept.append((start, end, plain))
        return [Suggestion(text[start:end], plain, start, end) for start, end, plain in sorted(kept)]


def load(path: Path = GLOSSARY_FILE) -> Glossary:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        lists = msgspec.convert(raw, dict[Language, list[Entry]])
    except (tomllib.TOMLDecodeError, msgspec.ValidationError) as exc:
        raise GlossaryError(f"{path.name}: {exc}") from None
    return Glossary(lists)


@cache  # two first callers at once would both load it, harmlessly: one result is kept
def glossary() -> Glossary:
    """The glossary in locales/, loaded and compiled once."""
    return load()


def suggest(text: str, locale: str) -> list[Suggestion]:
    """The jargon the glossary knows in `text` (locale: en, es, es-MX...), with the plain words."""
    return glossary().suggest(text, locale)

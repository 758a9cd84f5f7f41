"""Words as the assistant reads them: cut, folded, spelt by ear, close to one another (the rules:
hub/bot/understand.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from channels.base import fold  # the one folding function

# Left out of phrases and messages: articles, possessives, prepositions, pronouns, auxiliaries.
# Never a negation (no, not, cant, nunca): "no puedo respirar" needs its "no".
STOP = frozenset(
    """
    a an the my your our his her their its it this that these those to of for in on at with from by about
    i im ive id me we us is am are was were be been being and or so just please do does did can could would
    will shall should may might some any very really then um uh oh
    el la los las lo un una unos unas mi mis tu tus su sus de del al en con por que y o e u te se le les nos
    es son este esta esto ese esa eso muy ya favor pues
    """.split()
)

# --- words ----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W\d_]+(?:['’ʼ`´][^\W\d_]+)*|\d+")
_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")


class _Word(NamedTuple):
    text: str  # folded: lower case, no accents, no apostrophes
    key: str  # spelling-by-ear key
    start: int
    end: int
    alias: bool = False  # another reading of the word before it, in the same place ("20" as "many")


_KEY_RULES = [
    (re.compile(r"ph"), "f"),
    (re.compile(r"ck"), "k"),
    (re.compile(r"qu(?=[eiy])"), "k"),
    (re.compile(r"c(?=[eiy])"), "s"),
    (re.compile(r"c(?!h)"), "k"),
    (re.compile(r"z"), "s"),
    (re.compile(r"v"), "b"),
    (re.compile(r"(.)\1+"), r"\1"),
]


@lru_cache(maxsize=65536)
def spelling_key(word: str) -> str:
    """A folded word as it sounds, near enough: cita and sita, quiero and kiero, recetta and receta
    get the same key."""
    if word.isdigit():
        return word
    for pattern, replacement in _KEY_RULES:
        word = pattern.sub(replacement, word)
    return word


# Words whose apostrophe carries their meaning: "OD'd" is not "odd".
_APOSTROPHE_WORDS = {"od'd": "overdosed", "od'ed": "overdosed", "od'ing": "overdosing"}


@lru_cache(maxsize=65536)
def _fold_word(word: str) -> str:
    folded = fold(word)
    return _APOSTROPHE_WORDS.get(re.sub(r"['’ʼ`´]", "'", folded)) or folded.translate(_APOSTROPHES)


def _raw_words(text: str) -> list[tuple[str, int, int]]:
    return [(_fold_word(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _words(text: str, shorthand: dict[str, tuple[str, ...]]) -> list[_Word]:
    """Every word of the text, shorthand expanded (each expansion keeps the span it came from)."""
    out = []
    for folded, start, end in _raw_words(text):
        for word in shorthand.get(folded, (folded,)):
            out.append(_Word(word, spelling_key(word), start, end))
    return out


def _content(words: Iterable[_Word]) -> list[_Word]:
    return [w for w in words if w.text not in STOP]


# --- close words --------------------------------------------------------------------------------

ENDINGS = (
    "s es d ed ing ar er ir o a e as os an en amos ado ada ados adas ando iendo ido ida aba ia aron ieron me se lo la"
).split()
_ENDINGS_LONGEST_FIRST = sorted(ENDINGS, key=len, reverse=True)


@lru_cache(maxsize=65536)
def _stem(key: str) -> str:
    for ending in _ENDINGS_LONGEST_FIRST:
        if key.endswith(ending) and len(key) - len(ending) >= 4:
            return key[: -len(ending)]
    return key


def _budget(length: int) -> int:
    """Typos forgiven in a word of this many letters (of its key)."""
    return 0 if length <= 4 else 1 if length <= 8 else 2


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment: a swap of neighbours is one edit),
    or limit + 1 as soon as it is sure to be more than limit. Typos are local: the common start
    and end are set aside first, and what is left is short."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    while a and b and a[0] == b[0]:
        a, b = a[1:], b[1:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if not a or not b:
        return len(a) + len(b)
    if limit == 1:  # what is left must be one letter wrong, missing or extra, or two swapped
        if len(a) == len(b) == 1 or (len(a) == len(b) == 2 and a == b[::-1]) or len(a) + len(b) == 1:
            return 1
        return 2
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = value
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


class _Vocabulary:
    """Words (keys), indexed to find the ones a written word may stand for, quickly."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(words)
        self.by_stem: dict[str, list[str]] = {}
        self.by_shape: dict[tuple[str, int], list[tuple[str, int]]] = {}  # (first letter, length) -> (word, typos)
        for word in sorted(self.words):
            if word.isdigit():
                continue
            self.by_stem.setdefault(_stem(word), []).append(word)
            limit = _budget(len(_stem(word)))  # pains is pain's plural: no typo in it (not paint)
            if limit:
                self.by_shape.setdefault((word[0], len(word)), []).append((word, limit))

    def near(self, written: str, known: bool = False) -> dict[str, int]:
        """The words `written` may stand for, with how far it is from each: 0 the same; 1 an ending
        away (bills: bill, citas: cita, cancelled: cancel) or the same stem (respira: respirar;
        adormeció: adormecida, the -ió past tense of -er/-ir verbs, which _stem leaves with its i); else
        the typos (1 in words of 5 to 8 letters, 2 in longer ones; never the first letter). A
        `known` word (one the bot knows as written) may only be a word with an ending, never a typo
        (cancer: cancel) nor another form of its stem (cuento: cuenta)."""
        found: dict[str, int] = {}
        if written in self.words:
            found[written] = 0
            if known:  # one of the phrases' own words: humana is the insurer, not human + a
                return found
        if len(written) < 3 or written.isdigit():
            return found
        for ending in ENDINGS:
            shortest = 3 if ending in ("s", "es") else 4  # what is left without the ending: send is not seen+d
            base = written[: -len(ending)]
            if written.endswith(ending) and len(base) >= shortest and base in self.words:
                found.setdefault(base, 1)
            if len(written) >= shortest and written + ending in self.words:
                found.setdefault(written + ending, 1)
        if known:
            return found
        for word in self.by_stem.get(_stem(written), ()):
            found.setdefault(word, 1)
        if written.endswith("io") and len(written) >= 6:  # adormeció, torció: the stem of adormecida, torcida
            for word in self.by_stem.get(written[:-2], ()):
                found.setdefault(word, 1)
        for length in range(len(written) - 2, len(written) + 3):
            for word, limit in self.by_shape.get((written[0], length), ()):
                if word not in found and abs(length - len(written)) <= limit:
                    if length == len(written):  # two letters wrong in a word of the same length: another word
                        limit = 1  # (anticoagulante is not anticongelante); a letter missing or extra is a typo
                    distance = _distance(written, word, limit)
                    if distance <= limit:
                        found[word] = distance
        return found

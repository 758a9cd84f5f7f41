"""What a patient's message says, for the bot: its language, what they want (an intent), and
whether it signals an emergency (red flags).

Pure and deterministic: no I/O after import, when the two data files are read once
(locales/bot-intents.toml: intents, their phrasings, teams and menu; locales/red-flags.toml: the
starting red-flag list and its categories). The red flags in force come from the database
(hub/bot/redflags.py) and are passed in.

How a phrase matches a message (the data files' headers say the same for their reviewers):

1. Words. The text is cut into words (letters, or digits; an apostrophe inside a word is dropped:
   can't -> cant), lower-cased, without accents (médico -> medico, ñ -> n); punctuation and emojis
   are not words. SMS shorthand is read as the words it stands for (appt -> appointment, xfa ->
   por favor; [shorthand] in bot-intents.toml). Little words (STOP: the, my, to, el, la, de, me...)
   are left out of phrases and messages alike, so "make an appointment" is {make, appointment}.
2. Spelling by ear. Words are compared by a key that forgives what people misspell by sound:
   c/s/z before e/i (cita, sita), qu/k/c (quiero, kiero), b/v, ph/f, doubled letters (recetta,
   apointment).
3. Close words. A word also matches when it is the phrase's word plus an ending (bills, citas,
   cancelled, breathing, respira for respirar; a Spanish past tense in -ió for its stem: adormeció
   for adormecida, torció for torcida), or within a small edit distance (letters swapped,
   missing, extra or wrong: 1 in words of 5 to 8 letters, 2 in longer ones; factrua, apointmnet),
   never in the first letter, and no typo at all in words of 4 letters or fewer ("pain" is not
   "paint"; "painting" is never "pain": whole words only).
   Intents only: a word the bot knows as written (_known(): every word of the data and common
   words) is taken as written, so "will" is not a typo of "bill" nor "cancer" of "cancel". Red
   flags do not have this rule: safety first.
4. A phrase matches when all its words are in the message, in any order, with at most MAX_EXTRA
   other words among them (little words not counted).
5. Red flags only: a phrase may hold alternatives, "(took|swallowed) many {med}": bracketed words
   separated by | are one word of the phrase (an alternative of several words makes a variant of the
   phrase), {name} any word of a class of red-flags.toml's [words]; numbers also read as words
   (_numbers: a count is "many", a temperature "fever", a baby's age "newborn"...; a dose, reading,
   time or date is no count); English "son" after my, his, our... reads as "child" (Spanish "son" is a
   little word) and the "end" of "end up" is left out (_english_words); Spanish diminutives are their
   word (flojito: flojo); a few common words are never read as another (RED_FLAG_WORDS); two letters
   wrong in a word of the same length make another word, not a typo (anticoagulante is not
   anticongelante; intents too).

Why not a library for the language: we only choose between English and Spanish, messages are
often one or two words ("hola", "ok", "1"), and the answer must be the same every time. The
statistical detectors (langdetect, langid, lingua, fastText) guess on short texts, ship large models
or are random unless seeded; the words patients write to a clinic are few and known, so a lexical
vote (function words, the bot's own phrases, Spanish punctuation and accents) is both more reliable
here and explainable.

Why our own edit distance rather than rapidfuzz: the words are short and few, a bounded
Damerau-Levenshtein on them costs microseconds, and the rules above (first letter, length, known
words) are ours anyway; it saves a compiled dependency.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import msgspec

LOCALES = Path(__file__).resolve().parent.parent.parent / "locales"
INTENTS_FILE = LOCALES / "bot-intents.toml"
RED_FLAGS_FILE = LOCALES / "red-flags.toml"

MAX_EXTRA = 3  # other words allowed among a phrase's words
MIN_SCORE = 0.6  # below: too unsure to act on
MARGIN = 0.2  # two intents still standing: the first wins only by this much
OTHER_LANGUAGE = 0.05  # a phrase in the other language scores this much less
MAX_INTENT_CHARS = 4000  # what a patient wants is said early; red flags are looked for everywhere
MAX_PHRASE_WORDS = 8  # an admin's red-flag phrase: longer ones rarely match anything

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

# Language evidence besides the bot's own phrases: the commonest words of each language.
_EN_WORDS = """
the and is are was were i im ive id you your youre my mine to of for with what whats when where how why who
this that it its have has had need needs want wants can cant could would will wont please thanks thank hello
hi hey yes yeah yep nope not do dont does did doesnt didnt be been get got just about today tomorrow morning
afternoon evening tonight we our they he she him her there here if but or on at in out up an am help sorry
okay good bad sick fine ill well still know think feel feeling make take time day week next last again also
because from like really some any there their call back send sent message got new old first second see way
""".split()
_ES_WORDS = """
el la los las un una unos unas de del que y en es son por para con mi mis su sus tu tus yo usted ustedes
necesito quiero quisiera tengo tiene tienen puedo puede pueden hola gracias si bueno buenos buenas dias tardes
noches como cuando donde cual quien porque pero muy mas ya hoy manana ayer esta estoy este eso esto nada algo
ayuda favor senor senora senorita doctora lo le se nos al hacer ser ver ir voy va vamos estan esta claro vale
perdon disculpe entonces tambien aqui alli ahora ahorita mucho poco cita sobre hay saber siento llamar llamo
mensaje escribo numero semana proxima otra otro vez hijo hija mama papa esposo esposa
""".split()
# Words both languages use, or that say nothing about the language: never evidence.
_NEUTRAL = frozenset(
    """
    a no me ok okay o u y e x ca doctor dr hospital clinic plan total normal final general error he son come sin
    pan red once fin dime sale pie mate ten real local medicaid medicare obamacare humana kaiser aetna
    cigna epipen covid mri ct rx ok 911 sms email app online internet wifi ambulance
    """.split()
)


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


# --- words ----------------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W\d_]+(?:['’ʼ`´][^\W\d_]+)*|\d+")
_APOSTROPHES = str.maketrans("", "", "'’ʼ`´")


class _Word(NamedTuple):
    text: str  # folded: lower case, no accents, no apostrophes
    key: str  # spelling-by-ear key
    start: int
    end: int
    alias: bool = False  # another reading of the word before it, in the same place ("20" as "many")


def fold(text: str) -> str:
    """Lower case without accents or other marks (Médico -> medico, ñ -> n)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


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


# --- phrases ------------------------------------------------------------------------------------


class _Found(NamedTuple):
    index: int  # which phrase
    positions: frozenset[int]  # the content words it used
    score: float
    start: int  # characters of the text
    end: int


class _Matcher:
    """Phrases compiled for matching: each one's slots (a slot is a word, or the words any one of
    which will do: "(took|swallowed)", "{med}"), indexed by word."""

    def __init__(
        self,
        phrases: Sequence[str],
        shorthand: dict[str, tuple[str, ...]],
        known: frozenset[str] | None,
        classes: dict[str, tuple[str, ...]] | None = None,
        diminutives: bool = False,
    ) -> None:
        self.shorthand = shorthand
        self.known = known  # words taken as written (never a typo of another word); None: no such rule
        self.slots: list[tuple[tuple[str, ...], ...]] = []  # per variant
        self.owner: list[int] = []  # per variant: the phrase it says
        self.using: dict[str, list[int]] = {}  # key -> the variants that use it
        for index, phrase in enumerate(phrases):
            for slots in phrase_variants(phrase, shorthand, classes):
                for key in {k for slot in slots for k in slot}:
                    self.using.setdefault(key, []).append(len(self.slots))
                self.slots.append(slots)
                self.owner.append(index)
        # A variant matches only when every one of its slots is filled, so it need only be tried when its
        # rarest slot is (the one whose words the fewest variants use): "not" or {med} rarely wake a phrase.
        self.trigger: dict[str, list[int]] = {}  # key -> the variants whose rarest slot it fills
        for variant, slots in enumerate(self.slots):
            if slots:
                rarest = min(slots, key=lambda slot: (sum(len(self.using[k]) for k in slot), slot))
                for key in rarest:
                    self.trigger.setdefault(key, []).append(variant)
        self.vocabulary = _Vocabulary(self.using)
        self.diminutives = diminutives
        self._near: dict[str, tuple[tuple[str, int], ...]] = {}

    def near(self, written: str) -> tuple[tuple[str, int], ...]:
        """The phrase words `written` may stand for, with how far it is from each."""
        cached = self._near.get(written)
        if cached is not None:
            return cached
        known = self.known is not None and written in self.known
        near = self.vocabulary.near(written, known)
        if self.diminutives and not near:  # Spanish diminutives: flojito, abuelita, semanitas, calientita
            m = _DIMINUTIVE.match(written)
            if m is not None:
                stem, plural = m.groups()
                stems = (stem, stem[:-1], stem[:-2]) if stem.endswith("s") else (stem,)  # mesecito: mes
                for base in (b + vowel + plural for b in stems for vowel in ("o", "a", "e", "")):
                    if len(base) >= 3 and base in self.vocabulary.words:
                        near[base] = 1
        found = tuple(near.items())
        if len(self._near) > 50_000:
            self._near.clear()
        self._near[written] = found
        return found

    def find(self, words: list[_Word]) -> list[_Found]:
        content: list[_Word] = []  # one per position: an alias shares the place of its word
        at: dict[str, list[tuple[int, int]]] = {}
        for word in _content(words):
            if not word.alias or not content:
                content.append(word)
            if word.alias:  # our own word, spelt right: only itself
                if word.key in self.using:
                    at.setdefault(word.key, []).append((len(content) - 1, 0))
                continue
            for key, cost in self.near(word.key):
                at.setdefault(key, []).append((len(content) - 1, cost))
        candidates = {i for key in at for i in self.trigger.get(key, ())}
        found: dict[int, _Found] = {}
        for variant in sorted(candidates):
            slots = self.slots[variant]
            per_slot: list[list[tuple[int, int]]] = []
            for slot in slots:
                if len(slot) == 1:
                    events = at.get(slot[0])
                else:
                    events = [e for k in slot if k in at for e in at[k]]
                if not events:
                    break
                per_slot.append(events)
            if not slots or len(per_slot) < len(slots):
                continue
            best = _best_window(per_slot)
            if best is None:
                continue
            positions, cost, span = best
            score = round(max(0.0, 1.0 - 0.1 * cost - 0.05 * (span - len(slots))), 2)
            first, last = min(positions), max(positions)
            index = self.owner[variant]
            mine = found.get(index)
            if mine is None or (score, len(positions)) > (mine.score, len(mine.positions)):
                found[index] = _Found(index, frozenset(positions), score, content[first].start, content[last].end)
        return [found[i] for i in sorted(found)]


def _best_window(slots: list[list[tuple[int, int]]]) -> tuple[list[int], int, int] | None:
    """The tightest run of the message's content words that holds a word for every one of the
    phrase's slots (any order; `slots` has, for each, the positions and typos of the words that
    fill it), then the one with the fewest typos: (positions used, typos, span), or None when none
    is within MAX_EXTRA extra words."""
    events = sorted((position, which, cost) for which, filling in enumerate(slots) for position, cost in filling)
    need = len(slots)
    best: tuple[int, int, list[int]] | None = None
    clash = False  # a window held every slot only by reading one word twice: search it exactly
    counts = [0] * need
    covered = 0
    left = 0
    for right in range(len(events)):
        which = events[right][1]
        counts[which] += 1
        covered += counts[which] == 1
        while covered == need:
            span = events[right][0] - events[left][0] + 1
            if span <= need + MAX_EXTRA:
                chosen: dict[int, tuple[int, int]] = {}
                for position, w, cost in events[left : right + 1]:
                    if w not in chosen or cost < chosen[w][1]:
                        chosen[w] = (position, cost)
                positions = [p for p, _ in chosen.values()]
                if len(set(positions)) == need:  # one message word per phrase slot
                    cost = sum(c for _, c in chosen.values())
                    if best is None or (span, cost) < (best[0], best[1]):
                        best = (span, cost, positions)
                else:
                    clash = True
            w = events[left][1]
            counts[w] -= 1
            covered -= counts[w] == 0
            left += 1
    if clash:
        exact = _exact_window(slots)
        if exact is not None and (best is None or exact[:2] < best[:2]):
            best = exact
    return None if best is None else (best[2], best[1], best[0])


def _exact_window(slots: list[list[tuple[int, int]]]) -> tuple[int, int, list[int]] | None:
    """(span, typos, positions) of the best choice of one distinct message word per slot, searched
    exactly: for the rare phrase whose words one message word could each stand for ("juntando" is
    both "juntando" and a form of "juntas")."""
    limit = len(slots) + MAX_EXTRA
    options = []
    for filling in slots:
        cheapest: dict[int, int] = {}
        for position, cost in filling:
            cheapest[position] = min(cost, cheapest.get(position, cost))
        options.append(sorted(cheapest.items()))
    options.sort(key=len)
    best: tuple[int, int, list[int]] | None = None
    chosen: list[int] = []

    def search(k: int, low: int, high: int, cost: int) -> None:
        nonlocal best
        if k == len(options):
            if best is None or (high - low + 1, cost) < best[:2]:
                best = (high - low + 1, cost, list(chosen))
            return
        for position, c in options[k]:
            if position in chosen:
                continue
            lo, hi = min(low, position), max(high, position)
            span = hi - lo + 1
            if span > limit or (best is not None and (span, cost + c) >= best[:2]):
                continue
            chosen.append(position)
            search(k + 1, lo, hi, cost + c)
            chosen.pop()

    search(0, 1 << 30, -1, 0)
    return best


_DIMINUTIVE = re.compile(r"^(\w{3,}?)it[oa](s?)$")
_ALTERNATIVES = re.compile(r"\(([^()]*)\)|\{([^{}]*)\}")


MAX_VARIANTS = 64  # ways a phrase with several-word alternatives is spelled out, at most


def phrase_variants(
    phrase: str, shorthand: dict[str, tuple[str, ...]], classes: dict[str, tuple[str, ...]] | None = None
) -> tuple[tuple[tuple[str, ...], ...], ...]:
    """A phrase's ways of being said (its variants), each a tuple of slots, each slot the keys of the
    words that fill it. A plain word is a slot of one. "(took|swallowed|ate)" is one slot any of
    whose words will do; an alternative of several words ("(hard to wake|won't wake)") makes a
    variant of the phrase with each. "{med}" is any word of the list's class `med` ([words] in
    red-flags.toml; a class's name is one of its words). Little words are left out; a slot that is
    there twice counts once."""
    parts: list[list[tuple[str, ...]]] = []  # each part: its alternatives, each a run of keys

    def plain(part: str) -> None:
        parts.extend([(w.key,)] for w in _content(_words(part, shorthand)))

    at = 0
    for m in _ALTERNATIVES.finditer(phrase):
        plain(phrase[at : m.start()])
        if m.group(1) is not None:
            alternatives = m.group(1).split("|")
        else:
            name = fold(m.group(2).strip())
            alternatives = list((classes or {}).get(name, (name,)))
        runs = list(dict.fromkeys(tuple(w.key for w in _content(_words(a, shorthand))) for a in alternatives))
        runs = [r for r in runs if r] or [()]
        parts.append(runs)
        at = m.end()
    plain(phrase[at:])
    variants: list[list[tuple[str, ...]]] = [[]]
    for runs in parts:
        single = tuple(dict.fromkeys(r[0] for r in runs if len(r) == 1))
        longer = [r for r in runs if len(r) != 1]
        grown = [v + [single] for v in variants] if single else []
        grown += [v + [(k,) for k in r] for v in variants for r in longer]
        variants = grown[:MAX_VARIANTS]
    return tuple(dict.fromkeys(tuple(dict.fromkeys(v)) for v in variants))


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
    return _Data(shorthand, intents, numbers, fillers, categories, tuple(seed), classes)


_DATA = _load()
SHORTHAND = _DATA.shorthand
INTENTS: dict[str, IntentInfo] = _DATA.intents
MENU: dict[int, str] = {i.menu: i.name for i in INTENTS.values() if i.menu is not None}
RED_FLAG_CATEGORIES: dict[str, RedFlagCategory] = _DATA.categories
SEED_RED_FLAGS: tuple[RedFlagPhrase, ...] = _DATA.seed
WORD_CLASSES: dict[str, tuple[str, ...]] = _DATA.classes


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


# --- language -----------------------------------------------------------------------------------


def _lexicon() -> tuple[frozenset[str], frozenset[str]]:
    def keys(words: Iterable[str]) -> set[str]:
        return {w.key for phrase in words for w in _words(phrase, SHORTHAND)}

    en, es = keys(_EN_WORDS), keys(_ES_WORDS)
    for info in INTENTS.values():
        en |= keys(info.phrases.get("en", ()))
        es |= keys(info.phrases.get("es", ()))
    for p in SEED_RED_FLAGS:
        plain = _ALTERNATIVES.sub(lambda m: " " if m.group(2) is not None else m.group(), p.phrase)
        (en if p.language == "en" else es if p.language == "es" else set()).update(keys([plain]))
    neutral = {spelling_key(fold(w)) for w in _NEUTRAL} | (en & es)
    neutral |= {k for k in en | es if k.isdigit()}  # "2 month old" (a red flag): numbers say nothing of the language
    return frozenset(en - neutral), frozenset(es - neutral)


_EN_KEYS, _ES_KEYS = _lexicon()
_EN_VOCABULARY, _ES_VOCABULARY = _Vocabulary(_EN_KEYS), _Vocabulary(_ES_KEYS)
_SPANISH_MARKS = re.compile(r"[¿¡]")
_SPANISH_LETTERS = re.compile(r"[áéíóúñü]", re.IGNORECASE)
_CONTRACTION = re.compile(r"[^\W\d_]['’][^\W\d_]")


@lru_cache(maxsize=8192)
def _vote(key: str) -> tuple[float, float]:
    """(English, Spanish) evidence of one word: 1 for a known word, 0.5 for a near one."""
    if key in _EN_KEYS:
        return 1.0, 0.0
    if key in _ES_KEYS:
        return 0.0, 1.0
    if len(key) < 5 or key.isdigit():
        return 0.0, 0.0
    near_en, near_es = bool(_EN_VOCABULARY.near(key)), bool(_ES_VOCABULARY.near(key))
    if near_en != near_es:
        return (0.5, 0.0) if near_en else (0.0, 0.5)
    return 0.0, 0.0


def detect_language(text: str) -> str | None:
    """ "en" or "es" from the words of the text, or None when there is no evidence either way
    ("ok", "1", an emoji, a name) or as much for both."""
    text = text[:MAX_INTENT_CHARS]
    en = es = 0.0
    for word in _words(text, SHORTHAND):
        e, s = _vote(word.key)
        en, es = en + e, es + s
    es += 2 * len(_SPANISH_MARKS.findall(text)[:2]) + (1 if _SPANISH_LETTERS.search(text) else 0)
    en += min(2, len(_CONTRACTION.findall(text)))  # Spanish has no apostrophes in words
    if en == es:
        return None
    return "en" if en > es else "es"


# --- intents ------------------------------------------------------------------------------------


def _known() -> frozenset[str]:
    """Words taken as written when matching intents: every word of the data, the languages'
    common words, and words one typo away from an intent's that mean something else."""
    extra = """
    will pill fill kill hill till bull cancer changed change changing resulta resulto resultado cuento cuenten
    cuentan cuentos segura seguramente meditation medical paint painted pains pegar humana house cobra
    """.split()
    words = {w.key for phrase in extra + _EN_WORDS + _ES_WORDS for w in _words(phrase, SHORTHAND)}
    for info in INTENTS.values():
        for phrases in info.phrases.values():
            words |= {w.key for p in phrases for w in _words(p, SHORTHAND)}
    for p in SEED_RED_FLAGS:
        words |= {w.key for w in _words(p.phrase, SHORTHAND)}
    return frozenset(words)


_INTENT_PHRASES: list[tuple[str, str]] = [  # (intent, language) of each phrase, in order
    (info.name, language) for info in INTENTS.values() for language, ps in info.phrases.items() for _ in ps
]
_INTENT_MATCHER = _Matcher(
    [p for info in INTENTS.values() for ps in info.phrases.values() for p in ps], SHORTHAND, _known()
)


def _menu_choice(words: list[_Word]) -> tuple[int, _Word] | None:
    """A message that is only a menu number ("2", "#2", "opción dos", "two please")."""
    left = [w for w in words if w.text not in _DATA.menu_fillers and w.text not in STOP]
    if len(left) != 1:
        return None
    word = left[0]
    number = int(word.text) if word.text.isdigit() and len(word.text) <= 2 else _DATA.menu_numbers.get(word.text)
    return (number, word) if number in MENU else None


def match_intent(text: str, language: str | None = None) -> IntentMatch | None:
    """What the message asks for, or None when nothing matches surely enough or two intents stand
    equally (the bot asks again). `language` is the conversation's: phrases in the other language
    count too (patients mix them), a little less."""
    text = text[:MAX_INTENT_CHARS]
    words = _words(text, SHORTHAND)
    if not words:
        return None
    menu = _menu_choice(words)
    if menu is not None:
        number, word = menu
        return IntentMatch(MENU[number], 1.0, text[word.start : word.end], menu=number)
    best: dict[str, _Found] = {}
    for found in _INTENT_MATCHER.find(words):
        intent, phrase_language = _INTENT_PHRASES[found.index]
        if language and phrase_language != language:
            found = found._replace(score=round(found.score - OTHER_LANGUAGE, 2))
        if found.score < MIN_SCORE:
            continue
        mine = best.get(intent)
        if mine is None or (found.score, len(found.positions)) > (mine.score, len(mine.positions)):
            best[intent] = found
    if not best:
        return None
    standing = set(best)
    if any(not INTENTS[i].weak for i in standing):
        standing = {i for i in standing if not INTENTS[i].weak}
    standing -= {beaten for i in standing for beaten in INTENTS[i].beats}
    # a match whose words all lie inside another's is the less specific one
    standing = {i for i in standing if not any(best[j].positions > best[i].positions for j in standing if j != i)}
    ranked = sorted(standing, key=lambda i: (-best[i].score, -len(best[i].positions), i))
    if not ranked:
        return None
    if len(ranked) > 1 and best[ranked[0]].score - best[ranked[1]].score < MARGIN:
        return None
    winner = best[ranked[0]]
    return IntentMatch(
        ranked[0],
        winner.score,
        text[winner.start : winner.end],
        others=tuple(sorted(set(best) - {ranked[0]})),
    )


# --- red flags ----------------------------------------------------------------------------------


# Red flags: words taken as written, never as a typo or another form of a phrase's word, because
# they are common words of their own one or two letters away from one ("anticoagulante", a blood
# thinner, is not "anticongelante", antifreeze; "pasado" is not "pesado"). Only what patients do
# write: a misspelt phrase word is still forgiven.
RED_FLAG_WORDS = frozenset(
    spelling_key(fold(w))
    for w in """
    pasado pasada pasados pasadas infection infections infeccion infecciones
    """.split()
)

# English "son" is a Spanish little word ("son" = they are), left out of every message; after a word that
# says it is someone's son ("my son", "our 3 year old son") it is read as "child", so "my son ate my
# gummies" is a child eating something and "my son is not responding" a person not responding.
_SON = frozenset(("son", "sons"))
_SON_BEFORE = frozenset(
    """
    my his her our your their the a mi su older younger oldest youngest eldest little baby teenage teen adult old
    """.split()
)


# "end up" is not "end": "going to end up late" is no "going to end it".
_END = frozenset(("end", "ends", "ended", "ending"))


def _english_words(words: list[_Word]) -> list[_Word]:
    """Red flags only: "son" after my, his, our... reads as "child"; the "end" of "end up" is left out."""
    if not any(w.text in _SON or w.text in _END for w in words):
        return words
    out = []
    for i, w in enumerate(words):
        before = words[i - 1].text if i else ""
        after = words[i + 1].text if i + 1 < len(words) else ""
        if w.text in _SON and before in _SON_BEFORE:
            w = w._replace(text="child", key=spelling_key("child"))
        elif w.text in _END and after == "up":
            continue
        out.append(w)
    return out


class RedFlagList(tuple):  # type: ignore[type-arg]
    """An immutable list of red-flag phrases that keeps its compiled matcher: pass the same one to
    red_flags() again and again (hub/bot/redflags.py hands these out)."""

    _matcher: _Matcher | None = None

    def matcher(self) -> _Matcher:
        if self._matcher is None:
            self._matcher = _Matcher(
                [p.phrase for p in self], SHORTHAND, RED_FLAG_WORDS, WORD_CLASSES, diminutives=True
            )
        return self._matcher


def as_red_flag_list(phrases: Iterable[Any]) -> RedFlagList:
    """Red-flag phrases (RedFlagPhrase, or anything with language, phrase, category and id) as a
    RedFlagList."""
    if isinstance(phrases, RedFlagList):
        return phrases
    return RedFlagList(
        p if isinstance(p, RedFlagPhrase) else RedFlagPhrase(p.language, p.phrase, p.category, getattr(p, "id", None))
        for p in phrases
    )


@lru_cache(maxsize=8)
def _cached_list(phrases: tuple[RedFlagPhrase, ...]) -> RedFlagList:
    return RedFlagList(phrases)


def _aliases(*words: str) -> tuple[_Word, ...]:
    return tuple(_Word(w, spelling_key(w), 0, 0, alias=True) for w in words)


# What a number in a message also reads as, for red flags (each in the number's place, as an alias):
_MANY = _aliases("many", "muchas")  # a count of 5 to 999 ("took 20 ibuprofen", "se tomó 30 pastillas")
_FEVER = _aliases("fever", "fiebre")  # a temperature of 100.4 °F / 38 °C or more ("101 rectal", "38.2")
_YOUNG = _aliases("newborn", "neonato")  # an age under about 3 months ("3 week old", "bebé de 10 días")
_PREGNANT = _aliases("pregnant", "embarazada")  # 20 to 42 weeks ("im 35 weeks", "tengo 30 semanas")
_HIGH_BP = _aliases("highbp")  # a blood-pressure reading of 160/110 or more ("170/110")
_POSTPARTUM = _aliases("postpartum", "posparto")  # a birth days or weeks ago ("had the baby 10 days ago")
_CHILD = _aliases("child", "nino")  # a child's age, 12 years or less ("my 2 year old", "3 yo")
_LOW = _aliases("low", "bajo", "baja")  # an oxygen saturation of 50 to 91 ("oxygen is 84", "oxímetro marca 85")
_OXYGEN = frozenset(
    (
        "oxygen",
        "oxigeno",
        "oxigenacion",
        "ox",
        "oximeter",
        "oximetro",
        "sat",
        "sats",
        "saturation",
        "saturacion",
        "spo",
        "pulse",
        "pulsioximetro",
    )
)
_YEARS = frozenset(("year", "years", "yr", "yrs", "yo", "ano", "anos", "anito", "anitos"))
# Shortly before a number: what it is a reading of, so it is no count ("my sugar is 140", "azúcar en 180").
_MEASURED = frozenset(
    """
    sugar sugars glucose bs bp pressure reading readings level levels a1c weight temp temperature heart pulse rate
    azucar glucosa presion nivel niveles peso lectura
    """.split()
)

_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_READING = re.compile(r"(\d{2,3})\s*/\s*(\d{2,3})(?!\d|\s*/)")
_NUMBER_WORDS = {
    **dict.fromkeys(("a", "an", "one", "un", "una", "uno"), 1),
    **dict.fromkeys(("two", "dos"), 2),
    **dict.fromkeys(("three", "tres"), 3),
    **dict.fromkeys(("four", "cuatro"), 4),
    **dict.fromkeys(("five", "cinco"), 5),
    **dict.fromkeys(("six", "seis"), 6),
    **dict.fromkeys(("seven", "siete"), 7),
    **dict.fromkeys(("eight", "ocho"), 8),
    **dict.fromkeys(("nine", "nueve"), 9),
    **dict.fromkeys(("ten", "diez"), 10),
    **dict.fromkeys(("eleven", "once"), 11),
    **dict.fromkeys(("twelve", "doce"), 12),
    **dict.fromkeys(("fifteen", "quince"), 15),
    **dict.fromkeys(("twenty", "veinte"), 20),
    **dict.fromkeys(("thirty", "treinta"), 30),
    **dict.fromkeys(("forty", "cuarenta"), 40),
    **dict.fromkeys(("fifty", "cincuenta"), 50),
    **dict.fromkeys(("hundred", "cien"), 100),
}
# After a number: what it measures, so it is no count of pills (a dose, a reading, a time, an age...).
_UNITS = frozenset(
    """
    mg mgs mcg ml mls cc g gr gram grams gramo gramos milligram milligrams miligramo miligramos unit units unidad
    unidades iu ui lb lbs pound pounds libra libras kg kilo kilos oz mmhg bpm percent porciento pm am hour hours hr
    hora horas minute minutes min mins minuto minutos second seconds segundo segundos day days dia dias diita diitas
    week weeks semana semanas semanita semanitas month months mo mos mes meses mesecito mesecitos year years yr yrs
    yo ano anos dollar dollars bucks dolar dolares degree degrees grado grados f c fahrenheit celsius st nd rd th
    """.split()
)
_AGE_DAYS = {
    **dict.fromkeys(("day", "days", "dia", "dias", "diita", "diitas"), 1),
    **dict.fromkeys(("week", "weeks", "semana", "semanas", "semanita", "semanitas"), 7),
    **dict.fromkeys(("month", "months", "mo", "mos", "mes", "meses", "mesecito", "mesecitos"), 30),
}
_WEEKS = frozenset(("week", "weeks", "semana", "semanas", "semanita", "semanitas"))
_MONTHS = frozenset(("month", "months", "mes", "meses"))
_BIRTH = frozenset(
    """
    baby birth delivered delivery section bebe luz parto cesarea pari alivie aliviane aliviada aliviado
    """.split()
)
_BORN = frozenset(("old", "nacido", "nacida", "nacidos", "nacidas", "nacidito", "nacidita"))
# Before a length of time: a baby born that long ago ("born 8 days ago", "nació hace 2 semanas"), an age.
_BORN_AGO = frozenset(("born", "nacio", "nacido", "nacida", "nacieron"))
# After one: days or weeks since giving birth ("3 días de parida", "2 semanas de aliviada"), postpartum.
_DELIVERED = frozenset(("parida", "aliviada", "postpartum", "posparto", "postparto", "cesarea", "operada"))
_BABY = frozenset(
    """
    baby babys babies newborn infant son daughter girl boy grandson granddaughter nephew niece bebe bebes bebito bebita
    beba bebecito bebecita nino nina ninos ninito ninita hijo hija hijito hijita nene nena nieto nieta nietecito sobrino
    sobrina recien
    """.split()
)
# Before a number of days or weeks: a length of time, not an age ("for 3 days", "hace 2 semanas").
_DURATION = frozenset(
    """
    for hace last past since desde durante por in en within after despues every cada llevo lleva llevamos about like
    around than mas menos
    """.split()
)
_DAILY = frozenset(("daily", "everyday", "diario", "diaria", "diarios", "diarias", "diariamente", "nightly"))
_PER = frozenset(("a", "al", "per", "por", "each", "cada", "every"))
_PERIOD = frozenset(("day", "dia", "night", "noche", "morning", "manana", "week", "semana", "meal", "comida"))


def _value(text: str, start: int) -> tuple[float, int]:
    """The number written at `start` with its decimals (38.5, 38,5; 1,000 is a thousand), and where it ends."""
    m = _NUMBER.match(text, start)
    assert m is not None
    written = m.group()
    if "," in written and len(written.split(",")[1]) == 3:
        written = written.replace(",", "")
    return float(written.replace(",", ".")), m.end()


def _numbers(text: str, words: list[_Word]) -> list[_Word]:
    """The words of a red-flag check, with what their numbers also read as (aliases in their place):
    a count of 5 to 999 is also "many" / "muchas", but not a dose, a reading, a time or a date (a
    number next to / or :, or before a unit: "500 mg", "150/95", "2:30"), nor a regimen ("6 pills a
    day", "6 pastillas diarias"), nor a year (1000 and up); a temperature from 100.4 °F or 38 °C is
    also "fever" / "fiebre"; a baby's age under about 3 months ("3 week old", "bebé de 10 días",
    "niña de mes y medio") is also "newborn" / "neonato"; 20 to 42 weeks not after "for" or "hace"
    ("im 35 weeks", "tengo 30 semanas"), or 5 to 9 months after "im" or "estoy (de)", is also
    "pregnant" / "embarazada"; a child's age of 12 years or less ("my 2 year old", "3 yo") is also
    "child" / "nino"; an oxygen saturation of 50 to 91 after "oxygen", "oxímetro"... is also "low" /
    "bajo" / "baja"; a blood pressure of 160/110 or more is also "highbp"; a baby born days or weeks
    ago is "newborn", "3 días de parida" is "postpartum"; a number after sugar, pressure... is a
    reading, never "many"."""
    n = len(words)
    extra: dict[int, tuple[_Word, ...]] = {}
    parts: set[int] = set()  # a number's decimals, or the second half of a reading: never a number of their own

    def add(i: int, aliases: tuple[_Word, ...]) -> None:
        w = words[i]
        extra[i] = extra.get(i, ()) + tuple(a._replace(start=w.start, end=w.end) for a in aliases)

    def text_at(i: int) -> str:
        return words[i].text if 0 <= i < n else ""

    for i, w in enumerate(words):
        unit = _AGE_DAYS.get(w.text, 365 if w.text in _YEARS else None)
        if unit is not None:  # an age or a length of time: "3 week old", "de 10 días", "de mes y medio"
            before = text_at(i - 1)
            if before.isdigit() and i - 1 not in parts:
                count, at = _value(text, words[i - 1].start)[0], i - 1
            elif before in _NUMBER_WORDS:
                count, at = _NUMBER_WORDS[before], i - 1
            elif before == "de" and w.text in ("mes", "semana", "semanita", "mesecito"):
                count, at = 1, i
            else:
                count, at = 0, i
            if text_at(i + 1) == "y" and text_at(i + 2) in ("medio", "media"):
                count += 0.5
            if count and w.text in _YEARS:
                last = i + 1 if text_at(i + 1) in _BORN else i
                timed = text_at(at - 1) in _DURATION or text_at(last + 1) in ("ago", "atras")
                baby = any(text_at(j) in _BABY for j in range(max(0, at - 5), at))
                if count <= 12 and (last > i or w.text == "yo" or baby) and not timed:
                    add(last, _CHILD)
            elif count:
                last = i + 1 if text_at(i + 1) in _BORN else i + 2 if text_at(i + 2) in _BORN else i
                after = text_at(last + 1)
                timed = text_at(at - 1) in _DURATION or after in ("ago", "atras", "despues", "later")
                baby = any(text_at(j) in _BABY for j in range(max(0, at - 5), at))
                birth = any(text_at(j) in _BIRTH for j in range(max(0, at - 5), at))
                born = timed and any(text_at(j) in _BORN_AGO for j in range(max(0, at - 3), at))
                if (last > i or (baby and not timed) or born) and count * unit <= 92:
                    add(last, _YOUNG)
                elif (text_at(i + 1) in _DELIVERED or text_at(i + 2) in _DELIVERED) and count * unit <= 365:
                    add(i, _POSTPARTUM)
                elif timed and birth and count * unit <= 365:
                    add(last, _POSTPARTUM)
                elif w.text in _WEEKS and 20 <= count <= 42 and last == i and not timed:
                    add(i, _PREGNANT)
                elif w.text in _MONTHS and 5 <= count <= 9 and last == i and not timed and not baby:
                    if text_at(at - 1) == "im" or text_at(at - 2 if text_at(at - 1) == "de" else at - 1) == "estoy":
                        add(i, _PREGNANT)  # "im 7 months", "estoy de 7 meses"
        if not w.text.isdigit() or i in parts:
            continue
        value, end = _value(text, w.start)
        j = i + 1
        while j < n and words[j].start < end:
            parts.add(j)
            j += 1
        reading = _READING.match(text, w.start)
        if reading is not None and end == w.start + len(reading.group(1)):
            high, low = int(reading.group(1)), int(reading.group(2))
            if 60 <= high <= 300 and 30 <= low <= 200 and (high >= 160 or low >= 110):
                add(i, _HIGH_BP)
            while j < n and words[j].start < reading.end():
                parts.add(j)
                j += 1
            continue
        if value == int(value) and 50 <= value <= 91 and any(text_at(k) in _OXYGEN for k in range(i - 6, i)):
            add(i, _LOW)
            continue
        previous = text[w.start - 1] if w.start else ""
        following = text[end] if end < len(text) else ""
        if previous in "/:$#" and previous or following in "/:%" and following:
            continue  # a reading, a date, a time, money, a label, a percentage
        after = text_at(j)
        if after in _UNITS:
            if after in ("f", "c", "degree", "degrees", "grado", "grados", "fahrenheit", "celsius"):
                if 100.4 <= value <= 108 or 38 <= value <= 43:
                    add(i, _FEVER)
            continue
        if 100.4 <= value <= 108 or 38 <= value <= 43:
            add(i, _FEVER)
        if value != int(value) or not 5 <= value < 1000:
            continue
        if any(text_at(k) in _MEASURED for k in range(i - 3, i)):
            continue  # a reading: "my sugar is 140"
        soon = [text_at(k) for k in range(j, j + 4)]
        if any(x in _DAILY for x in soon) or any(
            x in _PER and y in _PERIOD and z not in ("in", "en", "one", "un", "una")
            for z, x, y in zip([text_at(j - 1), *soon], soon, soon[1:], strict=False)
        ):
            continue  # a regimen: "6 pills a day", "6 pastillas diarias"
        add(i, _MANY)
    for i, w in enumerate(words):  # number words count too: "took fifteen pills", "se tomó veinte pastillas"
        if w.text in _NUMBER_WORDS and _NUMBER_WORDS[w.text] >= 5 and text_at(i + 1) not in _UNITS:
            add(i, _MANY)
    if not extra:
        return words
    out = []
    for i, w in enumerate(words):
        out.append(w)
        out.extend(extra.get(i, ()))
    return out


_GROUP = re.compile(r"\(([^()]*\|[^()]*)\)")


def _phrase_syntax(text: str, words: list[_Word]) -> list[_Word]:
    """A message written in the list's own syntax (an admin trying a phrase: "took (many|bunch)
    pills") reads as the phrase does: each alternative after the first in a bracketed group stands
    in the place of the first, word for word. Patients do not write "(a|b)", so nothing else changes."""
    if "|" not in text:
        return words
    out = list(words)
    for m in _GROUP.finditer(text):
        bounds, at = [], m.start(1)
        for alternative in m.group(1).split("|"):
            bounds.append((at, at + len(alternative)))
            at += len(alternative) + 1
        first = [i for i, w in enumerate(words) if bounds[0][0] <= w.start < bounds[0][1] and w.text not in STOP]
        if not first:
            continue
        for low, high in bounds[1:]:
            mine = [i for i, w in enumerate(words) if low <= w.start < high and w.text not in STOP]
            for n, i in enumerate(mine):  # in the place of the first alternative's word as many along
                anchor = words[first[min(n, len(first) - 1)]]
                out[i] = words[i]._replace(alias=True, start=anchor.start, end=anchor.end)
    # aliases go right after the word whose place they share
    placed = sorted(range(len(out)), key=lambda i: (out[i].start, out[i].alias, i))
    return [out[i] for i in placed]


def red_flags(text: str, phrases: Iterable[Any]) -> list[RedFlagMatch]:
    """The red-flag phrases found in the text, in any of their languages, in the order they appear
    (the first is the one the text starts with). Negation is not understood, on purpose: "no chest
    pain" and "I don't want to kill myself" raise their flags, since a false alarm costs a person a
    look and a miss can cost a life. A phrase found inside a longer one of the same category is
    left out ("chest pain" inside "severe chest pain")."""
    if not text:
        return []
    if isinstance(phrases, RedFlagList):
        flags = phrases
    else:
        flags = _cached_list(tuple(as_red_flag_list(phrases)))
    if not flags:
        return []
    found = flags.matcher().find(_numbers(text, _english_words(_phrase_syntax(text, _words(text, SHORTHAND)))))

    # Between two phrases that read the same words equally well, the one in the message's language
    # ("convulsiona" is Spanish "convulsionando" rather than English "convulsions").
    languages = {flags[f.index].language for f in found}
    mine = detect_language(text) if len(languages) > 1 else None

    def outdone(f: _Found, g: _Found) -> bool:  # g says the same as f, and more or better
        if g is f or flags[g.index].category != flags[f.index].category or not g.positions >= f.positions:
            return False
        return g.positions > f.positions or (g.score, flags[g.index].language == mine, -g.index) > (
            f.score,
            flags[f.index].language == mine,
            -f.index,
        )

    kept = [f for f in found if not any(outdone(f, g) for g in found)]
    kept.sort(key=lambda f: (f.start, -f.end, f.index))
    return [
        RedFlagMatch(
            flags[f.index].category,
            flags[f.index].phrase,
            flags[f.index].language,
            text[f.start : f.end],
            f.start,
            f.end,
            flags[f.index].id,
        )
        for f in kept
    ]

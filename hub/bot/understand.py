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
    """Phrases compiled for matching: each one's words (keys), indexed by word."""

    def __init__(
        self, phrases: Sequence[str], shorthand: dict[str, tuple[str, ...]], known: frozenset[str] | None
    ) -> None:
        self.shorthand = shorthand
        self.known = known  # intents: words taken as written; None (red flags): no such rule
        self.words: list[tuple[str, ...]] = []
        self.using: dict[str, list[int]] = {}
        for index, phrase in enumerate(phrases):
            keys = tuple(dict.fromkeys(w.key for w in _content(_words(phrase, shorthand))))
            self.words.append(keys)
            for key in keys:
                self.using.setdefault(key, []).append(index)
        self.vocabulary = _Vocabulary(self.using)
        self._near: dict[str, tuple[tuple[str, int], ...]] = {}

    def near(self, written: str) -> tuple[tuple[str, int], ...]:
        """The phrase words `written` may stand for, with how far it is from each."""
        cached = self._near.get(written)
        if cached is not None:
            return cached
        known = self.known is not None and written in self.known
        found = tuple(self.vocabulary.near(written, known).items())
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
            for key, cost in self.near(word.key):
                at.setdefault(key, []).append((len(content) - 1, cost))
        candidates = {i for key in at for i in self.using[key]}
        out = []
        for index in sorted(candidates):
            keys = self.words[index]
            if not keys or any(k not in at for k in keys):
                continue
            best = _best_window(keys, at)
            if best is None:
                continue
            positions, cost, span = best
            score = round(max(0.0, 1.0 - 0.1 * cost - 0.05 * (span - len(keys))), 2)
            first, last = min(positions), max(positions)
            out.append(_Found(index, frozenset(positions), score, content[first].start, content[last].end))
        return out


def _best_window(keys: tuple[str, ...], at: dict[str, list[tuple[int, int]]]) -> tuple[list[int], int, int] | None:
    """The tightest run of the message's content words that holds every one of the phrase's words
    (any order), then the one with the fewest typos: (positions used, typos, span), or None when
    none is within MAX_EXTRA extra words."""
    events = sorted((position, which, cost) for which, key in enumerate(keys) for position, cost in at[key])
    need = len(keys)
    best: tuple[int, int, list[int]] | None = None
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
                if len(set(positions)) == need:  # one message word per phrase word
                    cost = sum(c for _, c in chosen.values())
                    if best is None or (span, cost) < (best[0], best[1]):
                        best = (span, cost, positions)
            w = events[left][1]
            counts[w] -= 1
            covered -= counts[w] == 0
            left += 1
    return None if best is None else (best[2], best[1], best[0])


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
    categories, seed = {}, []
    for key, entry in flags.items():
        if not isinstance(entry, dict) or "call" not in entry:
            raise DataError(f"red-flags {key}: a category needs `call`")
        categories[key] = RedFlagCategory(key, tuple(entry["call"]), dict(entry.get("label", {})))
        for language, phrases in _phrases_of(key, {k: v for k, v in entry.items() if k != "label"}).items():
            seed.extend(RedFlagPhrase(language, p, key) for p in phrases)
    return _Data(shorthand, intents, numbers, fillers, categories, tuple(seed))


_DATA = _load()
SHORTHAND = _DATA.shorthand
INTENTS: dict[str, IntentInfo] = _DATA.intents
MENU: dict[int, str] = {i.menu: i.name for i in INTENTS.values() if i.menu is not None}
RED_FLAG_CATEGORIES: dict[str, RedFlagCategory] = _DATA.categories
SEED_RED_FLAGS: tuple[RedFlagPhrase, ...] = _DATA.seed


def intent_info(intent: str) -> tuple[str, bool]:
    """The team an intent goes to, and whether the patient's identity is verified first."""
    info = INTENTS[intent]
    return info.team, info.verify


def phrase_words(phrase: str) -> tuple[str, ...]:
    """The words a phrase is matched by (keys, sorted): two phrases with the same words are the
    same phrase to the matcher; none means it has nothing to match (only little words)."""
    return tuple(sorted({w.key for w in _content(_words(phrase, SHORTHAND))}))


# --- language -----------------------------------------------------------------------------------


def _lexicon() -> tuple[frozenset[str], frozenset[str]]:
    def keys(words: Iterable[str]) -> set[str]:
        return {w.key for phrase in words for w in _words(phrase, SHORTHAND)}

    en, es = keys(_EN_WORDS), keys(_ES_WORDS)
    for info in INTENTS.values():
        en |= keys(info.phrases.get("en", ()))
        es |= keys(info.phrases.get("es", ()))
    for p in SEED_RED_FLAGS:
        (en if p.language == "en" else es if p.language == "es" else set()).update(keys([p.phrase]))
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


class RedFlagList(tuple):  # type: ignore[type-arg]
    """An immutable list of red-flag phrases that keeps its compiled matcher: pass the same one to
    red_flags() again and again (hub/bot/redflags.py hands these out)."""

    _matcher: _Matcher | None = None

    def matcher(self) -> _Matcher:
        if self._matcher is None:
            self._matcher = _Matcher([p.phrase for p in self], SHORTHAND, None)
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


_MANY = tuple(_Word(w, spelling_key(w), 0, 0) for w in ("many", "muchas"))


def _counted(words: list[_Word]) -> list[_Word]:
    """A count of 5 to 999 also reads as "many" / "muchas": "took 20 ibuprofen" and "se tomó como 30
    pastillas" are "took many pills" and "tomó muchas pastillas" (a year, 1000 and up, is no count)."""
    out = []
    for w in words:
        out.append(w)
        if w.text.isdigit() and 5 <= int(w.text) < 1000:
            out += [m._replace(start=w.start, end=w.end, alias=True) for m in _MANY]
    return out


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
    found = flags.matcher().find(_counted(_words(text, SHORTHAND)))

    def outdone(f: _Found, g: _Found) -> bool:  # g says the same as f, and more or better
        if g is f or flags[g.index].category != flags[f.index].category or not g.positions >= f.positions:
            return False
        return g.positions > f.positions or (g.score, -g.index) > (f.score, -f.index)

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

"""How easy a draft is to read, per language, with textstat's formulas and syllable counts.

English: Flesch Reading Ease (0-100, higher is easier) on Flesch's own scale, and the
Flesch-Kincaid grade level. Spanish: Szigriszt-Pazos perspicuity on the INFLESZ scale
(Barrio-Cantalejo et al., 2008), which was drawn up for health information written for patients;
there is no grade level for Spanish. The levels are shared: "standard" or easier is what
plain-language guides ask of patient messages (Flesch 60+, INFLESZ 55+).

textstat's module-level functions all read one language setting (`textstat.set_lang`): global
state that one request could change under another. Here each language has its own
`textstatistics`, set once and never changed; textstat's caches are thread-safe, and its
dictionaries (CMUdict for English syllables, pyphen's for Spanish) are loaded under a lock, once.
textstat is pinned at 0.7.8, the last release that reads CMUdict from the `cmudict` package: later
ones download it through nltk at first use, which fails on a clinic's offline server.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import msgspec
from textstat.backend.utils import get_cmudict, get_pyphen
from textstat.textstat import textstatistics

from hub.i18n import _

MIN_WORDS = 10  # below this a score says more about chance than about the text: none is given


class Level(StrEnum):
    VERY_EASY = "very_easy"
    EASY = "easy"
    FAIRLY_EASY = "fairly_easy"
    STANDARD = "standard"
    FAIRLY_DIFFICULT = "fairly_difficult"
    DIFFICULT = "difficult"
    VERY_DIFFICULT = "very_difficult"


LABELS = {
    Level.VERY_EASY: _("very easy to read"),
    Level.EASY: _("easy to read"),
    Level.FAIRLY_EASY: _("fairly easy to read"),
    Level.STANDARD: _("standard difficulty"),
    Level.FAIRLY_DIFFICULT: _("fairly difficult to read"),
    Level.DIFFICULT: _("difficult to read"),
    Level.VERY_DIFFICULT: _("very difficult to read"),
}


@dataclass(frozen=True)
class Formula:
    name: str
    textstat_lang: str  # the language textstat (and pyphen) take
    score: Callable[[textstatistics, str], float]
    grade: Callable[[textstatistics, str], float] | None
    scale: tuple[tuple[float, Level], ...]  # (lowest score, level), highest first


FORMULAS = {
    "en": Formula(
        "Flesch Reading Ease",
        "en_US",
        textstatistics.flesch_reading_ease,
        textstatistics.flesch_kincaid_grade,
        (
            (90, Level.VERY_EASY),
            (80, Level.EASY),
            (70, Level.FAIRLY_EASY),
            (60, Level.STANDARD),
            (50, Level.FAIRLY_DIFFICULT),
            (30, Level.DIFFICULT),
            (-math.inf, Level.VERY_DIFFICULT),
        ),
    ),
    "es": Formula(
        "Szigriszt-Pazos (INFLESZ)",
        "es",
        textstatistics.szigriszt_pazos,
        None,
        (
            (80, Level.VERY_EASY),
            (65, Level.FAIRLY_EASY),
            (55, Level.STANDARD),
            (40, Level.FAIRLY_DIFFICULT),
            (-math.inf, Level.VERY_DIFFICULT),
        ),
    ),
}


class Score(msgspec.Struct, frozen=True):
    score: float  # 0-100, higher is easier (the formulas run past both ends: kept within them)
    grade: float | None  # US school grade (English only)
    level: Level
    formula: str


class Reading(msgspec.Struct, frozen=True):
    words: int
    score: Score | None  # None: fewer than MIN_WORDS words


def _statistics(formula: Formula) -> textstatistics:
    stats = textstatistics()
    stats.set_lang(formula.textstat_lang)
    return stats


_STATS = {language: _statistics(formula) for language, formula in FORMULAS.items()}
_loading = threading.Lock()
_loaded: set[str] = set()

# Template placeholders ({patient_first_name}), links and email addresses are not words a reader
# sounds out: each counts as one short word.
_NOT_PROSE = re.compile(r"\{\s*[A-Za-z_]\w*\s*\}|\bhttps?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _ready(lang: str) -> None:
    """Load textstat's dictionaries for `lang` once (CMUdict takes a second): its own caches would
    let two first requests both load them."""
    if lang in _loaded:
        return
    with _loading:
        if lang not in _loaded:
            get_cmudict(lang)
            get_pyphen(lang)
            _loaded.add(lang)


def level(formula: Formula, score: float) -> Level:
    return next(lvl for lowest, lvl in formula.scale if score >= lowest)


def read(text: str, language: str) -> Reading:
    """How readable `text` is in `language` (en, es; KeyError otherwise)."""
    formula, stats = FORMULAS[language], _STATS[language]
    prose = _NOT_PROSE.sub("X", text)
    words = stats.lexicon_count(prose)
    if words < MIN_WORDS:
        return Reading(words, None)
    _ready(formula.textstat_lang)
    raw = formula.score(stats, prose)
    grade = round(max(0.0, formula.grade(stats, prose)), 1) if formula.grade else None
    return Reading(words, Score(round(min(100.0, max(0.0, raw)), 1), grade, level(formula, raw), formula.name))

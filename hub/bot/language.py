"""Which language a message is in, English or Spanish, by a vote of its words (why not a library:
hub/bot/understand.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from hub.bot.data import INTENTS, MAX_INTENT_CHARS, MENU_ASKS, SEED_RED_FLAGS, SHORTHAND
from hub.bot.phrases import _ALTERNATIVES
from hub.bot.words import _Vocabulary, _words, fold, spelling_key

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


# --- language -----------------------------------------------------------------------------------


def _lexicon() -> tuple[frozenset[str], frozenset[str]]:
    def keys(words: Iterable[str]) -> set[str]:
        return {w.key for phrase in words for w in _words(phrase, SHORTHAND)}

    en, es = keys(_EN_WORDS), keys(_ES_WORDS)
    for phrases in (*(info.phrases for info in INTENTS.values()), MENU_ASKS):
        en |= keys(phrases.get("en", ()))
        es |= keys(phrases.get("es", ()))
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


def _evidence(text: str, names: bool = True) -> tuple[float, float]:
    """(English, Spanish) evidence of a text: its words' votes, Spanish punctuation and letters,
    English contractions. names=False: an accented letter counts only in a word that is not
    capitalised like a name ("María González" says nothing of the language the patient reads)."""
    text = text[:MAX_INTENT_CHARS]
    en = es = 0.0
    for word in _words(text, SHORTHAND):
        e, s = _vote(word.key)
        en, es = en + e, es + s
    es += 2 * len(_SPANISH_MARKS.findall(text)[:2])
    if names:
        es += 1 if _SPANISH_LETTERS.search(text) else 0
    else:
        es += 1 if any(_SPANISH_LETTERS.search(w) and not w.istitle() for w in _WORD.findall(text)) else 0
    en += min(2, len(_CONTRACTION.findall(text)))  # Spanish has no apostrophes in words
    return en, es


_WORD = re.compile(r"[^\W\d_]+")


def detect_language(text: str) -> str | None:
    """ "en" or "es" from the words of the text, or None when there is no evidence either way
    ("ok", "1", an emoji, a name) or as much for both."""
    en, es = _evidence(text)
    if en == es:
        return None
    return "en" if en > es else "es"


def clear_language(text: str) -> str | None:
    """ "en" or "es" when the patient's words say it clearly enough to answer in it, whatever
    locale their browser or the widget gave: at least one whole word's evidence, and at least twice
    the other language's (a Spanish sentence with one English word is Spanish). None otherwise."""
    en, es = _evidence(text, names=False)
    high, low = max(en, es), min(en, es)
    if high < 1 or high < 2 * low + 1:
        return None
    return "en" if en > es else "es"

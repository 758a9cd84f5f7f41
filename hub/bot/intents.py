"""What a patient wants: the intent their message matches best, or a menu choice."""

from __future__ import annotations

from hub.bot.data import _DATA, INTENTS, MAX_INTENT_CHARS, MENU, MENU_ASKS, SEED_RED_FLAGS, SHORTHAND, IntentMatch
from hub.bot.language import _EN_WORDS, _ES_WORDS
from hub.bot.phrases import _Found, _Matcher
from hub.bot.words import STOP, _Word, _words

MIN_SCORE = 0.6  # below: too unsure to act on
MARGIN = 0.2  # two intents still standing: the first wins only by this much
OTHER_LANGUAGE = 0.05  # a phrase in the other language scores this much less


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
    for phrases in MENU_ASKS.values():
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


SHOW_MENU = "menu"  # not an intent of the data file: the patient asks for the menu itself
_MENU_ASKS = _Matcher([p for ps in MENU_ASKS.values() for p in ps], SHORTHAND, _known())


def _asks_for_menu(text: str, words: list[_Word]) -> IntentMatch | None:
    """A message asking for the menu itself ("menu", "opciones", "ayuda")."""
    found = max(_MENU_ASKS.find(words), key=lambda f: f.score, default=None)
    if found is None or found.score < MIN_SCORE:
        return None
    return IntentMatch(SHOW_MENU, found.score, text[found.start : found.end])


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
    asks = _asks_for_menu(text, words)
    if asks is not None and all(i == "greeting" for i in best):  # "menu", "hi, help"; not "help with my bill"
        return asks
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

"""What a patient's message says, for the bot: its language, what they want (an intent), and
whether it signals an emergency (red flags). This module is the face of the parts that do it:
hub/bot/words.py (words, folding, spelling by ear, close words), phrases.py (phrases and their
windows), data.py (the two data files), language.py, intents.py and redflag_match.py.

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

from hub.bot.data import (
    INTENTS,
    INTENTS_FILE,
    MAX_PHRASE_WORDS,
    MENU,
    RED_FLAG_CATEGORIES,
    RED_FLAGS_FILE,
    SEED_RED_FLAGS,
    SHORTHAND,
    WORD_CLASSES,
    DataError,
    IntentInfo,
    IntentMatch,
    RedFlagCategory,
    RedFlagMatch,
    RedFlagPhrase,
    intent_info,
    phrase_size,
    phrase_words,
)
from hub.bot.intents import match_intent
from hub.bot.language import clear_language, detect_language
from hub.bot.redflag_match import RedFlagList, as_red_flag_list, red_flags
from hub.bot.words import fold, spelling_key

__all__ = [
    "INTENTS",
    "INTENTS_FILE",
    "MAX_PHRASE_WORDS",
    "MENU",
    "RED_FLAGS_FILE",
    "RED_FLAG_CATEGORIES",
    "SEED_RED_FLAGS",
    "SHORTHAND",
    "WORD_CLASSES",
    "DataError",
    "IntentInfo",
    "IntentMatch",
    "RedFlagCategory",
    "RedFlagList",
    "RedFlagMatch",
    "RedFlagPhrase",
    "as_red_flag_list",
    "clear_language",
    "detect_language",
    "fold",
    "intent_info",
    "match_intent",
    "phrase_size",
    "phrase_words",
    "red_flags",
    "spelling_key",
]

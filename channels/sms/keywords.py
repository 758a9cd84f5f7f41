"""SMS consent keywords: a message that is only one of these words (TCPA, carrier rules)."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from channels.base import fold


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# word -> (keyword, language it tells us the patient speaks, when it does)
_WORDS: dict[str, tuple[Keyword, str | None]] = {
    **{
        w: (Keyword.OPT_OUT, "en")
        for w in ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT")
    },
    **{w: (Keyword.OPT_OUT, "es") for w in ("ALTO", "PARAR", "CANCELAR", "BAJA")},
    **{w: (Keyword.OPT_IN, "en") for w in ("START", "YES", "UNSTOP")},
    "HELP": (Keyword.HELP, "en"),
    "INFO": (Keyword.HELP, None),  # the same word in both languages
    "AYUDA": (Keyword.HELP, "es"),
}


class KeywordMatch(msgspec.Struct, frozen=True):
    keyword: Keyword
    language: str | None


def _bare(text: str) -> str:
    """Upper case, accents and surrounding punctuation and spaces gone: ' Stop! ' -> 'STOP'."""
    return "".join(ch for ch in fold(text) if ch.isalnum() or ch.isspace()).strip().upper()


def classify(text: str | None) -> KeywordMatch | None:
    """The consent keyword a message is, if it is only that word; None for any other message."""
    if not text:
        return None
    hit = _WORDS.get(_bare(text))
    return KeywordMatch(*hit) if hit else None

"""A patient's answer to the satisfaction question read from their words (pure, no I/O): a score
1-5 first ("4", "4.", "4/5", "4 stars", "five", "cinco", "⭐⭐⭐⭐"), then an optional comment
("4 the nurse was kind"). Anything else is not an answer: it goes the usual way (the assistant,
a new conversation)."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

WINDOW = timedelta(days=3)  # an answer counts only this long after the question was asked

WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
}  # fmt: skip
_SCORE = re.compile(
    r"^\s*(?:(?P<digit>[1-5])(?!\d)(?![.,]\d)|(?P<word>[a-z]+)\b|(?P<stars>(?:\u2b50|\u2605){1,5}))"
    r"(?:\s*(?:/\s*5|de\s+5|out\s+of\s+5|stars?|estrellas?|\*))?"
    r"[\s.,;:!\-\u2013\u2014)]*(?P<rest>.*)$",
    re.DOTALL,
)


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def parse_answer(text: str | None) -> tuple[int, str | None] | None:
    """(score, comment or None), or None when the text does not start with a score."""
    if not text:
        return None
    folded = _fold(text.strip())
    m = _SCORE.match(folded)
    if m is None:
        return None
    if m["digit"]:
        score = int(m["digit"])
    elif m["stars"]:
        score = len(m["stars"])
    else:
        score = WORDS.get(m["word"] or "", 0)
        if not score:
            return None
    rest_at = m.start("rest")
    comment = _original_tail(text.strip(), folded, rest_at).strip()
    return score, comment or None


def _original_tail(original: str, folded: str, at: int) -> str:
    """The comment as the patient wrote it (accents kept): folding removes combining marks only,
    so count the folded characters back onto the original."""
    count = 0
    for i, ch in enumerate(original):
        if count >= at:
            return original[i:]
        count += len(_fold(ch))
    return ""

"""A search query as words, and where they are in a text: pure, no I/O.

Words are runs of letters and digits of the folded text (hub/search/fold.py: accents and case
dropped), as SQLite's unicode61 tokenizer cuts them and as PostgreSQL's parser cuts the text once
punctuation is blanked (hub/search/index.py). A query is every whitespace-separated word it holds,
all required, in any order; a word with punctuation inside ("a_a", "3.5", "e-mail") is a phrase of
its pieces; the last word is also the start of a word, as people type ("mañ" finds "mañana").

`marks` finds the query in the *original* text, so a highlight covers "Mañana", not "manana".
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import msgspec

from hub.search.fold import fold

MAX_WORDS = 8
SNIPPET = 240  # characters of a long text shown around its first match


@dataclass(frozen=True)
class Query:
    phrases: list[list[str]]  # each word's pieces, folded; the last piece of the last is a prefix

    @property
    def fts5(self) -> str:
        """SQLite FTS5 syntax: '"a a" "manana"*' (strings of letters and digits only)."""
        quoted = [f'"{" ".join(p)}"' for p in self.phrases]
        return " ".join(quoted) + "*"

    @property
    def tsquery(self) -> str:
        """PostgreSQL to_tsquery syntax: "('a' <-> 'a') & ('manana':*)"."""
        last = len(self.phrases) - 1
        parts = []
        for n, phrase in enumerate(self.phrases):
            lexemes = [f"'{t}'" for t in phrase]
            if n == last:
                lexemes[-1] += ":*"
            parts.append("(" + " <-> ".join(lexemes) + ")")
        return " & ".join(parts)


def _is_word_char(c: str) -> bool:
    return c.isalnum() or (c > "\x7f" and unicodedata.category(c)[0] == "M")


def pieces(text: str) -> list[str]:
    """The folded words of a text: 'Llego MAÑANA, a_a' -> ['llego', 'manana', 'a', 'a']."""
    return [w for w, _s, _e in located(fold(text))]


def located(text: str) -> list[tuple[str, int, int]]:
    """The words of a text, each folded, with where it is in the text as written."""
    out: list[tuple[str, int, int]] = []
    start = None
    for i, c in enumerate(text + " "):
        if _is_word_char(c) and not (start is None and unicodedata.category(c)[0] == "M"):
            if start is None:
                start = i
        elif start is not None:
            original = text[start:i]
            folded = fold(original)
            # a folded word may come apart ('½' -> '1⁄2'): each piece keeps the original's place
            parts = [w for w in "".join(ch if ch.isalnum() else " " for ch in folded).split()]
            out += [(w, start, i) for w in parts]
            start = None
    return out


def parse(q: str) -> Query | None:
    """None when the query has no word of two letters or more (the caller refuses it)."""
    words = [w for w in q.replace("\x00", " ").split() if fold(w)]
    if not words or max(len(fold(w)) for w in words) < 2:
        return None
    phrases = [p for w in words if (p := pieces(w))][:MAX_WORDS]
    return Query(phrases) if phrases else None


class Segment(msgspec.Struct, array_like=True):
    """A piece of the text shown, marked when it is a word searched for: [text, marked]."""

    text: str
    mark: bool


def marks(text: str, query: Query) -> list[tuple[int, int]]:
    """Where the query's words are in the text as written (start, end), in order, merged; empty
    when some word is missing."""
    words = located(text)
    spans: list[tuple[int, int]] = []
    last = len(query.phrases) - 1
    for n, phrase in enumerate(query.phrases):
        found = False
        for i in range(len(words) - len(phrase) + 1):
            if all(
                words[i + k][0] == t or (n == last and k == len(phrase) - 1 and words[i + k][0].startswith(t))
                for k, t in enumerate(phrase)
            ):
                spans.append((words[i][1], words[i + len(phrase) - 1][2]))
                found = True
        if not found:
            return []
    merged: list[tuple[int, int]] = []
    for s, e in sorted(spans):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


def snippet(text: str, spans: list[tuple[int, int]], width: int = SNIPPET) -> list[Segment]:
    """The text (or, when long, `width` characters around its first match) cut into marked and
    unmarked pieces: the inbox builds <mark> elements from them, never HTML."""
    lo, hi = 0, len(text)
    if len(text) > width:
        first = spans[0][0] if spans else 0
        lo = max(0, first - width // 4)
        while 0 < lo < first and not text[lo - 1].isspace():
            lo -= 1  # start at a word
        hi = min(len(text), lo + width)
    out: list[Segment] = [Segment("…", False)] if lo > 0 else []
    at = lo
    for s, e in spans:
        s, e = max(s, lo), min(e, hi)
        if s >= e:
            continue
        if s > at:
            out.append(Segment(text[at:s], False))
        out.append(Segment(text[s:e], True))
        at = e
    if at < hi:
        out.append(Segment(text[at:hi], False))
    if hi < len(text):
        out.append(Segment("…", False))
    return out

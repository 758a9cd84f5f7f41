"""Phrases matched against a message's words: each phrase's slots, the tightest window holding them
all, and the variants a phrase with alternatives is spelt out as (the rules: hub/bot/understand.py)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from hub.bot.words import _content, _Vocabulary, _Word, _words, fold

MAX_EXTRA = 3  # other words allowed among a phrase's words

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

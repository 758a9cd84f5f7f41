"""Red flags found in a message: the list's phrases matched with the readings safety needs (numbers
read as counts, fevers, ages, doses; relatives; diminutives), the first hit first."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from hub.bot.data import SHORTHAND, WORD_CLASSES, RedFlagMatch, RedFlagPhrase
from hub.bot.language import detect_language
from hub.bot.phrases import _Found, _Matcher
from hub.bot.words import STOP, _Word, _words, fold, spelling_key

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

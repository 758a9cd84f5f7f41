"""Plain language: jargon found by the reviewed glossary, readability per language, and the route
the composer and the template editor ask as staff type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from hub.i18n import translate
from hub.language.glossary import (
    GLOSSARY_FILE,
    Entry,
    Glossary,
    GlossaryError,
    UnknownLanguage,
    fold,
    glossary,
    is_abbreviation,
    suggest,
)
from hub.language.readability import FORMULAS, LABELS, MIN_WORDS, Level, level, read
from tests.support.clients import Staff

# (locale, text, [(the term as found, its plain words)]): what the composer would underline
FINDS = [
    ("en", "Your hypotension is better.", [("hypotension", "low blood pressure")]),
    ("en", "HYPOTENSION, Hypotension!", [("HYPOTENSION", "low blood pressure"), ("Hypotension", "low blood pressure")]),
    ("en", "(hypotension) 'hypotension' hypotension's", [("hypotension", "low blood pressure")] * 3),
    ("es", "Tiene hipotensión.", [("hipotensión", "presión baja")]),
    ("es", "Tiene hipotension.", [("hipotension", "presión baja")]),
    ("es-MX", "¿HIPOTENSIÓN?", [("HIPOTENSIÓN", "presión baja")]),
    ("es_419", "Hipotensión", [("Hipotensión", "presión baja")]),
    ("es", "hipoténsion", [("hipoténsion", "presión baja")]),  # an accent in the wrong place
    ("es", "hipote\u0301nsion", [("hipote\u0301nsion", "presión baja")]),  # a decomposed accent
    ("en", "two myocardial infarctions", [("myocardial infarctions", "heart attacks")]),
    ("en", "a myocardial\n  infarction", [("myocardial\n  infarction", "heart attack")]),
    ("es", "dos infartos de miocardio", [("infartos de miocardio", "ataques al corazón")]),
    ("es", "un infarto agudo de miocardio", [("infarto agudo de miocardio", "ataque al corazón")]),
    ("en", "diuretics, a Diuretic", [("diuretics", "water pills"), ("Diuretic", "water pill")]),
    ("en", "biopsies", [("biopsies", "tissue samples")]),
    ("es", "tumores benignos, un quiste benigno", [("benignos", "que no son cáncer"), ("benigno", "que no es cáncer")]),
    ("en", "Take it b.i.d. with food", [("b.i.d.", "twice a day")]),
    ("en", "B.I.D, BID or bid", [("B.I.D", "twice a day"), ("BID", "twice a day")]),  # bid: an offer
    ("en", "q.d.s. is not q.d.", [("q.d.", "once a day")]),
    (
        "en",
        "NPO after midnight. N.P.O.! (npo)",
        [("NPO", "nothing to eat or drink"), ("N.P.O.", "nothing to eat or drink")],
    ),
    ("en", "An HS diploma; 1 tablet h.s.", [("h.s.", "at bedtime")]),
    ("en", "The AC is off; take it a.c.", [("a.c.", "before meals")]),
    (
        "en",
        "NSAIDs or an NSAID",
        [("NSAIDs", "anti-inflammatory pain relievers (like ibuprofen)")]
        + [("NSAID", "anti-inflammatory pain reliever (like ibuprofen)")],
    ),
    ("es", "Evite los AINEs", [("AINEs", "medicinas para el dolor y la inflamación (como el ibuprofeno)")]),
    (
        "en",
        "post-op, post op, postop",
        [("post-op", "after surgery"), ("post op", "after surgery"), ("postop", "after surgery")],
    ),
    ("en", "blood glucose", [("blood glucose", "blood sugar")]),  # longest: not "glucose"
    ("en", "lower extremities and extremities", [("lower extremities", "legs"), ("extremities", "arms and legs")]),
    ("es", "¿Tiene hipertensión arterial?", [("hipertensión arterial", "presión alta")]),
    (
        "es",
        "trombosis venosa profunda",
        [("trombosis venosa profunda", "coágulo de sangre en una vena profunda (casi siempre en la pierna)")],
    ),
    # never inside another word, never a near miss
    ("en", "He is hypotensive.", []),
    ("en", "adrenal glands", []),  # renal
    ("en", "benignly, malignancy", []),
    ("en", "Please bring your insurance card.", []),
    ("es", "Su cita es el año próximo.", []),
    ("es", "hipotensiones", []),  # no plural given for it
    ("en", "", []),
]


@pytest.mark.parametrize(("locale", "text", "expected"), FINDS, ids=[f"{c[0]}:{c[1][:30]}" for c in FINDS])
def test_suggestions(locale, text, expected):
    found = suggest(text, locale)
    assert [(s.term, s.plain) for s in found] == expected
    for s in found:
        assert text[s.start : s.end] == s.term
    assert [s.start for s in found] == sorted(s.start for s in found)


def test_offsets_are_exact():
    text = "Stay NPO; your hypotension is better."
    assert [(s.start, s.end) for s in suggest(text, "en")] == [(5, 8), (15, 26)]
    text = "😀 La hipotensión."  # an emoji is one Python index (the route speaks UTF-16, below)
    (s,) = suggest(text, "es")
    assert (s.start, s.end, text[s.start : s.end]) == (5, 16, "hipotensión")


def _tiny(*entries: Entry) -> Glossary:
    return Glossary({"en": list(entries)})


def test_whole_words_only_even_when_a_term_is_inside_another():
    tiny = _tiny(Entry("tension", "stress"))
    assert suggest_terms(tiny, "hypertension and tension-type pain") == ["tension"]
    assert tiny.suggest("hypertension and tension-type pain", "en")[0].start == 17


def test_the_longest_match_wins_and_none_overlap():
    tiny = _tiny(
        Entry("blood glucose", "blood sugar"),
        Entry("glucose tolerance test", "sugar drink test"),
        Entry("glucose", "sugar"),
    )
    assert suggest_terms(tiny, "blood glucose tolerance test") == ["glucose tolerance test"]
    assert suggest_terms(tiny, "blood glucose, then glucose") == ["blood glucose", "glucose"]


def suggest_terms(g: Glossary, text: str) -> list[str]:
    return [s.term for s in g.suggest(text, "en")]


def test_locales_pick_their_language():
    g = glossary()
    assert g.languages == ("en", "es")
    assert [g.language_for(t) for t in ("es-MX", "ES", "es_419", "en-GB", "fr", "zh-Hant")] == [
        "es",
        "es",
        "es",
        "en",
        None,
        None,
    ]
    with pytest.raises(UnknownLanguage):
        suggest("hypotension", "fr")


# --- the glossary file


def test_the_glossary_file_is_well_formed_and_reviewable():
    source = GLOSSARY_FILE.read_text(encoding="utf-8")
    assert "How it was made and reviewed" in source and "How to propose a change" in source
    assert "Review log" in source
    g = glossary()
    for language, entries in g.entries.items():
        assert len(entries) >= 80, language
        keys = [fold(f).casefold() for e in entries for f in (e.term, e.plural) if f]
        assert len(keys) == len(set(keys)), language
        for e in entries:
            assert e.plain.strip() and (e.plain_plural is None or e.plain_plural.strip()), e
            assert (e.plural is None) == (e.plain_plural is None), e


@pytest.mark.parametrize("language", ["en", "es"])
def test_every_term_and_plural_is_found_as_itself(language):
    for e in glossary().entries[language]:
        for form, plain in ((e.term, e.plain), (e.plural, e.plain_plural)):
            if form is None:
                continue
            for text, start in ((form, 0), (f"Note: {form}.", 6)):
                found = [(s.term, s.plain, s.start) for s in suggest(text, language)]
                assert found == [(form, plain, start)], (form, found)
            if not is_abbreviation(form):
                assert [s.term for s in suggest(form.upper(), language)] == [form.upper()]


@pytest.mark.parametrize("language", ["en", "es"])
def test_plain_words_are_not_jargon_themselves(language):
    for e in glossary().entries[language]:
        for plain in filter(None, (e.plain, e.plain_plural)):
            assert suggest(plain, language) == [], plain


@pytest.mark.parametrize(
    ("entries", "why"),
    [
        ([Entry("edema", "swelling"), Entry("Edema", "puffiness")], "twice"),
        ([Entry("b.i.d.", "twice a day"), Entry("BID", "two times a day")], "twice"),
        ([Entry("edema", "swelling", plural="edemas")], "plain_plural"),
        ([Entry("edema", "swelling", dotted_only=True)], "not an abbreviation"),
        ([Entry("swelling", "Swelling")], "its own plain word"),
    ],
)
def test_a_broken_glossary_is_refused(entries, why):
    with pytest.raises(GlossaryError, match=why):
        _tiny(*entries)


# --- readability

PLAIN = {
    "en": "Your blood pressure is low. Drink some water and rest. Call us if you feel dizzy or weak.",
    "es": "Su presión está baja. Tome un poco de agua y descanse. Llámenos si se siente mareado o débil.",
}
JARGON = {
    "en": "The patient presents with symptomatic orthostatic hypotension secondary to antihypertensive "
    "pharmacotherapy, necessitating immediate pharmacological reevaluation by the cardiology service.",
    "es": "La paciente presenta hipotensión ortostática sintomática secundaria a farmacoterapia "
    "antihipertensiva, lo que requiere una reevaluación farmacológica inmediata por el servicio de cardiología.",
}
EASY = {Level.VERY_EASY, Level.EASY, Level.FAIRLY_EASY, Level.STANDARD}
HARD = {Level.FAIRLY_DIFFICULT, Level.DIFFICULT, Level.VERY_DIFFICULT}


@pytest.mark.parametrize("language", ["en", "es"])
def test_plain_writing_scores_easier_than_jargon(language):
    plain, jargon = read(PLAIN[language], language).score, read(JARGON[language], language).score
    assert plain and jargon
    assert plain.score > jargon.score + 30
    assert plain.level in EASY and jargon.level in HARD
    assert 0 <= jargon.score <= plain.score <= 100
    assert plain.formula == jargon.formula == FORMULAS[language].name
    if language == "en":
        assert plain.grade is not None and jargon.grade is not None and plain.grade < 6 < 12 < jargon.grade
    else:
        assert plain.grade is None


@pytest.mark.parametrize(
    ("language", "raw", "expected"),
    [
        ("en", 95, Level.VERY_EASY),
        ("en", 80, Level.EASY),
        ("en", 72.5, Level.FAIRLY_EASY),
        ("en", 60, Level.STANDARD),
        ("en", 59.9, Level.FAIRLY_DIFFICULT),
        ("en", 30, Level.DIFFICULT),
        ("en", -40, Level.VERY_DIFFICULT),
        ("es", 80, Level.VERY_EASY),
        ("es", 70, Level.FAIRLY_EASY),
        ("es", 55, Level.STANDARD),
        ("es", 54.9, Level.FAIRLY_DIFFICULT),
        ("es", 39.9, Level.VERY_DIFFICULT),
    ],
)
def test_levels_follow_each_scale(language, raw, expected):
    assert level(FORMULAS[language], raw) == expected


def test_every_level_has_a_label():
    assert set(LABELS) == set(Level)


@pytest.mark.parametrize(
    ("text", "words"), [("", 0), ("   \n", 0), ("?!...", 0), ("Hola", 1), ("Call us today if you can.", 6)]
)
def test_short_text_gets_no_score(text, words):
    for language in FORMULAS:
        assert read(text, language).words == words
        assert read(text, language).score is None
    assert words < MIN_WORDS


def test_placeholders_and_links_count_as_short_words():
    after = ". Please arrive fifteen minutes early and bring your insurance card."
    template = read("Hi {patient_first_name}, your visit with {provider_name} is on {appointment_time}" + after, "en")
    filled = read("Hi Ana, your visit with Sam is on Monday" + after, "en")
    spelled = read("Hi patient_first_name, your visit with provider_name is on appointment_time" + after, "en")
    assert template.words == filled.words == spelled.words == 19
    assert template.score and filled.score and spelled.score
    assert abs(template.score.score - filled.score.score) < 10 < template.score.score - spelled.score.score
    link = read(
        "See your results at https://portal.clinic.example/results/2026/a-long-path or write to "
        "results-team@clinic.example if you have questions.",
        "en",
    )
    assert link.words == 13 and link.score and link.score.level in EASY


def test_concurrent_scores_in_both_languages_agree_with_serial_ones():
    texts = [(PLAIN[lang], lang) for lang in FORMULAS] + [(JARGON[lang], lang) for lang in FORMULAS]
    serial = [read(t, lang) for t, lang in texts]
    with ThreadPoolExecutor(8) as pool:
        for _ in range(5):
            assert list(pool.map(lambda tl: read(*tl), texts * 10)) == serial * 10


# --- the route, on a real hub


@pytest.fixture(scope="module")
def ana(module_hub) -> Iterator[Staff]:
    client = Staff(module_hub.base_url, "ana")
    yield client
    client.close()


def test_an_agent_gets_suggestions_and_a_score(ana):
    text = "Please stay NPO after midnight: your hypotension and the analgesics need checking before we start."
    r = ana.post("/api/language/check", json={"text": text, "locale": "en-US"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["locale_used"] == "en"
    assert [(s["term"], s["plain"]) for s in body["suggestions"]] == [
        ("NPO", "nothing to eat or drink"),
        ("hypotension", "low blood pressure"),
        ("analgesics", "pain medicines"),
    ]
    assert all(text[s["start"] : s["end"]] == s["term"] for s in body["suggestions"])
    score = body["readability"]
    assert score["formula"] == "Flesch Reading Ease" and 0 <= score["score"] <= 100 and score["grade"] > 0
    assert score["level"] in {lvl.value for lvl in Level} and score["label"] == LABELS[Level(score["level"])]
    assert body["words"] == 15 and body["min_words"] == MIN_WORDS


def test_spanish_with_a_regional_locale_and_utf16_offsets(ana):
    text = "😀 Tiene hipotension y cefaleas. Tome su medicina para el dolor con comida y llámenos si sigue igual."
    r = ana.post("/api/language/check", json={"text": text, "locale": "es-MX"}, headers={"accept-language": "es"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["locale_used"] == "es"
    units = text.encode("utf-16-le")  # JavaScript's view of the string: text.slice(start, end)
    found = [(units[s["start"] * 2 : s["end"] * 2].decode("utf-16-le"), s["plain"]) for s in body["suggestions"]]
    assert found == [("hipotension", "presión baja"), ("cefaleas", "dolores de cabeza")]
    assert body["suggestions"][0]["start"] == 9  # the emoji is two UTF-16 units
    score = body["readability"]
    assert score["formula"] == "Szigriszt-Pazos (INFLESZ)" and score["grade"] is None
    assert score["label"] == translate("es", LABELS[Level(score["level"])])


def test_short_or_empty_text_gets_no_score(ana):
    for text in ("", "NPO"):
        r = ana.post("/api/language/check", json={"text": text, "locale": "en"})
        assert r.status_code == 200, r.text
        assert r.json()["readability"] is None
    assert [s["term"] for s in r.json()["suggestions"]] == ["NPO"]


def test_signed_out_or_without_csrf_is_refused(module_hub, ana):
    nobody = Staff(module_hub.base_url)
    try:
        assert nobody.post("/api/language/check", json={"text": "x", "locale": "en"}).status_code == 401
    finally:
        nobody.close()
    r = ana.http.post("/api/language/check", json={"text": "x", "locale": "en"})  # no CSRF header
    assert r.status_code == 403


BAD = [  # (body, words the detail must contain)
    ({"text": "hypotension", "locale": "fr"}, "fr"),
    ({"text": "hypotension", "locale": "klingon-x-tlh!"}, "locale"),
    ({"text": "hypotension", "locale": ""}, "locale"),
    ({"text": "hypotension"}, "locale"),
    ({"locale": "en"}, "text"),
    ({"text": 42, "locale": "en"}, "text"),
    ({"text": "x" * 5001, "locale": "en"}, "text"),
    ({"text": "a\u0000b", "locale": "en"}, "NUL"),
    ({"text": "x", "locale": "en", "extra": 1}, "extra"),
    (["hypotension"], "object"),
]


@pytest.mark.parametrize(("body", "words"), BAD, ids=[json.dumps(b)[:40] for b, _ in BAD])
def test_bad_input_is_a_clear_400(ana, body, words):
    r = ana.post("/api/language/check", json=body)
    assert r.status_code == 400, r.text
    assert words in r.json()["detail"]


def test_an_unknown_locale_names_the_ones_there_are(ana):
    r = ana.post("/api/language/check", json={"text": "x", "locale": "de-AT"})
    assert r.status_code == 400 and "de-AT" in r.json()["detail"] and "en, es" in r.json()["detail"]


def test_malformed_json_is_400(ana):
    r = ana.post("/api/language/check", content=b'{"text": ', headers={"content-type": "application/json"})
    assert r.status_code == 400

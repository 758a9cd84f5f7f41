"""Bilingual templates: rendering with babel in each locale, every validation error, locale
fallback, SMS segments (pure); drafts, publishing, history and restore on a real hub."""

from __future__ import annotations

import copy
import sqlite3
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from hub.templates.content import SAMPLES, Variant, pick, render_variant, validate
from hub.templates.render import Reader
from hub.templates.sms import sms_info
from hub.templates.starter import starter
from hub.templates.syntax import parse

LANGUAGES = ("en", "es")
BRACKETED = "["  # an unresolved placeholder renders as [its label]


# --- the starter set, rendered ------------------------------------------------------------------


@pytest.mark.parametrize(("key", "content"), [(k, c) for k, _, c in starter()], ids=[k for k, _, _ in starter()])
def test_every_starter_template_is_valid_and_renders_in_both_locales(key, content):
    assert validate(content, LANGUAGES) == []
    for channel, by_locale in content.items():
        assert set(by_locale) == set(LANGUAGES), (key, channel)
        for locale, variant in by_locale.items():
            out = render_variant(channel, variant, SAMPLES, Reader(locale))
            assert out.unresolved == [] and BRACKETED not in out.body, (key, channel, locale, out.body)
            assert "{" not in out.body and "}" not in out.body
            if channel == "email":
                assert out.subject and "\n" not in out.subject
            if channel == "sms":
                assert out.sms is not None and out.sms.segments <= 3, (key, locale, out.sms)


FORMATTING = [
    # (placeholder, value, English, Spanish): dates and times in the clinic's zone, money, numbers
    (
        "appointment_time",
        datetime(2026, 12, 10, 17, 30, tzinfo=UTC),
        "Thursday, December 10, 2026, 9:30 AM",
        "jueves, 10 de diciembre de 2026, 9:30 a.m.",
    ),
    (
        "appointment_time",
        datetime(2026, 7, 2, 17, 30, tzinfo=UTC),
        "Thursday, July 2, 2026, 10:30 AM",
        "jueves, 2 de julio de 2026, 10:30 a.m.",
    ),  # daylight saving time
    ("appointment_date", date(2027, 1, 5), "January 5, 2027", "5 de enero de 2027"),
    ("amount_due", Decimal("1234.5"), "$1,234.50", "$1,234.50"),
    ("clinic_phone", "+16502530000", "(650) 253-0000", "(650) 253-0000"),
]


@pytest.mark.parametrize(
    ("name", "value", "en", "es"), FORMATTING, ids=[f"{f[0]}-{i}" for i, f in enumerate(FORMATTING)]
)
def test_values_are_formatted_per_locale_with_babel(name, value, en, es):
    tree = parse(f"<{{{name}}}>")
    from hub.templates.render import render

    assert render(tree, {name: value}, Reader("en")) == f"<{en}>"
    assert render(tree, {name: value}, Reader("es")) == f"<{es}>"
    assert render(tree, {name: value}, Reader("es-MX")) == f"<{es}>"  # a US clinic's dollars either way


@pytest.mark.parametrize(
    ("days", "en", "es"),
    [
        (0, "0 days", "han pasado 0 días"),
        (1, "1 day", "ha pasado 1 día"),
        (3, "3 days", "han pasado 3 días"),
        (1000, "1,000 days", "han pasado 1,000 días"),
    ],
)
def test_plural_forms_follow_each_language(days, en, es):
    (content,) = [c for k, _, c in starter() if k == "follow_up_check"]
    values = {**SAMPLES, "days": days}
    assert en in render_variant("sms", content["sms"]["en"], values, Reader("en")).body
    assert es in render_variant("sms", content["sms"]["es"], values, Reader("es")).body


def test_an_exact_form_wins_over_the_plural_rule():
    (content,) = [c for k, _, c in starter() if k == "queue_position"]
    assert "You are next." in render_variant("sms", content["sms"]["en"], {"queue_position": 0}, Reader("en")).body
    assert "Hay una persona" in render_variant("sms", content["sms"]["es"], {"queue_position": 1}, Reader("es")).body


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_value_ending_in_an_abbreviation_keeps_one_full_stop(language):
    (content,) = [c for k, _, c in starter() if k == "after_hours"]
    opening = datetime(2026, 12, 11, 16, 0, tzinfo=UTC)  # 8:00 a.m. in Los Angeles
    values = {"opening_time": opening, "clinic_name": "Sunrise"}
    body = render_variant("sms", content["sms"][language], values, Reader(language)).body
    assert ".." not in body and ("8:00 a.m." in body or "8:00 AM." in body), body


def test_unknown_values_are_left_marked_in_the_readers_language():
    (content,) = [c for k, _, c in starter() if k == "appointment_reminder"]
    out = render_variant("sms", content["sms"]["es"], {"clinic_name": "Sunrise"}, Reader("es"))
    assert out.unresolved == ["appointment_time", "clinic_phone"]
    assert "[fecha y hora de la cita]" in out.body and "[teléfono de la clínica]" in out.body


# --- validation: each error, said where it is -----------------------------------------------------

OK_EN, OK_ES = Variant("Hi {patient_first_name}"), Variant("Hola {patient_first_name}")
ERRORS = [
    ("syntax", {"sms": {"en": Variant("Hi {patient_first_name"), "es": OK_ES}}, ("sms", "en", "body"), "save"),
    ("syntax", {"sms": {"en": OK_EN, "es": Variant("Hola }")}}, ("sms", "es", "body"), "save"),
    (
        "unknown_placeholder",
        {"sms": {"en": Variant("Hi {first_name}"), "es": Variant("Hola {first_name}")}},
        ("sms", "en", "body"),
        "save",
    ),
    (
        "formatted_argument",
        {"chat": {"en": Variant("{amount_due, number, currency}"), "es": Variant("{amount_due}")}},
        ("chat", "en", "body"),
        "save",
    ),
    (
        "plural_needs_number",
        {"chat": {"en": Variant("{patient_name, plural, one {a} other {b}}"), "es": Variant("{patient_name}")}},
        ("chat", "en", "body"),
        "save",
    ),
    (
        "missing_other",
        {"chat": {"en": Variant("{days, select, 1 {one}}"), "es": Variant("{days}")}},
        ("chat", "en", "body"),
        "save",
    ),
    (
        "placeholders_differ",
        {"sms": {"en": Variant("At {appointment_time}"), "es": Variant("Pronto")}},
        ("sms", "es", "body"),
        "save",
    ),
    (
        "subject_not_email",
        {"chat": {"en": Variant("Hi", "Subject"), "es": Variant("Hola")}},
        ("chat", "en", "subject"),
        "save",
    ),
    (
        "subject_newline",
        {"email": {"en": Variant("Hi", "Two\nlines"), "es": Variant("Hola", "Una")}},
        ("email", "en", "subject"),
        "save",
    ),
    (
        "sms_too_long",
        {"sms": {"en": Variant("word " * 400), "es": Variant("palabra " * 300)}},
        ("sms", "en", "body"),
        "save",
    ),
    ("missing_translation", {"sms": {"en": OK_EN}}, ("sms", "es", "body"), "publish"),
    ("missing_translation", {"sms": {"en": OK_EN, "es": Variant("  ")}}, ("sms", "es", "body"), "publish"),
    (
        "missing_subject",
        {"email": {"en": Variant("Hi"), "es": Variant("Hola", "Asunto")}},
        ("email", "en", "subject"),
        "publish",
    ),
    ("no_channels", {}, (None, None, None), "save"),
]


@pytest.mark.parametrize(
    ("code", "content", "where", "blocks"), ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)]
)
def test_each_validation_error_is_found_where_it_is(code, content, where, blocks):
    problems = [p for p in validate(content, LANGUAGES) if p.code == code]
    assert problems, validate(content, LANGUAGES)
    p = problems[0]
    assert (p.where.get("channel"), p.where.get("locale"), p.where.get("field")) == where and p.blocks == blocks


def test_syntax_errors_say_the_character():
    (p,) = validate({"sms": {"en": Variant("Hi {patient_first_name"), "es": OK_ES}}, LANGUAGES)
    assert p.where["position"] == 22 and p.params == {"position": 23}


# --- which text a reader gets ------------------------------------------------------------------


def test_locale_fallback_es_mx_then_es_then_the_clinic_default():
    content = {"chat": {"en": Variant("Hello"), "es": Variant("Hola"), "es-MX": Variant("Qué onda")}}
    assert pick(content, "webchat", "es-MX", "en").locale == "es-MX"
    assert pick(content, "webchat", "es-US", "en").locale == "es"
    assert pick(content, "webchat", "es", "en").locale == "es"
    fr = pick(content, "webchat", "fr", "en")
    assert fr.locale == "en" and fr.missing_translation is True  # said, not silent
    only_en = pick({"chat": {"en": Variant("Hello")}}, "webchat", "es-MX", "en")
    assert only_en.locale == "en" and only_en.missing_translation is True
    assert pick(content, "webchat", None, "en").missing_translation is False


def test_each_reply_channel_gets_its_variant():
    content = {"sms": {"en": Variant("text")}, "chat": {"en": Variant("chat")}, "email": {"en": Variant("mail", "S")}}
    assert [pick(content, c, "en", "en").channel for c in ("sms", "webchat", "api", "email")] == [
        "sms",
        "chat",
        "chat",
        "email",
    ]
    assert pick({"sms": {"en": Variant("text")}}, "webchat", "en", "en").channel == "sms"  # the best there is


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),
        ("€" * 81, "GSM-7", 2),
        ("¿Qué tal?" * 10, "GSM-7", 1),
        ("í" * 70, "UCS-2", 1),
        ("í" * 71, "UCS-2", 2),
        ("😀" * 35, "UCS-2", 1),
        ("😀" * 36, "UCS-2", 2),
        ("", "GSM-7", 0),
    ],
)
def test_sms_segments_and_encoding(text, encoding, segments):
    info = sms_info(text)
    assert (info.encoding, info.segments) == (encoding, segments)


# --- on a real hub -----------------------------------------------------------------------------


def _audit(srv, action: str) -> list[tuple]:
    with sqlite3.connect(srv.settings.database.url.split("///", 1)[1]) as db:
        return db.execute("SELECT agent_id, detail FROM audit_log WHERE action = ? ORDER BY id", (action,)).fetchall()


def test_drafts_publishing_history_and_restore(hub_server, staff):
    ana, sofia, admin = staff["ana"], staff["sofia"], staff["admin"]
    listed = {t["key"]: t for t in ana.get("/api/templates").json()}
    assert {k for k, _, _ in starter()} <= set(listed) and listed["greeting"]["locales"] == ["en", "es"]
    assert ana.get("/api/templates/greeting").status_code == 403  # agents use templates; they do not edit them
    current = sofia.get("/api/templates/greeting").json()
    assert current["published"]["number"] == 1 and current["draft"] is None
    content = copy.deepcopy(current["published"]["content"])
    content["chat"]["en"]["body"] = "Hi {patient_first_name}! {agent_first_name} here, from {clinic_name}."
    r = ana.request("PUT", "/api/templates/greeting/draft", json={"content": content, "seen_updated_at": None})
    assert r.status_code == 403
    bad = {**content, "chat": {**content["chat"], "es": {"body": "Hola {patient_first_nam}"}}}
    r = sofia.request(
        "PUT",
        "/api/templates/greeting/draft",
        json={"content": bad, "seen_updated_at": None},
        headers={"accept-language": "es"},
    )
    assert r.status_code == 400 and r.json()["problems"][0]["code"] == "unknown_placeholder"
    assert "patient_first_nam" in r.json()["problems"][0]["message"] and "No hay" in r.json()["problems"][0]["message"]
    assert sofia.get("/api/templates/greeting").json()["draft"] is None  # nothing stored

    r = sofia.request(
        "PUT", "/api/templates/greeting/draft", json={"content": content, "seen_updated_at": None, "note": "friendlier"}
    )
    assert r.status_code == 200 and r.json()["number"] == 2 and r.json()["state"] == "draft"
    seen = r.json()["updated_at"]
    stale = sofia.request("PUT", "/api/templates/greeting/draft", json={"content": content, "seen_updated_at": None})
    assert stale.status_code == 409  # someone (here: she) saved a draft since
    assert sofia.post("/api/templates/greeting/publish", json={"seen_updated_at": seen}).status_code == 403
    r = admin.post("/api/templates/greeting/publish", json={"seen_updated_at": seen})
    assert r.status_code == 200 and r.json()["state"] == "published"
    shown = sofia.get("/api/templates/greeting").json()
    assert [(v["number"], v["state"]) for v in shown["history"]] == [(2, "published"), (1, "retired")]
    assert shown["published"]["created_by"] == "Sofía Supervisor" and shown["published"]["published_by"] == "Alex Admin"
    assert (
        shown["published"]["note"] == "friendlier"
        and shown["published"]["published_at"] >= shown["published"]["created_at"]
    )

    r = sofia.post("/api/templates/greeting/restore", json={"number": 1, "seen_updated_at": None})
    assert r.status_code == 200 and r.json()["number"] == 3
    draft = sofia.get("/api/templates/greeting").json()["draft"]
    assert draft["based_on"] == 1 and draft["content"] == current["published"]["content"]
    # A draft missing a translation may be saved, not published.
    partial = {"chat": {"en": {"body": "Hi {patient_first_name}"}}}
    r = sofia.request(
        "PUT", "/api/templates/greeting/draft", json={"content": partial, "seen_updated_at": draft["updated_at"]}
    )
    assert r.status_code == 200
    r = admin.post("/api/templates/greeting/publish", json={"seen_updated_at": r.json()["updated_at"]})
    assert r.status_code == 400 and {p["code"] for p in r.json()["problems"]} == {"missing_translation"}
    assert r.json()["problems"][0]["message"] == "The Spanish text is missing."
    assert sofia.request("DELETE", "/api/templates/greeting/draft").status_code == 200
    assert sofia.get("/api/templates/greeting").json()["draft"] is None
    actions = [
        a
        for a in ("template.draft", "template.publish", "template.restore", "template.discard")
        if _audit(hub_server, a)
    ]
    assert actions == ["template.draft", "template.publish", "template.restore", "template.discard"]


def test_a_new_template_is_proposed_then_published(hub_server, staff):
    sofia, admin = staff["sofia"], staff["admin"]
    body = {
        "key": "flu_shots",
        "purpose": "Flu shot season",
        "content": {"sms": {"en": {"body": "{clinic_name}: flu shots are in. Walk in or call {clinic_phone}."}}},
    }
    r = sofia.post("/api/templates", json=body)
    assert r.status_code == 201 and r.json() == {**r.json(), "number": 1, "state": "draft"}
    assert sofia.post("/api/templates", json=body).status_code == 409
    assert sofia.post("/api/templates", json={**body, "key": "Bad Key"}).status_code == 400
    listed = {t["key"]: t for t in staff["ana"].get("/api/templates").json()}
    assert listed["flu_shots"]["published"] is None and listed["flu_shots"]["draft"] == 1
    draft = sofia.get("/api/templates/flu_shots").json()["draft"]
    r = admin.post("/api/templates/flu_shots/publish", json={"seen_updated_at": draft["updated_at"]})
    assert r.status_code == 400  # no Spanish yet: never a silent English text to a Spanish speaker
    content = {
        "sms": {
            **body["content"]["sms"],
            "es": {
                "body": "{clinic_name}: ya llegaron las vacunas contra la gripe. "
                "Venga sin cita o llame al {clinic_phone}."
            },
        }
    }
    saved = sofia.request(
        "PUT", "/api/templates/flu_shots/draft", json={"content": content, "seen_updated_at": draft["updated_at"]}
    ).json()
    r = admin.post("/api/templates/flu_shots/publish", json={"seen_updated_at": saved["updated_at"]})
    assert r.status_code == 200
    assert {t["key"]: t for t in staff["ana"].get("/api/templates").json()}["flu_shots"]["published"] == 1


def test_the_composer_fills_a_template_in_for_the_patient(hub_server, staff):
    ana = staff["ana"]
    convs = staff["sofia"].get("/api/conversations").json()["conversations"]
    maria = next(c for c in convs if c["patient_name"] == "María González")  # Spanish, by SMS
    r = ana.get(f"/api/conversations/{maria['id']}/templates/greeting")
    assert r.status_code == 200
    filled = r.json()
    assert filled["channel"] == "sms" and filled["locale"] == "es" and filled["missing_translation"] is False
    assert filled["text"] == "Hola, María. Le saluda Ana, de Puente Demo Clinic. ¿En qué le puedo ayudar?"
    r = ana.get(f"/api/conversations/{maria['id']}/templates/appointment_reminder", params={"channel": "email"})
    filled = r.json()
    assert filled["channel"] == "email" and filled["subject"] == "Su cita del [fecha de la cita]"
    assert [u["name"] for u in filled["unresolved"]] == ["appointment_date", "provider_name", "appointment_time"]
    assert "(650) 253-0000" in filled["text"]
    assert ana.get(f"/api/conversations/{maria['id']}/templates/nope_nope").status_code == 404
    assert _audit(hub_server, "template.render")[0][0] == ana.me["id"]


@pytest.mark.parametrize("hub_server_options", [{}], indirect=True)
def test_preview_and_placeholders_for_the_editor(hub_server, staff):
    sofia = staff["sofia"]
    names = {p["name"]: p for p in sofia.get("/api/templates/placeholders", headers={"accept-language": "es"}).json()}
    assert (
        names["amount_due"]["sample"] == "$1,234.50" and names["appointment_time"]["label"] == "fecha y hora de la cita"
    )
    content = {"sms": {"en": {"body": "Due {amount_due}"}, "es": {"body": "Debe {amount_due, number}"}}}
    r = sofia.post("/api/templates/preview", json={"content": content})
    out = r.json()
    assert r.status_code == 200 and out["previews"]["sms"]["en"]["body"] == "Due $1,234.50"
    assert "es" not in out["previews"]["sms"] and out["problems"][0]["code"] == "formatted_argument"
    assert out["previews"]["sms"]["en"]["sms"] == {"encoding": "GSM-7", "units": 13, "segments": 1, "per_segment": 160}
    assert staff["ana"].post("/api/templates/preview", json={"content": content}).status_code == 403

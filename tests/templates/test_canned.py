"""Canned replies on a real hub: personal ones only their owner sees and keeps, shared ones every
agent sees and supervisors and admins keep; texts checked like templates' and filled in for the
patient like them (their language, their name); bad input refused clearly; every change and every
fill-in audited. Also: which channels this hub can reply on, and a reply on one that is not set up
refused; template summaries say which are the assistant's own and give their purpose in Spanish."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest

from hub.settings import SmsSettings
from tests.support.clients import Staff
from tests.support.server import HubServer, hub_settings
from tests.support.webchat import VisitorClient

GREETING = {
    "en": "Hi {patient_first_name}, {agent_first_name} here.",
    "es": "Hola {patient_first_name}, soy {agent_first_name}.",
}


def _audit(srv: HubServer, action: str) -> list[tuple]:
    with sqlite3.connect(srv.settings.database.url.split("///", 1)[1]) as db:
        rows = db.execute(
            "SELECT agent_id, patient_id, detail FROM audit_log WHERE action = ? ORDER BY id", (action,)
        ).fetchall()
    return [(a, p, json.loads(d) if isinstance(d, str) else d) for a, p, d in rows]


def _maria(staff: dict[str, Staff]) -> dict:
    convs = staff["sofia"].get("/api/conversations").json()["conversations"]
    return next(c for c in convs if c["patient_name"] == "María González")  # Spanish, by SMS


def test_personal_and_shared_canned_replies(hub_server, staff):
    ana, ben, sofia = staff["ana"], staff["ben"], staff["sofia"]
    r = ana.post("/api/canned", json={"shortcut": "hi", "title": "My hello", "texts": GREETING})
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["shared"] is False and mine["mine"] is True and mine["texts"] == GREETING
    # An agent may not share one; a supervisor may.
    r = ana.post("/api/canned", json={"shortcut": "hours", "title": "Hours", "texts": {"en": "x"}, "shared": True})
    assert r.status_code == 403
    r = sofia.post(
        "/api/canned",
        json={
            "shortcut": "hours",
            "title": "Our hours",
            "texts": {"en": "We open at 8.", "es": "Abrimos a las 8."},
            "shared": True,
        },
    )
    assert r.status_code == 201 and r.json()["shared"] is True
    shared = r.json()
    # Ana sees hers then the shared one; Ben only the shared one; Sofia does not see Ana's.
    assert [(c["shortcut"], c["mine"]) for c in ana.get("/api/canned").json()] == [("hi", True), ("hours", False)]
    assert [c["shortcut"] for c in ben.get("/api/canned").json()] == ["hours"]
    assert [c["shortcut"] for c in sofia.get("/api/canned").json()] == ["hours"]
    # Only the owner changes or deletes a personal one (to anyone else it does not exist).
    assert ben.request("PATCH", f"/api/canned/{mine['id']}", json={"title": "Ben's now"}).status_code == 404
    assert sofia.request("DELETE", f"/api/canned/{mine['id']}").status_code == 404
    r = ana.request("PATCH", f"/api/canned/{mine['id']}", json={"title": "Hello", "shortcut": "hello"})
    assert r.status_code == 200 and r.json()["title"] == "Hello" and r.json()["texts"] == GREETING
    # A shared one: agents use it, supervisors and admins keep it.
    assert ana.request("PATCH", f"/api/canned/{shared['id']}", json={"title": "x"}).status_code == 403
    assert ana.request("DELETE", f"/api/canned/{shared['id']}").status_code == 403
    r = staff["admin"].request("PATCH", f"/api/canned/{shared['id']}", json={"texts": {"en": "We open at 7."}})
    assert r.status_code == 200 and r.json()["texts"] == {"en": "We open at 7."}
    # Shortcuts are unique among one's own and among the shared; a personal one may shadow a shared one.
    assert ana.post("/api/canned", json={"shortcut": "hello", "title": "t", "texts": {"en": "x"}}).status_code == 409
    assert ana.post("/api/canned", json={"shortcut": "hours", "title": "Mine", "texts": {"en": "x"}}).status_code == 201
    assert ben.post("/api/canned", json={"shortcut": "hello", "title": "t", "texts": {"en": "x"}}).status_code == 201
    assert sofia.request("DELETE", f"/api/canned/{shared['id']}").status_code == 200
    assert [c["shortcut"] for c in ben.get("/api/canned").json()] == ["hello"]
    created = _audit(hub_server, "canned.create")
    assert [(d["shortcut"], d["shared"]) for _, _, d in created] == [
        ("hi", False),
        ("hours", True),
        ("hours", False),
        ("hello", False),
    ]
    assert [d["changed"] for _, _, d in _audit(hub_server, "canned.update")] == [["shortcut", "title"], ["texts"]]
    assert _audit(hub_server, "canned.delete")[0][0] == sofia.me["id"]


BAD = [
    ({"shortcut": "Hi There", "title": "t", "texts": {"en": "x"}}, 400),  # not a shortcut
    ({"shortcut": "hi", "title": "", "texts": {"en": "x"}}, 400),
    ({"shortcut": "hi", "title": "t", "texts": {}}, 400),
    ({"shortcut": "hi", "title": "t", "texts": {"en": "   "}}, 400),
    ({"shortcut": "hi", "title": "t", "texts": {"english": "x"}}, 400),
    ({"shortcut": "hi", "title": "t", "texts": {"en": "Hi {patient_first_name"}}, 400),  # broken syntax
    ({"shortcut": "hi", "title": "t", "texts": {"en": "Hi {nobody_knows}"}}, 400),  # unknown placeholder
    ({"shortcut": "hi", "title": "t", "texts": {"en": "x" * 2001}}, 400),
    ({"shortcut": "hi", "title": "t", "texts": {"en": "x"}, "owner_id": 1}, 400),  # unknown field
]


def test_bad_canned_replies_are_refused_clearly(hub_server, staff):
    ana = staff["ana"]
    for body, status in BAD:
        r = ana.post("/api/canned", json=body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["detail"], body
    r = ana.post("/api/canned", json={"shortcut": "hi", "title": "t", "texts": {"en": "Hi {nobody_knows}"}})
    assert r.json()["problems"][0]["code"] == "unknown_placeholder"
    assert ana.request("PATCH", "/api/canned/99999", json={"title": "x"}).status_code == 404
    assert ana.request("PATCH", "/api/canned/0", json={"title": "x"}).status_code == 400
    assert ana.get("/api/canned").json() == []


def test_a_canned_reply_is_filled_in_for_the_patient_and_audited(hub_server, staff):
    ana, ben = staff["ana"], staff["ben"]
    mine = ana.post("/api/canned", json={"shortcut": "hi", "title": "Hello", "texts": GREETING}).json()
    only_en = ana.post(
        "/api/canned", json={"shortcut": "appt", "title": "Appt", "texts": {"en": "See you {appointment_time}."}}
    ).json()
    maria = _maria(staff)
    r = ana.get(f"/api/conversations/{maria['id']}/canned/{mine['id']}")
    assert r.status_code == 200, r.text
    filled = r.json()
    assert (
        filled["text"] == "Hola María, soy Ana." and filled["locale"] == "es" and filled["missing_translation"] is False
    )
    assert filled["unresolved"] == []
    # No Spanish text: the clinic's language, said; a value the hub does not know, left marked.
    filled = ana.get(f"/api/conversations/{maria['id']}/canned/{only_en['id']}").json()
    assert filled["locale"] == "en" and filled["missing_translation"] is True
    assert filled["text"] == "See you [appointment date and time]."  # the text's language, English
    assert [u["name"] for u in filled["unresolved"]] == ["appointment_time"]
    # Someone else's personal reply does not exist for Ben.
    assert ben.get(f"/api/conversations/{maria['id']}/canned/{mine['id']}").status_code == 404
    assert ana.get(f"/api/conversations/99999/canned/{mine['id']}").status_code == 404
    rendered = _audit(hub_server, "canned.render")
    assert [(a, p, d["shortcut"]) for a, p, d in rendered] == [
        (ana.me["id"], maria["patient_id"], "hi"),
        (ana.me["id"], maria["patient_id"], "appt"),
    ]


def test_template_summaries_mark_the_assistants_own_and_translate_purposes(hub_server, staff):
    ana = staff["ana"]
    listed = {t["key"]: t for t in ana.get("/api/templates").json()}
    assert listed["bot_emergency_911"]["internal"] is True and listed["queue_wait"]["internal"] is True
    assert listed["greeting"]["internal"] is False and listed["faq_hours"]["internal"] is False
    assert listed["greeting"]["title"] == listed["greeting"]["purpose"]
    spanish = {t["key"]: t for t in ana.get("/api/templates", headers={"accept-language": "es"}).json()}
    assert spanish["greeting"]["title"] == "Primera respuesta de un agente, que se presenta"
    assert spanish["greeting"]["purpose"] == listed["greeting"]["purpose"]  # the stored purpose is unchanged


# --- channels that are not set up ----------------------------------------------------------------


def test_the_inbox_is_told_which_channels_are_set_up(hub_server, staff):
    out = {c["channel"]: c for c in staff["ana"].get("/api/reply-channels").json()}
    assert out["sms"]["configured"] is True and out["webchat"]["configured"] is True and out["api"]["configured"]
    assert out["email"]["configured"] is False and "Email is not set up" in out["email"]["reason"]
    es = {c["channel"]: c for c in staff["ana"].get("/api/reply-channels", headers={"accept-language": "es"}).json()}
    assert es["email"]["reason"] and "Email is not set up" not in es["email"]["reason"]


@pytest.fixture
def no_sms_hub(tmp_path):
    settings = hub_settings(tmp_path)
    srv = HubServer(replace(settings, sms=SmsSettings())).start()
    yield srv
    srv.stop()


def test_a_reply_by_sms_without_an_sms_provider_is_refused_clearly(no_sms_hub):
    ana = Staff(no_sms_hub.base_url, "ana")
    out = {c["channel"]: c for c in ana.get("/api/reply-channels").json()}
    assert out["sms"]["configured"] is False and "Text messages are not set up" in out["sms"]["reason"]
    maria = next(
        c for c in ana.get("/api/conversations").json()["conversations"] if c["patient_name"] == "María González"
    )
    r = ana.post(f"/api/conversations/{maria['id']}/messages", json={"text": "Hola", "channel": "sms"})
    assert r.status_code == 409 and "Text messages are not set up" in r.json()["detail"]
    r = ana.post(f"/api/conversations/{maria['id']}/messages", json={"text": "Hola"})  # her channel is SMS
    assert r.status_code == 409
    events = ana.get(f"/api/patients/{maria['patient_id']}/timeline", params={"limit": 200}).json()["events"]
    assert not any(e["kind"] == "message_out" and e["text"] == "Hola" for e in events)  # nothing left "Queued"
    r = ana.post(f"/api/conversations/{maria['id']}/messages", json={"text": "Hola", "channel": "api"})
    assert r.status_code == 201
    ana.close()


def test_a_canned_reply_follows_the_language_the_patient_writes_in(bot_hub):
    """A visitor whose widget said English writes Spanish: the assistant answers in Spanish and so
    does the canned reply, whatever language the record was saved with."""
    visitor = VisitorClient(bot_hub.base_url, bot_hub.ws_url)
    visitor.start("Lucía Núñez", language="en")
    visitor.open()
    visitor.until(lambda f: f["type"] == "ready")
    assert visitor.send("hola, donde estan ubicados?").status_code == 201
    visitor.until(lambda f: f["type"] == "message" and f["author"] == "bot")
    ana = Staff(bot_hub.base_url, "ana")
    mine = ana.post("/api/canned", json={"shortcut": "hi", "title": "Hello", "texts": GREETING}).json()
    conv = next(c for c in ana.get("/api/conversations").json()["conversations"] if c["patient_name"] == "Lucía Núñez")
    assert conv["language"] == "es"
    filled = ana.get(f"/api/conversations/{conv['id']}/canned/{mine['id']}").json()
    assert filled["text"] == "Hola Lucía, soy Ana." and filled["locale"] == "es"
    ana.close()
    visitor.close()

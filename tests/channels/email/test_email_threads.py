"""Three-message threads as Gmail, Outlook and Apple Mail write them, in English and Spanish: the
patient writes (real SMTP to the hub), the clinic answers (received at a real relay with the
thread's headers), the patient answers that (their client's quoting) and lands in the same
conversation with only what they wrote this time; the clinic's next answer continues the chain."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.clients import Staff
from tests.support.mail import DOMAIN, fixture_mail, mail_settings, rows, send_mail, simple_mail
from tests.support.paths import FIXTURES
from tests.support.server import HubServer
from tests.support.smtp_sink import SmtpSink

# client: (first message: fixture name or (subject, text), the patient, their reply's fixture, its Message-ID,
#          what the timeline shows of that reply)
THREADS: dict[str, tuple[Any, str, str, str, str]] = {
    "gmail-en": (
        "gmail_first_en",
        "linh.tran.sf@gmail.com",
        "gmail_reply_en",
        "CAKx8Pz_Lm3Yt5NbW0xv2Q9e7uHr4sJkP1cVa8dE6fTgWy0z@mail.gmail.com",
        "Tuesday at 10 works, thank you!\n\nLinh",
    ),
    "outlook-en": (
        "outlook_first_en",
        "robert.kim@outlook.com",
        "outlook_reply_en",
        "SJ0PR11MB5678F0E1D2C3B4A59687A1B2C3D4E@SJ0PR11MB5678.namprd11.prod.outlook.com",
        "Thank you. The member ID is on the back of the card: XKP 4471 0093.\n\nRobert",
    ),
    "apple-en": (
        "apple_first_en",
        "sam.rivera@icloud.com",
        "apple_reply_en",
        "1F2E3D4C-5B6A-4978-8695-A4B3C2D1E0F9@icloud.com",
        "Walgreens on Castro Street, please.",
    ),
    "gmail-es": (
        ("Cambio de cita", "Hola, necesito cambiar mi cita del jueves."),
        "maria.gonzalez.84@gmail.com",
        "gmail_reply_es",
        "CAF3nVb3Zr8Qp1Lk6Yw2Ne5Tx9Ms4Ug7Hd0Jc3Fa6Kb8Ve1@mail.gmail.com",
        "El martes a las 10 me viene bien. ¡Gracias!\n\nMaría",
    ),
    "outlook-es": (
        ("Pregunta sobre mi factura", "Buenos días, tengo una pregunta sobre mi factura."),
        "jose.martinez@hotmail.es",
        "outlook_reply_es",
        "AM9PR02MB7301C4B3A2918F7E6D5C4B3A2F1E0@AM9PR02MB7301.eurprd02.prod.outlook.com",
        "Buenas tardes:\n\nAdjunto la foto de la tarjeta del seguro. ¿Necesitan algo más?"
        "\n\nAtentamente,\nJosé Martínez",
    ),
    "apple-es": (
        ("Resultados", "Hola, ¿ya están mis resultados?"),
        "lucia.fernandez@me.com",
        "apple_reply_es",
        "5C4B3A29-1807-4F6E-9D8C-7B6A5F4E3D2C@me.com",
        "Muchas gracias. Le envío la foto de la receta anterior.\n\nUn saludo,\nLucía",
    ),
}


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as s:
        yield s


@pytest.fixture(scope="module")
def mail_hub(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[HubServer]:
    srv = HubServer(mail_settings(tmp_path_factory.mktemp("threads"), sink.port)).start()
    yield srv
    srv.stop()


def _first(srv: HubServer, spec: Any, address: str) -> tuple[str, str]:
    """The patient's first message; returns its Message-ID and subject."""
    if isinstance(spec, str):
        raw = fixture_mail(spec)
        case = json.loads((FIXTURES / "email" / f"{spec}.json").read_text())
        mid, subject = case["email"]["message_id"], case["email"]["subject"]
    else:
        subject, text = spec
        mid = f"first-{address}"
        raw = simple_mail(address, text, mid, subject=subject)
    assert send_mail(srv.settings.email.listen_port, raw, address).code == 250
    return mid, subject


def _record(srv: HubServer, message_id: str) -> tuple[int, int, str]:
    return rows(srv.settings, "SELECT message_seq, conversation_id, refs FROM email_messages WHERE message_id = ?",
                message_id)[0]  # fmt: skip


def _answer(srv: HubServer, sink: SmtpSink, conversation_id: int, text: str) -> Any:
    before = len(sink.messages)
    r = Staff(srv.base_url, "ana").post(
        f"/api/conversations/{conversation_id}/messages", json={"text": text, "channel": "email"}
    )
    assert r.status_code == 201, r.text
    return sink.wait_for(before + 1)[before]


def _ids(header: Any) -> list[str]:
    return [part.strip("<>") for part in str(header).split()]


@pytest.mark.parametrize("client", THREADS)
def test_a_three_message_thread(mail_hub: HubServer, sink: SmtpSink, client: str) -> None:
    first_spec, address, reply_fixture, reply_id, shown = THREADS[client]

    # 1. The patient writes.
    first_id, subject = _first(mail_hub, first_spec, address)
    _, conversation_id, _ = _record(mail_hub, first_id)

    # 2. The clinic answers: threaded on the patient's message, with the conversation's reply address.
    ours = _answer(mail_hub, sink, conversation_id, "Thank you for writing. Tuesday at 10:00 is free.")
    ours_id = str(ours["Message-ID"]).strip("<>")
    assert str(ours["Subject"]) == f"Re: {subject}"
    assert _ids(ours["In-Reply-To"]) == [first_id] and _ids(ours["References"]) == [first_id]
    token = str(ours["Reply-To"]).removeprefix("reply+").split("@")[0]
    assert str(ours["Reply-To"]) == f"reply+{token}@{DOMAIN}"
    assert rows(mail_hub.settings, "SELECT conversation_id FROM email_reply_tokens WHERE token = ?", token) == [
        (conversation_id,)
    ]
    assert _record(mail_hub, ours_id)[1] == conversation_id  # our Message-ID, recorded against it

    # 3. The patient answers from their client, quoting as it does: same conversation, new text only.
    raw = fixture_mail(reply_fixture, ours=ours_id, token=token)
    assert send_mail(mail_hub.settings.email.listen_port, raw, address).code == 250
    seq, conv, refs = _record(mail_hub, reply_id)
    assert conv == conversation_id
    patient = rows(mail_hub.settings, "SELECT patient_id FROM timeline_events WHERE seq = ?", seq)[0][0]
    events = Staff(mail_hub.base_url, "sofia").get(f"/api/patients/{patient}/timeline").json()["events"]
    event = next(e for e in events if e["seq"] == seq)
    assert event["text"] == shown
    assert event["data"]["email"]["quote_stripped"] is True and event["data"]["email"]["thread"] == "reply_token"
    assert ours_id in json.loads(refs)
    assert len({e["conversation_id"] for e in events if e["kind"] == "message_in"}) == 1

    # 4. The clinic's next answer continues the chain (RFC 5322 3.6.4).
    again = _answer(mail_hub, sink, conversation_id, "Booked. See you then.")
    assert _ids(again["In-Reply-To"]) == [reply_id]
    chain = _ids(again["References"])
    assert chain[-1] == reply_id and ours_id in chain
    assert str(again["Subject"]).lower().startswith("re: ") and "re: re:" not in str(again["Subject"]).lower()
    assert str(again["Reply-To"]) == str(ours["Reply-To"])

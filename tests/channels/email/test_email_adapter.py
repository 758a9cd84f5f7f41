"""The email adapter's own view of each fixture (what the channel contract does not cover:
subject, threading headers, quote stripping, sanitised HTML, parts, auto-reply and bounce), and
the pure pieces threading and the webhooks are made of."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import msgspec
import pytest

from channels.email.adapter import webhook_mail
from channels.email.html import html_to_text, inline_images, sanitise
from channels.email.ids import id_key, ids_in, reply_subject, token_in
from channels.email.mime import parse_mime
from channels.email.outbound import render_reply
from channels.email.quotes import strip_quotes
from channels.email.signature import mailgun_signature, mailgun_signature_ok
from tests.support.paths import FIXTURES as CHANNEL_FIXTURES

FIXTURES = sorted((CHANNEL_FIXTURES / "email").glob("*.json"))
CASES = [p for p in FIXTURES if "email" in json.loads(p.read_text())]


def _raw(case: dict) -> bytes:
    return base64.b64decode(case["raw_base64"]) if "raw_base64" in case else case["raw"].encode()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_parses_to_what_the_hub_needs(path: Path) -> None:
    case = json.loads(path.read_text())
    raw = _raw(case)
    if case["content_type"] == "message/rfc822":
        parsed = parse_mime(raw)
    else:
        mail = webhook_mail(raw, case["content_type"])
        parsed = parse_mime(mail.raw, mail.envelope_from, mail.envelope_to)
    got = {
        "message_id": parsed.message_id,
        "subject": parsed.subject,
        "sender_name": parsed.sender_name,
        "in_reply_to": parsed.in_reply_to,
        "references": list(parsed.references),
        "reply_tokens": list(parsed.reply_tokens),
        "quote_stripped": parsed.quote_stripped,
        "html": parsed.html,
        "attachments": [
            {
                "content_type": a.content_type,
                "filename": a.filename,
                "content_id": a.content_id,
                "inline": a.inline,
                "size": len(a.data),
            }
            for a in parsed.attachments
        ],
        "auto_reply": parsed.auto_reply,
        "bounce": json.loads(msgspec.json.encode(parsed.bounce)) if parsed.bounce else None,
        "defects": list(parsed.defects),
    }
    assert got == case["email"]


def test_sanitised_html_keeps_no_active_content() -> None:
    case = json.loads((FIXTURES[0].parent / "html_only.json").read_text())
    html = parse_mime(_raw(case)).html or ""
    for bad in ("<script", "onload", "javascript:", "tracker.example", "<style", "<title"):
        assert bad not in html
    assert "<b>sábado</b>" in html and 'href="https://example.org/info"' in html


def test_inline_images_survive_only_when_carried_in_the_message() -> None:
    html = sanitise(
        '<img src="data:image/png;base64,iVBORw0KGgo="><img src="https://t.example/p.gif"><a href="data:x">x</a>'
    )
    assert 'src="data:image/png' in html and "t.example" not in html and 'href="data' not in html


def test_images_the_message_carries_are_drawn_where_its_html_puts_them() -> None:
    case = json.loads((FIXTURES[0].parent / "apple_reply_es.json").read_text())
    html = parse_mime(_raw(case)).html or ""  # Apple Mail: <img src="cid:..."> in multipart/related
    assert '<img src="data:image/png;base64,iVBORw0KGgo' in html and "cid:" not in html
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP4z8DwHwAFAAIBpfW4xAAAAABJRU5ErkJggg=="
    )
    page = '<img src="cid:a%40x"><img src="cid:fake"><img src=\'cid:nowhere\'><img src="https://t.example/p.gif">'
    drawn = sanitise(inline_images(page, {"a@x": png, "fake": b"<svg onload=alert(1)>"}))
    assert drawn.count("data:image/png;base64,") == 1  # by its (percent-encoded) Content-ID
    assert "svg" not in drawn and "cid:" not in drawn and "t.example" not in drawn  # bytes that are no image: dropped
    assert (
        inline_images('<img src="cid:a@x">', {"a@x": png * (2 * 1024 * 1024 // len(png) + 1)}) == '<img src="cid:a@x">'
    )


@pytest.mark.parametrize(
    "text, subject, shown",
    [
        ("Yes please.\n\nOn Tue, Jan 6, 2026 at 9:00 AM Clinic <a@b.c> wrote:\n> Old", "Re: x", "Yes please."),
        ("Sí.\n\nEl mar, 6 ene 2026 a las 9:00, Clínica <a@b.c>\nescribió:\n> Viejo", "Re: x", "Sí."),
        ("Ok\n\n-----Original Message-----\nFrom: Clinic\nSent: Tuesday\nTo: me\nSubject: x\n\nOld", "RE: x", "Ok"),
        ("Vale\n\n-----Mensaje original-----\nDe: Clínica\nEnviado el: martes\nPara: yo\nAsunto: x", "RE: x", "Vale"),
        ("Thanks\n\n-- \nAna Pérez\n555 0100", "", "Thanks"),
        ("Gracias\n\nEnviado desde mi iPhone", "", "Gracias"),
        ("Gracias\n\nObtener Outlook para Android", "", "Gracias"),
        (
            "Inline answers:\n> question one?\nyes\n> question two?\nno",
            "Re: x",
            "Inline answers:\n> question one?\nyes\n> question two?\nno",
        ),
        (
            "see below\n\n---------- Forwarded message ---------\nFrom: Lab\nDate: x\nTo: y\nSubject: z\n\nresults",
            "Fwd: z",
            None,
        ),
        ("> only a quote\n> nothing new", "Re: x", None),
    ],
)
def test_quote_and_signature_stripping(text: str, subject: str, shown: str | None) -> None:
    got, stripped = strip_quotes(text, subject)
    assert got == (shown if shown is not None else text)
    assert stripped == (shown is not None and shown != text)


def test_html_quotes_are_told_apart_from_the_new_text() -> None:
    full, own = html_to_text(
        '<div>New text</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> x</div><p>Old</p>'
    )
    assert own == "New text" and "Old" in full
    _, own = html_to_text('<p>Mine</p><blockquote type="cite"><p>Theirs</p></blockquote><p>After</p>')
    assert own == "Mine\n\nAfter"


def test_message_ids_and_reply_addresses() -> None:
    assert ids_in(" <a@b>\r\n <c@d> <a@b>") == ["a@b", "c@d"]
    assert ids_in("a@b") == ["a@b"]  # brackets left out by some clients
    assert id_key("x" * 300).startswith("sha256:") and len(id_key("x" * 300)) < 80
    assert token_in("Reply+ABCDEFGHIJKLMNOP@clinic.test") == "abcdefghijklmnop"
    assert token_in("reply+short@clinic.test") is None and token_in("care@clinic.test") is None
    assert reply_subject("RE: Re: AW: Cita", "x") == "Re: Cita"
    assert reply_subject(None, "A message from us") == "A message from us"


def test_a_reply_carries_its_thread() -> None:
    raw = render_reply(
        from_address="care@clinic.test",
        from_name="Clínica Puente",
        to="ana@example.org",
        subject="Re: Cita",
        body="Hola Ana,\n\nSu cita es el martes.\n<b>no html</b>",
        message_id="m2@clinic.test",
        reply_to="reply+abcdefghijklmnop@clinic.test",
        in_reply_to="p1@example.org",
        references=("m0@clinic.test", "p1@example.org"),
    )
    parsed = parse_mime(raw.encode())
    assert parsed.message_id == "m2@clinic.test" and parsed.in_reply_to == "p1@example.org"
    assert parsed.references == ("m0@clinic.test", "p1@example.org")
    assert parsed.reply_tokens == ()  # Reply-To is where patients answer, not a recipient
    assert "Reply-To: reply+abcdefghijklmnop@clinic.test" in raw
    assert parsed.text == "Hola Ana,\n\nSu cita es el martes.\n<b>no html</b>"
    assert "&lt;b&gt;no html&lt;/b&gt;" in (parsed.html or "")
    assert raw.isascii()  # 7-bit on the wire: any relay takes it


def test_mailgun_signature() -> None:
    sig = mailgun_signature("key-1", "1767816000", "tok")
    assert mailgun_signature_ok("key-1", "1767816000", "tok", sig)
    assert not mailgun_signature_ok("key-1", "1767816001", "tok", sig)
    assert not mailgun_signature_ok("key-2", "1767816000", "tok", sig)
    assert not mailgun_signature_ok("", "1767816000", "tok", sig)

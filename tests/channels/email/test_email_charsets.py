"""Charsets as browsers read them (WHATWG Encoding): a label of ISO-8859-1 or US-ASCII is read as
Windows-1252 (Outlook's curly quotes, dashes and euro sign), invalid UTF-8 falls back to
Windows-1252 and then to what the bytes prove to be; no U+FFFD or C1 control character is stored
when a better reading exists. Pure: parse_mime on messages made here."""

from __future__ import annotations

import re

import pytest

from channels.email.mime import UNDECODABLE, UNKNOWN_CHARSET, parse_mime

C1 = re.compile(r"[\x80-\x9f]")


def _mail(body: bytes, charset: str | None, subject: bytes = b"Receta") -> bytes:
    content_type = b"text/plain" + (b"; charset=" + charset.encode() if charset else b"")
    return (
        b"From: Lola Ruiz <lola.ruiz@example.org>\r\nTo: care@clinic.test\r\nSubject: " + subject + b"\r\n"
        b"Message-ID: <charset-1@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: " + content_type + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n"
    )


SPANISH = "Necesito cambiar la cita del jueves a la mañana. ¿Es posible? Gracias, Begoña"
OUTLOOK = "¿Tienen la “receta” de mi madre? – Cuesta 20 €, ‘más o menos’… Gracias"
RUSSIAN = "Здравствуйте, мне нужно записаться к врачу на следующей неделе."
KOREAN = "다음 주 화요일에 예약할 수 있을까요? 감사합니다."
JAPANESE = "来週の火曜日に予約をお願いできますか。午後三時以降なら大丈夫です。よろしくお願いいたします。"


@pytest.mark.parametrize(
    "label, body, text",
    [
        ("utf-8", SPANISH.encode("latin-1"), SPANISH),  # labelled UTF-8, written in Latin-1
        ("UTF-8", OUTLOOK.encode("cp1252"), OUTLOOK),  # labelled UTF-8, written in Windows-1252
        ("iso-8859-1", OUTLOOK.encode("cp1252"), OUTLOOK),  # Outlook: labelled Latin-1, written in 1252
        ('"ISO-8859-1"', OUTLOOK.encode("cp1252"), OUTLOOK),
        ("latin1", OUTLOOK.encode("cp1252"), OUTLOOK),
        ("us-ascii", OUTLOOK.encode("cp1252"), OUTLOOK),
        (None, OUTLOOK.encode("cp1252"), OUTLOOK),
        ("iso-8859-1", SPANISH.encode("utf-8"), SPANISH),  # a legacy label over valid UTF-8
        ("utf-8", "Café con leche, ".encode("latin-1") + "mañana y pasado".encode(), "Café con leche, mañana y pasado"),
        ("utf-8", JAPANESE.encode("shift_jis"), JAPANESE),  # neither UTF-8 nor 1252: what the bytes prove
        ("iso-8859-1", SPANISH.encode("latin-1"), SPANISH),  # right labels still read right
        ("shift_jis", JAPANESE.encode("shift_jis"), JAPANESE),
        (None, RUSSIAN.encode("cp1251"), RUSSIAN),  # another script: what the bytes prove, not 1252
        ("utf-8", KOREAN.encode("cp949"), KOREAN),
        (None, "Ñoño".encode("latin-1"), "Ñoño"),  # a short Latin word stays Latin
    ],
)
def test_mislabelled_text_is_read_as_it_was_written(label: str | None, body: bytes, text: str) -> None:
    parsed = parse_mime(_mail(body, label))
    assert parsed.text == text
    assert "\ufffd" not in parsed.full_text and not C1.search(parsed.full_text)
    assert parsed.defects == ()


def test_headers_are_read_the_same_way() -> None:
    subject = b"=?iso-8859-1?Q?=93Receta=94_=96_20_=80?= " + "mañana".encode("latin-1")
    parsed = parse_mime(_mail(b"ok", "utf-8", subject=subject))
    assert parsed.subject == "“Receta” – 20 € mañana"


def test_an_unknown_label_is_noted_and_the_text_still_read() -> None:
    parsed = parse_mime(_mail(OUTLOOK.encode("cp1252"), "x-mac-klingon"))
    assert parsed.text == OUTLOOK and parsed.defects == (UNKNOWN_CHARSET,)


def test_bytes_no_charset_reads_are_replaced_and_noted() -> None:
    parsed = parse_mime(_mail(b"Dolor \x00\x81\x8d\x8f\x90\x9d\x00 fuerte", "utf-8"))
    assert parsed.text.startswith("Dolor ") and parsed.text.endswith(" fuerte")
    assert not C1.search(parsed.text) and UNDECODABLE in parsed.defects

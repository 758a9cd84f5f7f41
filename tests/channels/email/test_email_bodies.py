"""Where a message's words are: inline text parts that carry a filename, and messages forwarded
whole (message/rfc822), are shown as text, not only offered as a download. Pure: parse_mime."""

from __future__ import annotations

from channels.email.mime import parse_mime

HEAD = (
    b"From: Tom Baker <tom.baker@example.net>\r\nTo: care@clinic.test\r\nSubject: Knee\r\n"
    b"Message-ID: <body-1@example.net>\r\nMIME-Version: 1.0\r\n"
)
INNER = (
    b"From: Lab <lab@example.net>\r\nTo: tom.baker@example.net\r\nSubject: Results\r\n"
    b"Date: Mon, 5 Jan 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="in"\r\n\r\n'
    b"--in\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Potassium: <b>5.9</b> mmol/L (high)</p>\r\n"
    b'--in\r\nContent-Type: application/pdf; name="results.pdf"\r\nContent-Disposition: attachment; '
    b'filename="results.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--in--\r\n'
)


def test_named_inline_text_is_read_beside_the_body_and_stays_a_file() -> None:
    raw = HEAD + (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nMy readings are below.\r\n"
        b'--b\r\nContent-Type: text/plain; charset=utf-8; name="readings.txt"\r\n'
        b'Content-Disposition: inline; filename="readings.txt"\r\n\r\nMon 150/95\r\nTue 160/100\r\n'
        b'--b\r\nContent-Type: text/plain; charset=utf-8; name="old.txt"\r\n'
        b'Content-Disposition: attachment; filename="old.txt"\r\n\r\nan attached file\r\n--b--\r\n'
    )
    parsed = parse_mime(raw)
    assert parsed.text == "My readings are below.\n\nMon 150/95\nTue 160/100"
    assert [a.filename for a in parsed.attachments] == ["readings.txt", "old.txt"]  # an attachment stays one


def test_a_message_forwarded_as_the_message_itself_is_shown_with_its_headers() -> None:
    parsed = parse_mime(
        HEAD.replace(b"Subject: Knee", b"Subject: Lab") + b"Content-Type: message/rfc822\r\n\r\n" + INNER
    )
    assert parsed.text == (
        "---------- Forwarded message ----------\nFrom: Lab <lab@example.net>\n"
        "Date: Mon, 5 Jan 2026 08:00:00 +0000\nSubject: Results\nTo: tom.baker@example.net\n\n"
        "Potassium: 5.9 mmol/L (high)"
    )
    assert parsed.quote_stripped is False and "<b>5.9</b>" in (parsed.html or "")
    assert [a.filename for a in parsed.attachments] == ["results.pdf"]  # its .eml is the original itself


def test_a_forward_that_is_all_a_message_carries_is_shown_and_kept() -> None:
    raw = HEAD + (
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: message/rfc822\r\n\r\n" + INNER + b"--b--\r\n"
    )
    parsed = parse_mime(raw)
    assert "Potassium: 5.9 mmol/L (high)" in parsed.text and "Subject: Results" in parsed.text
    assert [a.filename for a in parsed.attachments] == ["message.eml"]
    with_text = raw.replace(
        b"--b\r\nContent-Type: message/rfc822",
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee the lab's mail.\r\n--b\r\nContent-Type: message/rfc822",
    )
    assert parse_mime(with_text).text == "See the lab's mail."  # a forward beside words: kept as its .eml

"""Outbound mail as bytes on the wire, rendered without I/O.

A message is rendered completely (headers, Message-ID) when it is queued, so what the outbox
stores is exactly what the relay gets, and its Message-ID is known before it leaves.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from html import escape


def render_text_mail(from_address: str, from_name: str, to: str, subject: str, body: str) -> str:
    """A plain-text message (UTF-8, quoted-printable where needed) with its own Message-ID."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((from_name, from_address))
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    domain = from_address.rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: an automatic message; no auto-replies to it
    msg.set_content(body)
    return msg.as_string()


def envelope_sender(from_header: str) -> str:
    return parseaddr(from_header)[1]


def _html(body: str) -> str:
    """The agent's text as simple HTML: paragraphs at blank lines, line breaks kept, all escaped."""
    paragraphs = [p for p in body.replace("\r\n", "\n").split("\n\n") if p.strip()]
    inner = "".join(f"<p>{escape(p.strip()).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body><div style="font-family:sans-serif;font-size:15px;line-height:1.5">{inner}</div></body></html>'
    )


def render_reply(
    *,
    from_address: str,
    from_name: str,
    to: str,
    subject: str,
    body: str,
    message_id: str,
    reply_to: str,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
) -> str:
    """An agent's reply: text and HTML alternatives, our own Message-ID (given, without brackets),
    In-Reply-To and References for the thread (RFC 5322 3.6.4), and the conversation's reply
    address in Reply-To."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((from_name, from_address))
    msg["To"] = to
    msg["Reply-To"] = reply_to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        msg["References"] = " ".join(f"<{r}>" for r in references)
    msg.set_content(body, cte="quoted-printable")
    msg.add_alternative(_html(body), subtype="html", cte="quoted-printable")
    return msg.as_string()


def new_message_id(domain: str) -> str:
    """A fresh Message-ID, without its brackets."""
    return make_msgid(idstring="puente", domain=domain).strip("<>")

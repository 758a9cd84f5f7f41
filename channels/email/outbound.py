"""Outbound mail as bytes on the wire, rendered without I/O.

A message is rendered completely (headers, Message-ID) when it is queued, so what the outbox
stores is exactly what the relay gets, and its Message-ID is known before it leaves.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr, formatdate, make_msgid, parseaddr


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

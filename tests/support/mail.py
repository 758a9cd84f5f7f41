"""Email test helpers: a hub that takes mail for clinic.test on a real SMTP port and sends its
replies to a real SMTP sink, and an aiosmtplib client that tells what the hub answered."""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import ssl
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiosmtplib

from hub.settings import Settings
from tests.support.server import free_port, hub_settings

DOMAIN = "clinic.test"
CLINIC_FROM = f"care@{DOMAIN}"
SENDGRID_SECRET = "sendgrid-parse-secret"
MAILGUN_KEY = "key-mailgun-signing-test"


def mail_settings(tmp_path: Path, sink_port: int | None = None, db_url: str | None = None, **email: Any) -> Settings:
    """email: fields of EmailSettings to override."""
    settings = hub_settings(tmp_path, db_url=db_url)
    return replace(
        settings,
        email=replace(
            settings.email,
            **{
                "domains": (DOMAIN,),
                "listen_port": free_port(),
                "from_address": CLINIC_FROM,
                "sendgrid_secret": SENDGRID_SECRET,
                "mailgun_signing_key": MAILGUN_KEY,
                **email,
            },
        ),
        smtp=replace(
            settings.smtp,
            host="127.0.0.1" if sink_port else "",
            port=sink_port or 25,
            security="none",
            from_address=CLINIC_FROM,
        ),
    )


class Answer:
    """What the hub's SMTP listener answered: the code and text of the first refusal, or of DATA."""

    def __init__(self, code: int, message: str) -> None:
        self.code, self.message = code, message

    def __repr__(self) -> str:
        return f"<{self.code} {self.message}>"


async def _send(
    port: int, raw: bytes, mail_from: str, rcpt_to: list[str], declare_size: bool, tls_ca: str | None
) -> Answer:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30, start_tls=False)
    await client.connect()
    try:
        await client.ehlo()
        if tls_ca is not None:
            await client.starttls(tls_context=ssl.create_default_context(cafile=tls_ca))
        try:
            await client.mail(mail_from, options=[f"SIZE={len(raw)}"] if declare_size else [])
            for rcpt in rcpt_to:
                await client.rcpt(rcpt)
            response = await client.data(raw)
        except aiosmtplib.SMTPResponseException as exc:
            return Answer(exc.code, exc.message)
        return Answer(response.code, response.message)
    finally:
        if client.is_connected:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()


def send_mail(
    port: int,
    raw: bytes,
    mail_from: str = "",
    rcpt_to: list[str] | None = None,
    declare_size: bool = False,
    tls_ca: str | None = None,
) -> Answer:
    """Send over real SMTP from a thread of its own (so it works beside Playwright's event loop).
    An empty mail_from is the null sender <>, as bounces use. tls_ca: start TLS first, trusting
    that certificate."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(asyncio.run(_send(port, raw, mail_from, rcpt_to or [CLINIC_FROM], declare_size, tls_ca)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            out.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join(60)
    if not out:
        raise AssertionError("the SMTP exchange did not finish")
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


def rows(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Read the hub's SQLite database directly, as it is committed."""
    path = settings.database.url.split("///", 1)[1]
    with sqlite3.connect(path) as db:
        return db.execute(sql, params).fetchall()


FIXTURES = Path(__file__).resolve().parent.parent / "channels" / "fixtures" / "email"
# What the fixtures' replies answer: the clinic's message and reply address, swapped for real ones.
FIXTURE_OURS = "puente.0001@clinic.test"
FIXTURE_TOKEN = "6qfpboelfzubepz7"


def fixture_mail(name: str, ours: str | None = None, token: str | None = None) -> bytes:
    """A fixture's raw message; a reply made to answer the hub's message `ours` at `token`."""
    case = json.loads((FIXTURES / f"{name}.json").read_text())
    raw = base64.b64decode(case["raw_base64"]) if "raw_base64" in case else case["raw"].encode()
    if ours:
        raw = raw.replace(FIXTURE_OURS.encode(), ours.encode())
    if token:
        raw = raw.replace(FIXTURE_TOKEN.encode(), token.encode())
    return raw


def simple_mail(
    sender: str,
    text: str,
    message_id: str,
    subject: str = "Hello",
    to: str = CLINIC_FROM,
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain UTF-8 message as a simple client writes it."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: <{message_id}>"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit"]
    return ("\r\n".join(lines) + "\r\n\r\n" + text.replace("\n", "\r\n") + "\r\n").encode()

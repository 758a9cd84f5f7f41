"""One sender per channel: a due outbox item out through its provider, the answer as a SendOutcome.

The rule everywhere: retry only when the provider certainly did not take the message (it
refused with a temporary code, or we never reached it). When it may have taken it (no answer
after the request went out), fail visibly rather than risk the patient getting it twice.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol

import aiosmtplib
import httpx

from channels.base import SendOutcome
from channels.sms.adapter import OutboundSms, read_lookup, read_send_reply, render_lookup, render_send
from hub.outbox.queue import STALE_CLAIM, UNKNOWN_OUTCOME, Due
from hub.settings import Settings


class Sender(Protocol):
    @property
    def configured(self) -> bool:
        """Whether the clinic set this channel's provider up; unconfigured channels keep their queue."""

    async def send(self, due: Due) -> SendOutcome:
        """Hand one item to the provider."""

    async def reconcile(self, due: Due) -> SendOutcome | None:
        """After an unclear answer: the provider's own record of this item (accepted, with its id),
        None when it has none (send it), or a retry outcome when it could not be asked."""


class SmsSender:
    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self._sms = settings.sms
        self._client = client
        # Without a public URL the provider could not reach us: ask for no callbacks at all.
        public = settings.sms.public_url
        self._status_callback = public.rstrip("/") + "/api/channels/sms/status" if public else None

    @property
    def configured(self) -> bool:
        return bool(self._sms.account_sid and self._sms.auth_token and self._sms.from_number)

    async def send(self, due: Due) -> SendOutcome:
        if due.to is None:
            return SendOutcome("rejected", error="the patient has no phone number that accepts SMS")
        path, fields = render_send(
            self._sms.account_sid, self._sms.from_number, OutboundSms(due.to, due.body), self._status_callback
        )
        try:
            r = await self._client.post(
                self._sms.api_base_url.rstrip("/") + path,
                data=_form(fields),
                auth=(self._sms.account_sid, self._sms.auth_token),
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            return SendOutcome("retry", error=f"could not reach the SMS provider ({type(exc).__name__})")
        except httpx.HTTPError as exc:  # sent, but no answer: it may or may not have gone out
            return SendOutcome("unknown", error=f"no answer from the SMS provider ({type(exc).__name__})")
        return read_send_reply(r.status_code, r.content)

    async def reconcile(self, due: Due) -> SendOutcome | None:
        if due.to is None:
            return None
        path, query = render_lookup(
            self._sms.account_sid, self._sms.from_number, due.to, due.written_at or datetime.now(UTC)
        )
        url: str | None = self._sms.api_base_url.rstrip("/") + path
        params: list[tuple[str, str]] | None = query
        for _page in range(5):  # the newest first: ours is on the first page or two
            try:
                r = await self._client.get(url, params=params, auth=(self._sms.account_sid, self._sms.auth_token))
            except httpx.HTTPError as exc:
                return SendOutcome("retry", error=f"could not ask the SMS provider ({type(exc).__name__})")
            found, next_page = read_lookup(
                r.status_code, r.content, due.body, due.written_at or datetime.now(UTC), set(due.known_ids)
            )
            if found is not None or next_page is None:
                return found
            url, params = self._sms.api_base_url.rstrip("/") + next_page, None
        return SendOutcome("retry", error="the SMS provider's list is longer than expected")


def _form(fields: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """Form fields for httpx, keeping repeated names (MediaUrl) as lists."""
    out: dict[str, str | list[str]] = {}
    for name, value in fields:
        if name in out:
            previous = out[name]
            out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[name] = value
    return out


# All of one mail's conversation with the relay (connect, STARTTLS, AUTH, MAIL, RCPT, DATA; each
# command has the relay's own timeout) ends well before its claim looks stale: a slow relay must
# not have a mail that went out failed as "outcome unknown" behind its back.
SEND_DEADLINE_S = STALE_CLAIM.total_seconds() * 0.75
QUIT_TIMEOUT_S = 5.0


class EmailSender:
    """Mail through the clinic's relay (STARTTLS, implicit TLS or plain, with or without
    auth). The outbox holds the message fully rendered; it goes out byte for byte."""

    def __init__(self, settings: Settings) -> None:
        self._smtp = settings.smtp

    @property
    def configured(self) -> bool:
        return bool(self._smtp.host and self._smtp.from_address)

    async def reconcile(self, due: Due) -> SendOutcome | None:
        # A relay keeps no list to ask: an unclear send is never repeated (hub.outbox.queue.ASKABLE).
        return SendOutcome("rejected", error=UNKNOWN_OUTCOME)

    async def send(self, due: Due) -> SendOutcome:
        if due.to is None:
            return SendOutcome("rejected", error="the patient has no email address that accepts mail")
        smtp = self._smtp
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            use_tls=smtp.security == "tls",
            start_tls=True if smtp.security == "starttls" else False,
            timeout=smtp.timeout_s,
            cert_bundle=smtp.ca_file or None,  # a relay with a certificate from the clinic's own CA
        )
        deadline = asyncio.get_running_loop().time() + SEND_DEADLINE_S
        try:
            try:
                async with asyncio.timeout_at(deadline):
                    await client.connect()
                    if smtp.username:
                        await client.login(smtp.username, smtp.password)
            except aiosmtplib.SMTPResponseException as exc:  # refused us before any message
                return SendOutcome("retry", error_code=str(exc.code), error=f"the mail relay refused: {exc.message}")
            except (aiosmtplib.SMTPException, OSError) as exc:
                return SendOutcome("retry", error=f"could not reach the mail relay ({type(exc).__name__})")
            try:
                async with asyncio.timeout_at(deadline):  # a timeout here is an OSError: not resent
                    await client.sendmail(smtp.from_address, [due.to], due.body)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                return _refused(exc.recipients[0].code, exc.recipients[0].message)
            except aiosmtplib.SMTPResponseException as exc:
                return _refused(exc.code, exc.message)
            except (aiosmtplib.SMTPException, OSError) as exc:
                return SendOutcome(
                    "rejected",
                    error=f"no answer from the mail relay ({type(exc).__name__}); not resent in case it went out",
                )
            return SendOutcome("accepted", status="sent")
        finally:
            if client.is_connected:
                try:
                    async with asyncio.timeout(QUIT_TIMEOUT_S):
                        await client.quit()
                except (aiosmtplib.SMTPException, OSError):
                    client.close()


def _refused(code: int, message: str) -> SendOutcome:
    """4xx: try again later (RFC 5321 4.2.1); 5xx: it never will."""
    kind = "retry" if 400 <= code < 500 else "rejected"
    return SendOutcome(kind, error_code=str(code), error=f"the mail relay answered {code} {message}"[:300])

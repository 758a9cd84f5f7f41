"""Twilio's voicemail recording callback (the <Record> verb's action, or a recording status
callback) as a patient's message on the voice channel, with the recording attached.

Pure translation, like the SMS adapter: form (or JSON) fields in, a normalised message out.
RecordingUrl is fetched later by the hub's media worker, with the account's credentials, from
the provider's own origin only. Without an extension it serves WAV; `.mp3` asks for MP3.
"""

from __future__ import annotations

import json
import re

from channels.base import Attachment, Channel, InboundMessage, InvalidPayload, Sender
from channels.sms.adapter import _required, parse_form

# RecordingStatus values that mean there is nothing to keep (no audio was captured)
NOTHING_RECORDED = {"absent", "failed", "deleted"}
TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


_CALL_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")


class CallerUnknown(InvalidPayload):
    """A recording status callback names the call, not the caller: look the call up (its `from`)
    and parse again with that caller."""

    def __init__(self, call_sid: str) -> None:
        super().__init__("missing From: the caller is looked up by CallSid")
        self.call_sid = call_sid


def parse_voicemail(body: bytes, content_type: str, caller: str | None = None) -> InboundMessage | None:
    """The voicemail as a message, or None when the callback says no audio was recorded.
    caller: the caller as the provider's call record gives it, when the callback has no From."""
    fields = dict(parse_form(body, content_type))
    sid = _required(fields, "RecordingSid")
    url = _required(fields, "RecordingUrl")
    if caller is None and not any(fields.get(n, "").strip() for n in ("From", "Caller")):
        call_sid = fields.get("CallSid", "").strip()
        if _CALL_SID.match(call_sid):
            raise CallerUnknown(call_sid)
    caller = caller or _required(fields, "From", "Caller")
    if fields.get("RecordingStatus", "completed").strip().lower() in NOTHING_RECORDED:
        return None
    duration = fields.get("RecordingDuration", "").strip()
    if duration and not duration.lstrip("-").isdigit():
        raise InvalidPayload("RecordingDuration must be a whole number of seconds")
    if duration and int(duration) <= 0:
        return None  # the caller hung up before saying anything
    path = url.split("?", 1)[0].lower()
    kind = next((t for ext, t in TYPES.items() if path.endswith(ext)), "audio/wav")
    return InboundMessage(
        channel=Channel.VOICE,
        provider_message_id=sid,
        sender=Sender("phone", caller),
        attachments=[Attachment(content_type=kind, url=url)],
    )


def render_call_lookup(account_sid: str, call_sid: str) -> str:
    """The path of Twilio's call record (GET, the account's Basic auth)."""
    return f"/2010-04-01/Accounts/{account_sid}/Calls/{call_sid}.json"


def read_call_lookup(status_code: int, body: bytes) -> str | None:
    """The caller (`from`) of a call record, or None when the provider could not say now;
    InvalidPayload when it has no such call."""
    if status_code == 404:
        raise InvalidPayload("the provider has no call with that CallSid")
    if not 200 <= status_code < 300:
        return None
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return None
    caller = data.get("from") if isinstance(data, dict) else None
    return caller.strip() if isinstance(caller, str) and caller.strip() else None

"""Twilio's voicemail recording callback (the <Record> verb's action, or a recording status
callback) as a patient's message on the voice channel, with the recording attached.

Pure translation, like the SMS adapter: form (or JSON) fields in, a normalised message out.
RecordingUrl is fetched later by the hub's media worker, with the account's credentials, from
the provider's own origin only. Without an extension it serves WAV; `.mp3` asks for MP3.
"""

from __future__ import annotations

from channels.base import Channel, InboundMessage, InvalidPayload, Sender
from channels.sms.adapter import _required, parse_form
from hub.events import Attachment

# RecordingStatus values that mean there is nothing to keep (no audio was captured)
NOTHING_RECORDED = {"absent", "failed", "deleted"}
TYPES = {".mp3": "audio/mpeg", ".wav": "audio/wav"}


def parse_voicemail(body: bytes, content_type: str) -> InboundMessage | None:
    """The voicemail as a message, or None when the callback says no audio was recorded."""
    fields = dict(parse_form(body, content_type))
    sid = _required(fields, "RecordingSid")
    url = _required(fields, "RecordingUrl")
    caller = _required(fields, "From", "Caller")
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

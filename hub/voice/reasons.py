"""Why a voice note could not be transcribed, or a recording was refused: codes and catalog
messages with named placeholders. The record keeps the code and its parameters; the English
text goes in events and logs, and each reader gets the reason in their own language."""

from __future__ import annotations

from hub.i18n import _
from hub.refusals import JobFailure, Reasons

REASONS: dict[str, str] = {
    "too_big": _("The recording is larger than the limit of {limit}."),
    "too_long": _("The recording is longer than the limit of {limit}."),
    "undecodable": _("The recording could not be decoded: it is damaged or not audio."),
    "no_audio": _("The file holds no sound: it is not a voice recording."),
    "missing": _("The recording's file is missing from the hub's storage."),
    "engine": _("The transcription engine failed: {detail}"),
    "crashed": _("The audio decoder stopped unexpectedly."),
    "timeout": _("Transcription took too long."),
    "interrupted": _("Transcription was interrupted too many times."),
}


VOICE = Reasons(REASONS, fallback="crashed")


class VoiceFailure(JobFailure):
    """A voice note that will not get a transcript (or not yet: `transient` is worth retrying)."""

    reasons = VOICE


reason_text = VOICE.text


def seconds_label(seconds: float) -> str:
    """300 -> '5 min', 90 -> '1 min 30 s', 45 -> '45 s' (units read the same in English and Spanish)."""
    whole = int(round(seconds))
    minutes, rest = divmod(whole, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min" if not rest else f"{minutes} min {rest} s"

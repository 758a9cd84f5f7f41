"""Why an attachment could not be kept: a code, catalog messages with named placeholders, and
whether trying again later may help. The record keeps the code and its parameters, so each
reader gets the reason in their own language; the English text goes in events and logs."""

from __future__ import annotations

from hub.i18n import _
from hub.refusals import JobFailure, Reasons

REASONS: dict[str, str] = {
    "bad_url": _("The attachment's address is not one the hub fetches from (an https link is needed)."),
    "type_not_allowed": _("Attachments of type {type} are not accepted."),
    "type_mismatch": _("The file's content is not the {type} it claims to be."),
    "too_large": _("The attachment is larger than the limit of {limit}."),
    "empty": _("The provider sent an empty file."),
    "not_found": _("The provider no longer has this attachment (HTTP {status})."),
    "refused": _("The provider refused to hand over this attachment (HTTP {status})."),
    "provider_error": _("The provider failed to send this attachment (HTTP {status})."),
    "unreachable": _("The provider could not be reached."),
    "timeout": _("The provider took too long to send this attachment."),
    "redirects": _("The provider redirected too many times."),
    "storage": _("The attachment could not be saved on the hub."),
    "interrupted": _("Fetching was interrupted too many times."),
}


MEDIA = Reasons(REASONS, fallback="storage")


class Failure(JobFailure):
    """A fetch that did not end with a stored file. transient: worth trying again later."""

    reasons = MEDIA


reason_text, refusal = MEDIA.text, MEDIA.refusal


def size_label(n: int) -> str:
    """5242880 -> '5 MB' (binary megabytes, as the limit is set)."""
    if n >= 1024 * 1024:
        value = n / (1024 * 1024)
        return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"

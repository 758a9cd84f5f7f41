"""A published template filled in for a patient with no conversation yet (a first message): in
their language, with their data, as hub.templates.controllers.fill_in does inside a conversation."""

from __future__ import annotations

from typing import Any

from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from hub.db.models import Patient
from hub.i18n import _, language_of
from hub.refusals import Refused
from hub.settings import ClinicSettings
from hub.templates.content import pick, render_variant
from hub.templates.controllers import FilledIn, _unresolved
from hub.templates.render import Reader
from hub.templates.store import published_content

__all__ = ["FilledIn", "fill_in_for_patient"]


async def fill_in_for_patient(
    s: AsyncSession, clinic: ClinicSettings, request: Request[Any, Any, Any], patient: Patient, key: str, channel: str
) -> FilledIn:
    content = await published_content(s, key)
    language = patient.preferred_language or clinic.default_language
    picked = pick(content, channel, language, clinic.default_language)
    if picked is None:
        raise Refused(409, _("The template {key} has no text for this channel."), key=key)
    name = (patient.name or "").strip()
    values = {
        "patient_name": name or None,
        "patient_first_name": name.split()[0] if name else None,
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "agent_first_name": request.user.display_name.split()[0],
    }
    reader = Reader(picked.locale, clinic.default_region, clinic.timezone)
    rendered = render_variant(picked.channel, picked.variant, values, reader)
    ui = language_of(request)
    return FilledIn(
        key,
        picked.channel,
        picked.locale,
        language,
        picked.missing_translation,
        rendered.subject,
        rendered.body,
        [_unresolved(n, ui, reader.base) for n in rendered.unresolved],
    )

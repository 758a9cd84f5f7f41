"""GET /api/media/{id}: a patient's attachment, to staff who may see the patient. Every read is
audited before the file is sent. Files are served as the type their bytes were checked to be,
never sniffed again by the browser, never cached, and sandboxed if opened on their own."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, get
from litestar.response import File

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import IdPath
from hub.db.models import Media
from hub.deps import HubDep
from hub.i18n import _
from hub.media.reasons import refusal
from hub.media.sniff import EXTENSIONS, INLINE
from hub.refusals import Refused
from hub.timeline.reads import may_see_patient

log = logging.getLogger(__name__)

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
}


@get("/api/media/{media_id:int}", guards=[requires(Role.AGENT)])
async def media_file(request: Request[Principal, Any, Any], media_id: IdPath, hub: HubDep) -> File:
    async with hub.read_sessions() as s:
        row = await s.get(Media, media_id)
        if row is None or not await may_see_patient(s, request.user, row.patient_id):
            raise Refused(404, _("No attachment {id} that you can see."), id=media_id)
    if row.state in ("pending", "fetching"):
        raise Refused(409, _("This attachment is still being fetched. Try again in a moment."))
    if row.state != "stored" or not row.sha256 or not row.content_type:
        message, params = refusal(row.error_code, row.error_params)
        raise Refused(410, message, **params)
    path = hub.media.store.path_of(row.sha256)
    if not path.is_file():
        log.error("media %d: its file is missing from storage", row.id)
        raise Refused(410, _("The attachment's file is missing from the hub's storage."))
    await hub.writer.submit(
        write_audit_batch,
        AuditRecord(
            AuditAction.MEDIA_READ,
            request.user.id,
            Origin.of(request),
            row.patient_id,
            detail={"media_id": row.id, "message_seq": row.message_seq},
        ),
    )
    return File(
        path,
        media_type=row.content_type,
        filename=f"attachment-{row.id}.{EXTENSIONS.get(row.content_type, 'bin')}",
        content_disposition_type="inline" if row.content_type in INLINE else "attachment",
        headers=HEADERS,
    )

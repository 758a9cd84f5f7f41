"""GET /api/media/{id}/playable: a voice note's copy that every browser plays (AAC in MP4), made when
the original is not such a file (AMR, 3GPP, Ogg or WebM Opus). Served like the original: to
staff who may see the patient, every read audited first, never sniffed, never cached."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import File
from sqlalchemy import select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import IdPath
from hub.db.models import VoiceNote
from hub.deps import HubDep
from hub.i18n import _
from hub.media.controllers import HEADERS
from hub.refusals import Refused
from hub.timeline.reads import may_see_patient
from hub.voice.audio import PLAYABLE_TYPE


@get("/api/media/{media_id:int}/playable", guards=[requires(Role.AGENT)])
async def playable_file(request: Request[Principal, Any, Any], media_id: IdPath, hub: HubDep) -> File:
    async with hub.read_sessions() as s:
        note = (await s.execute(select(VoiceNote).where(VoiceNote.media_id == media_id))).scalar_one_or_none()
        if note is None or not await may_see_patient(s, request.user, note.patient_id):
            raise Refused(404, _("No voice note {id} that you can see."), id=media_id)
    if note.duration_s is None:
        raise Refused(409, _("This voice note is still being checked. Try again in a moment."))
    if not note.playable_sha256:
        raise Refused(404, _("This voice note plays as it is: no copy was needed."))
    path = hub.media.store.path_of(note.playable_sha256)
    if not path.is_file():
        raise Refused(410, _("The attachment's file is missing from the hub's storage."))
    await hub.writer.submit(
        write_audit_batch,
        AuditRecord(
            AuditAction.MEDIA_READ,
            request.user.id,
            Origin.of(request),
            note.patient_id,
            detail={"media_id": media_id, "message_seq": note.message_seq, "copy": "playable"},
        ),
    )
    return File(
        path,
        media_type=PLAYABLE_TYPE,
        filename=f"voice-note-{media_id}.m4a",
        content_disposition_type="inline",
        headers=HEADERS,
    )

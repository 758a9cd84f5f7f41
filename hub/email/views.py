"""An email's original, for staff who may see the patient: the source as it arrived (or as the
hub sent it), and its HTML once sanitised. Every read is audited before anything is sent.

Nothing of a message is ever rendered as it came: the source is served as plain text (or as a
.eml download), the HTML only as nh3 left it, in a sandboxed document that may load nothing
(no scripts, no remote images, no forms), never cached, never sniffed into another type.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

import anyio
from litestar import Request, Response, get
from litestar.params import FromQuery, PathParameter
from sqlalchemy import select

from channels.email.mime import parse_mime
from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import MAX_SEQ
from hub.db.models import EmailMessage, OutboxItem
from hub.deps import Hub, HubDep
from hub.i18n import _
from hub.refusals import Refused
from hub.timeline.reads import may_see_patient

SeqPath = Annotated[int, PathParameter(ge=1, le=MAX_SEQ)]
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Referrer-Policy": "no-referrer",
}
SOURCE_CSP = "sandbox; default-src 'none'"
HTML_CSP = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"

NOT_FOUND = _("No email {seq} that you can see.")
MISSING = _("The original of this email is missing from the hub's storage.")
NO_HTML = _("This email has no HTML version.")


async def _original(request: Request[Principal, Any, Any], hub: Hub, seq: int, what: str) -> tuple[EmailMessage, bytes]:
    async with hub.read_sessions() as s:
        row = (
            await s.execute(select(EmailMessage).where(EmailMessage.message_seq == seq).order_by(EmailMessage.id))
        ).scalar_one_or_none()
        if row is None or row.patient_id is None or not await may_see_patient(s, request.user, row.patient_id):
            raise Refused(404, NOT_FOUND, seq=seq)
        sent = None
        if row.direction == "out":
            sent = (await s.execute(select(OutboxItem.body).where(OutboxItem.message_seq == seq))).scalar_one_or_none()
    if row.direction == "out":
        if sent is None:
            raise Refused(410, MISSING)
        raw = sent.encode("utf-8", "surrogateescape")
    else:
        path = hub.media.store.path_of(row.raw_sha256) if row.raw_sha256 else None
        if path is None or not await anyio.Path(path).is_file():
            raise Refused(410, MISSING)
        raw = await anyio.Path(path).read_bytes()
    await hub.writer.submit(
        write_audit_batch,
        AuditRecord(
            AuditAction.EMAIL_ORIGINAL_READ,
            request.user.id,
            Origin.of(request),
            row.patient_id,
            row.conversation_id,
            {"message_seq": seq, "part": what},
        ),
    )
    return row, raw


@get("/api/email/messages/{seq:int}/source", guards=[requires(Role.AGENT)])
async def email_source(
    request: Request[Principal, Any, Any], seq: SeqPath, hub: HubDep, download: FromQuery[bool] = False
) -> Response[bytes]:
    """The message as it arrived (or as the hub sent it), as text; `?download=true` as a .eml file."""
    _, raw = await _original(request, hub, seq, "source")
    if download:
        return Response(
            raw,
            media_type="message/rfc822",
            headers={
                **HEADERS,
                "Content-Security-Policy": SOURCE_CSP,
                "Content-Disposition": f'attachment; filename="message-{seq}.eml"',
            },
        )
    text = raw.decode("utf-8", "replace")
    return Response(
        text.encode(),
        media_type="text/plain",
        headers={**HEADERS, "Content-Security-Policy": SOURCE_CSP},
    )


@get("/api/email/messages/{seq:int}/html", guards=[requires(Role.AGENT)])
async def email_html(request: Request[Principal, Any, Any], seq: SeqPath, hub: HubDep) -> Response[bytes]:
    """The message's HTML, sanitised, in a document that can run and load nothing."""
    row, raw = await _original(request, hub, seq, "html")
    parsed = await anyio.to_thread.run_sync(parse_mime, raw)
    if parsed.html is None:
        raise Refused(404, NO_HTML)
    title = escape(row.subject or "")
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        f'<meta name="referrer" content="no-referrer"><title>{title}</title></head><body>{parsed.html}</body></html>'
    )
    return Response(
        page.encode(),
        media_type="text/html",
        headers={**HEADERS, "Content-Security-Policy": HTML_CSP},
    )

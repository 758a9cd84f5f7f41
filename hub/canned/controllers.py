"""Canned replies' routes: every agent lists the shared ones and their own, keeps their own, and
fills one in for a conversation's patient; supervisors and admins keep the shared ones."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromQuery, JSONBody
from sqlalchemy import or_, select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import IdPath, text
from hub.canned.store import CannedEdit, CannedOut, NewCanned, create_canned, edit_canned, out
from hub.db.models import CannedReply, Patient
from hub.deps import HubDep
from hub.i18n import _, language_of
from hub.refusals import Refused
from hub.templates.content import FOR_REPLY, LocaleTag, Picked, Variant, pick, render_variant
from hub.templates.controllers import FilledIn, _unresolved, patient_values
from hub.templates.render import Reader
from hub.timeline.reads import get_conversation

Shortcut = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Texts = Annotated[dict[LocaleTag, text(2000)], msgspec.Meta(min_length=1, max_length=8)]  # type: ignore[valid-type]


class NewCannedBody(msgspec.Struct, forbid_unknown_fields=True):
    shortcut: Shortcut
    title: text(120, 1)  # type: ignore[valid-type]
    texts: Texts
    shared: bool = False  # shared with every agent: supervisors and admins only


class CannedPatch(msgspec.Struct, forbid_unknown_fields=True):
    shortcut: Shortcut | msgspec.UnsetType = msgspec.UNSET
    title: text(120, 1) | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]
    texts: Texts | msgspec.UnsetType = msgspec.UNSET


def _or_none(value: Any) -> Any:
    return None if value is msgspec.UNSET else value


class CannedController(Controller):
    path = "/api/canned"
    guards = [requires(Role.AGENT)]  # noqa: RUF012

    @get("/")
    async def index(self, request: Request[Principal, Any, Any], hub: HubDep) -> list[CannedOut]:
        """The requester's own canned replies, then the shared ones, each by shortcut."""
        me = request.user
        async with hub.read_sessions() as s:
            rows = (
                (
                    await s.execute(
                        select(CannedReply)
                        .where(or_(CannedReply.owner_id.is_(None), CannedReply.owner_id == me.id))
                        .order_by(CannedReply.owner_id.is_(None), CannedReply.shortcut)
                    )
                )
                .scalars()
                .all()
            )
        return [out(r, me) for r in rows]

    @post("/", status_code=201)
    async def create(
        self, request: Request[Principal, Any, Any], data: JSONBody[NewCannedBody], hub: HubDep
    ) -> CannedOut:
        item = NewCanned(data.shortcut, data.title, dict(data.texts), data.shared, request.user, Origin.of(request))
        return await hub.writer.submit(create_canned, item)

    @patch("/{canned_id:int}")
    async def change(
        self, request: Request[Principal, Any, Any], canned_id: IdPath, data: JSONBody[CannedPatch], hub: HubDep
    ) -> CannedOut:
        item = CannedEdit(
            canned_id,
            request.user,
            Origin.of(request),
            _or_none(data.shortcut),
            _or_none(data.title),
            None if data.texts is msgspec.UNSET else dict(data.texts),
        )
        return await hub.writer.submit(edit_canned, item)

    @delete("/{canned_id:int}", status_code=200)
    async def remove(self, request: Request[Principal, Any, Any], canned_id: IdPath, hub: HubDep) -> CannedOut:
        return await hub.writer.submit(
            edit_canned, CannedEdit(canned_id, request.user, Origin.of(request), delete=True)
        )


@get("/api/conversations/{conversation_id:int}/canned/{canned_id:int}", guards=[requires(Role.AGENT)])
async def fill_in_canned(
    request: Request[Principal, Any, Any],
    conversation_id: IdPath,
    canned_id: IdPath,
    hub: HubDep,
    channel: FromQuery[str | None] = None,
) -> FilledIn:
    """A canned reply filled in for this conversation's patient, as a template is
    (hub.templates.controllers.fill_in): in their language, with their data; what the hub does not
    know is left marked for the agent. An audited read of the patient's data."""
    me, clinic = request.user, hub.settings.clinic
    async with hub.read_sessions() as s:
        conv = await get_conversation(s, me, conversation_id)
        if conv is None:
            raise Refused(404, _("No conversation {id} that you can see."), id=conversation_id)
        row = await s.get(CannedReply, canned_id)
        if row is None or (row.owner_id is not None and row.owner_id != me.id):
            raise Refused(404, _("There is no canned reply {id}."), id=canned_id)
        patient = await s.get(Patient, conv.patient_id)
    content = {"chat": {locale: Variant(body) for locale, body in row.texts.items() if body.strip()}}
    reply_channel = channel if channel in FOR_REPLY else (conv.last_inbound_channel or conv.channel)
    # the conversation's language (the assistant sets it from the patient's own words), else their saved one
    language = conv.language or (patient.preferred_language if patient else None) or clinic.default_language
    picked = pick(content, reply_channel, language, clinic.default_language)  # type: ignore[arg-type]
    if picked is None:  # no text in the patient's language nor the clinic's: the first there is
        locale, variant = next(iter(content["chat"].items()))
        picked = Picked("chat", locale, variant, True)
    reader = Reader(picked.locale, clinic.default_region, clinic.timezone)
    rendered = render_variant(picked.channel, picked.variant, patient_values(patient, clinic, me), reader)
    await hub.writer.submit(
        write_audit_batch,
        AuditRecord(
            AuditAction.CANNED_RENDER,
            me.id,
            Origin.of(request),
            conv.patient_id,
            conv.id,
            {"id": row.id, "shortcut": row.shortcut, "locale": picked.locale},
        ),
    )
    ui = language_of(request)
    return FilledIn(
        row.shortcut,
        reply_channel,
        picked.locale,
        language,
        picked.missing_translation,
        None,
        rendered.body,
        [_unresolved(name, ui, reader.base) for name in rendered.unresolved],
    )

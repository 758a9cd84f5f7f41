"""Template routes: agents list published templates and fill one in for a reply; supervisors
propose drafts and preview them; admins publish."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.params import FromQuery, JSONBody, PathParameter
from sqlalchemy import select

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import IdPath, text
from hub.db.models import Agent, Patient, Template, TemplateVersion
from hub.deps import HubDep
from hub.i18n import _, language_of, translate
from hub.refusals import Refused, explain
from hub.settings import ClinicSettings
from hub.templates.content import (
    FOR_REPLY,
    SAMPLES,
    Content,
    Rendered,
    pick,
    render_variant,
    validate,
)
from hub.templates.placeholders import PLACEHOLDERS
from hub.templates.render import Reader, format_value
from hub.templates.starter import internal, purpose_in
from hub.templates.store import (
    NOT_FOUND,
    Discard,
    DraftEdit,
    NewTemplate,
    Publish,
    Saved,
    create_templates,
    discard_drafts,
    publish_drafts,
    published_content,
    save_drafts,
)
from hub.timeline.reads import get_conversation

Key = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{2,59}$")]
KeyPath = Annotated[str, PathParameter(pattern=r"^[a-z][a-z0-9_]{2,59}$")]


class TemplateSummary(msgspec.Struct):
    key: str
    purpose: str
    channels: list[str]  # of the published version
    locales: list[str]
    published: int | None  # version number
    draft: int | None
    updated_at: datetime | None
    title: str = ""  # the purpose in the requester's language (the starter set's are translated)
    internal: bool = False  # said by the hub itself (the assistant, queues): never offered in the composer


class VersionOut(msgspec.Struct):
    number: int
    state: str
    content: dict[str, Any]
    note: str | None
    based_on: int | None
    created_by: str | None
    created_at: datetime
    updated_by: str | None
    updated_at: datetime
    published_by: str | None
    published_at: datetime | None


class TemplateOut(msgspec.Struct):
    key: str
    purpose: str
    published: VersionOut | None
    draft: VersionOut | None
    history: list[VersionOut]  # newest first, drafts and discarded ones included


class NewTemplateBody(msgspec.Struct, forbid_unknown_fields=True):
    key: Key
    purpose: text(300, 1)  # type: ignore[valid-type]
    content: Content


class DraftBody(msgspec.Struct, forbid_unknown_fields=True):
    content: Content
    seen_updated_at: datetime | None  # the draft's updated_at as opened; null when there was none
    note: text(300) | None = None  # type: ignore[valid-type]
    purpose: text(300, 1) | None = None  # type: ignore[valid-type]


class PublishBody(msgspec.Struct, forbid_unknown_fields=True):
    seen_updated_at: datetime


class RestoreBody(msgspec.Struct, forbid_unknown_fields=True):
    number: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
    seen_updated_at: datetime | None


class PreviewBody(msgspec.Struct, forbid_unknown_fields=True):
    content: Content


class PreviewOut(msgspec.Struct):
    problems: list[dict[str, Any]]
    # channel -> locale -> the text as a patient reading that locale would get it, with sample data
    previews: dict[str, dict[str, Rendered]]


class PlaceholderOut(msgspec.Struct):
    name: str
    kind: str
    label: str
    sample: str  # formatted for the requester's language


class FilledIn(msgspec.Struct):
    key: str
    channel: str  # the template channel used
    locale: str  # the variant used
    language: str  # the patient's language
    missing_translation: bool  # no text in the patient's language: the clinic default's was used
    subject: str | None
    text: str
    # placeholders left for the agent to fill in: name, label (the inbox's language), marker (as in the text)
    unresolved: list[dict[str, str]]


def _names(s: Any, ids: set[int | None]) -> dict[int, str]:
    ids.discard(None)
    if not ids:
        return {}
    return dict(s.execute(select(Agent.id, Agent.display_name).where(Agent.id.in_(ids))).all())


def _version_out(v: TemplateVersion, who: dict[int, str]) -> VersionOut:
    return VersionOut(
        v.number,
        v.state,
        v.content,
        v.note,
        v.based_on,
        who.get(v.created_by) if v.created_by else None,
        v.created_at,
        who.get(v.updated_by) if v.updated_by else None,
        v.updated_at,
        who.get(v.published_by) if v.published_by else None,
        v.published_at,
    )


class TemplateController(Controller):
    path = "/api/templates"

    @get("/", guards=[requires(Role.AGENT)])
    async def index(self, request: Request[Any, Any, Any], hub: HubDep) -> list[TemplateSummary]:
        lang = language_of(request)
        async with hub.read_sessions() as s:
            templates = (
                (await s.execute(select(Template).where(Template.archived_at.is_(None)).order_by(Template.key)))
                .scalars()
                .all()
            )
            versions = (
                (await s.execute(select(TemplateVersion).where(TemplateVersion.state.in_(("published", "draft")))))
                .scalars()
                .all()
            )
        by_template: dict[int, dict[str, TemplateVersion]] = {}
        for v in versions:
            by_template.setdefault(v.template_id, {})[v.state] = v
        out = []
        for t in templates:
            mine = by_template.get(t.id, {})
            published, draft = mine.get("published"), mine.get("draft")
            content = published.content if published else {}
            out.append(
                TemplateSummary(
                    t.key,
                    t.purpose,
                    sorted(content),
                    sorted({loc for by_locale in content.values() for loc in by_locale}),
                    published.number if published else None,
                    draft.number if draft else None,
                    max((v.updated_at for v in mine.values()), default=None),
                    purpose_in(t.key, t.purpose, lang),
                    internal(t.key),
                )
            )
        return out

    @get("/placeholders", guards=[requires(Role.SUPERVISOR)])
    async def placeholders(self, request: Request[Any, Any, Any], hub: HubDep) -> list[PlaceholderOut]:
        lang = language_of(request)
        reader = Reader(lang, hub.settings.clinic.default_region, hub.settings.clinic.timezone)
        return [
            PlaceholderOut(p.name, p.kind, translate(lang, p.label), format_value(p.name, p.sample, reader))
            for p in PLACEHOLDERS.values()
        ]

    @post("/preview", status_code=200, guards=[requires(Role.SUPERVISOR)])
    async def preview(self, request: Request[Any, Any, Any], data: JSONBody[PreviewBody], hub: HubDep) -> PreviewOut:
        """What each locale of each channel says with sample data, and what is wrong, as the editor types."""
        clinic = hub.settings.clinic
        problems = validate(data.content, clinic.languages)
        broken = {(p.where.get("channel"), p.where.get("locale")) for p in problems if p.blocks == "save"}
        previews: dict[str, dict[str, Rendered]] = {}
        for channel, by_locale in data.content.items():
            for locale, variant in by_locale.items():
                if (channel, locale) in broken or not variant.body.strip():
                    continue
                reader = Reader(locale, clinic.default_region, clinic.timezone)
                previews.setdefault(channel, {})[locale] = render_variant(channel, variant, SAMPLES, reader)
        lang = language_of(request)
        return PreviewOut([explain(p, lang) for p in problems], previews)

    @post("/", status_code=201, guards=[requires(Role.SUPERVISOR)])
    async def create(
        self, request: Request[Principal, Any, Any], data: JSONBody[NewTemplateBody], hub: HubDep
    ) -> Saved:
        item = NewTemplate(
            data.key, data.purpose, data.content, request.user, Origin.of(request), hub.settings.clinic.languages
        )
        return await hub.writer.submit(create_templates, item)

    @get("/{key:str}", guards=[requires(Role.SUPERVISOR)])
    async def show(self, key: KeyPath, hub: HubDep) -> TemplateOut:
        async with hub.read_sessions() as s:
            template = (await s.execute(select(Template).where(Template.key == key))).scalar_one_or_none()
            if template is None:
                raise Refused(404, NOT_FOUND, key=key)
            versions = (
                (
                    await s.execute(
                        select(TemplateVersion)
                        .where(TemplateVersion.template_id == template.id)
                        .order_by(TemplateVersion.number.desc())
                    )
                )
                .scalars()
                .all()
            )
            ids = {i for v in versions for i in (v.created_by, v.updated_by, v.published_by)}
            who = await s.run_sync(_names, ids)
        out = [_version_out(v, who) for v in versions]
        return TemplateOut(
            template.key,
            template.purpose,
            next((v for v in out if v.state == "published"), None),
            next((v for v in out if v.state == "draft"), None),
            out,
        )

    @put("/{key:str}/draft", guards=[requires(Role.SUPERVISOR)])
    async def save_draft(
        self, request: Request[Principal, Any, Any], key: KeyPath, data: JSONBody[DraftBody], hub: HubDep
    ) -> Saved:
        item = DraftEdit(
            key,
            data.content,
            data.note,
            data.purpose,
            request.user,
            Origin.of(request),
            hub.settings.clinic.languages,
            data.seen_updated_at,
        )
        return await hub.writer.submit(save_drafts, item)

    @delete("/{key:str}/draft", status_code=200, guards=[requires(Role.SUPERVISOR)])
    async def discard(self, request: Request[Principal, Any, Any], key: KeyPath, hub: HubDep) -> Saved:
        return await hub.writer.submit(discard_drafts, Discard(key, request.user, Origin.of(request)))

    @post("/{key:str}/restore", status_code=200, guards=[requires(Role.SUPERVISOR)])
    async def restore(
        self, request: Request[Principal, Any, Any], key: KeyPath, data: JSONBody[RestoreBody], hub: HubDep
    ) -> Saved:
        """An earlier version's text becomes the draft, to review and publish again."""
        async with hub.read_sessions() as s:
            old = (
                await s.execute(
                    select(TemplateVersion.content)
                    .join(Template, Template.id == TemplateVersion.template_id)
                    .where(Template.key == key, TemplateVersion.number == data.number)
                )
            ).scalar_one_or_none()
        if old is None:
            raise Refused(404, _("There is no version {number} of {key}."), number=data.number, key=key)
        item = DraftEdit(
            key,
            msgspec.convert(old, Content),
            None,
            None,
            request.user,
            Origin.of(request),
            hub.settings.clinic.languages,
            data.seen_updated_at,
            based_on=data.number,
        )
        return await hub.writer.submit(save_drafts, item)

    @post("/{key:str}/publish", status_code=200, guards=[requires(Role.ADMIN)])
    async def publish(
        self, request: Request[Principal, Any, Any], key: KeyPath, data: JSONBody[PublishBody], hub: HubDep
    ) -> Saved:
        item = Publish(key, request.user, Origin.of(request), hub.settings.clinic.languages, data.seen_updated_at)
        return await hub.writer.submit(publish_drafts, item)


@get("/api/conversations/{conversation_id:int}/templates/{key:str}", guards=[requires(Role.AGENT)])
async def fill_in(
    request: Request[Principal, Any, Any],
    conversation_id: IdPath,
    key: KeyPath,
    hub: HubDep,
    channel: FromQuery[str | None] = None,
) -> FilledIn:
    """A published template filled in for this conversation's patient: in their language, with
    their data; what the hub does not know (an appointment time) is left marked for the agent."""
    clinic = hub.settings.clinic
    async with hub.read_sessions() as s:
        conv = await get_conversation(s, request.user, conversation_id)
        if conv is None:
            raise Refused(404, _("No conversation {id} that you can see."), id=conversation_id)
        patient = await s.get(Patient, conv.patient_id)
        content = await published_content(s, key)
    reply_channel = channel if channel in FOR_REPLY else (conv.last_inbound_channel or conv.channel)
    language = (patient.preferred_language if patient else None) or clinic.default_language
    picked = pick(content, reply_channel, language, clinic.default_language)
    if picked is None:
        raise Refused(409, _("The template {key} has no text for this channel."), key=key)
    values = patient_values(patient, clinic, request.user)
    reader = Reader(picked.locale, clinic.default_region, clinic.timezone)
    rendered = render_variant(picked.channel, picked.variant, values, reader)
    await hub.writer.submit(
        write_audit_batch,
        AuditRecord(
            AuditAction.TEMPLATE_RENDER,
            request.user.id,
            Origin.of(request),
            conv.patient_id,
            conv.id,
            {"key": key, "locale": picked.locale},
        ),
    )
    ui = language_of(request)
    return FilledIn(
        key,
        picked.channel,
        picked.locale,
        language,
        picked.missing_translation,
        rendered.subject,
        rendered.body,
        [_unresolved(name, ui, reader.base) for name in rendered.unresolved],
    )


def patient_values(patient: Patient | None, clinic: ClinicSettings, agent: Principal) -> dict[str, Any]:
    """What the composer knows to fill a template or a canned reply in with: the patient's name,
    the clinic's, the agent's first name. The rest is left marked for the agent."""
    name = (patient.name or "").strip() if patient else ""
    return {
        "patient_name": name or None,
        "patient_first_name": name.split()[0] if name else None,
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "agent_first_name": agent.display_name.split()[0],
    }


def _unresolved(name: str, ui: str, text_language: str) -> dict[str, str]:
    """A value left for the agent: what to call it in the inbox, and the marker the text holds."""
    known = PLACEHOLDERS.get(name)
    if known is None:
        return {"name": name, "label": name, "marker": f"[{name}]"}
    return {"name": name, "label": translate(ui, known.label), "marker": f"[{translate(text_language, known.label)}]"}

"""A patient's profile and whole timeline, its edits, merges and a first message. Every read is
audited before it is answered; every change is audited in its own transaction.

Who may do what is written in hub/patients/profile_edits.py (edits), hub/patients/profile.py (the
date of birth), hub/patients/merge.py (merge and unmerge: supervisors and admins) and
hub/patients/outreach.py (writing first)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

from hub.agents.breakglass import reach
from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import MAX_ID, Id, IdPath, SeqQuery, text
from hub.db.models import Patient
from hub.deps import HubDep
from hub.events import TimelineEventOut
from hub.i18n import _
from hub.patients.merge import MergeCommand, UnmergeCommand, do_merges, do_unmerges
from hub.patients.merge_history import row_counts
from hub.patients.merge_rows import check_pair, fields_of, merged_fields
from hub.patients.outreach import Start, Started, do_starts
from hub.patients.profile import ContactPointOut, IdentifierOut, PatientOut, read_profile
from hub.patients.profile_edits import (
    AddContact,
    AddIdentifier,
    Changed,
    Edit,
    RecordConsent,
    RemoveContact,
    do_profile_commands,
)
from hub.patients.templates import FilledIn, fill_in_for_patient
from hub.refusals import Refused
from hub.timeline.reads import patient_timeline

NO_PATIENT = _("No patient {id} that you can see.")
Language = Annotated[str, msgspec.Meta(pattern=r"^[a-z]{2,3}(-[A-Za-z]{2,4})?$", max_length=16)]


class Timeline(msgspec.Struct):
    patient_id: int
    events: list[TimelineEventOut]
    has_more: bool


class ProfileEdit(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; null clears one."""

    name: text(200, 1) | None | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]
    date_of_birth: date | None | msgspec.UnsetType = msgspec.UNSET
    preferred_language: Language | None | msgspec.UnsetType = msgspec.UNSET
    preferred_channel: Literal["sms", "email", "webchat", "api"] | None | msgspec.UnsetType = msgspec.UNSET
    time_zone: text(64, 1) | None | msgspec.UnsetType = msgspec.UNSET  # type: ignore[valid-type]


class NewContact(msgspec.Struct, forbid_unknown_fields=True):
    kind: Literal["phone", "email"]
    address: text(320, 3)  # type: ignore[valid-type]
    consent: bool | None = None  # the patient's answer, when asked, for the channel it reaches (SMS, email)
    consent_source: text(120, 1) | None = None  # type: ignore[valid-type]


class NewIdentifier(msgspec.Struct, forbid_unknown_fields=True):
    value: text(120, 1)  # type: ignore[valid-type]
    system: text(200, 1) | None = None  # type: ignore[valid-type]
    label: text(40, 1) = "MRN"  # type: ignore[valid-type]


class NewConsent(msgspec.Struct, forbid_unknown_fields=True):
    channel: Literal["sms", "email", "webchat"]
    granted: bool
    source: text(120, 3)  # type: ignore[valid-type]  # how the patient said so: "asked on the phone, 3 Dec"


class MergeBody(msgspec.Struct, forbid_unknown_fields=True):
    source_id: Id  # merged into the record in the path, which is kept
    reason: text(500) | None = None  # type: ignore[valid-type]


class StartBody(msgspec.Struct, forbid_unknown_fields=True):
    channel: Literal["sms", "email", "webchat"]
    text: text(5000, 1)  # type: ignore[valid-type]
    address: text(320, 1) | None = None  # type: ignore[valid-type]
    template: text(60, 1) | None = None  # type: ignore[valid-type]
    locale: text(16, 2) | None = None  # type: ignore[valid-type]


class MergeResult(msgspec.Struct):
    merge_id: int
    source_id: int
    target_id: int
    moved: dict[str, int]


class UnmergeResult(msgspec.Struct):
    merge_id: int
    source_id: int
    target_id: int
    moved_back: int
    missing: list[list[Any]]
    kept_fields: list[str]


class MergedRecord(msgspec.Struct):
    """What the kept record will look like."""

    fields: dict[str, Any]
    contact_points: list[ContactPointOut]
    identifiers: list[IdentifierOut]
    consents: dict[str, bool]
    conversations: int
    events: int
    conflicts: list[str]  # fields both records fill differently: the kept record's value stays


class MergePreview(msgspec.Struct):
    source: PatientOut
    target: PatientOut
    source_rows: dict[str, int]  # rows of each table that would move
    target_rows: dict[str, int]
    result: MergedRecord


def _audit(request: Request[Principal, Any, Any], action: AuditAction, patient_id: int, **detail: Any) -> AuditRecord:
    return AuditRecord(action, request.user.id, Origin.of(request), patient_id, detail=detail)


class PatientController(Controller):
    path = "/api/patients"
    guards = [requires(Role.AGENT)]

    # --- reading ---

    @get("/{patient_id:int}")
    async def show(self, request: Request[Principal, Any, Any], patient_id: IdPath, hub: HubDep) -> PatientOut:
        """The profile: fields (the date of birth masked unless this reader may see it), contact
        points with consent, record numbers, appointments, conversations, merges."""
        async with hub.read_sessions() as s:
            seen = await reach(s, request.user, patient_id)
            if seen is None:
                raise Refused(404, NO_PATIENT, id=patient_id)
            out = await s.run_sync(read_profile, request.user, seen[0], patient_id, seen[1] is not None)
        detail = {"break_glass": seen[1]} if seen[1] else {}
        if out.date_of_birth is not None:
            detail["date_of_birth_shown"] = True
        await hub.writer.submit(write_audit_batch, _audit(request, AuditAction.PATIENT_READ, patient_id, **detail))
        return out

    @get("/{patient_id:int}/timeline")
    async def timeline(
        self,
        request: Request[Principal, Any, Any],
        patient_id: IdPath,
        hub: HubDep,
        before: SeqQuery = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> Timeline:
        async with hub.read_sessions() as s:
            seen = await reach(s, request.user, patient_id)  # a break-glass grant reads the whole record
            if seen is None:
                raise Refused(404, NO_PATIENT, id=patient_id)
            events = await patient_timeline(s, seen[0], patient_id, before, limit + 1)
        has_more = len(events) > limit
        events = events[-limit:]
        await hub.writer.submit(
            write_audit_batch,
            _audit(
                request,
                AuditAction.TIMELINE_READ,
                patient_id,
                before=before,
                count=len(events),
                **({"break_glass": seen[1]} if seen[1] else {}),
            ),
        )
        return Timeline(patient_id, events, has_more)

    # --- editing (who may change what: hub/patients/profile_edits.py) ---

    @patch("/{patient_id:int}")
    async def edit(
        self, request: Request[Principal, Any, Any], patient_id: IdPath, data: JSONBody[ProfileEdit], hub: HubDep
    ) -> Changed:
        changes = {f: v for f in ProfileEdit.__struct_fields__ if (v := getattr(data, f)) is not msgspec.UNSET}
        if isinstance(changes.get("name"), str):
            changes["name"] = changes["name"].strip() or None
        return await hub.writer.submit(do_profile_commands, Edit(patient_id, request.user, Origin.of(request), changes))

    @post("/{patient_id:int}/contact-points", status_code=201)
    async def add_contact(
        self, request: Request[Principal, Any, Any], patient_id: IdPath, data: JSONBody[NewContact], hub: HubDep
    ) -> Changed:
        """A phone or an email; 409 with the owner's id (problems[0].patient_id) when it is
        another patient's, so the inbox can offer a merge."""
        cmd = AddContact(
            patient_id,
            request.user,
            Origin.of(request),
            data.kind,
            data.address,
            hub.settings.clinic.default_region,
            data.consent,
            data.consent_source,
        )
        return await hub.writer.submit(do_profile_commands, cmd)

    @delete(
        "/{patient_id:int}/contact-points/{contact_point_id:int}", status_code=200, guards=[requires(Role.SUPERVISOR)]
    )
    async def remove_contact(
        self,
        request: Request[Principal, Any, Any],
        patient_id: IdPath,
        contact_point_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)],
        hub: HubDep,
    ) -> Changed:
        cmd = RemoveContact(patient_id, request.user, Origin.of(request), contact_point_id)
        return await hub.writer.submit(do_profile_commands, cmd)

    @post("/{patient_id:int}/identifiers", status_code=201, guards=[requires(Role.SUPERVISOR)])
    async def add_identifier(
        self, request: Request[Principal, Any, Any], patient_id: IdPath, data: JSONBody[NewIdentifier], hub: HubDep
    ) -> Changed:
        cmd = AddIdentifier(patient_id, request.user, Origin.of(request), data.value, data.system or "", data.label)
        return await hub.writer.submit(do_profile_commands, cmd)

    @post("/{patient_id:int}/consents", status_code=201)
    async def record_consent(
        self, request: Request[Principal, Any, Any], patient_id: IdPath, data: JSONBody[NewConsent], hub: HubDep
    ) -> Changed:
        cmd = RecordConsent(patient_id, request.user, Origin.of(request), data.channel, data.granted, data.source)
        return await hub.writer.submit(do_profile_commands, cmd)

    # --- merging (supervisors and admins: hub/patients/merge.py says why) ---

    @get("/{patient_id:int}/merge-preview", guards=[requires(Role.SUPERVISOR)])
    async def merge_preview(
        self,
        request: Request[Principal, Any, Any],
        patient_id: IdPath,
        source: Annotated[int, QueryParameter(ge=1, le=MAX_ID)],
        hub: HubDep,
    ) -> MergePreview:
        """Both records side by side, what would move, and what the kept record (this one) will look like."""
        async with hub.read_sessions() as s:

            def both(sync: Any) -> MergePreview:
                src, dst = check_pair(sync, source, patient_id, lock=False)
                left = read_profile(sync, request.user, request.user, source, False)
                right = read_profile(sync, request.user, request.user, patient_id, False)
                return _preview(
                    left, right, fields_of(src), fields_of(dst), row_counts(sync, source), row_counts(sync, patient_id)
                )

            out = await s.run_sync(both)
        await hub.writer.submit(
            write_audit_batch, _audit(request, AuditAction.MERGE_PREVIEW, patient_id, source_id=source)
        )
        await hub.writer.submit(
            write_audit_batch, _audit(request, AuditAction.MERGE_PREVIEW, source, target_id=patient_id)
        )
        return out

    @post("/{patient_id:int}/merges", status_code=201, guards=[requires(Role.SUPERVISOR)])
    async def merge(
        self, request: Request[Principal, Any, Any], patient_id: IdPath, data: JSONBody[MergeBody], hub: HubDep
    ) -> MergeResult:
        """Merge patient `source_id` into this one (kept). Every moved row is listed so it can be undone."""
        cmd = MergeCommand(data.source_id, patient_id, request.user, Origin.of(request), data.reason)
        done = await hub.writer.submit(do_merges, cmd)
        for signal in done.signals:  # committed: web-chat widgets of the merged record follow
            hub.fanout.signal(signal)
        return MergeResult(done.merge_id, done.source_id, done.target_id, done.moved)

    @post("/merges/{merge_id:int}/undo", status_code=200, guards=[requires(Role.SUPERVISOR)])
    async def unmerge(
        self,
        request: Request[Principal, Any, Any],
        merge_id: Annotated[int, PathParameter(ge=1, le=MAX_ID)],
        hub: HubDep,
    ) -> UnmergeResult:
        """Put back every row the merge moved; 409 while a later merge of either record stands."""
        done = await hub.writer.submit(do_unmerges, UnmergeCommand(merge_id, request.user, Origin.of(request)))
        for signal in done.signals:
            hub.fanout.signal(signal)
        return UnmergeResult(
            done.merge_id, done.source_id, done.target_id, done.moved_back, done.missing, done.kept_fields
        )

    # --- writing first (hub/patients/outreach.py) ---

    @post("/{patient_id:int}/conversations", status_code=201)
    async def start(
        self, request: Request[Principal, Any, Any], patient_id: IdPath, data: JSONBody[StartBody], hub: HubDep
    ) -> Started:
        """Write first: opens a conversation with this message, on a channel the patient agreed to."""
        clinic = hub.settings.clinic
        cmd = Start(
            patient_id,
            request.user,
            Origin.of(request),
            data.channel,
            data.text,
            data.address,
            data.template,
            data.locale,
            hub.email.identity,
            clinic.timezone,
            clinic.default_region,
        )
        return await hub.writer.submit(do_starts, cmd)

    @get("/{patient_id:int}/templates/{key:str}")
    async def template(
        self,
        request: Request[Principal, Any, Any],
        patient_id: IdPath,
        key: Annotated[str, PathParameter(max_length=60)],
        hub: HubDep,
        channel: FromQuery[Literal["sms", "email", "webchat"]] = "sms",
    ) -> FilledIn:
        """A published template filled in for this patient, for a first message on `channel`."""
        async with hub.read_sessions() as s:
            seen = await reach(s, request.user, patient_id)
            if seen is None or seen[1] is not None:
                raise Refused(404, NO_PATIENT, id=patient_id)
            patient = await s.get(Patient, patient_id)
            assert patient is not None
            out = await fill_in_for_patient(s, hub.settings.clinic, request, patient, key, channel)
        await hub.writer.submit(
            write_audit_batch,
            _audit(request, AuditAction.TEMPLATE_RENDER, patient_id, key=key, locale=out.locale),
        )
        return out


def _preview(
    left: PatientOut,
    right: PatientOut,
    src_fields: dict[str, Any],
    dst_fields: dict[str, Any],
    src_rows: dict[str, int],
    dst_rows: dict[str, int],
) -> MergePreview:
    fields = merged_fields(dst_fields, src_fields)
    conflicts = [f for f in fields if src_fields.get(f) and dst_fields.get(f) and src_fields[f] != dst_fields[f]]
    consents = {c.channel: c.granted for c in left.consents} | {c.channel: c.granted for c in right.consents}
    result = MergedRecord(
        fields,
        [*right.contact_points, *left.contact_points],
        [*right.identifiers, *left.identifiers],
        consents,
        src_rows.get("conversations", 0) + dst_rows.get("conversations", 0),
        src_rows.get("timeline_events", 0) + dst_rows.get("timeline_events", 0),
        conflicts,
    )
    return MergePreview(left, right, src_rows, dst_rows, result)

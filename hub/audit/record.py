"""Audit rows: who read or changed which patient's data, when, from where."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from sqlalchemy import insert

from hub.db.models import AuditEntry
from hub.db.types import utcnow
from hub.db.writer import Tx


class AuditAction(StrEnum):
    TIMELINE_READ = "timeline.read"
    STREAM_BACKFILL = "stream.backfill"
    CONVERSATIONS_LIST = "conversations.list"
    PATIENT_READ = "patient.read"
    PATIENT_UPDATE = "patient.update"  # name, date of birth, language, channel, time zone (hub/patients/profile.py)
    CONTACT_ADD = "patient.contact_add"
    CONTACT_REMOVE = "patient.contact_remove"
    IDENTIFIER_ADD = "patient.identifier_add"  # a record number (MRN)
    CONSENT_RECORD = "patient.consent"  # staff recorded the patient's consent (or its refusal) to a channel
    MERGE_PREVIEW = "patient.merge_preview"  # two records read side by side
    MERGE = "patient.merge"
    UNMERGE = "patient.unmerge"
    CONVERSATION_START = "conversation.start"  # staff wrote first (hub/patients/outreach.py)
    MESSAGE_SEND = "message.send"
    NOTE_WRITE = "note.write"
    ASSIGN = "conversation.assign"
    STATUS_CHANGE = "conversation.status"
    TRANSFER = "conversation.transfer"
    HAND_BACK = "conversation.hand_back"
    SNOOZE = "conversation.snooze"  # out of the open views until a time (hub/conversations/snooze.py)
    SNOOZE_END = "conversation.snooze_end"  # staff brought a snoozed conversation back early
    TEAM_HOURS = "team.hours"
    LOGIN = "auth.login"
    LOGIN_FAILED = "auth.login_failed"
    LOGOUT = "auth.logout"
    AUDIT_READ = "audit.read"
    AUDIT_EXPORT = "audit.export"  # the trail (or a filtered part of it) downloaded as CSV
    AGENT_CREATE = "agent.create"
    AGENT_UPDATE = "agent.update"  # name, role, teams, languages, capacity
    AGENT_DEACTIVATE = "agent.deactivate"
    AGENT_REACTIVATE = "agent.reactivate"
    AGENT_PREFERENCES = "agent.preferences"
    AGENT_SET_AWAY = "agent.set_away"  # a supervisor set someone Away from the live floor (hub/floor/)
    CSAT_CHANNELS = "csat.channels"  # an admin switched the satisfaction question on or off on a channel
    PASSWORD_CHANGE = "auth.password_change"
    PASSWORD_CHANGE_FAILED = "auth.password_change_failed"
    PASSWORD_RESET_ISSUED = "auth.reset_issued"  # an admin made a one-time reset code
    PASSWORD_RESET_USED = "auth.reset_used"
    PASSWORD_RESET_FAILED = "auth.reset_failed"
    MFA_ENROL = "auth.mfa_enrol"
    MFA_FAILED = "auth.mfa_failed"  # a wrong or replayed code
    MFA_RESET = "auth.mfa_reset"  # an admin took someone's MFA away (they enrol again)
    ROLE_POLICY = "auth.role_policy"  # which roles must use MFA
    BREAK_GLASS = "patient.break_glass"  # a patient opened outside one's reach, with the reason
    TEAM_CREATE = "team.create"
    TEAM_UPDATE = "team.update"
    CONSENT_CHANGE = "consent.change"
    WEBCHAT_CODE_SENT = "webchat.code_sent"
    WEBCHAT_VERIFIED = "webchat.verified"
    MEDIA_READ = "media.read"
    SEARCH = "search"  # a staff search: the query and the patients whose messages it showed
    PATIENT_SEARCH = "patient.search"  # the directory: the query (itself patient data) and the patients listed
    CSV_UPLOAD = "import.csv_upload"  # a CSV of patients uploaded for import (not yet read against the records)
    CSV_PREVIEW = "import.csv_preview"  # its dry run: which rows would create, update or skip which patients
    CSV_IMPORT = "import.csv_run"  # the import itself: counts, and the patients created and updated
    EMAIL_ORIGINAL_READ = "email.original_read"  # an email's source or HTML, viewed by staff
    TEMPLATE_CREATE = "template.create"
    TEMPLATE_DRAFT = "template.draft"
    TEMPLATE_RESTORE = "template.restore"
    TEMPLATE_PUBLISH = "template.publish"
    TEMPLATE_DISCARD = "template.discard"
    TEMPLATE_RENDER = "template.render"  # a template filled in with a patient's data for a reply
    CANNED_CREATE = "canned.create"  # a canned reply, personal or shared (hub/canned/)
    CANNED_UPDATE = "canned.update"
    CANNED_DELETE = "canned.delete"
    CANNED_RENDER = "canned.render"  # a canned reply filled in with a patient's data for a reply
    RED_FLAG_SEED = "red_flag.seed"  # the starting list copied in, on the hub's first start
    RED_FLAG_ADD = "red_flag.add"
    RED_FLAG_DEACTIVATE = "red_flag.deactivate"
    RED_FLAG_RETIRE = "red_flag.retire"  # seeded once, dropped from a newer locales/red-flags.toml
    FHIR_IMPORT_START = "fhir.import_start"  # an admin started (or resumed) an import from the EHR
    FHIR_PATIENT_IMPORT = "fhir.patient_import"  # a patient created or updated from the EHR, per patient
    FHIR_RUNS_READ = "fhir.runs_read"  # the imports' progress and problems (resource ids, no patient data)
    REPORT_CONVERSATIONS = "report.conversations"  # the conversations behind a KPI (hub/reports/)
    REPORT_EXPORT = "report.export"  # a KPI table downloaded as CSV


class Origin(msgspec.Struct, frozen=True):
    """Where a request came from."""

    ip: str | None
    user_agent: str | None

    @classmethod
    def of(cls, connection: ASGIConnection[Any, Any, Any, Any]) -> Origin:
        client = connection.client
        return cls(client.host if client else None, (connection.headers.get("user-agent") or "")[:300] or None)


class AuditRecord(msgspec.Struct, frozen=True):
    action: AuditAction
    agent_id: int | None
    origin: Origin
    patient_id: int | None = None
    conversation_id: int | None = None
    detail: dict[str, Any] = {}


def audit_row(r: AuditRecord) -> dict[str, Any]:
    return {
        "at": utcnow(),
        "agent_id": r.agent_id,
        "action": r.action,
        "patient_id": r.patient_id,
        "conversation_id": r.conversation_id,
        "detail": r.detail,
        "ip": r.origin.ip,
        "user_agent": r.origin.user_agent,
    }


def write_audit_batch(tx: Tx, items: list[AuditRecord]) -> list[None]:
    """A batch function for the writer: audit rows alone (reads, logins)."""
    tx.session.execute(insert(AuditEntry), [audit_row(r) for r in items])
    return [None] * len(items)


def add_audit(tx: Tx, record: AuditRecord) -> None:
    """An audit row inside a change's own transaction: both commit or neither."""
    tx.session.execute(insert(AuditEntry), [audit_row(record)])

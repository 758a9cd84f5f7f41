"""Agents' actions on a conversation: reply, note, assign, change status.

Each do_* runs inside the writer's transaction: it checks the agent may act, appends the
timeline event, updates the conversation, writes the audit row, and schedules the stream
frame for after commit. A refused command writes nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select

from hub.agents.roles import Principal, Role
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.bounds import text
from hub.db.models import Agent, Conversation
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.events import (
    AuthorType,
    ConversationStatus,
    EventKind,
    TimelineEventOut,
)
from hub.i18n import _
from hub.outbox.queue import enqueue
from hub.patients.reach import reply_channels
from hub.refusals import Refused, one_by_one
from hub.timeline.append import append_event
from hub.timeline.reads import visible
from hub.timeline.views import preview

Body = text(5000, 1)
SMS_MAX = 1600  # Twilio refuses longer bodies (error 21617)
# A web-chat reply is out the moment it is stored: the visitor's widget fetches it, then
# reports it delivered and read. Elsewhere a reply waits in the outbox (SMS) or for a pull (API).
INITIAL_STATUS = {"webchat": "sent"}


class Reply(msgspec.Struct, frozen=True):
    conversation_id: int
    by: Principal
    origin: Origin
    text: str
    channel: str | None = None
    # Seeding history (the demo clinic): recorded as delivered long ago, never sent.
    history: bool = False


class Note(msgspec.Struct, frozen=True):
    conversation_id: int
    by: Principal
    origin: Origin
    text: str


class Assign(msgspec.Struct, frozen=True):
    conversation_id: int
    by: Principal
    origin: Origin
    assignee_id: int | None


class SetStatus(msgspec.Struct, frozen=True):
    conversation_id: int
    by: Principal
    origin: Origin
    status: ConversationStatus


Command = Reply | Note | Assign | SetStatus


def _do(tx: Tx, cmd: Command) -> TimelineEventOut:
    conv = (
        tx.session.execute(
            select(Conversation).where(Conversation.id == cmd.conversation_id, visible(cmd.by)).with_for_update()
        )
    ).scalar_one_or_none()
    if conv is None:
        raise Refused(404, _("No conversation {id} that you can see."), id=cmd.conversation_id)
    now = utcnow()
    if isinstance(cmd, Reply):
        return _reply(tx, conv, cmd, now)
    if isinstance(cmd, Note):
        return _append(tx, conv, cmd, EventKind.NOTE, AuditAction.NOTE_WRITE, text=cmd.text)
    if isinstance(cmd, Assign):
        return _assign(tx, conv, cmd)
    return _set_status(tx, conv, cmd, now)


do_conversation_commands = one_by_one(_do)


def _reply(tx: Tx, conv: Conversation, cmd: Reply, now: Any) -> TimelineEventOut:
    reach = {r.channel: r for r in reply_channels(tx.session, conv.patient_id)}
    channel = cmd.channel or default_reply_channel(conv, reach)
    if channel not in reach:
        raise Refused(400, _("The patient has no contact point for {channel}."), channel=channel)
    if channel == "sms" and len(cmd.text) > SMS_MAX:
        raise Refused(400, _("A text message can be at most {limit} characters."), limit=SMS_MAX)
    if not reach[channel].reachable:
        raise Refused(400, _("The patient cannot be reached on {channel}: they opted out."), channel=channel)
    if conv.first_response_at is None:
        conv.first_response_at = now
    conv.handler = "agent"
    conv.preview = preview(cmd.text, [])
    conv.last_message_at = now
    # Stored first, as queued; the channel's outbox delivers it and moves the status forward.
    event = _append(
        tx,
        conv,
        cmd,
        EventKind.MESSAGE_OUT,
        AuditAction.MESSAGE_SEND,
        text=cmd.text,
        channel=channel,
        data={"status": "delivered" if cmd.history else INITIAL_STATUS.get(channel, "queued")},
    )
    if channel == "sms" and not cmd.history:  # API-channel replies are pulled by integrations instead
        enqueue(tx, event.seq, channel)
    return event


def default_reply_channel(conv: Conversation, reach: dict[str, Any]) -> str:
    """The channel the patient last wrote on, if a reply can go out there (a voice note is
    answered by SMS); else the first channel that can reach them."""
    last = conv.last_inbound_channel or conv.channel
    preferred = "sms" if last == "voice" else last
    if preferred in reach and reach[preferred].reachable:
        return preferred
    return next((c for c, r in reach.items() if r.reachable and c != "api"), preferred)


def _assign(tx: Tx, conv: Conversation, cmd: Assign) -> TimelineEventOut:
    if cmd.by.role == Role.AGENT and cmd.assignee_id not in (cmd.by.id, None):
        raise Refused(403, _("Agents can assign conversations only to themselves."))
    if cmd.by.role == Role.AGENT and cmd.assignee_id is None and conv.assignee_id not in (cmd.by.id, None):
        raise Refused(403, _("Agents can unassign only their own conversations."))
    name = None
    if cmd.assignee_id is not None:
        agent = tx.session.get(Agent, cmd.assignee_id)
        if agent is None or not agent.active:
            raise Refused(400, _("There is no active agent {id}."), id=cmd.assignee_id)
        name = agent.display_name
    previous = conv.assignee_id
    conv.assignee_id = cmd.assignee_id
    if cmd.assignee_id is not None:
        conv.handler = "agent"
    return _append(
        tx,
        conv,
        cmd,
        EventKind.ASSIGNMENT,
        AuditAction.ASSIGN,
        data={"assignee_id": cmd.assignee_id, "assignee_name": name, "previous_assignee_id": previous},
    )


ALREADY = {  # whole sentences, so each language can phrase them its own way
    ConversationStatus.OPEN: _("The conversation is already open."),
    ConversationStatus.PENDING: _("The conversation is already pending."),
    ConversationStatus.RESOLVED: _("The conversation is already resolved."),
}


def _set_status(tx: Tx, conv: Conversation, cmd: SetStatus, now: Any) -> TimelineEventOut:
    previous = conv.status
    if previous == cmd.status:
        raise Refused(400, ALREADY[cmd.status])
    conv.status = cmd.status
    conv.resolved_at = now if cmd.status == ConversationStatus.RESOLVED else None
    return _append(
        tx,
        conv,
        cmd,
        EventKind.STATUS_CHANGE,
        AuditAction.STATUS_CHANGE,
        data={"from": previous, "to": str(cmd.status)},
    )


def _append(
    tx: Tx,
    conv: Conversation,
    cmd: Command,
    kind: EventKind,
    action: AuditAction,
    *,
    text: str | None = None,
    channel: str | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEventOut:
    event = append_event(
        tx,
        conv,
        kind,
        author_type=AuthorType.AGENT,
        author_id=cmd.by.id,
        author_name=cmd.by.display_name,
        text=text,
        channel=channel,
        data=data,
    )
    add_audit(tx, AuditRecord(action, cmd.by.id, cmd.origin, conv.patient_id, conv.id, {"seq": event.seq}))
    return event

"""Agents' actions on a conversation: reply, note, assign, change status.

Each do_* runs inside the writer's transaction: it checks the agent may act, appends the
timeline event, updates the conversation, writes the audit row, and schedules the stream
frame for after commit. A refused command writes nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
from sqlalchemy import select

from channels.base import Channel
from hub.agents.roles import Principal, Role
from hub.audit.record import AuditAction, AuditRecord, Origin, add_audit
from hub.bounds import text
from hub.conversations.snooze import EndSnooze, Snooze, end_snooze, snooze
from hub.db.models import Agent, Conversation, Team, TimelineEvent
from hub.db.types import utcnow
from hub.db.writer import Tx
from hub.email.outbound import MailIdentity, prepare_reply, queue_reply
from hub.events import (
    AuthorType,
    ConversationStatus,
    EventKind,
    TimelineEventOut,
)
from hub.i18n import _
from hub.outbox.queue import enqueue
from hub.patients.reach import INITIAL_STATUS, default_reply_channel, reply_channels
from hub.refusals import Problem, Refused, one_by_one
from hub.routing.queues import assign_to, hold, pick_agent, routes
from hub.routing.urgent import take
from hub.timeline.append import append_event, webchat_recipient
from hub.timeline.reads import visible
from hub.timeline.views import preview

Body = text(5000, 1)
SMS_MAX = 1600  # Twilio refuses longer bodies (error 21617)


TAKEN_ALREADY = _("{name} has already taken this conversation.")

WRITTEN_SINCE = _(
    "Someone has written in this chat from another browser since you last looked. Read it, then send again."
)

REPLIED_SINCE = _("{name} replied after you started. Send anyway?")


class Reply(msgspec.Struct, frozen=True):
    conversation_id: int
    by: Principal
    origin: Origin
    text: str
    channel: str | None = None
    # Seeding history (the demo clinic): recorded as delivered long ago, never sent.
    history: bool = False
    mail: MailIdentity | None = None  # who email replies come from (hub.email.identity)
    seen: int | None = None  # the newest event the agent had in view (see ReplyBody)
    # The newest event in view when the agent started writing: a colleague's reply since is a
    # collision (409) unless `confirm` says the agent saw it and sends anyway (see ReplyBody).
    drafted_after: int | None = None
    confirm: bool = False
    # Channels this hub cannot send on (hub.outbox.configured): a reply there is refused, not queued for ever.
    unconfigured: dict[str, str] = {}


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
    # "I'll take it" from an urgent alert: refused (409) when someone else took it first, so two
    # people answering one alert at once leave exactly one of them holding it.
    take: bool = False


class SetStatus(msgspec.Struct, frozen=True):
    conversation_id: int
    by: Principal
    origin: Origin
    status: ConversationStatus


class Transfer(msgspec.Struct, frozen=True):
    """To another team (its queue, or one of its agents), or to another agent of the same team."""

    conversation_id: int
    by: Principal
    origin: Origin
    team_id: int | None
    assignee_id: int | None
    note: str | None = None


class HandBack(msgspec.Struct, frozen=True):
    """Back to the bot: no agent holds it any more, and the bot answers what comes next."""

    conversation_id: int
    by: Principal
    origin: Origin


Command = Reply | Note | Assign | SetStatus | Transfer | HandBack | Snooze | EndSnooze


def _do(tx: Tx, cmd: Command) -> TimelineEventOut:
    conv = (
        tx.session.execute(
            select(Conversation).where(Conversation.id == cmd.conversation_id, visible(cmd.by)).with_for_update()
        )
    ).scalar_one_or_none()
    if conv is None:
        if isinstance(cmd, Assign) and cmd.take:  # an urgent one someone else took has left this reach
            holder = tx.session.execute(
                select(Agent.display_name)
                .join(Conversation, Conversation.assignee_id == Agent.id)
                .where(Conversation.id == cmd.conversation_id)
            ).scalar_one_or_none()
            if holder is not None:
                raise Refused(409, TAKEN_ALREADY, name=holder)
        raise Refused(404, _("No conversation {id} that you can see."), id=cmd.conversation_id)
    now = utcnow()
    if isinstance(cmd, Reply):
        return _reply(tx, conv, cmd, now)
    if isinstance(cmd, Note):
        return _append(tx, conv, cmd, EventKind.NOTE, AuditAction.NOTE_WRITE, text=cmd.text)
    if isinstance(cmd, Assign):
        return _assign(tx, conv, cmd)
    if isinstance(cmd, Transfer):
        return _transfer(tx, conv, cmd)
    if isinstance(cmd, HandBack):
        return _hand_back(tx, conv, cmd)
    if isinstance(cmd, Snooze):
        return snooze(tx, conv, cmd)
    if isinstance(cmd, EndSnooze):
        return end_snooze(tx, conv, cmd)
    return _set_status(tx, conv, cmd, now)


do_conversation_commands = routes(one_by_one(_do))  # a transfer chooses an agent


def _reply(tx: Tx, conv: Conversation, cmd: Reply, now: Any) -> TimelineEventOut:
    reach = {r.channel: r for r in reply_channels(tx.session, conv.patient_id)}
    channel = cmd.channel or default_reply_channel(conv, reach)
    if channel not in reach:
        raise Refused(400, _("The patient has no contact point for {channel}."), channel=channel)
    if channel == "sms" and len(cmd.text) > SMS_MAX:
        raise Refused(400, _("A text message can be at most {limit} characters."), limit=SMS_MAX)
    if not reach[channel].reachable:
        raise Refused(400, _("The patient cannot be reached on {channel}: they opted out."), channel=channel)
    if channel in cmd.unconfigured and not cmd.history:
        raise Refused(409, cmd.unconfigured[channel])
    if channel == Channel.WEBCHAT and cmd.seen is not None:  # the browser it goes to is the one the agent saw
        then = webchat_recipient(tx.session, conv.id, conv.patient_id, cmd.seen + 1)
        if webchat_recipient(tx.session, conv.id, conv.patient_id) != then:
            raise Refused(409, WRITTEN_SINCE)
    if cmd.drafted_after is not None and not cmd.confirm:
        _no_reply_since(tx, conv, cmd.by, cmd.drafted_after)
    email = prepare_reply(tx, conv, cmd.mail) if channel == "email" and not cmd.history else None  # may refuse
    if conv.first_response_at is None:
        conv.first_response_at = now
    conv.handler = "agent"
    take(conv)  # a person is answering: an urgent alert has done its job
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
        data={
            "status": "delivered" if cmd.history else INITIAL_STATUS.get(channel, "queued"),
            **({"email": email.shown} if email else {}),
        },
    )
    if channel == "sms" and not cmd.history:  # API-channel replies are pulled by integrations instead
        enqueue(tx, event.seq, channel)
    if email is not None:  # rendered now, sent by the outbox through the clinic's relay
        queue_reply(tx, conv, event.seq, cmd.text, email)
    return event


def _no_reply_since(tx: Tx, conv: Conversation, by: Principal, after: int) -> None:
    """Refuses (409) when another staff member replied in the conversation after `after`; the
    refusal carries that reply (the newest), so the agent can read it before sending anyway."""
    newer = tx.session.execute(
        select(TimelineEvent.seq, TimelineEvent.text, TimelineEvent.channel, TimelineEvent.created_at, Agent)
        .join(Agent, Agent.id == TimelineEvent.author_id)
        .where(
            TimelineEvent.conversation_id == conv.id,
            TimelineEvent.seq > after,
            TimelineEvent.kind == EventKind.MESSAGE_OUT,
            TimelineEvent.author_type == AuthorType.AGENT,
            TimelineEvent.author_id != by.id,
        )
        .order_by(TimelineEvent.seq.desc())
        .limit(1)
    ).first()
    if newer is None:
        return
    seq, text, channel, created_at, agent = newer
    reply = {
        "seq": seq,
        "author_id": agent.id,
        "author_name": agent.display_name,
        "text": text,
        "channel": channel,
        "created_at": created_at.isoformat(),
    }
    problem = Problem("replied_since", REPLIED_SINCE, {"name": agent.display_name}, {"reply": reply})
    raise Refused(409, REPLIED_SINCE, [problem], name=agent.display_name)


def _assign(tx: Tx, conv: Conversation, cmd: Assign) -> TimelineEventOut:
    if cmd.by.role == Role.AGENT and cmd.assignee_id not in (cmd.by.id, None):
        raise Refused(403, _("Agents can assign conversations only to themselves."))
    if cmd.by.role == Role.AGENT and cmd.assignee_id is None and conv.assignee_id not in (cmd.by.id, None):
        raise Refused(403, _("Agents can unassign only their own conversations."))
    if cmd.take and conv.urgent_since is None and conv.assignee_id not in (None, cmd.by.id):
        holder = tx.session.get(Agent, conv.assignee_id)
        raise Refused(409, TAKEN_ALREADY, name=holder.display_name if holder else "")
    name = None
    if cmd.assignee_id is not None:
        agent = tx.session.get(Agent, cmd.assignee_id)
        if agent is None or not agent.active:
            raise Refused(400, _("There is no active agent {id}."), id=cmd.assignee_id)
        name = agent.display_name
    previous = conv.assignee_id
    took = False
    if cmd.assignee_id is not None:
        hold(conv, cmd.assignee_id, utcnow())  # out of the queue, and the bot stops
        took = cmd.assignee_id == cmd.by.id and take(conv)  # they took it themselves: alerts stop
    else:
        conv.assignee_id = None
        if conv.handler == "agent" and conv.status != ConversationStatus.RESOLVED:
            conv.queued_at = utcnow()  # let go: back in its team's queue
    return _append(
        tx,
        conv,
        cmd,
        EventKind.ASSIGNMENT,
        AuditAction.ASSIGN,
        data={
            "assignee_id": cmd.assignee_id,
            "assignee_name": name,
            "previous_assignee_id": previous,
            **({"took_urgent": True} if took else {}),
        },
    )


def _transfer(tx: Tx, conv: Conversation, cmd: Transfer) -> TimelineEventOut:
    team = tx.session.get(Team, cmd.team_id) if cmd.team_id is not None else None
    if cmd.team_id is not None and team is None:
        raise Refused(400, _("Unknown team."))
    agent = tx.session.get(Agent, cmd.assignee_id) if cmd.assignee_id is not None else None
    if cmd.assignee_id is not None and (agent is None or not agent.active):
        raise Refused(400, _("There is no active agent {id}."), id=cmd.assignee_id)
    to_team = team.id if team else conv.team_id
    if agent is not None and to_team is not None and to_team not in {t.id for t in agent.teams}:
        raise Refused(400, _("{name} is not in that team."), name=agent.display_name)
    if team is None and agent is None:
        raise Refused(400, _("Say which team or which agent to transfer to."))
    previous_team, previous_assignee = conv.team_id, conv.assignee_id
    conv.team_id, conv.handler = to_team, "agent"
    if agent is not None:
        hold(conv, agent.id, utcnow())
    else:
        conv.assignee_id, conv.queued_at = None, utcnow()
    event = _append(
        tx,
        conv,
        cmd,
        EventKind.TRANSFER,
        AuditAction.TRANSFER,
        text=cmd.note,
        data={
            "team_id": to_team,
            "team_name": (team or tx.session.get(Team, to_team)).name if to_team is not None else None,  # type: ignore[union-attr]
            "assignee_id": agent.id if agent else None,
            "assignee_name": agent.display_name if agent else None,
            "previous_team_id": previous_team if previous_team != to_team else None,
            "previous_assignee_id": previous_assignee,
        },
    )
    if agent is None:  # to a team's queue: someone free there takes it now
        found = pick_agent(tx, conv, utcnow())
        if found is not None:
            assign_to(tx, conv, found, automatic=True)
    return event


def _hand_back(tx: Tx, conv: Conversation, cmd: HandBack) -> TimelineEventOut:
    if conv.handler == "bot":
        raise Refused(400, _("The assistant already has this conversation."))
    previous = conv.assignee_id
    conv.handler, conv.assignee_id, conv.queued_at = "bot", None, None
    take(conv)  # a person decided the assistant answers next
    conv.bot_state = {}  # a fresh start: no half-finished check, no failures counted
    conv.bot_seq = conv.last_event_seq  # it answers what comes next, not what the agent handled
    return _append(
        tx,
        conv,
        cmd,
        EventKind.HANDOFF,
        AuditAction.HAND_BACK,
        data={"reason": "hand_back", "to": "bot", "previous_assignee_id": previous},
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
    if cmd.status == ConversationStatus.RESOLVED:
        take(conv)  # closed by a person: nothing left to alert about
        conv.snoozed_until = None  # nor to wake
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

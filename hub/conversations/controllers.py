"""The inbox's conversation routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from hub.agents.roles import Principal, Role, requires
from hub.audit.record import AuditAction, AuditRecord, Origin, write_audit_batch
from hub.bounds import Id, IdPath, IdQuery, Seq, SeqQuery, text
from hub.conversations.actions import (
    Assign,
    Body,
    HandBack,
    Note,
    Reply,
    SetStatus,
    Transfer,
    do_conversation_commands,
)
from hub.conversations.lists import Filters, StatusFilter, View, list_view, view_counts
from hub.conversations.snooze import EndSnooze, Preset, Snooze, preset_time
from hub.deps import HubDep
from hub.events import ConversationOut, ConversationStatus, TimelineEventOut
from hub.i18n import _
from hub.outbox.configured import unconfigured
from hub.refusals import Refused
from hub.timeline.reads import get_conversation, last_seq, list_conversations
from hub.webchat.receipts import StaffRead, mark_read


class ConversationList(msgspec.Struct):
    """`last_seq` was read before the list: connect the stream with ?after=last_seq. `next_before`:
    a view's next page is ?before=next_before (None: this was the last)."""

    last_seq: int
    conversations: list[ConversationOut]
    next_before: int | None = None


class ViewCounts(msgspec.Struct):
    """How many conversations each view holds (under the filters), read at `last_seq`."""

    last_seq: int
    counts: dict[str, int]


class SnoozeBody(msgspec.Struct, forbid_unknown_fields=True):
    """A time (with its offset), or a preset: an hour from now, tomorrow 8 AM in the clinic's time zone."""

    until: datetime | None = None
    preset: Preset | None = None


ChannelQuery = Annotated[
    Literal["api", "sms", "email", "webchat"] | None, QueryParameter(description="only conversations on this channel")
]
LanguageQuery = Annotated[
    str | None,
    QueryParameter(pattern=r"^[a-zA-Z]{2,3}(-[A-Za-z]{2,4})?$", max_length=16, description='"es" finds es-MX too'),
]


class ReplyBody(msgspec.Struct, forbid_unknown_fields=True):
    text: Body
    channel: Literal["api", "sms", "email", "webchat"] | None = None
    # The newest event the agent had in view: a web-chat reply is refused (409) if a different
    # browser has written in the conversation since, so an answer meant for one goes to no other.
    seen: Seq | None = None
    # The newest event in view when the agent started writing this reply: if a colleague has
    # replied since, the reply is refused (409, `problems[0].reply` is their newest reply) unless
    # `confirm` is true. Without it, no such check (as before).
    drafted_after: Seq | None = None
    confirm: bool = False


class NoteBody(msgspec.Struct, forbid_unknown_fields=True):
    text: Body


class AssignBody(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: Id | None
    # From an urgent alert's "I'll take it": refused with 409 when someone else has taken it already.
    take: bool = False


class StatusBody(msgspec.Struct, forbid_unknown_fields=True):
    status: ConversationStatus


class TransferBody(msgspec.Struct, forbid_unknown_fields=True):
    team_id: Id | None = None
    agent_id: Id | None = None
    note: text(500) | None = None  # type: ignore[valid-type]


class ReadBody(msgspec.Struct, forbid_unknown_fields=True):
    upto: Seq  # the newest event the agent has seen in this conversation


class ReadPosition(msgspec.Struct):
    conversation_id: int
    read_upto: int | None  # None: it was already read that far


class ConversationController(Controller):
    path = "/api/conversations"
    guards = [requires(Role.AGENT)]

    @get("/")
    async def index(
        self,
        request: Request[Principal, Any, Any],
        hub: HubDep,
        status: Annotated[list[StatusFilter] | None, QueryParameter(name="status")] = None,
        mine: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        view: FromQuery[View | None] = None,
        channel: ChannelQuery = None,
        team: IdQuery = None,
        language: LanguageQuery = None,
        before: SeqQuery = None,
    ) -> ConversationList:
        """Without `view`, the open and pending conversations (or those of `status`), `mine` only.
        With `view` (open, waiting, mine, team, urgent, snoozed, resolved, all), that view's page
        under the filters (status: one of open, pending, snoozed, resolved), next page ?before=."""
        next_before = None
        if view is None:
            statuses = [str(s) for s in (status or [ConversationStatus.OPEN, ConversationStatus.PENDING])]
            detail: dict[str, Any] = {"statuses": statuses, "mine": mine}
        else:
            if status is not None and len(status) > 1:
                raise Refused(400, _("Filter by one status at a time."))
            filters = Filters(channel, team, language, status[0] if status else None)
            detail = {"view": str(view), **msgspec.to_builtins(filters), "before": before}
        async with hub.read_sessions() as s:
            seq = await last_seq(s)
            if view is None:
                convs = await list_conversations(s, request.user, statuses, mine, limit)
            else:
                convs, next_before = await list_view(s, request.user, view, filters, before, limit)
        # names and previews of patients' messages: a read of patient data like any other
        await hub.writer.submit(
            write_audit_batch,
            AuditRecord(
                AuditAction.CONVERSATIONS_LIST,
                request.user.id,
                Origin.of(request),
                detail={**detail, "count": len(convs)},
            ),
        )
        return ConversationList(seq, convs, next_before)

    @get("/counts")
    async def counts(
        self,
        request: Request[Principal, Any, Any],
        hub: HubDep,
        channel: ChannelQuery = None,
        team: IdQuery = None,
        language: LanguageQuery = None,
        status: FromQuery[StatusFilter | None] = None,
    ) -> ViewCounts:
        """How many conversations each view holds, under the filters (numbers only, no patient data)."""
        async with hub.read_sessions() as s:
            seq = await last_seq(s)
            counts = await view_counts(s, request.user, Filters(channel, team, language, status))
        return ViewCounts(seq, counts)

    @get("/{conversation_id:int}")
    async def show(
        self, request: Request[Principal, Any, Any], conversation_id: IdPath, hub: HubDep
    ) -> ConversationOut:
        async with hub.read_sessions() as s:
            conv = await get_conversation(s, request.user, conversation_id)
        if conv is None:
            raise Refused(404, _("No conversation {id} that you can see."), id=conversation_id)
        return conv

    @post("/{conversation_id:int}/messages")
    async def reply(
        self,
        request: Request[Principal, Any, Any],
        conversation_id: IdPath,
        data: JSONBody[ReplyBody],
        hub: HubDep,
    ) -> TimelineEventOut:
        return await hub.writer.submit(
            do_conversation_commands,
            Reply(
                conversation_id,
                request.user,
                Origin.of(request),
                data.text,
                data.channel,
                mail=hub.email.identity,
                seen=data.seen,
                drafted_after=data.drafted_after,
                confirm=data.confirm,
                unconfigured=unconfigured(hub.settings),
            ),
        )

    @post("/{conversation_id:int}/notes")
    async def note(
        self,
        request: Request[Principal, Any, Any],
        conversation_id: IdPath,
        data: JSONBody[NoteBody],
        hub: HubDep,
    ) -> TimelineEventOut:
        return await hub.writer.submit(
            do_conversation_commands, Note(conversation_id, request.user, Origin.of(request), data.text)
        )

    @post("/{conversation_id:int}/assign")
    async def assign(
        self,
        request: Request[Principal, Any, Any],
        conversation_id: IdPath,
        data: JSONBody[AssignBody],
        hub: HubDep,
    ) -> TimelineEventOut:
        return await hub.writer.submit(
            do_conversation_commands,
            Assign(conversation_id, request.user, Origin.of(request), data.agent_id, data.take),
        )

    @post("/{conversation_id:int}/status")
    async def set_status(
        self,
        request: Request[Principal, Any, Any],
        conversation_id: IdPath,
        data: JSONBody[StatusBody],
        hub: HubDep,
    ) -> TimelineEventOut:
        return await hub.writer.submit(
            do_conversation_commands, SetStatus(conversation_id, request.user, Origin.of(request), data.status)
        )

    @post("/{conversation_id:int}/snooze")
    async def snooze(
        self,
        request: Request[Principal, Any, Any],
        conversation_id: IdPath,
        data: JSONBody[SnoozeBody],
        hub: HubDep,
    ) -> TimelineEventOut:
        """Out of the open views until `until` (or a preset); it comes back by itself, or when the patient writes."""
        if (data.until is None) == (data.preset is None):
            raise Refused(400, _("Say until when: a time or a preset, not both."))
        if data.until is not None and data.until.tzinfo is None:
            raise Refused(400, _("Give the time with its time zone offset."))
        now = hub.snooze.clock()
        until = data.until or preset_time(data.preset, now, hub.settings.clinic.timezone)  # type: ignore[arg-type]
        cmd = Snooze(conversation_id, request.user, Origin.of(request), until, now, data.preset)
        event = await hub.writer.submit(do_conversation_commands, cmd)
        hub.snooze.wake()  # committed: the worker looks again at when the earliest is due
        return event

    @delete("/{conversation_id:int}/snooze", status_code=200)
    async def end_snooze(
        self, request: Request[Principal, Any, Any], conversation_id: IdPath, hub: HubDep
    ) -> TimelineEventOut:
        """Back in the open views now."""
        return await hub.writer.submit(
            do_conversation_commands, EndSnooze(conversation_id, request.user, Origin.of(request))
        )

    @post("/{conversation_id:int}/read", status_code=200)
    async def read(
        self,
        request: Request[Principal, Any, Any],
        conversation_id: IdPath,
        data: JSONBody[ReadBody],
        hub: HubDep,
    ) -> ReadPosition:
        """The agent has the conversation in view: the patient's widget may show "Read"."""
        signal = await hub.writer.submit(mark_read, StaffRead(conversation_id, request.user, data.upto))
        if signal is not None:  # committed: tell the patient's open widgets
            hub.fanout.signal(signal)
        return ReadPosition(conversation_id, signal.upto if signal else None)

    @post("/{conversation_id:int}/transfer")
    async def transfer(
        self,
        request: Request[Principal, Any, Any],
        conversation_id: IdPath,
        data: JSONBody[TransferBody],
        hub: HubDep,
    ) -> TimelineEventOut:
        """To another team's queue (someone free there gets it) or straight to an agent."""
        cmd = Transfer(conversation_id, request.user, Origin.of(request), data.team_id, data.agent_id, data.note)
        return await hub.writer.submit(do_conversation_commands, cmd)

    @post("/{conversation_id:int}/hand-back")
    async def hand_back(
        self, request: Request[Principal, Any, Any], conversation_id: IdPath, hub: HubDep
    ) -> TimelineEventOut:
        """Back to the assistant, which answers the patient's next message."""
        return await hub.writer.submit(
            do_conversation_commands, HandBack(conversation_id, request.user, Origin.of(request))
        )
